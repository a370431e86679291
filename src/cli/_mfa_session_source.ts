/**
 * The MFA session of the CLI (`mfa_session_duration` in a profile): base
 * credentials from `GetSessionToken`, obtained with one MFA code and kept in
 * the cross-process {@linkcode FileCache} (keyed without the code, under its
 * lock), so that every role profile sharing the same base credentials and
 * MFA device asks for one code per MFA session, in any process. The role is
 * then assumed with these credentials and no code: STS carries the MFA
 * context. Loaded with `import()` only when a refresh is needed.
 *
 * @module
 */

import type { AwsCredentialIdentity } from "../engine/refreshable_session.ts";
import { BRSError, BRSRefreshError } from "../errors.ts";
import type { FileCache } from "../cache/file_cache.ts";
import { createMfaTokenSource, type MfaTokenSource } from "../mfa/mfa.ts";
import { _mfaCommandProvider } from "./_mfa_command.ts";
import type { TemporaryCredentials } from "../types.ts";
import { _err, _registerSecret } from "./_output.ts";
import { _promptMfaCode } from "./_tty_prompt.ts";

/** What an MFA session needs to know. */
export interface _MfaSessionSourceOptions {
  /** The MFA device. */
  serialNumber: string;
  /** Lifetime of the MFA session in seconds (900-129600). */
  durationSeconds: number;
  /** The MFA command, else the code is asked on the terminal. */
  mfaCommand?: string[] | string;
  /** Added to the MFA command allowlist. */
  allowedCommands: string[];
  /** The file whose content the MFA command reads on stdin. */
  stdinFile?: string;
  /** `--debug`: say which file the MFA command runs. */
  debug?: boolean;
  /** Config of the STS client that signs GetSessionToken with the base credentials. */
  clientConfig: Record<string, unknown>;
  /** The file cache, or `undefined` with `--no-cache`. */
  cache: FileCache | undefined;
  /** The cache key (see {@linkcode FileCache.keyOf}); never holds the code. */
  key: string;
  /** Reuse while more than min(this, half the lifetime) is left. */
  advisorySeconds: number;
}

/**
 * The MFA session of one request: from the file cache while fresh, else one
 * GetSessionToken call with one MFA code under the cache's lock.
 */
export class _MfaSessionSource {
  readonly #options: _MfaSessionSourceOptions;
  #held: TemporaryCredentials | undefined;
  #codes: MfaTokenSource | undefined;

  /**
   * Creates the source (checks the MFA command); nothing is called yet.
   *
   * @param options Device, lifetime, code source, base client and cache.
   */
  constructor(options: _MfaSessionSourceOptions) {
    this.#options = options;
    if (options.mfaCommand !== undefined) {
      this.#codes = createMfaTokenSource(
        _mfaCommandProvider(options.mfaCommand, options.allowedCommands, {
          debug: options.debug ?? false,
          stdinFile: options.stdinFile,
        }),
      );
    }
  }

  /**
   * The MFA session's credentials, fresh.
   *
   * @returns The credentials (registered as secrets for the output module).
   * @throws {BRSRefreshError} `MfaSessionRefused` when STS refuses the code
   * or the device, `MfaSessionFailed` for any other GetSessionToken failure.
   */
  async get(): Promise<TemporaryCredentials> {
    const o = this.#options;
    const held = this.#held;
    // In this process: reused while more than min(advisory, half the
    // lifetime) is left, as the file cache does.
    const window = Math.min(o.advisorySeconds, o.durationSeconds / 2) * 1000;
    if (
      held !== undefined && Date.parse(held.expiryTime) - Date.now() > window
    ) return held;
    let credentials: TemporaryCredentials;
    if (o.cache === undefined) {
      credentials = await this.#fetch();
    } else {
      const result = await o.cache.getOrRefresh(
        o.key,
        async () => ({
          credentials: await this.#fetch(),
          obtainedAt: new Date().toISOString(),
        }),
        {
          advisorySeconds: o.advisorySeconds,
          maxLifetimeSeconds: o.durationSeconds,
        },
      );
      if (result.warning !== undefined) {
        await _err(`brs: warning: ${result.warning}`);
      }
      credentials = result.entry.credentials;
    }
    _registerSecret(credentials.secretKey);
    _registerSecret(credentials.token);
    this.#held = credentials;
    return credentials;
  }

  /** An AWS SDK credential provider over {@linkcode _MfaSessionSource.prototype.get}. */
  readonly provider = async (): Promise<AwsCredentialIdentity> => {
    const c = await this.get();
    return {
      accessKeyId: c.accessKey,
      secretAccessKey: c.secretKey,
      sessionToken: c.token,
      expiration: new Date(c.expiryTime),
    };
  };

  async #fetch(): Promise<TemporaryCredentials> {
    const o = this.#options;
    const [{ STSClient }, { _getSessionToken, _isMfaRejection }] = await Promise
      .all([import("@aws-sdk/client-sts"), import("../mfa/_mfa_session.ts")]);
    const controller = new AbortController();
    const code = this.#codes !== undefined
      ? await this.#codes(o.serialNumber, controller.signal)
      : await _promptMfaCode(o.serialNumber);
    const client = new STSClient(o.clientConfig);
    try {
      const { credentials: c } = await _getSessionToken(
        client,
        {
          serialNumber: o.serialNumber,
          tokenCode: code,
          durationSeconds: o.durationSeconds,
        },
        controller.signal,
        Date.now(),
        (_code, message) => void _err(`brs: warning: ${message}`),
      );
      return {
        accessKey: c.accessKeyId,
        secretKey: c.secretAccessKey,
        token: c.sessionToken ?? "",
        expiryTime: c.expiration.toISOString(),
      };
    } catch (error) {
      if (error instanceof BRSError) throw error;
      const name = error instanceof Error ? error.name : "Error";
      const text = error instanceof Error
        ? error.message.replace(/\s+/g, " ").replace(/[\s.]+$/, "").slice(
          0,
          300,
        )
        : String(error);
      if (_isMfaRejection(error)) {
        throw new BRSRefreshError(
          `Cannot start the MFA session as STS refused the MFA code of '${o.serialNumber}' (GetSessionToken: ${name}: ${text}): check the device and the MFA command (mfa_process, mfa_command or --mfa-command), wait for the next code and run brs again`,
          {
            code: "MfaSessionRefused",
            param: "mfa_serial",
            cause: error,
            details: { recoverable: false },
          },
        );
      }
      throw new BRSRefreshError(
        `Cannot start the MFA session as GetSessionToken for '${o.serialNumber}' failed (${name}: ${text}): check the base credentials and the MFA device, or remove mfa_session_duration to assume the role with a code each time`,
        {
          code: "MfaSessionFailed",
          param: "mfa_session_duration",
          cause: error,
        },
      );
    } finally {
      client.destroy();
    }
  }
}
