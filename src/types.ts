/**
 * The public data types of `@brs/session`.
 *
 * @module
 */

import type { STSClientConfig as _SdkSTSClientConfig } from "@aws-sdk/client-sts";

/**
 * The AssumeRole request of a session, with the AWS SDK's field names. Only
 * `RoleArn` is required. Unknown keys are an error, not ignored.
 *
 * @example Usage
 * ```ts
 * import type { AssumeRoleConfig } from "@brs/session";
 *
 * const assumeRole: AssumeRoleConfig = {
 *   RoleArn: "arn:aws:iam::123456789012:role/app",
 *   RoleSessionName: "ci-job",
 *   DurationSeconds: 3600,
 * };
 * ```
 */
export interface AssumeRoleConfig {
  /** The ARN of the IAM role to assume, e.g. `arn:aws:iam::123456789012:role/app` (any partition). */
  RoleArn: string;
  /**
   * The session name: 2-64 characters of `[\w+=,.@-]`.
   *
   * @default {"brs-session"}
   */
  RoleSessionName?: string;
  /**
   * Lifetime of the credentials in seconds, 900-43200 (3600 is STS's default).
   *
   * @default {3600}
   */
  DurationSeconds?: number;
  /** The external id the role's trust policy asks for. */
  ExternalId?: string;
  /** An inline session policy (JSON). */
  Policy?: string;
  /** Managed session policies. */
  PolicyArns?: { arn?: string }[];
  /** Session tags. */
  Tags?: { Key: string; Value: string }[];
  /** Keys of `Tags` that pass on to chained role sessions. */
  TransitiveTagKeys?: string[];
  /** The source identity to set on the session. */
  SourceIdentity?: string;
  /** The serial number (or ARN) of the MFA device. */
  SerialNumber?: string;
  /** A static MFA code, used as given when no `mfaTokenProvider` is set. */
  TokenCode?: string;
  /** Trusted context assertions. */
  ProvidedContexts?: { ProviderArn?: string; ContextAssertion?: string }[];
}

/**
 * The configuration of the STS client that calls AssumeRole with the **base**
 * credentials: the AWS SDK's own `STSClientConfig` (region, endpoint,
 * `credentials` of the source identity, `maxAttempts`, ...).
 *
 * @example Usage
 * ```ts
 * import type { STSClientConfig } from "@brs/session";
 *
 * const stsClientConfig: STSClientConfig = {
 *   region: "eu-west-1",
 *   maxAttempts: 2,
 * };
 * ```
 */
export type STSClientConfig = _SdkSTSClientConfig;

/**
 * One consistent snapshot of temporary credentials, in the shape of the
 * Python original (`access_key`, `secret_key`, `token`, `expiry_time`).
 *
 * This object holds the secret key and session token in clear, on purpose:
 * printing or logging it (`console.log`, `Deno.inspect`, `JSON.stringify`)
 * shows them, unlike the session and its errors and events, which redact them.
 *
 * @example Usage
 * ```ts
 * import type { TemporaryCredentials } from "@brs/session";
 *
 * const credentials: TemporaryCredentials = {
 *   accessKey: "ASIAEXAMPLE",
 *   secretKey: "example-secret",
 *   token: "example-token",
 *   expiryTime: "2030-01-01T00:00:00.000Z",
 * };
 * ```
 */
export interface TemporaryCredentials {
  /** The access key id. */
  accessKey: string;
  /** The secret access key. */
  secretKey: string;
  /** The session token. */
  token: string;
  /** The expiry, ISO 8601 in UTC (`...Z`). */
  expiryTime: string;
}

/**
 * The identity that AWS sees: the reply of STS `GetCallerIdentity`.
 *
 * @example Usage
 * ```ts
 * import type { Identity } from "@brs/session";
 *
 * const identity: Identity = {
 *   UserId: "AROAEXAMPLE:brs-session",
 *   Account: "123456789012",
 *   Arn: "arn:aws:sts::123456789012:assumed-role/app/brs-session",
 * };
 * ```
 */
export interface Identity {
  /** The unique id, `AROA...:SESSION` for an assumed role. */
  UserId: string;
  /** The 12-digit account id. */
  Account: string;
  /** The ARN, `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` for an assumed role. */
  Arn: string;
}

/**
 * A clock, injectable for tests. `now()` is wall-clock time in milliseconds
 * since the epoch (like `Date.now()`); `monotonic()` is a monotonic time in
 * milliseconds (like `performance.now()`). Every deadline holds on both and
 * the earlier wins: a wall clock moved forward (or a suspend: `now()` moves,
 * `monotonic()` does not) brings deadlines closer, a wall clock set back
 * changes nothing.
 *
 * A clock that throws or returns a non-finite number or a non-number makes
 * the session's calls reject with a `BRSValidationError` (code
 * `InvalidClock`); a `monotonic()` that goes back by more than 1 s makes the
 * session distrust its credentials and refresh once (reason `ClockJump`).
 *
 * @example Usage
 * ```ts
 * import type { Clock } from "@brs/session";
 *
 * let t = 0;
 * const clock: Clock = {
 *   now: () => 1_700_000_000_000 + t,
 *   monotonic: () => t,
 * };
 * t += 1000;
 * ```
 */
export interface Clock {
  /** Wall-clock time, milliseconds since the epoch. */
  now(): number;
  /** Monotonic time in milliseconds. */
  monotonic(): number;
}

/**
 * Options of a session's client cache (see `ClientCache`).
 *
 * @example Usage
 * ```ts
 * import type { CacheOptions } from "@brs/session";
 *
 * const cache: CacheOptions = { evictionPolicy: "LFU", maxSize: 32 };
 * ```
 */
export interface CacheOptions {
  /**
   * Which entry leaves first when the cache is full.
   *
   * @default {"LRU"}
   */
  evictionPolicy?: "LRU" | "LFU";
  /**
   * The most entries kept; `undefined` is unbounded, `0` turns caching off.
   *
   * @default {undefined}
   */
  maxSize?: number;
}

/**
 * Why a refresh ran, as given in the `reason` of `refresh`, `refresh-error`
 * and some `warning` events:
 *
 * - `"Initial"`: the first fetch of the session;
 * - `"Advisory"`: inside the advisory window (callers kept the current credentials);
 * - `"Mandatory"`: inside the mandatory window (callers waited);
 * - `"Expired"`: the credentials had expired (less than the safety margin left);
 * - `"Invalidated"`: `invalidate(accessKeyId)` was called, e.g. by a
 *   self-healing client that got ExpiredToken;
 * - `"ClockJump"`: a deadline was reached only because the wall clock moved
 *   ahead of the monotonic clock (the machine slept, or the clock was set
 *   forward), or the monotonic clock went back;
 * - `"Forced"`: `refresh({ force: true })`.
 *
 * @example Usage
 * ```ts
 * import type { RefreshReason } from "@brs/session";
 *
 * function unusual(reason: RefreshReason): boolean {
 *   return reason === "Invalidated" || reason === "ClockJump";
 * }
 * unusual("Advisory");
 * ```
 */
export type RefreshReason =
  | "Initial"
  | "Advisory"
  | "Mandatory"
  | "Expired"
  | "Invalidated"
  | "ClockJump"
  | "Forced";

/**
 * An AWS SDK v3 client class (or any class whose constructor takes at most
 * a config object), as `client()` and `resource()` accept it: `S3Client`,
 * `STSClient`, `DynamoDBClient`, ...
 *
 * @typeParam C The client type the class builds.
 *
 * @example Usage
 * ```ts
 * import type { ClientClass } from "@brs/session";
 * import { STSClient } from "@aws-sdk/client-sts";
 * import { assertStrictEquals } from "@std/assert";
 *
 * const Sts: ClientClass<STSClient> = STSClient;
 * assertStrictEquals(Sts, STSClient);
 * ```
 */
export type ClientClass<C extends object = object> = new (
  ...args: never
) => C;

/**
 * The config type of a client class: the type of its constructor's first
 * argument, e.g. `ClientConfig<typeof S3Client>` is `S3ClientConfig`. This is
 * what `client()` and `resource()` accept, so a misspelt or mistyped option
 * (`{ regoin: "eu-west-1" }`, `{ maxAttempts: "three" }`) is a compile error.
 *
 * @typeParam K The client class, e.g. `typeof STSClient`.
 *
 * @example Usage
 * ```ts
 * import type { ClientConfig } from "@brs/session";
 * import { STSClient } from "@aws-sdk/client-sts";
 *
 * const config: ClientConfig<typeof STSClient> = {
 *   region: "eu-west-1",
 *   maxAttempts: 3,
 * };
 * new STSClient(config).destroy();
 * ```
 */
export type ClientConfig<K extends ClientClass> = NonNullable<
  ConstructorParameters<K>[0]
>;

/**
 * Something with a static `from(client, options?)`, e.g.
 * `DynamoDBDocumentClient`: what `client()`'s sibling `resource()` wraps a
 * client with. A class with a static `from` or a plain `{ from }` object both
 * fit.
 *
 * @typeParam R The wrapper type.
 * @typeParam C The client type.
 * @typeParam O The type of `from`'s second argument, the wrapper's own
 * options (e.g. DynamoDBDocumentClient's `{ marshallOptions }`); `never` for
 * a `from` that takes none.
 *
 * @example Usage
 * ```ts
 * import type { ResourceWrapper } from "@brs/session";
 * import { STSClient } from "@aws-sdk/client-sts";
 * import { assertEquals } from "@std/assert";
 *
 * const Wrapper: ResourceWrapper<{ region: string }, STSClient> = {
 *   from: () => ({ region: "eu-west-1" }),
 * };
 * assertEquals(Wrapper.from(new STSClient({})).region, "eu-west-1");
 * ```
 */
export interface ResourceWrapper<R, C, O = never> {
  /**
   * Wraps a client.
   *
   * @param client The client.
   * @param options The wrapper's own options, when `resource()` is given
   * `wrapperOptions`; otherwise `from` is called with the client alone.
   * @returns The wrapper.
   */
  from(client: C, options?: O): R;
}

/**
 * The `options` of `resource()`: the settings of the resource cache, and the
 * wrapper's own options, passed on as `Wrapper.from(client, wrapperOptions)`.
 *
 * @typeParam O The type of the wrapper's options, taken from its `from`.
 *
 * @example Usage
 * ```ts
 * import type { ResourceOptions } from "@brs/session";
 *
 * const options: ResourceOptions<{ marshallOptions?: object }> = {
 *   wrapperOptions: { marshallOptions: { removeUndefinedValues: true } },
 *   maxSize: 16,
 * };
 * ```
 */
export interface ResourceOptions<O = never> extends CacheOptions {
  /**
   * The second argument of `Wrapper.from(client, wrapperOptions)`, e.g.
   * `{ marshallOptions: { removeUndefinedValues: true } }` for
   * `DynamoDBDocumentClient`. Part of the cache key: equal options (by value,
   * as for a client's config) give the same resource, other options another
   * one over a client of its own.
   *
   * @default {undefined} `from(client)` is called with the client alone
   */
  wrapperOptions?: O;
}

/**
 * The `mfaSession` option of an `STSRefreshableSession`.
 *
 * @example Usage
 * ```ts
 * import type { MfaSessionOptions } from "@brs/session";
 *
 * const mfaSession: MfaSessionOptions = { durationSeconds: 43_200 }; // one code per 12 h
 * ```
 */
export interface MfaSessionOptions {
  /**
   * Lifetime of the MFA session (`GetSessionToken`), 900-129600 seconds.
   *
   * @default {43200} (STS's default)
   */
  durationSeconds?: number;
}

/**
 * Settings of the `sharedCache` option of `STSRefreshableSession` and
 * `WebIdentityRefreshableSession` (`sharedCache: true` is `{}`): the
 * processes of one service on one host share one credential file cache and
 * lock, so they make one STS call per expiry, not one each.
 *
 * @example Usage
 * ```ts
 * import type { SharedCacheOptions } from "@brs/session";
 *
 * const sharedCache: SharedCacheOptions = { directory: "/var/cache/my-service/brs" };
 * ```
 */
export interface SharedCacheOptions {
  /**
   * The cache directory (created with mode 0700; its files are 0600). The
   * process needs `--allow-read` and `--allow-write` on it.
   *
   * @default {"$XDG_CACHE_HOME/brs", else "$HOME/.cache/brs"} (the CLI's)
   */
  directory?: string;
  /**
   * A name mixed into every entry's key, to keep apart services that assume
   * the same role with the same settings and base identity (or that get
   * their web identity token from a function).
   *
   * @default {undefined}
   */
  key?: string;
}

/**
 * Options of a session's `getAvailableRegions(service, partition, options)`.
 *
 * @example Usage
 * ```ts
 * import type { AvailableRegionsOptions } from "@brs/session";
 *
 * const options: AvailableRegionsOptions = { allowNonRegional: true };
 * ```
 */
export interface AvailableRegionsOptions {
  /**
   * Also list the partition's non-regional (global) endpoints, e.g.
   * `aws-global`, as boto3's `allow_non_regional=True` does.
   *
   * @default {false}
   */
  allowNonRegional?: boolean;
}
