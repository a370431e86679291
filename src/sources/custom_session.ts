/**
 * {@linkcode CustomRefreshableSession}: a session whose credentials come from
 * your own function, with every refresh rule of the STS session.
 *
 * @module
 */

import { _checkOptionalObject, _typeName } from "../_validate.ts";
import type { _FetchResult } from "../engine/_refresher.ts";
import { BRSValidationError } from "../errors.ts";
import {
  _checkOptionKeys,
  type AwsCredentialIdentity,
  RefreshableSession,
  type RefreshableSessionOptions,
} from "../engine/refreshable_session.ts";
import type { STSClientConfig, TemporaryCredentials } from "../types.ts";

/**
 * A function that returns new credentials: {@linkcode TemporaryCredentials}
 * (`expiryTime` an ISO 8601 string **with** a time zone, e.g. `...Z` or
 * `...+01:00`) or an `AwsCredentialIdentity` (`expiration` a `Date`, which is
 * then required). It gets `providerOptions`.
 *
 * @example Usage
 * ```ts
 * import type { CustomCredentialProvider } from "@brs/session";
 *
 * const provider: CustomCredentialProvider = async (options) => ({
 *   accessKeyId: String(options.accessKeyId),
 *   secretAccessKey: "example-secret",
 *   expiration: new Date(Date.now() + 3_600_000),
 * });
 * ```
 */
export type CustomCredentialProvider = (
  options: Record<string, unknown>,
) =>
  | TemporaryCredentials
  | AwsCredentialIdentity
  | Promise<TemporaryCredentials | AwsCredentialIdentity>;

/**
 * Options of a {@linkcode CustomRefreshableSession}.
 *
 * @example Usage
 * ```ts
 * import type { CustomRefreshableSessionOptions } from "@brs/session";
 *
 * const options: CustomRefreshableSessionOptions = {
 *   provider: () => ({
 *     accessKey: "A",
 *     secretKey: "S",
 *     token: "T",
 *     expiryTime: "2099-01-01T00:00:00Z",
 *   }),
 *   region: "eu-west-1",
 * };
 * ```
 */
export interface CustomRefreshableSessionOptions
  extends RefreshableSessionOptions {
  /** The function that returns new credentials; called at most once at a time. */
  provider: CustomCredentialProvider;
  /**
   * Passed to `provider` on every call.
   *
   * @default {{}}
   */
  providerOptions?: Record<string, unknown>;
  /**
   * Config of the STS client behind `whoami()` / `getIdentity()` (endpoint,
   * region, retries, ...), e.g. a VPC or FIPS endpoint. Its `credentials` are
   * not used: that client always signs with the session's credentials.
   *
   * @default {{}}
   */
  stsClientConfig?: STSClientConfig;
}

const _CUSTOM_KEYS = ["provider", "providerOptions", "stsClientConfig"];
const _TEMPORARY_KEYS = ["accessKey", "secretKey", "token", "expiryTime"];
/** ISO 8601 date-time with an explicit time zone. */
const _ISO_WITH_ZONE =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/** Maps what a custom provider returned to the engine's shape, or throws. */
function _mapProviderResult(value: unknown): _FetchResult {
  const prefix = "Cannot use the credentials from 'provider' as";
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BRSValidationError(
      `${prefix} it must return { accessKey, secretKey, token, expiryTime } or { accessKeyId, secretAccessKey, sessionToken, expiration }: got ${
        _typeName(value)
      }`,
      { param: "provider" },
    );
  }
  const v = value as Record<string, unknown>;
  if ("accessKeyId" in v || "secretAccessKey" in v || "expiration" in v) {
    const missing = ["accessKeyId", "secretAccessKey", "expiration"].filter(
      (k) => v[k] === undefined || v[k] === null || v[k] === "",
    );
    if (missing.length > 0) {
      throw new BRSValidationError(
        `${prefix} it lacks ${
          missing.join(", ")
        }: an AwsCredentialIdentity needs accessKeyId, secretAccessKey and an expiration Date`,
        { param: "provider", details: { missing } },
      );
    }
    if (
      typeof v.accessKeyId !== "string" || typeof v.secretAccessKey !== "string"
    ) {
      throw new BRSValidationError(
        `${prefix} accessKeyId and secretAccessKey must be strings: got ${
          _typeName(v.accessKeyId)
        } and ${_typeName(v.secretAccessKey)}`,
        { param: "provider" },
      );
    }
    if (v.sessionToken !== undefined && typeof v.sessionToken !== "string") {
      throw new BRSValidationError(
        `${prefix} sessionToken must be a string: got ${
          _typeName(v.sessionToken)
        }`,
        { param: "provider" },
      );
    }
    const expiration = v.expiration;
    if (!(expiration instanceof Date) || Number.isNaN(expiration.getTime())) {
      throw new BRSValidationError(
        `${prefix} expiration must be a valid Date: got ${
          expiration instanceof Date ? "an invalid Date" : _typeName(expiration)
        }`,
        { param: "provider" },
      );
    }
    return {
      credentials: {
        accessKeyId: v.accessKeyId,
        secretAccessKey: v.secretAccessKey,
        ...(typeof v.sessionToken === "string"
          ? { sessionToken: v.sessionToken }
          : {}),
        expiration,
      },
    };
  }
  const missing = _TEMPORARY_KEYS.filter(
    (k) => typeof v[k] !== "string" || v[k] === "",
  );
  if (missing.length > 0) {
    throw new BRSValidationError(
      `${prefix} it lacks ${
        missing.join(", ")
      } (non-empty strings): return { accessKey, secretKey, token, expiryTime }`,
      { param: "provider", details: { missing } },
    );
  }
  const expiryTime = v.expiryTime as string;
  const expiration = new Date(expiryTime);
  if (!_ISO_WITH_ZONE.test(expiryTime) || Number.isNaN(expiration.getTime())) {
    throw new BRSValidationError(
      `${prefix} expiryTime must be an ISO 8601 date-time with a time zone such as "2030-01-01T00:00:00Z": got ${
        JSON.stringify(expiryTime.slice(0, 64))
      }`,
      { param: "provider", details: { expiryTime: expiryTime.slice(0, 64) } },
    );
  }
  return {
    credentials: {
      accessKeyId: v.accessKey as string,
      secretAccessKey: v.secretKey as string,
      sessionToken: v.token as string,
      expiration,
    },
  };
}

/**
 * A session whose credentials come from your function (the counterpart of
 * boto3-refresh-session's custom method), with every rule of the STS session:
 * one call at a time however many callers, background refresh in the
 * advisory window, backoff on failure, a cached client per config.
 * Credentials that arrive already expired count as a failure
 * (`BRSRefreshError` with code `"ExpiredOnArrival"`); a result of the wrong
 * shape is a `BRSValidationError`.
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
 * import { CustomRefreshableSession } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * let calls = 0;
 * await using session = new CustomRefreshableSession({
 *   provider: async ({ prefix }) => ({
 *     accessKey: `${prefix}${++calls}`,
 *     secretKey: "example-secret",
 *     token: "example-token",
 *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
 *   }),
 *   providerOptions: { prefix: "ASIAEXAMPLE" },
 * });
 * const all = await Promise.all(
 *   Array.from({ length: 100 }, () => session.refreshableCredentials()),
 * );
 * assertEquals(all[99]!.accessKey, "ASIAEXAMPLE1");
 * assertEquals(calls, 1);
 * ```
 */
export class CustomRefreshableSession extends RefreshableSession {
  readonly #provider: CustomCredentialProvider;
  readonly #providerOptions: Record<string, unknown>;
  readonly #identityConfig: Record<string, unknown>;

  /**
   * Creates the session.
   *
   * @param options `provider`, `providerOptions`, `stsClientConfig` (for
   * `whoami()`) and the shared session options.
   * @throws {BRSValidationError} If `provider` is not a function, `providerOptions`
   * not an object, or another option is bad or unknown.
   *
   * @example Usage
   * ```ts
   * import {
   *   BRSValidationError,
   *   CustomRefreshableSession,
   * } from "@brs/session";
   * import { assertThrows } from "@std/assert";
   *
   * assertThrows(
   *   () => new CustomRefreshableSession({ provider: "nope" as never }),
   *   BRSValidationError,
   *   "'provider' must be a function",
   * );
   * ```
   */
  constructor(options: CustomRefreshableSessionOptions) {
    const o = options as unknown as Record<string, unknown> | undefined;
    _checkOptionKeys(options, _CUSTOM_KEYS, "CustomRefreshableSession");
    const provider = o?.provider;
    if (o !== null && typeof o === "object" && typeof provider !== "function") {
      throw new BRSValidationError(
        `Cannot create CustomRefreshableSession as 'provider' must be a function returning credentials: got ${
          _typeName(provider)
        }`,
        { param: "provider" },
      );
    }
    const providerOptions = o?.providerOptions;
    const stsClientConfig = o?.stsClientConfig;
    _checkOptionalObject(
      "CustomRefreshableSession",
      "providerOptions",
      providerOptions,
      '{ profile: "dev" }',
    );
    _checkOptionalObject(
      "CustomRefreshableSession",
      "stsClientConfig",
      stsClientConfig,
      '{ region: "eu-west-1" }',
    );
    super(options, _CUSTOM_KEYS, { kind: "CustomRefreshableSession" });
    this.#provider = provider as CustomCredentialProvider;
    this.#providerOptions = (providerOptions ?? {}) as Record<string, unknown>;
    const { credentials: _credentials, ...identityConfig } =
      (stsClientConfig ?? {}) as Record<string, unknown>;
    this.#identityConfig = identityConfig;
  }

  /**
   * The `whoami` client uses `stsClientConfig` without its `credentials`.
   *
   * @returns A config without `credentials`.
   *
   * @ignore
   */
  protected override _identityClientConfig(): Record<string, unknown> {
    return { ...this.#identityConfig };
  }

  /**
   * Calls the provider and checks what it returned.
   *
   * @param _signal Not passed to the provider.
   * @returns The credentials.
   *
   * @ignore
   */
  protected override async _fetchCredentials(
    _signal: AbortSignal,
  ): Promise<_FetchResult> {
    return _mapProviderResult(await this.#provider(this.#providerOptions));
  }
}
