/**
 * {@linkcode WebIdentityRefreshableSession}: a session whose credentials come
 * from STS AssumeRoleWithWebIdentity (EKS service accounts, GitHub Actions
 * OIDC, any OIDC provider) and refresh themselves.
 *
 * @module
 */

import {
  AssumeRoleWithWebIdentityCommand,
  type AssumeRoleWithWebIdentityCommandInput,
  type AssumeRoleWithWebIdentityCommandOutput,
  STSClient,
} from "@aws-sdk/client-sts";
import {
  _DEFAULT_ROLE_SESSION_NAME,
  _validateAssumeRoleConfig,
} from "./_assume_role_config.ts";
import { _errorCode, type _FetchResult } from "../engine/_refresher.ts";
import { _mapStsCredentials, _sendWithDateHeader } from "./_sts_call.ts";
import { _readEnv } from "../_env.ts";
import {
  _checkOptionalObject,
  _describeValue,
  _typeName,
} from "../_validate.ts";
import {
  _callTokenProvider,
  _readTokenFile,
  _withoutToken,
} from "./_web_identity_token.ts";
import {
  BRSConfigurationError,
  BRSRefreshError,
  BRSValidationError,
} from "../errors.ts";
import {
  _checkOptionKeys,
  RefreshableSession,
  type RefreshableSessionOptions,
} from "../engine/refreshable_session.ts";
import type { Clock, SharedCacheOptions, STSClientConfig } from "../types.ts";
import {
  _endpointName,
  _flatRequest,
  _SharedCache,
  _validateSharedCache,
} from "../cache/_shared_cache.ts";

/**
 * The AssumeRoleWithWebIdentity request of a
 * {@linkcode WebIdentityRefreshableSession}, with the AWS SDK's field names
 * (the token itself comes from `webIdentityTokenFile` or
 * `webIdentityTokenProvider`). Unknown keys are an error.
 *
 * @example Usage
 * ```ts
 * import type { WebIdentityConfig } from "@brs/session";
 *
 * const config: WebIdentityConfig = {
 *   RoleArn: "arn:aws:iam::123456789012:role/ci",
 *   RoleSessionName: "github-actions",
 *   DurationSeconds: 3600,
 * };
 * ```
 */
export interface WebIdentityConfig {
  /**
   * The role to assume.
   *
   * @default {the AWS_ROLE_ARN environment variable}
   */
  RoleArn?: string;
  /**
   * The session name: 2-64 characters of `[\w+=,.@-]`.
   * @default {the `AWS_ROLE_SESSION_NAME` environment variable, else "brs-session"}
   */
  RoleSessionName?: string;
  /**
   * Lifetime of the credentials in seconds, 900-43200 (3600 is STS's default).
   *
   * @default {3600}
   */
  DurationSeconds?: number;
  /** An inline session policy (JSON). */
  Policy?: string;
  /** Managed session policies. */
  PolicyArns?: { arn?: string }[];
  /** For OAuth 2.0 access tokens only: the provider's domain, e.g. `www.amazon.com`. Leave out for OIDC tokens. */
  ProviderId?: string;
}

/**
 * A function that returns the OIDC token (a JWT), e.g. from the GitHub
 * Actions token endpoint. Called on every refresh, at most once at a time;
 * `signal` is aborted when the refresh attempt times out or the session
 * closes.
 *
 * @example Usage
 * ```ts
 * import type { WebIdentityTokenProvider } from "@brs/session";
 *
 * const provider: WebIdentityTokenProvider = async ({ signal }) => {
 *   signal.throwIfAborted();
 *   return "eyJhbGciOi..."; // fetched from your identity provider
 * };
 * ```
 */
export type WebIdentityTokenProvider = (
  options: { signal: AbortSignal },
) => string | Promise<string>;

/**
 * Options of a {@linkcode WebIdentityRefreshableSession}. Give the token as
 * `webIdentityTokenFile` or `webIdentityTokenProvider` (not both); without
 * either, the `AWS_WEB_IDENTITY_TOKEN_FILE` environment variable names the
 * file, as in the AWS SDKs.
 *
 * @example Usage
 * ```ts
 * import type { WebIdentityRefreshableSessionOptions } from "@brs/session";
 *
 * const options: WebIdentityRefreshableSessionOptions = {
 *   assumeRoleWithWebIdentity: { RoleArn: "arn:aws:iam::123456789012:role/app" },
 *   webIdentityTokenFile: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
 *   region: "eu-west-1",
 * };
 * ```
 */
export interface WebIdentityRefreshableSessionOptions
  extends RefreshableSessionOptions {
  /**
   * The AssumeRoleWithWebIdentity request; `RoleArn` and `RoleSessionName`
   * fall back to `AWS_ROLE_ARN` and `AWS_ROLE_SESSION_NAME`.
   *
   * @default {{}}
   */
  assumeRoleWithWebIdentity?: WebIdentityConfig;
  /**
   * A file holding the token, read again at every refresh (identity
   * providers such as EKS rotate it). Needs `--allow-read` for the file.
   *
   * @default {the `AWS_WEB_IDENTITY_TOKEN_FILE` environment variable}
   */
  webIdentityTokenFile?: string;
  /**
   * A function returning the token, called at every refresh.
   *
   * @default {undefined}
   */
  webIdentityTokenProvider?: WebIdentityTokenProvider;
  /**
   * Config of the STS client (region, endpoint, retries, ...). The call is
   * unsigned, so no `credentials` are needed and any given are not used.
   *
   * @default {{}}
   */
  stsClientConfig?: STSClientConfig;
  /**
   * Share refreshed credentials with the other processes of this service on
   * this host through a file cache and lock (the companion CLI's), so N
   * processes (each reading the same token file) make one
   * AssumeRoleWithWebIdentity call per expiry, not N. `true` uses the CLI's
   * directory (`$XDG_CACHE_HOME/brs`, else `~/.cache/brs`); needs
   * `--allow-read` and `--allow-write` on it (and `--allow-env=XDG_CACHE_HOME,HOME`
   * for the default one). Entries are keyed by the request, the STS endpoint and
   * region, and the token file's path (never the token); with a token
   * function, set `sharedCache.key` to tell services apart. When the
   * directory cannot be used, the session refreshes on its own and emits a
   * `warning` event.
   *
   * @default {false}
   */
  sharedCache?: boolean | SharedCacheOptions;
}

const _KEYS = [
  "assumeRoleWithWebIdentity",
  "webIdentityTokenFile",
  "webIdentityTokenProvider",
  "stsClientConfig",
  "sharedCache",
];
const _REQUEST_KEYS = [
  "RoleArn",
  "RoleSessionName",
  "DurationSeconds",
  "Policy",
  "PolicyArns",
  "ProviderId",
];
const _OWNER = "WebIdentityRefreshableSession";
const _PATH = "assumeRoleWithWebIdentity";

/** STS errors about the token, by code (the SDK's name and the wire code). */
const _TOKEN_ERRORS: Record<
  string,
  { code: string; recoverable: boolean; what: string; todo: string }
> = {
  InvalidIdentityToken: {
    code: "InvalidIdentityToken",
    recoverable: false,
    what: "STS rejected the web identity token",
    todo:
      "check the token's issuer, audience and signature against the role's OIDC identity provider",
  },
  ExpiredTokenException: {
    code: "ExpiredTokenException",
    recoverable: false,
    what: "the web identity token has expired",
    todo:
      "the token is fetched again at every refresh: check that the identity provider rotates it",
  },
  IDPRejectedClaim: {
    code: "IDPRejectedClaim",
    recoverable: false,
    what: "the identity provider rejected the token's claims",
    todo: "check the role's trust policy conditions (aud, sub)",
  },
  IDPCommunicationError: {
    code: "IDPCommunicationError",
    recoverable: true,
    what: "STS could not reach the identity provider to check the token",
    todo: "the refresh is retried with backoff",
  },
};

/** Maps an STS error about the token to a typed refresh error, never showing the token. */
function _mapTokenError(error: unknown, token: string): unknown {
  const raw = _errorCode(error) ?? "";
  const known = _TOKEN_ERRORS[raw] ??
    _TOKEN_ERRORS[raw.replace(/Exception$/, "")];
  if (known === undefined) return error;
  const text = _withoutToken(
    error instanceof Error ? error.message : "",
    token,
  ).slice(0, 300);
  return new BRSRefreshError(
    `Cannot refresh credentials as ${known.what} (${known.code}${
      text === "" ? "" : `: ${text}`
    }): ${known.todo}`,
    {
      code: known.code,
      cause: error,
      details: { recoverable: known.recoverable },
    },
  );
}

/**
 * An AWS session for STS AssumeRoleWithWebIdentity whose credentials refresh
 * themselves, with every rule of the other sessions (one STS call however
 * many callers, background refresh, static stability, no secret printed).
 * The call is unsigned: no base credentials are needed. The token is read
 * from `webIdentityTokenFile` (again at every refresh) or got from
 * `webIdentityTokenProvider`; `AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`
 * and `AWS_ROLE_SESSION_NAME` fill what the options leave out.
 *
 * Refresh errors are `BRSRefreshError`s with the STS code:
 * `InvalidIdentityToken`, `ExpiredTokenException` and `IDPRejectedClaim`
 * reach callers at once; `IDPCommunicationError` is retried with backoff. A
 * missing, unreadable or empty token file is a `BRSConfigurationError` naming
 * the option. The token never appears in a message, event or printed
 * session.
 *
 * Permissions: `--allow-net` for the STS endpoint, `--allow-read` for the
 * token file, `--allow-env` for the `AWS_*` variables it reads.
 *
 * Members inherited from {@linkcode RefreshableSession} (documented there):
 * {@linkcode RefreshableSession.prototype.client | client()},
 * {@linkcode RefreshableSession.prototype.resource | resource()},
 * {@linkcode RefreshableSession.prototype.credentialProvider | credentialProvider},
 * {@linkcode RefreshableSession.prototype.refreshableCredentials | refreshableCredentials()},
 * {@linkcode RefreshableSession.prototype.whoami | whoami()},
 * {@linkcode RefreshableSession.prototype.refresh | refresh()},
 * {@linkcode RefreshableSession.prototype.invalidate | invalidate()}, the
 * `refresh`, `refresh-error` and `warning` events, and
 * {@linkcode RefreshableSession.prototype.close | close()} / `await using`.
 *
 * @example Usage
 * ```ts
 * import { WebIdentityRefreshableSession } from "@brs/session";
 * import { mintWebIdentityToken, startLocalSts } from "@brs/session/testing";
 * import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * const tokenFile = await Deno.makeTempFile();
 * await Deno.writeTextFile(tokenFile, mintWebIdentityToken({ subject: "system:serviceaccount:prod:app" }));
 * await using session = new WebIdentityRefreshableSession({
 *   assumeRoleWithWebIdentity: { RoleArn: "arn:aws:iam::123456789012:role/app", RoleSessionName: "pod" },
 *   webIdentityTokenFile: tokenFile,
 *   stsClientConfig: { endpoint: sts.url },
 *   region: "us-east-1",
 * });
 * const client = session.client(STSClient, { endpoint: sts.url });
 * const me = await client.send(new GetCallerIdentityCommand({}));
 * assertEquals(me.Arn, "arn:aws:sts::123456789012:assumed-role/app/pod");
 * assertEquals(sts.calls.AssumeRoleWithWebIdentity, 1);
 * await Deno.remove(tokenFile);
 * ```
 *
 * @example One refresh per host with `sharedCache`
 * ```ts
 * import { WebIdentityRefreshableSession, type WebIdentityRefreshableSessionOptions } from "@brs/session";
 * import { mintWebIdentityToken, startLocalSts } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * const tokenFile = await Deno.makeTempFile();
 * await Deno.writeTextFile(tokenFile, mintWebIdentityToken());
 * const directory = await Deno.makeTempDir(); // needs --allow-read/--allow-write on it
 * const options: WebIdentityRefreshableSessionOptions = {
 *   assumeRoleWithWebIdentity: { RoleArn: "arn:aws:iam::123456789012:role/app" },
 *   webIdentityTokenFile: tokenFile,
 *   stsClientConfig: { endpoint: sts.url },
 *   region: "us-east-1",
 *   sharedCache: { directory },
 * };
 * // Two sessions stand for two worker processes of one pod.
 * await using first = new WebIdentityRefreshableSession(options);
 * await using second = new WebIdentityRefreshableSession(options);
 * const credentials = await first.refreshableCredentials();
 * assertEquals((await second.refreshableCredentials()).accessKey, credentials.accessKey);
 * assertEquals(sts.calls.AssumeRoleWithWebIdentity, 1);
 * await Deno.remove(directory, { recursive: true });
 * await Deno.remove(tokenFile);
 * ```
 */
export class WebIdentityRefreshableSession extends RefreshableSession {
  /** The AssumeRoleWithWebIdentity request (validated copy, defaults and environment applied). */
  readonly assumeRoleWithWebIdentity: Readonly<WebIdentityConfig>;
  /** The token file read at every refresh, or `undefined` with a token function. */
  readonly webIdentityTokenFile: string | undefined;
  readonly #tokenParam: string;
  readonly #tokenProvider: WebIdentityTokenProvider | undefined;
  readonly #stsClientConfig: Record<string, unknown>;
  #stsClient: STSClient | undefined;
  /** The session's wall clock (an injected one in tests), for the Expiration cap. */
  readonly #wallClock: () => number;
  readonly #shared: _SharedCache | undefined;

  /**
   * Creates the session. With `deferRefresh: false`, the first call starts
   * at once; otherwise on first use.
   *
   * @param options The request, the token's source, STS client config and session options.
   * @throws {BRSValidationError} If an option or request parameter has a bad type
   * or value, or is unknown.
   * @throws {BRSConfigurationError} If no role or no token source is given
   * (neither in options nor in the environment), or both a file and a function.
   *
   * @example Usage
   * ```ts
   * import { BRSConfigurationError, WebIdentityRefreshableSession } from "@brs/session";
   * import { assertThrows } from "@std/assert";
   *
   * assertThrows(
   *   () => new WebIdentityRefreshableSession({
   *     assumeRoleWithWebIdentity: { RoleArn: "arn:aws:iam::123456789012:role/app" },
   *     webIdentityTokenFile: "/run/token",
   *     webIdentityTokenProvider: () => "token",
   *   }),
   *   BRSConfigurationError,
   *   "give one of them",
   * );
   * ```
   */
  constructor(options: WebIdentityRefreshableSessionOptions) {
    const o =
      (options !== null && typeof options === "object"
        ? options
        : {}) as Record<string, unknown>;
    _checkOptionKeys(options, _KEYS, _OWNER);
    _checkOptionalObject(
      _OWNER,
      _PATH,
      o.assumeRoleWithWebIdentity,
      '{ RoleArn: "arn:aws:iam::123456789012:role/app" }',
    );
    _checkOptionalObject(
      _OWNER,
      "stsClientConfig",
      o.stsClientConfig,
      '{ region: "eu-west-1" }',
    );
    const given = { ...(o.assumeRoleWithWebIdentity as object | undefined) } as
      & WebIdentityConfig
      & Record<string, unknown>;
    /** Request keys filled from the environment, and the variable. */
    const fromEnv: Record<string, string> = {};
    if (given.RoleArn === undefined) {
      const roleArn = _readEnv("AWS_ROLE_ARN");
      if (roleArn === undefined) {
        throw new BRSConfigurationError(
          `Cannot create ${_OWNER} as no role is given: set '${_PATH}.RoleArn' or the AWS_ROLE_ARN environment variable (and grant --allow-env=AWS_ROLE_ARN)`,
          { param: `${_PATH}.RoleArn` },
        );
      }
      given.RoleArn = roleArn;
      fromEnv.RoleArn = "AWS_ROLE_ARN";
    }
    if (given.RoleSessionName === undefined) {
      const name = _readEnv("AWS_ROLE_SESSION_NAME");
      if (name !== undefined) fromEnv.RoleSessionName = "AWS_ROLE_SESSION_NAME";
      given.RoleSessionName = name ?? _DEFAULT_ROLE_SESSION_NAME;
    }
    let request: WebIdentityConfig;
    try {
      request = _validateAssumeRoleConfig(given, _PATH, _REQUEST_KEYS);
    } catch (error) {
      // A bad value from the environment: say where it came from.
      const key = error instanceof BRSValidationError
        ? error.param?.slice(_PATH.length + 1)
        : undefined;
      const variable = key === undefined ? undefined : fromEnv[key];
      if (variable === undefined) throw error;
      throw new BRSValidationError(
        `${
          (error as Error).message
        } (from the ${variable} environment variable)`,
        { param: variable, cause: error },
      );
    }
    const providerId = request.ProviderId;
    if (
      providerId !== undefined &&
      (typeof providerId !== "string" || providerId.length < 4 ||
        providerId.length > 2048)
    ) {
      throw new BRSValidationError(
        `Cannot create ${_OWNER} as '${_PATH}.ProviderId' must be a domain of 4-2048 characters such as "www.amazon.com", or left out for OIDC tokens: got ${
          _describeValue(providerId)
        }`,
        { param: `${_PATH}.ProviderId` },
      );
    }
    const file = o.webIdentityTokenFile;
    const provider = o.webIdentityTokenProvider;
    if (file !== undefined && (typeof file !== "string" || file === "")) {
      throw new BRSValidationError(
        `Cannot create ${_OWNER} as 'webIdentityTokenFile' must be the path of the token file, a non-empty string: got ${
          _typeName(file)
        }`,
        { param: "webIdentityTokenFile" },
      );
    }
    if (provider !== undefined && typeof provider !== "function") {
      throw new BRSValidationError(
        `Cannot create ${_OWNER} as 'webIdentityTokenProvider' must be a function returning the OIDC token: got ${
          _typeName(provider)
        }`,
        { param: "webIdentityTokenProvider" },
      );
    }
    if (file !== undefined && provider !== undefined) {
      throw new BRSConfigurationError(
        `Cannot create ${_OWNER} as both 'webIdentityTokenFile' and 'webIdentityTokenProvider' are set: give one of them`,
        { param: "webIdentityTokenFile" },
      );
    }
    let tokenFile = file as string | undefined;
    let tokenParam = "webIdentityTokenFile";
    if (tokenFile === undefined && provider === undefined) {
      tokenFile = _readEnv("AWS_WEB_IDENTITY_TOKEN_FILE");
      tokenParam = "AWS_WEB_IDENTITY_TOKEN_FILE";
      if (tokenFile === undefined) {
        throw new BRSConfigurationError(
          `Cannot create ${_OWNER} as no token source is given: set 'webIdentityTokenFile' or 'webIdentityTokenProvider', or the AWS_WEB_IDENTITY_TOKEN_FILE environment variable (and grant --allow-env=AWS_WEB_IDENTITY_TOKEN_FILE)`,
          { param: "webIdentityTokenFile" },
        );
      }
    }
    const config = (o.stsClientConfig ?? {}) as Record<string, unknown>;
    const shared = _validateSharedCache(o.sharedCache, _OWNER);
    super(options, _KEYS, {
      kind: _OWNER,
      region: typeof config.region === "string" ? config.region : undefined,
    });
    this.assumeRoleWithWebIdentity = Object.freeze(request);
    this.webIdentityTokenFile = tokenFile;
    this.#tokenParam = tokenParam;
    this.#tokenProvider = provider as WebIdentityTokenProvider | undefined;
    const { credentials: _credentials, ...rest } = config;
    this.#stsClientConfig = rest;
    const clock = o.clock as Clock | undefined;
    this.#wallClock = clock === undefined ? Date.now : () => clock.now();
    this.#shared = _SharedCache.of(
      shared,
      o,
      (code, message) => this._warn(code, message),
    );
  }

  #client(): STSClient {
    if (this.#stsClient === undefined) {
      const region = this.regionName;
      this.#stsClient = new STSClient({
        ...(region === undefined ? {} : { region }),
        ...this.#stsClientConfig,
      });
    }
    return this.#stsClient;
  }

  /**
   * Gets the token and calls AssumeRoleWithWebIdentity (unsigned).
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
      () => Promise.resolve(this.#sharedKeyMaterial()),
      () => this.#fetchOwn(signal),
    );
  }

  /** What identifies this session's credentials across processes (never the token). */
  #sharedKeyMaterial(): Record<string, unknown> {
    return {
      source: "AssumeRoleWithWebIdentity",
      ..._flatRequest(this.assumeRoleWithWebIdentity),
      endpoint: _endpointName(this.#stsClientConfig.endpoint),
      region: this.regionName,
      base: this.#tokenProvider === undefined
        ? `file:${this.webIdentityTokenFile}`
        : "webIdentityTokenProvider",
    };
  }

  async #fetchOwn(signal: AbortSignal): Promise<_FetchResult> {
    const token = this.#tokenProvider === undefined
      ? await _readTokenFile(this.webIdentityTokenFile!, this.#tokenParam)
      : await _callTokenProvider(this.#tokenProvider, signal);
    const input = {
      ...this.assumeRoleWithWebIdentity,
      WebIdentityToken: token,
    } as AssumeRoleWithWebIdentityCommandInput;
    try {
      const { reply, dateHeader } = await _sendWithDateHeader<
        AssumeRoleWithWebIdentityCommandOutput
      >(this.#client(), new AssumeRoleWithWebIdentityCommand(input), signal);
      return _mapStsCredentials(
        "AssumeRoleWithWebIdentity",
        reply.Credentials,
        dateHeader,
        this.assumeRoleWithWebIdentity.DurationSeconds ?? 3600,
        this.#wallClock(),
        (code, message) => this._warn(code, message),
      );
    } catch (error) {
      throw _mapTokenError(error, token);
    }
  }

  /**
   * The `whoami` client uses the STS client config.
   *
   * @returns A config without `credentials`.
   *
   * @ignore
   */
  protected override _identityClientConfig(): Record<string, unknown> {
    return { ...this.#stsClientConfig };
  }

  /**
   * Destroys the STS client.
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
   * @returns The base facts plus the role and where the token comes from.
   *
   * @ignore
   */
  protected override _describe(): Record<string, unknown> {
    return {
      ...super._describe(),
      assumeRoleWithWebIdentity: { ...this.assumeRoleWithWebIdentity },
      webIdentityTokenSource: this.#tokenProvider === undefined
        ? { file: this.webIdentityTokenFile }
        : "webIdentityTokenProvider",
      ...(this.#shared === undefined
        ? {}
        : { sharedCache: this.#shared.settings }),
    };
  }
}
