/**
 * {@linkcode STSRefreshableSession}: a session whose credentials come from
 * STS AssumeRole and refresh themselves.
 *
 * @module
 */

import { _checkOptionalObject } from "./_validate.ts";
import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  STSClient,
} from "@aws-sdk/client-sts";
import {
  _checkMfaSettings,
  _validateAssumeRoleConfig,
} from "./_assume_role_config.ts";
import { _redactSecrets } from "./_redact.ts";
import { _errorCode, type _FetchResult } from "./_refresher.ts";
import { BRSRefreshError } from "./errors.ts";
import {
  createMfaTokenSource,
  type MfaTokenProvider,
  type MfaTokenProviderOptions,
  type MfaTokenSource,
} from "./mfa.ts";
import {
  RefreshableSession,
  type RefreshableSessionOptions,
} from "./refreshable_session.ts";
import type { AssumeRoleConfig, STSClientConfig } from "./types.ts";

/**
 * Options of an {@linkcode STSRefreshableSession}: the AssumeRole request, the
 * STS client that sends it with the base credentials, MFA, and the options
 * every session shares.
 *
 * @example Usage
 * ```ts
 * import type { STSRefreshableSessionOptions } from "@brs/session";
 *
 * const options: STSRefreshableSessionOptions = {
 *   assumeRole: {
 *     RoleArn: "arn:aws:iam::123456789012:role/app",
 *     DurationSeconds: 3600,
 *   },
 *   stsClientConfig: { region: "eu-west-1" },
 *   deferRefresh: false,
 * };
 * ```
 */
export interface STSRefreshableSessionOptions
  extends RefreshableSessionOptions {
  /**
   * The AssumeRole request: `RoleArn` (required), `RoleSessionName`
   * (default `"brs-session"`), `DurationSeconds`, ... Unknown keys are an error.
   */
  assumeRole: AssumeRoleConfig;
  /**
   * Config of the STS client that calls AssumeRole with the **base**
   * credentials (region, endpoint, `credentials` of the source identity,
   * `maxAttempts`, ...). This client is built once, lazily, and never handed
   * out by `session.client()`.
   *
   * @default {{}}
   */
  stsClientConfig?: STSClientConfig;
  /**
   * Where MFA codes come from: a function `(serial, options) => code`, a
   * command as `string[]` (preferred) or a string split without a shell.
   * Requires `assumeRole.SerialNumber`; asked on every refresh.
   *
   * @default {undefined}
   */
  mfaTokenProvider?: MfaTokenProvider;
  /**
   * For a command: `timeoutMs`, `cwd`, `env`, `clearEnv`, `allowedCommands`;
   * for a function: passed to it.
   *
   * @default {{}}
   */
  mfaTokenProviderOptions?: MfaTokenProviderOptions | Record<string, unknown>;
}

/** How far an Expiration may lie beyond the requested duration before it is capped. */
const _EXPIRATION_SLACK_MS = 300_000;

const _STS_KEYS = [
  "assumeRole",
  "stsClientConfig",
  "mfaTokenProvider",
  "mfaTokenProviderOptions",
];

function _isMfaRejection(error: unknown): boolean {
  const code = _errorCode(error);
  const message = error instanceof Error ? error.message : "";
  return (code === "AccessDenied" || code === "AccessDeniedException") &&
    /MultiFactorAuthentication/i.test(message);
}

function _headerDate(response: unknown): Date | undefined {
  const headers =
    (response as { headers?: Record<string, unknown> } | undefined)
      ?.headers;
  if (headers === undefined || headers === null) return undefined;
  const raw = headers["date"] ?? headers["Date"];
  if (typeof raw !== "string") return undefined;
  const date = new Date(raw);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * An AWS session for STS AssumeRole whose temporary credentials refresh
 * themselves (the counterpart of boto3-refresh-session's
 * `STSRefreshableSession`): one STS call however many callers ask at expiry,
 * no caller waits during an advisory-window refresh, failures never take away
 * working credentials, MFA codes are asked on every refresh, and
 * `whoami()` returns the **assumed role's** identity.
 *
 * Members inherited from {@linkcode RefreshableSession} (documented there):
 *
 * - {@linkcode RefreshableSession.prototype.client | client(ClientClass, config?)}:
 *   a cached, typed AWS SDK v3 client that always signs with fresh
 *   credentials; {@linkcode RefreshableSession.prototype.resource | resource(Wrapper, ClientClass, config?)}
 *   for `DynamoDBDocumentClient` and the like.
 * - {@linkcode RefreshableSession.prototype.credentialProvider | credentialProvider}:
 *   give it to any AWS SDK v3 client as `credentials`.
 * - {@linkcode RefreshableSession.prototype.refreshableCredentials | refreshableCredentials()}
 *   (also `credentials`): one consistent snapshot of the current credentials.
 * - {@linkcode RefreshableSession.prototype.whoami | whoami()} /
 *   {@linkcode RefreshableSession.prototype.getIdentity | getIdentity()}:
 *   STS `GetCallerIdentity` with the session's own credentials.
 * - {@linkcode RefreshableSession.prototype.refresh | refresh()},
 *   {@linkcode RefreshableSession.prototype.invalidate | invalidate(accessKeyId)}.
 * - {@linkcode RefreshableSession.prototype.regionName | regionName},
 *   {@linkcode RefreshableSession.prototype.profileName | profileName},
 *   {@linkcode RefreshableSession.prototype.availableProfiles | availableProfiles()},
 *   {@linkcode RefreshableSession.prototype.getAvailablePartitions | getAvailablePartitions()},
 *   {@linkcode RefreshableSession.prototype.getAvailableRegions | getAvailableRegions(service)}.
 * - Events (`addEventListener`): `refresh`, `refresh-error`, `warning`.
 * - {@linkcode RefreshableSession.prototype.close | close()} and
 *   `await using`: stops timers and destroys cached clients.
 *
 * @example Usage
 * ```ts
 * import { STSRefreshableSession } from "@brs/session";
 * import { startLocalSts } from "@brs/session/testing";
 * import {
 *   GetCallerIdentityCommand,
 *   STSClient,
 * } from "@aws-sdk/client-sts";
 * import { assertEquals, assertMatch } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * await using session = new STSRefreshableSession({
 *   assumeRole: {
 *     RoleArn: "arn:aws:iam::123456789012:role/app",
 *     RoleSessionName: "docs",
 *   },
 *   stsClientConfig: {
 *     endpoint: sts.url,
 *     credentials: sts.baseCredentials,
 *   },
 *   region: "us-east-1",
 * });
 * const client = session.client(STSClient, { endpoint: sts.url });
 * const me = await client.send(new GetCallerIdentityCommand({}));
 * assertMatch(me.Arn!, /assumed-role\/app\/docs$/);
 * assertEquals(sts.calls.AssumeRole, 1);
 * ```
 */
export class STSRefreshableSession extends RefreshableSession {
  /**
   * The AssumeRole request (validated copy, `RoleSessionName` defaulted).
   * Without an `mfaTokenProvider`, you may update `TokenCode` here before the
   * next refresh needs it; a code STS has already seen is never sent again
   * (that refresh fails with code `"MfaCodeUsed"`).
   */
  readonly assumeRole: AssumeRoleConfig;
  readonly #stsClientConfig: STSClientConfig;
  readonly #mfaSource: MfaTokenSource | undefined;
  readonly #stsRegion: string | undefined;
  readonly #profile: string | undefined;
  #stsClient: STSClient | undefined;
  /** The static `TokenCode` STS last saw (accepted or rejected). */
  #usedTokenCode: string | undefined;

  /**
   * Creates the session. With `deferRefresh: false`, the first AssumeRole
   * call starts at once; otherwise on first use.
   *
   * @param options The AssumeRole request, STS client config, MFA and session options.
   * @throws {BRSValidationError} If an option or an AssumeRole parameter has a bad
   * type or value, or is unknown.
   * @throws {BRSConfigurationError} If MFA settings do not fit together (a provider
   * or `TokenCode` without `SerialNumber`), or an MFA command is not allowed.
   *
   * @example Usage
   * ```ts
   * import {
   *   BRSValidationError,
   *   STSRefreshableSession,
   * } from "@brs/session";
   * import { assertThrows } from "@std/assert";
   *
   * assertThrows(
   *   () =>
   *     new STSRefreshableSession({
   *       assumeRole: {
   *         RoleArn: "arn:aws:iam::123456789012:role/app",
   *         DurationSeconds: 12,
   *       },
   *     }),
   *   BRSValidationError,
   *   "must be an integer from 900 to 43200: got 12",
   * );
   * ```
   */
  constructor(options: STSRefreshableSessionOptions) {
    const o = options as unknown as Record<string, unknown>;
    const stsClientConfig = o?.stsClientConfig;
    _checkOptionalObject(
      "STSRefreshableSession",
      "stsClientConfig",
      stsClientConfig,
      '{ region: "eu-west-1" }',
    );
    const stsRegion = (stsClientConfig as { region?: unknown } | undefined)
      ?.region;
    // Validate everything before super(): the engine may start fetching.
    const assumeRole = _validateAssumeRoleConfig(o?.assumeRole);
    const hasProvider = o?.mfaTokenProvider !== undefined;
    const warn = _checkMfaSettings(
      assumeRole,
      hasProvider,
      o?.mfaTokenProviderOptions !== undefined,
    );
    const mfaSource = hasProvider
      ? createMfaTokenSource(
        o.mfaTokenProvider as MfaTokenProvider,
        o.mfaTokenProviderOptions as MfaTokenProviderOptions | undefined,
      )
      : undefined;
    super(options, _STS_KEYS, {
      kind: "STSRefreshableSession",
      region: typeof stsRegion === "string" ? stsRegion : undefined,
    });
    this.assumeRole = assumeRole;
    this.#mfaSource = mfaSource;
    this.#stsClientConfig = {
      ...(stsClientConfig as STSClientConfig | undefined),
    };
    this.#stsRegion = this.regionName;
    this.#profile = typeof o.profile === "string" ? o.profile : undefined;
    if (warn) {
      // Later, so listeners added right after construction see it.
      queueMicrotask(() =>
        this._warn(
          "MfaTokenCodeIgnored",
          "Both 'mfaTokenProvider' and 'assumeRole.TokenCode' are set: the provider wins and the static TokenCode is ignored; remove one of them",
        )
      );
    }
  }

  #client(): STSClient {
    if (this.#stsClient === undefined) {
      const config: Record<string, unknown> = {};
      if (this.#stsRegion !== undefined) config.region = this.#stsRegion;
      if (this.#profile !== undefined) config.profile = this.#profile;
      this.#stsClient = new STSClient({ ...config, ...this.#stsClientConfig });
    }
    return this.#stsClient;
  }

  async #assume(
    tokenCode: string | undefined,
    signal: AbortSignal,
  ): Promise<_FetchResult> {
    const input: Record<string, unknown> = { ...this.assumeRole };
    delete input.TokenCode;
    if (tokenCode !== undefined) input.TokenCode = tokenCode;
    const command = new AssumeRoleCommand(
      input as unknown as AssumeRoleCommandInput,
    );
    let serverDate: Date | undefined;
    command.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        serverDate = _headerDate(out.response);
        return out;
      },
      { step: "deserialize", name: "brsCaptureDateHeader", priority: "low" },
    );
    const reply = await this.#client().send(command, { abortSignal: signal });
    const c = reply.Credentials;
    if (
      !c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken ||
      !(c.Expiration instanceof Date)
    ) {
      throw new BRSRefreshError(
        "Cannot refresh credentials as the AssumeRole reply lacks AccessKeyId, SecretAccessKey, SessionToken or Expiration: check the STS endpoint",
        { code: "InvalidReply" },
      );
    }
    // STS never grants more than was asked: an Expiration far beyond it
    // (a broken or hostile endpoint) would stop refreshes, so it is capped.
    const base = serverDate?.getTime() ?? Date.now();
    const requested = (this.assumeRole.DurationSeconds ?? 3600) * 1000;
    let expiration = c.Expiration;
    if (expiration.getTime() > base + requested + _EXPIRATION_SLACK_MS) {
      expiration = new Date(base + requested);
      this._warn(
        "ExpirationCapped",
        `The AssumeRole reply's Expiration is beyond the requested ${
          requested / 1000
        } s: the credentials are treated as expiring at ${expiration.toISOString()}; check the STS endpoint`,
      );
    }
    return {
      credentials: {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration,
      },
      ...(serverDate === undefined ? {} : { serverDate }),
    };
  }

  #mfaRejected(cause: unknown, retried: boolean): BRSRefreshError {
    return new BRSRefreshError(
      `Cannot refresh credentials as STS rejected the MFA code for '${this.assumeRole.SerialNumber}'${
        retried ? " twice" : ""
      }: ${
        this.#mfaSource === undefined
          ? "set a new 'assumeRole.TokenCode' and call refresh({ force: true })"
          : "check the MFA device and the provider, then call refresh({ force: true })"
      }`,
      {
        code: "MfaRejected",
        param: this.#mfaSource === undefined
          ? "assumeRole.TokenCode"
          : "mfaTokenProvider",
        cause,
        details: { recoverable: false },
      },
    );
  }

  /**
   * Calls AssumeRole with the base credentials (and a fresh MFA code).
   *
   * @param signal Aborts the call.
   * @returns The new credentials and the reply's `Date`.
   *
   * @ignore
   */
  protected override async _fetchCredentials(
    signal: AbortSignal,
  ): Promise<_FetchResult> {
    const serial = this.assumeRole.SerialNumber;
    if (this.#mfaSource === undefined || serial === undefined) {
      const code = serial === undefined ? undefined : this.assumeRole.TokenCode;
      // Rule 9: a code STS has seen (accepted or rejected) is never sent again.
      if (code !== undefined && code === this.#usedTokenCode) {
        throw new BRSRefreshError(
          `Cannot refresh credentials as 'assumeRole.TokenCode' was already used for '${serial}' and an MFA code is good once: set a new 'assumeRole.TokenCode' and call refresh({ force: true })`,
          {
            code: "MfaCodeUsed",
            param: "assumeRole.TokenCode",
            details: { recoverable: false },
          },
        );
      }
      try {
        const result = await this.#assume(code, signal);
        this.#usedTokenCode = code;
        return result;
      } catch (error) {
        if (_isMfaRejection(error)) {
          this.#usedTokenCode = code;
          throw this.#mfaRejected(error, false);
        }
        throw error;
      }
    }
    const first = await this.#mfaSource(serial, signal);
    try {
      return await this.#assume(first, signal);
    } catch (error) {
      if (!_isMfaRejection(error)) throw error;
    }
    // A rejected code: ask once more (a new code), try once more.
    const second = await this.#mfaSource(serial, signal);
    try {
      return await this.#assume(second, signal);
    } catch (error) {
      if (_isMfaRejection(error)) throw this.#mfaRejected(error, true);
      throw error;
    }
  }

  /**
   * The `whoami` client uses the STS client config (endpoint, region,
   * retries) but the session's refreshed credentials.
   *
   * @returns A config without `credentials`.
   *
   * @ignore
   */
  protected override _identityClientConfig(): Record<string, unknown> {
    const { credentials: _credentials, ...rest } = this.#stsClientConfig;
    return rest as Record<string, unknown>;
  }

  /**
   * Destroys the base STS client.
   *
   * @ignore
   */
  protected override _onClose(): void {
    this.#stsClient?.destroy();
    this.#stsClient = undefined;
  }

  /**
   * Secret-free facts for printing.
   *
   * @returns The base facts plus the AssumeRole request without `TokenCode`.
   *
   * @ignore
   */
  protected override _describe(): Record<string, unknown> {
    return {
      ...super._describe(),
      assumeRole: _redactSecrets(this.assumeRole),
      mfa: this.#mfaSource !== undefined,
    };
  }
}
