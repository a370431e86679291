/**
 * {@linkcode STSRefreshableSession}: a session whose credentials come from
 * STS AssumeRole and refresh themselves.
 *
 * @module
 */

import { _checkOptionalObject } from "../_validate.ts";
import {
  AssumeRoleCommand,
  type AssumeRoleCommandInput,
  type AssumeRoleCommandOutput,
  STSClient,
} from "@aws-sdk/client-sts";
import {
  _checkMfaSettings,
  _validateAssumeRoleConfig,
} from "./_assume_role_config.ts";
import { _redactSecrets } from "../_redact.ts";
import { _seedArgumentWarning } from "../mfa/_seed_argument.ts";
import type { _FetchResult } from "../engine/_refresher.ts";
import { BRSRefreshError } from "../errors.ts";
import { _mapStsCredentials, _sendWithDateHeader } from "./_sts_call.ts";
import {
  createMfaTokenSource,
  type MfaTokenProvider,
  type MfaTokenProviderOptions,
  type MfaTokenSource,
} from "../mfa/mfa.ts";
import {
  _checkOptionKeys,
  RefreshableSession,
  type RefreshableSessionOptions,
} from "../engine/refreshable_session.ts";
import type {
  AssumeRoleConfig,
  Clock,
  MfaSessionOptions,
  STSClientConfig,
} from "../types.ts";
import {
  _getSessionToken,
  _isMfaRejection,
  _MfaSession,
  _validateMfaSession,
} from "../mfa/_mfa_session.ts";
import {
  _endpointName,
  _flatRequest,
  _SharedCache,
  _validateSharedCache,
} from "../cache/_shared_cache.ts";
import type { SharedCacheOptions } from "../types.ts";

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
  /**
   * Keep an MFA session: the base credentials become a `GetSessionToken`
   * session obtained with **one** MFA code (refreshed on its own schedule),
   * and AssumeRole runs with it and no code, so the MFA context carries and
   * you enter one code per MFA session (default 12 h) instead of one per role
   * refresh. Needs `assumeRole.SerialNumber` and `mfaTokenProvider` (or
   * `assumeRole.TokenCode`).
   *
   * @default {undefined} (a code at every AssumeRole)
   */
  mfaSession?: MfaSessionOptions;
  /**
   * Share refreshed credentials with the other processes of this service on
   * this host through a file cache and lock (the companion CLI's), so N
   * processes make one AssumeRole call per expiry, not N. `true` uses the
   * CLI's directory (`$XDG_CACHE_HOME/brs`, else `~/.cache/brs`); needs
   * `--allow-read` and `--allow-write` on it (and `--allow-env=XDG_CACHE_HOME,HOME`
   * for the default one). Entries are keyed by the AssumeRole request (never the
   * MFA code), the STS endpoint and region, and the base access key id.
   * When the directory cannot be used, the session refreshes on its own and
   * emits a `warning` event.
   *
   * @default {false}
   */
  sharedCache?: boolean | SharedCacheOptions;
}

const _STS_KEYS = [
  "assumeRole",
  "stsClientConfig",
  "mfaTokenProvider",
  "mfaTokenProviderOptions",
  "mfaSession",
  "sharedCache",
];

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
 *   {@linkcode RefreshableSession.prototype.getAvailableRegions | getAvailableRegions(service)},
 *   {@linkcode RefreshableSession.prototype.getPartitionForRegion | getPartitionForRegion(region)}.
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
 *
 * @example One refresh per host with `sharedCache`
 * ```ts
 * import { STSRefreshableSession, type STSRefreshableSessionOptions } from "@brs/session";
 * import { startLocalSts } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * const directory = await Deno.makeTempDir(); // needs --allow-read/--allow-write on it
 * const options: STSRefreshableSessionOptions = {
 *   assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
 *   stsClientConfig: { endpoint: sts.url, credentials: sts.baseCredentials },
 *   region: "us-east-1",
 *   sharedCache: { directory },
 * };
 * // Two sessions stand for two processes of one service on one host.
 * await using first = new STSRefreshableSession(options);
 * await using second = new STSRefreshableSession(options);
 * const credentials = await first.refreshableCredentials();
 * assertEquals((await second.refreshableCredentials()).accessKey, credentials.accessKey);
 * assertEquals(sts.calls.AssumeRole, 1);
 * await Deno.remove(directory, { recursive: true });
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
  /** The session's wall clock (an injected one in tests), for the Expiration cap. */
  readonly #wallClock: () => number;
  #stsClient: STSClient | undefined;
  readonly #mfaSessionOptions: MfaSessionOptions | undefined;
  readonly #mfaSession: _MfaSession | undefined;
  #mfaRoleClient: STSClient | undefined;
  /** The static `TokenCode` STS last saw (accepted or rejected). */
  #usedTokenCode: string | undefined;
  readonly #shared: _SharedCache | undefined;

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
    _checkOptionKeys(options, _STS_KEYS, "STSRefreshableSession");
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
    const mfaSessionOptions = _validateMfaSession(
      o.mfaSession,
      assumeRole.SerialNumber,
      hasProvider || assumeRole.TokenCode !== undefined,
    );
    const shared = _validateSharedCache(o.sharedCache, "STSRefreshableSession");
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
    this.#mfaSessionOptions = mfaSessionOptions;
    this.#shared = _SharedCache.of(
      shared,
      o,
      (code, message) => this._warn(code, message),
    );
    this.#mfaSession = mfaSessionOptions === undefined
      ? undefined
      : new _MfaSession(
        (signal) =>
          this.#withMfa(signal, (code) => this.#getSessionToken(code, signal)),
        this.#stsRegion,
        o.clock as Clock | undefined,
      );
    // The MFA session's own failures are told as warnings of this session.
    this.#mfaSession?.addEventListener("refresh-error", (event) => {
      const { error } = event.detail;
      this._warn(
        "MfaSessionRefreshError",
        `The MFA session (GetSessionToken) failed with ${error.code}: ${error.message}`,
      );
    });
    const clock = o.clock as Clock | undefined;
    this.#wallClock = clock === undefined ? Date.now : () => clock.now();
    if (warn) {
      // Later, so listeners added right after construction see it.
      queueMicrotask(() =>
        this._warn(
          "MfaTokenCodeIgnored",
          "Both 'mfaTokenProvider' and 'assumeRole.TokenCode' are set: the provider wins and the static TokenCode is ignored; remove one of them",
        )
      );
    }
    const seedWarning = typeof o.mfaTokenProvider === "function" ||
        mfaSource === undefined
      ? undefined
      : _seedArgumentWarning(
        o.mfaTokenProvider as string | string[],
        'e.g. ["oathtool", "--totp", "-b", "-"] with mfaTokenProviderOptions.stdinFile',
      );
    if (seedWarning !== undefined) {
      queueMicrotask(() => this._warn("MfaSeedInArguments", seedWarning));
    }
  }

  #clientConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {};
    if (this.#stsRegion !== undefined) config.region = this.#stsRegion;
    if (this.#profile !== undefined) config.profile = this.#profile;
    return { ...config, ...this.#stsClientConfig };
  }

  #client(): STSClient {
    this.#stsClient ??= new STSClient(this.#clientConfig());
    return this.#stsClient;
  }

  /** The client that calls AssumeRole: the base one, or one signing with the MFA session. */
  #roleClient(): STSClient {
    if (this.#mfaSession === undefined) return this.#client();
    this.#mfaRoleClient ??= new STSClient({
      ...this.#clientConfig(),
      credentials: this.#mfaSession.credentialProvider,
    });
    return this.#mfaRoleClient;
  }

  async #assume(
    tokenCode: string | undefined,
    signal: AbortSignal,
  ): Promise<_FetchResult> {
    const input: Record<string, unknown> = { ...this.assumeRole };
    delete input.TokenCode;
    if (tokenCode !== undefined) input.TokenCode = tokenCode;
    // The MFA session's credentials carry the MFA context: no device, no code.
    if (this.#mfaSession !== undefined) delete input.SerialNumber;
    const command = new AssumeRoleCommand(
      input as unknown as AssumeRoleCommandInput,
    );
    const { reply, dateHeader } = await _sendWithDateHeader<
      AssumeRoleCommandOutput
    >(
      this.#roleClient(),
      command,
      signal,
    );
    return _mapStsCredentials(
      "AssumeRole",
      reply.Credentials,
      dateHeader,
      this.assumeRole.DurationSeconds ?? 3600,
      this.#wallClock(),
      (code, message) => this._warn(code, message),
    );
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
   * Runs `call` with an MFA code (a TOTP code is good once per 30 s step and
   * is never sent twice for a serial: guide/mfa.md): a static `TokenCode` at
   * most once,
   * or a fresh code from the provider, asked once more after a rejection.
   */
  async #withMfa(
    signal: AbortSignal,
    call: (code: string | undefined) => Promise<_FetchResult>,
  ): Promise<_FetchResult> {
    const serial = this.assumeRole.SerialNumber;
    if (this.#mfaSource === undefined || serial === undefined) {
      const code = serial === undefined ? undefined : this.assumeRole.TokenCode;
      // A code STS has seen (accepted or rejected) is never sent again.
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
        const result = await call(code);
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
      return await call(first);
    } catch (error) {
      if (!_isMfaRejection(error)) throw error;
    }
    // A rejected code: ask once more (a new code), try once more.
    const second = await this.#mfaSource(serial, signal);
    try {
      return await call(second);
    } catch (error) {
      if (_isMfaRejection(error)) throw this.#mfaRejected(error, true);
      throw error;
    }
  }

  /** GetSessionToken with the base credentials and an MFA code (the MFA session). */
  #getSessionToken(
    tokenCode: string | undefined,
    signal: AbortSignal,
  ): Promise<_FetchResult> {
    return _getSessionToken(
      this.#client(),
      {
        serialNumber: this.assumeRole.SerialNumber,
        tokenCode,
        durationSeconds: this.#mfaSessionOptions?.durationSeconds,
      },
      signal,
      this.#wallClock(),
      (code, message) => this._warn(code, message),
    );
  }

  /**
   * Calls AssumeRole with the base credentials (and a fresh MFA code), or,
   * with `mfaSession`, with the MFA session's credentials and no code.
   *
   * @param signal Aborts the call.
   * @returns The new credentials and the reply's `Date`.
   *
   * @ignore
   */
  protected override _fetchCredentials(
    signal: AbortSignal,
  ): Promise<_FetchResult> {
    if (this.#shared === undefined) return this.#fetchOwn(signal);
    return this.#shared.fetch(
      () => this.#sharedKeyMaterial(),
      () => this.#fetchOwn(signal),
    );
  }

  #fetchOwn(signal: AbortSignal): Promise<_FetchResult> {
    if (this.#mfaSession !== undefined) return this.#assume(undefined, signal);
    return this.#withMfa(signal, (code) => this.#assume(code, signal));
  }

  /**
   * What identifies this session's credentials across processes: the
   * AssumeRole request without `TokenCode`, the endpoint, the region, the
   * MFA session setting and the base access key id (no secret).
   */
  async #sharedKeyMaterial(): Promise<Record<string, unknown>> {
    const provider = this.#client().config.credentials as () => Promise<
      { accessKeyId: string }
    >;
    const { TokenCode: _code, ...request } = this.assumeRole;
    return {
      source: "AssumeRole",
      // Flat, so the key does not depend on the order of the fields.
      ..._flatRequest(request),
      endpoint: _endpointName(this.#stsClientConfig.endpoint),
      region: this.#stsRegion,
      mfaSession: this.#mfaSessionOptions,
      base: (await provider()).accessKeyId,
    };
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
    this.#mfaRoleClient?.destroy();
    this.#mfaRoleClient = undefined;
    void this.#mfaSession?.close();
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
      ...(this.#mfaSessionOptions === undefined
        ? {}
        : { mfaSession: { ...this.#mfaSessionOptions } }),
      ...(this.#shared === undefined
        ? {}
        : { sharedCache: this.#shared.settings }),
    };
  }
}
