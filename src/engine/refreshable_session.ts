/**
 * {@linkcode RefreshableSession}: the base class of every session. It holds
 * the refresh engine, the client and resource caches, `whoami`, the events and
 * disposal; subclasses only say how to fetch new credentials.
 *
 * @module
 */

import { STSClient } from "@aws-sdk/client-sts";
import { _callerIdentity } from "./_caller_identity.ts";
import {
  _availableProfiles,
  _getAvailablePartitions,
  _getAvailableRegions,
  _getPartitionForRegion,
} from "./_aws_metadata.ts";
import {
  _CacheKeyMemo,
  _configKey,
  _identityId,
  _mergeConfig,
  _newClient,
} from "../cache/_client_cache_key.ts";
import { _keyIdSuffix } from "./_key_id.ts";
import { _redactSecrets } from "../_redact.ts";
import {
  _applyCacheOptions,
  _describeValue,
  _splitResourceOptions,
  _validateCacheOptions,
} from "../_validate.ts";
import {
  type _CredentialSnapshot,
  type _FetchResult,
  _Refresher,
  type _RefresherEvent,
} from "./_refresher.ts";
import { ClientCache } from "../cache/client_cache.ts";
import {
  _applySelfHealing,
  type _Healer,
  _registerHealer,
} from "./_self_healing.ts";
import { _readEnv } from "../_env.ts";
import { BRSError, BRSValidationError } from "../errors.ts";
import type {
  AvailableRegionsOptions,
  CacheOptions,
  ClientClass,
  ClientConfig,
  Clock,
  Identity,
  RefreshReason,
  ResourceOptions,
  ResourceWrapper,
  TemporaryCredentials,
} from "../types.ts";

/**
 * The AWS SDK's credential identity (`AwsCredentialIdentity` of
 * `@smithy/types`): what a credential provider resolves to.
 *
 * @example Usage
 * ```ts
 * import type { AwsCredentialIdentity } from "@brs/session";
 *
 * const identity: AwsCredentialIdentity = {
 *   accessKeyId: "ASIAEXAMPLE",
 *   secretAccessKey: "example-secret",
 *   sessionToken: "example-token",
 *   expiration: new Date("2030-01-01T00:00:00Z"),
 * };
 * ```
 */
export interface AwsCredentialIdentity {
  /** The access key id. */
  readonly accessKeyId: string;
  /** The secret access key. */
  readonly secretAccessKey: string;
  /** The session token of temporary credentials. */
  readonly sessionToken?: string;
  /** The credential scope, if any. */
  readonly credentialScope?: string;
  /** The account id, if known. */
  readonly accountId?: string;
  /** When the credentials expire. */
  readonly expiration?: Date;
}

/**
 * The AWS SDK's credential provider type (`AwsCredentialIdentityProvider`):
 * a function that resolves to an {@linkcode AwsCredentialIdentity}; any v3
 * client accepts one as `credentials`.
 *
 * @example Usage
 * ```ts
 * import type { AwsCredentialIdentityProvider } from "@brs/session";
 *
 * const provider: AwsCredentialIdentityProvider = () =>
 *   Promise.resolve({
 *     accessKeyId: "AKIAEXAMPLE",
 *     secretAccessKey: "example-secret",
 *   });
 * ```
 */
export type AwsCredentialIdentityProvider = (
  identityProperties?: Record<string, unknown>,
) => Promise<AwsCredentialIdentity>;

/**
 * Options shared by every session.
 *
 * @example Usage
 * ```ts
 * import type { RefreshableSessionOptions } from "@brs/session";
 *
 * const options: RefreshableSessionOptions = {
 *   region: "eu-west-1",
 *   advisoryTimeout: 600,
 *   mandatoryTimeout: 300,
 * };
 * ```
 */
export interface RefreshableSessionOptions {
  /**
   * `true`: the first fetch happens on first use. `false`: fetch now and keep
   * the credentials fresh in the background with an unref'd timer.
   *
   * @default {true}
   */
  deferRefresh?: boolean;
  /**
   * Seconds before expiry from which a refresh starts in the background;
   * callers keep the current credentials and never wait.
   *
   * @default {900}
   */
  advisoryTimeout?: number;
  /**
   * Seconds before expiry from which callers wait for the (single) refresh.
   * Must be <= `advisoryTimeout`.
   *
   * @default {600}
   */
  mandatoryTimeout?: number;
  /**
   * Seconds one refresh attempt (the whole credential fetch, an MFA command
   * included) may take before it is aborted. Waiting callers then get the
   * current credentials while they are valid, else a `BRSRefreshError` with
   * code `RefreshTimeout`. It bounds what the SDK's own timeouts do not,
   * e.g. a reply body that arrives one byte at a time. It bounds each
   * `getIdentity()` / `whoami()` call to STS the same way (a
   * `BRSIdentityError` with code `IdentityTimeout`). At most 3600.
   *
   * @default {60}
   */
  refreshTimeout?: number;
  /**
   * The region of clients the session builds (and of its STS client).
   *
   * @default {undefined} the SDK's default (`AWS_REGION`, the profile, ...)
   */
  region?: string;
  /**
   * The AWS profile of the base credentials (and of clients' settings).
   *
   * @default {undefined} the SDK's default (`AWS_PROFILE` or `default`)
   */
  profile?: string;
  /**
   * Settings of the session's client and resource caches; `maxSize: 0` turns
   * caching off (every call builds a client the caller owns).
   *
   * @default {{ evictionPolicy: "LRU", maxSize: undefined }}
   */
  cache?: CacheOptions;
  /**
   * The clock, injectable for tests.
   *
   * @default {{ now: Date.now, monotonic: performance.now }}
   */
  clock?: Clock;
}

/**
 * Detail of a session's `refresh` event: the new expiry and the last
 * characters of the new access key id, never a secret.
 *
 * @example Usage
 * ```ts
 * import {
 *   CustomRefreshableSession,
 *   type RefreshEventDetail,
 * } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * await using session = new CustomRefreshableSession({
 *   provider: () => ({
 *     accessKey: "ASIAEXAMPLE000000001",
 *     secretKey: "example-secret",
 *     token: "example-token",
 *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
 *   }),
 * });
 * const details: RefreshEventDetail[] = [];
 * session.addEventListener("refresh", (event) => {
 *   details.push(event.detail); // typed: no cast
 * });
 * await session.refreshableCredentials();
 * assertEquals(details[0]?.accessKeyIdSuffix, "00000001");
 * assertEquals(details[0]?.reason, "Initial");
 * ```
 */
export interface RefreshEventDetail {
  /** The new expiry, ISO 8601 UTC. */
  expiryTime: string;
  /**
   * The last 8 characters of the new access key id. A key id is not a
   * secret, but its first characters are the same for every key of an
   * account (the kind of key, then characters derived from the account), so
   * its end is what tells keys apart; it is the end of the id that
   * CloudTrail and the IAM console show.
   */
  accessKeyIdSuffix: string;
  /** Why the refresh ran, e.g. `"Advisory"`, `"Invalidated"` or `"ClockJump"`. */
  reason: RefreshReason;
}

/**
 * Detail of a session's `refresh-error` event: the typed error (its `cause`
 * is the STS or provider error) and when the next attempt may run.
 *
 * @example Usage
 * ```ts
 * import {
 *   CustomRefreshableSession,
 *   type RefreshErrorEventDetail,
 * } from "@brs/session";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using session = new CustomRefreshableSession({
 *   provider: () => Promise.reject(new Error("source is down")),
 * });
 * const details: RefreshErrorEventDetail[] = [];
 * session.addEventListener("refresh-error", (event) => {
 *   details.push(event.detail); // typed: no cast
 * });
 * await assertRejects(() => session.refreshableCredentials());
 * assertEquals(details.length, 1);
 * ```
 */
export interface RefreshErrorEventDetail {
  /** What failed (secret-free; STS's error in `cause`). */
  error: BRSError;
  /** When the next attempt may run. */
  retryAt: Date | undefined;
  /** Why the failed attempt ran. */
  reason: RefreshReason;
}

/**
 * Detail of a session's `warning` event, e.g. `WindowsScaled` when the
 * refresh windows do not fit the credential lifetime, `ClockJump` when a
 * refresh runs because the wall clock moved ahead of the monotonic clock
 * (a suspend), or `DateHeaderMissing` / `DateHeaderInvalid` /
 * `DateHeaderIgnored` when an STS reply's `Date` cannot be used (the
 * lifetime is then measured from the local clock).
 *
 * @example Usage
 * ```ts
 * import {
 *   CustomRefreshableSession,
 *   type WarningEventDetail,
 * } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * await using session = new CustomRefreshableSession({
 *   provider: () => ({
 *     accessKey: "ASIAEXAMPLE000000001",
 *     secretKey: "example-secret",
 *     token: "example-token",
 *     // 10 minutes: shorter than the default 15-minute advisory window
 *     expiryTime: new Date(Date.now() + 600_000).toISOString(),
 *   }),
 * });
 * const warnings: WarningEventDetail[] = [];
 * session.addEventListener("warning", (event) => {
 *   warnings.push(event.detail); // typed: no cast
 * });
 * await session.refreshableCredentials();
 * assertEquals(warnings[0]?.code, "WindowsScaled");
 * ```
 */
export interface WarningEventDetail {
  /** A stable code, e.g. `"WindowsScaled"` or `"MfaTokenCodeIgnored"`. */
  code: string;
  /** What happened and what to do. */
  message: string;
  /** For a warning about a refresh (code `"ClockJump"`): why it runs. */
  reason?: RefreshReason;
}

/**
 * The events of a session and the type of each: what
 * `session.addEventListener(type, listener)` gives its listener, so
 * `event.detail` is typed without a cast.
 *
 * @example Usage
 * ```ts
 * import type {
 *   RefreshableSessionEventMap,
 *   RefreshEventDetail,
 * } from "@brs/session";
 *
 * function onRefresh(
 *   event: RefreshableSessionEventMap["refresh"],
 * ): RefreshEventDetail {
 *   return event.detail;
 * }
 * ```
 */
export interface RefreshableSessionEventMap {
  /** New credentials: {@linkcode RefreshEventDetail}. */
  "refresh": CustomEvent<RefreshEventDetail>;
  /** A refresh attempt failed: {@linkcode RefreshErrorEventDetail}. */
  "refresh-error": CustomEvent<RefreshErrorEventDetail>;
  /** Something the session worked around: {@linkcode WarningEventDetail}. */
  "warning": CustomEvent<WarningEventDetail>;
}

/**
 * A listener of one of a session's events: a function or an object with
 * `handleEvent`, given the event's typed `CustomEvent`.
 *
 * @typeParam T The event type, e.g. `"refresh"`.
 *
 * @example Usage
 * ```ts
 * import type { RefreshableSessionEventListener } from "@brs/session";
 *
 * const listener: RefreshableSessionEventListener<"warning"> = (event) => {
 *   if (event.detail.code === "WindowsScaled") {
 *     // the refresh windows were shortened to fit the credential lifetime
 *   }
 * };
 * ```
 */
export type RefreshableSessionEventListener<
  T extends keyof RefreshableSessionEventMap,
> =
  | ((event: RefreshableSessionEventMap[T]) => unknown)
  | { handleEvent(event: RefreshableSessionEventMap[T]): unknown };

/**
 * Options of {@linkcode RefreshableSession.prototype.refresh}.
 *
 * @example Usage
 * ```ts
 * import type { RefreshOptions } from "@brs/session";
 *
 * const options: RefreshOptions = { force: true };
 * ```
 */
export interface RefreshOptions {
  /**
   * Refresh even if the credentials are fresh, ignoring any backoff.
   *
   * @default {false}
   */
  force?: boolean;
}

interface _ResourceEntry {
  resource: unknown;
  client: unknown;
  destroy(): void;
}

const _BASE_OPTION_KEYS = [
  "deferRefresh",
  "advisoryTimeout",
  "mandatoryTimeout",
  "refreshTimeout",
  "region",
  "profile",
  "cache",
  "clock",
];

const _REAL_CLOCK: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/**
 * Refuses an unknown key of a session's options (a misspelt key is named,
 * never ignored). Subclasses call it before their own checks, so that a
 * misspelt `webIdentityTokenFile` is reported as unknown rather than as a
 * missing token source. Anything but a plain object is left to the other
 * checks.
 *
 * @param options The options given.
 * @param extraKeys The keys of the subclass, beside the shared ones.
 * @param kind The class name, for the message.
 */
export function _checkOptionKeys(
  options: unknown,
  extraKeys: readonly string[],
  kind: string,
): void {
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    return;
  }
  const allowed = [...extraKeys, ..._BASE_OPTION_KEYS];
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new BRSValidationError(
        `Cannot create ${kind} as option '${key}' is unknown: use one of ${
          allowed.join(", ")
        }`,
        { param: key, details: { allowed } },
      );
    }
  }
}

/** Validates the options every session shares; throws on unknown keys. */
function _validateBaseOptions(
  options: unknown,
  extraKeys: readonly string[],
  kind: string,
): RefreshableSessionOptions {
  const prefix = `Cannot create ${kind}`;
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new BRSValidationError(
      `${prefix} as its options must be an object: got ${
        _describeValue(options)
      }`,
      { param: "options" },
    );
  }
  const o = options as Record<string, unknown>;
  _checkOptionKeys(o, extraKeys, kind);
  for (const key of ["advisoryTimeout", "mandatoryTimeout"]) {
    const v = o[key];
    if (
      v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v < 0)
    ) {
      throw new BRSValidationError(
        `${prefix} as '${key}' must be a number of seconds >= 0: got ${
          _describeValue(v)
        }`,
        { param: key },
      );
    }
  }
  const refreshTimeout = o.refreshTimeout;
  if (
    refreshTimeout !== undefined &&
    (typeof refreshTimeout !== "number" || !Number.isFinite(refreshTimeout) ||
      refreshTimeout <= 0 || refreshTimeout > 3600)
  ) {
    throw new BRSValidationError(
      `${prefix} as 'refreshTimeout' must be a number of seconds > 0 and <= 3600: got ${
        _describeValue(refreshTimeout)
      }`,
      { param: "refreshTimeout" },
    );
  }
  const advisory = (o.advisoryTimeout as number | undefined) ?? 900;
  const mandatory = (o.mandatoryTimeout as number | undefined) ?? 600;
  if (mandatory > advisory) {
    throw new BRSValidationError(
      `${prefix} as 'mandatoryTimeout' must be <= 'advisoryTimeout': current values are ${mandatory} and ${advisory}`,
      {
        param: "mandatoryTimeout",
        details: { mandatoryTimeout: mandatory, advisoryTimeout: advisory },
      },
    );
  }
  if (o.deferRefresh !== undefined && typeof o.deferRefresh !== "boolean") {
    throw new BRSValidationError(
      `${prefix} as 'deferRefresh' must be a boolean: got ${
        _describeValue(o.deferRefresh)
      }`,
      { param: "deferRefresh" },
    );
  }
  for (const key of ["region", "profile"]) {
    const v = o[key];
    if (v !== undefined && (typeof v !== "string" || v === "")) {
      throw new BRSValidationError(
        `${prefix} as '${key}' must be a non-empty string: got ${
          _describeValue(v)
        }`,
        { param: key },
      );
    }
  }
  const cache = o.cache;
  if (
    cache !== undefined &&
    (cache === null || typeof cache !== "object" || Array.isArray(cache))
  ) {
    throw new BRSValidationError(
      `${prefix} as 'cache' must be an object such as { evictionPolicy: "LRU", maxSize: 16 }: got ${
        _describeValue(cache)
      }`,
      { param: "cache" },
    );
  }
  if (cache !== undefined) _validateCacheOptions(cache, prefix, "cache.");
  const clock = o.clock as Partial<Clock> | undefined;
  if (
    clock !== undefined &&
    (clock === null || typeof clock !== "object" ||
      typeof clock.now !== "function" ||
      typeof clock.monotonic !== "function")
  ) {
    throw new BRSValidationError(
      `${prefix} as 'clock' must be an object with now() and monotonic() functions: got ${
        _describeValue(clock)
      }`,
      { param: "clock" },
    );
  }
  return o as RefreshableSessionOptions;
}

function _toTemporary(c: _CredentialSnapshot): TemporaryCredentials {
  return {
    accessKey: c.accessKeyId,
    secretKey: c.secretAccessKey,
    token: c.sessionToken ?? "",
    expiryTime: c.expiration.toISOString(),
  };
}

function _destroy(value: unknown): void {
  const d = (value as { destroy?: unknown } | null)?.destroy;
  if (typeof d === "function") {
    try {
      d.call(value);
    } catch {
      // Closing must go on.
    }
  }
}

/**
 * The base class of every session: refreshing credentials (one shared
 * refresh for every caller, started before expiry; the rules, the two clocks
 * and self-healing are in guide/refresh.md), a cache of AWS SDK clients that
 * always sign with fresh credentials and heal themselves after an
 * ExpiredToken reply, `whoami`, events and
 * disposal. Subclasses say how to fetch credentials:
 * `STSRefreshableSession` (STS AssumeRole) and `CustomRefreshableSession`
 * (your function).
 *
 * Events (`addEventListener`, typed by {@linkcode RefreshableSessionEventMap}
 * so `event.detail` needs no cast): `refresh` (detail
 * {@linkcode RefreshEventDetail}), `refresh-error`
 * ({@linkcode RefreshErrorEventDetail}) and `warning`
 * ({@linkcode WarningEventDetail}). None carries a secret; a key id appears
 * as its last 8 characters, the part that tells keys apart.
 *
 * `Deno.inspect(session)`, `JSON.stringify(session)` and `String(session)`
 * never show a secret.
 *
 * @example Usage
 * ```ts
 * import {
 *   CustomRefreshableSession,
 *   RefreshableSession,
 * } from "@brs/session";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * await using session = new CustomRefreshableSession({
 *   provider: () => ({
 *     accessKey: "ASIAEXAMPLE",
 *     secretKey: "example-secret",
 *     token: "example-token",
 *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
 *   }),
 * });
 * assertInstanceOf(session, RefreshableSession);
 * const credentials = await session.refreshableCredentials();
 * assertEquals(credentials.accessKey, "ASIAEXAMPLE");
 * assertEquals(String(session).includes("example-secret"), false);
 * ```
 */
export abstract class RefreshableSession extends EventTarget
  implements AsyncDisposable {
  /**
   * A bound `AwsCredentialIdentityProvider` that any AWS SDK v3 client
   * accepts as `credentials`. It is marked `memoized`, so clients call it on
   * every request (the fast path costs no allocation) and always sign with
   * the session's current credentials, right after a refresh too. What it
   * resolves to holds the secret key and session token in clear: printing
   * it shows them.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKeyId: "ASIAEXAMPLE",
   *     secretAccessKey: "example-secret",
   *     sessionToken: "example-token",
   *     expiration: new Date(Date.now() + 3_600_000),
   *   }),
   * });
   * const identity = await session.credentialProvider();
   * assertEquals(identity.accessKeyId, "ASIAEXAMPLE");
   * ```
   */
  readonly credentialProvider: AwsCredentialIdentityProvider & {
    readonly memoized: true;
  };

  readonly #kind: string;
  readonly #refresher: _Refresher;
  readonly #region: string | undefined;
  readonly #profile: string | undefined;
  #clients: ClientCache<unknown>;
  #resources: ClientCache<_ResourceEntry>;
  /** The last promise of the engine and ours, made from it. */
  #temporarySource: Promise<_CredentialSnapshot> | undefined;
  #temporaryPromise: Promise<TemporaryCredentials> | undefined;
  /** The last snapshot and its frozen `TemporaryCredentials`. */
  #temporaryFor: _CredentialSnapshot | undefined;
  #temporary: TemporaryCredentials | undefined;
  /** Cache keys of configs seen by `client()` and `resource()`. */
  readonly #keys: _CacheKeyMemo;
  /** Resource keys per wrapper and client key. */
  #resourceKeys = new WeakMap<object, Map<string, string>>();
  #identityClient: STSClient | undefined;
  /** How long `getIdentity()` waits for STS: the `refreshTimeout`. */
  readonly #identityTimeoutMs: number;
  /** Self-healing of the clients the session builds. */
  readonly #healer: _Healer;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * Validates the shared options and sets up the engine. With
   * `deferRefresh: false` the first fetch starts right after construction.
   *
   * @param options The shared options plus the subclass's own keys.
   * @param extraKeys The subclass's own option keys (any other key is refused).
   * @param defaults The subclass's defaults: `kind` (its class name, for
   * messages) and the region to fall back to.
   * @throws {BRSValidationError} If an option has a bad type or value, or is unknown.
   *
   * @internal
   */
  protected constructor(
    options: RefreshableSessionOptions,
    extraKeys: readonly string[],
    defaults: { kind: string; region?: string | undefined },
  ) {
    super();
    this.#kind = defaults.kind;
    const o = _validateBaseOptions(options, extraKeys, defaults.kind);
    this.#region = o.region ?? defaults.region ?? _readEnv("AWS_REGION") ??
      _readEnv("AWS_DEFAULT_REGION");
    this.#profile = o.profile ?? _readEnv("AWS_PROFILE");
    this.#clients = new ClientCache<unknown>({
      evictionPolicy: o.cache?.evictionPolicy ?? "LRU",
      maxSize: o.cache?.maxSize,
    });
    this.#resources = new ClientCache<_ResourceEntry>({
      evictionPolicy: o.cache?.evictionPolicy ?? "LRU",
      maxSize: o.cache?.maxSize,
    });
    this.#identityTimeoutMs = (o.refreshTimeout ?? 60) * 1000;
    const refresher = new _Refresher({
      fetch: (signal) => this._fetchCredentials(signal),
      advisoryTimeout: o.advisoryTimeout ?? 900,
      mandatoryTimeout: o.mandatoryTimeout ?? 600,
      attemptTimeout: o.refreshTimeout ?? 60,
      clock: o.clock ?? _REAL_CLOCK,
      timerFreshness: o.clock === undefined,
      background: o.deferRefresh === false,
      onEvent: (event) => this.#dispatch(event),
    });
    this.#refresher = refresher;
    this.#healer = {
      owns: (accessKeyId) => refresher.issued(accessKeyId),
      invalidate: (accessKeyId) => refresher.invalidate(accessKeyId),
    };
    _registerHealer(this, this.#healer);
    const provider = (): Promise<_CredentialSnapshot> => refresher.get();
    this.credentialProvider = Object.assign(provider, {
      memoized: true as const,
    }) as unknown as RefreshableSession["credentialProvider"];
    // Naming the session's own region, profile or provider in a config gives
    // the key of not naming it: the client is built with them either way.
    this.#keys = new _CacheKeyMemo({
      region: this.#region,
      profile: this.#profile,
      credentials: this.credentialProvider,
    });
  }

  /**
   * Listens to one of the session's events: `refresh`
   * ({@linkcode RefreshEventDetail}), `refresh-error`
   * ({@linkcode RefreshErrorEventDetail}) or `warning`
   * ({@linkcode WarningEventDetail}). The listener gets a typed
   * `CustomEvent`, so `event.detail` needs no cast. Other event types are
   * accepted as by any `EventTarget`.
   *
   * @typeParam T The event type.
   * @param type The event type.
   * @param listener Called with the event.
   * @param options As for `EventTarget.addEventListener`.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "ASIAEXAMPLE000000001",
   *     secretKey: "example-secret",
   *     token: "example-token",
   *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
   *   }),
   * });
   * const reasons: string[] = [];
   * session.addEventListener("refresh", (event) => {
   *   reasons.push(event.detail.reason);
   * });
   * await session.refreshableCredentials();
   * assertEquals(reasons, ["Initial"]);
   * ```
   */
  override addEventListener<T extends keyof RefreshableSessionEventMap>(
    type: T,
    listener: RefreshableSessionEventListener<T> | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /**
   * Listens to an event of any other type, as any `EventTarget` does.
   *
   * @param type The event type.
   * @param listener Called with the event.
   * @param options As for `EventTarget.addEventListener`.
   */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
  }

  /**
   * Stops a listener added with
   * {@linkcode RefreshableSession.prototype.addEventListener}.
   *
   * @typeParam T The event type.
   * @param type The event type.
   * @param listener The listener that was added.
   * @param options As for `EventTarget.removeEventListener`.
   *
   * @example Usage
   * ```ts
   * import {
   *   CustomRefreshableSession,
   *   type RefreshableSessionEventListener,
   * } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "ASIAEXAMPLE000000001",
   *     secretKey: "example-secret",
   *     token: "example-token",
   *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
   *   }),
   * });
   * let refreshes = 0;
   * const listener: RefreshableSessionEventListener<"refresh"> = () => {
   *   refreshes++;
   * };
   * session.addEventListener("refresh", listener);
   * session.removeEventListener("refresh", listener);
   * await session.refreshableCredentials();
   * assertEquals(refreshes, 0);
   * ```
   */
  override removeEventListener<T extends keyof RefreshableSessionEventMap>(
    type: T,
    listener: RefreshableSessionEventListener<T> | null,
    options?: boolean | EventListenerOptions,
  ): void;
  /**
   * Stops a listener of any other event type, as any `EventTarget` does.
   *
   * @param type The event type.
   * @param listener The listener that was added.
   * @param options As for `EventTarget.removeEventListener`.
   */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener, options);
  }

  /**
   * Fetches new credentials: the one thing a subclass provides. Called by the
   * engine, at most once at a time.
   *
   * @param signal Aborted when the attempt times out or the session closes.
   * @returns The credentials and, if known, the server's `Date`.
   *
   * @ignore
   */
  protected abstract _fetchCredentials(
    signal: AbortSignal,
  ): Promise<_FetchResult>;

  /**
   * Config of the STS client behind `getIdentity()` (before region and
   * credentials are added). Override to point it at another endpoint.
   *
   * @returns A config object.
   *
   * @ignore
   */
  protected _identityClientConfig(): Record<string, unknown> {
    return {};
  }

  /**
   * Called once by `close()`: release what the subclass holds.
   *
   * @returns Nothing.
   *
   * @ignore
   */
  protected _onClose(): void {}

  /**
   * Emits a `warning` event.
   *
   * @param code A stable code.
   * @param message What happened and what to do (no secret).
   *
   * @ignore
   */
  protected _warn(code: string, message: string): void {
    this.#dispatch({ type: "warning", code, message });
  }

  #dispatch(event: _RefresherEvent): void {
    let detail:
      | RefreshEventDetail
      | RefreshErrorEventDetail
      | WarningEventDetail;
    if (event.type === "refresh") {
      detail = {
        expiryTime: event.credentials.expiration.toISOString(),
        accessKeyIdSuffix: _keyIdSuffix(event.credentials.accessKeyId),
        reason: event.reason,
      };
    } else if (event.type === "refresh-error") {
      detail = {
        error: event.error,
        retryAt: event.retryAt,
        reason: event.reason,
      };
    } else {
      detail = { code: event.code, message: event.message };
      if (event.reason !== undefined) detail.reason = event.reason;
    }
    this.dispatchEvent(new CustomEvent(event.type, { detail }));
  }

  /**
   * The current credentials as one consistent snapshot, refreshed as needed.
   * The object is frozen and shared by every caller until the next refresh
   * (copy it to change it).
   *
   * It holds the secret key and session token in clear: printing or logging
   * it (`console.log`, `Deno.inspect`, `JSON.stringify`) shows them, unlike
   * the session and its errors and events, which redact them.
   *
   * @returns `{ accessKey, secretKey, token, expiryTime }`; `expiryTime` is ISO 8601 UTC.
   * @throws {BRSRefreshError} If no usable credentials are left and the refresh failed.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertMatch } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "ASIAEXAMPLE",
   *     secretKey: "example-secret",
   *     token: "example-token",
   *     expiryTime: "2099-01-01T00:00:00+01:00",
   *   }),
   * });
   * const { expiryTime } = await session.refreshableCredentials();
   * assertMatch(expiryTime, /^2098-12-31T23:00:00\.000Z$/);
   * ```
   */
  refreshableCredentials(): Promise<TemporaryCredentials> {
    // The engine's fast path returns one promise per refresh: so do we, with
    // one frozen snapshot per refresh (no allocation, no toISOString()).
    const source = this.#refresher.get();
    if (source === this.#temporarySource) {
      return this.#temporaryPromise as Promise<TemporaryCredentials>;
    }
    const promise = source.then((c) => this.#temporaryOf(c));
    this.#temporarySource = source;
    this.#temporaryPromise = promise;
    return promise;
  }

  /** The frozen `TemporaryCredentials` of a snapshot, made once per refresh. */
  #temporaryOf(c: _CredentialSnapshot): TemporaryCredentials {
    if (c !== this.#temporaryFor) {
      this.#temporary = Object.freeze(_toTemporary(c));
      this.#temporaryFor = c;
    }
    return this.#temporary as TemporaryCredentials;
  }

  /**
   * Same as {@linkcode RefreshableSession.prototype.refreshableCredentials}.
   * It holds the secret key and session token in clear: printing it shows
   * them, unlike the session and its errors, which redact them.
   *
   * @returns The credentials.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "ASIAEXAMPLE",
   *     secretKey: "example-secret",
   *     token: "example-token",
   *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
   *   }),
   * });
   * assertEquals((await session.credentials).token, "example-token");
   * ```
   */
  get credentials(): Promise<TemporaryCredentials> {
    return this.refreshableCredentials();
  }

  /**
   * Refreshes the credentials: without `force` only when they are in a
   * refresh window (or missing) and no backoff after a failure is running;
   * with `force` always (ignoring backoff).
   * Concurrent calls share one attempt. Rejects when that attempt fails, even
   * if the current credentials still work (they are kept).
   *
   * @param options `force`: refresh even if fresh.
   * @returns The credentials after the refresh.
   * @throws {BRSRefreshError} If the refresh fails.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * let n = 0;
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: `ASIAEXAMPLE${++n}`,
   *     secretKey: "example-secret",
   *     token: "example-token",
   *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
   *   }),
   * });
   * assertEquals((await session.refresh()).accessKey, "ASIAEXAMPLE1");
   * assertEquals(
   *   (await session.refresh({ force: true })).accessKey,
   *   "ASIAEXAMPLE2",
   * );
   * ```
   */
  async refresh(options: RefreshOptions = {}): Promise<TemporaryCredentials> {
    if (options === null || typeof options !== "object") {
      throw new BRSValidationError(
        `Cannot refresh as 'options' must be an object such as { force: true }: got ${
          _describeValue(options)
        }`,
        { param: "options" },
      );
    }
    return _toTemporary(
      await this.#refresher.refresh({ force: options.force === true }),
    );
  }

  /**
   * Marks `accessKeyId` as bad (e.g. a service answered ExpiredToken) if it
   * is still the current key, and starts one refresh. A storm of calls with
   * the same key causes one refresh; a key that is no longer current is
   * ignored.
   *
   * @param accessKeyId The access key id that was rejected.
   * @returns `true` if this call invalidated the current credentials.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * let n = 0;
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: `ASIAEXAMPLE${++n}`,
   *     secretKey: "example-secret",
   *     token: "example-token",
   *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
   *   }),
   * });
   * const { accessKey } = await session.refreshableCredentials();
   * assertEquals(session.invalidate(accessKey), true);
   * assertEquals(session.invalidate(accessKey), false);
   * assertEquals(
   *   (await session.refreshableCredentials()).accessKey,
   *   "ASIAEXAMPLE2",
   * );
   * ```
   */
  invalidate(accessKeyId: string): boolean {
    if (typeof accessKeyId !== "string") {
      throw new BRSValidationError(
        `Cannot invalidate credentials as 'accessKeyId' must be a string: got ${
          _describeValue(accessKeyId)
        }`,
        { param: "accessKeyId" },
      );
    }
    return this.#refresher.invalidate(accessKeyId);
  }

  #checkOpen(action: string): void {
    if (this.#closed) {
      throw new BRSError(
        `Cannot ${action} as the session is closed: create a new session`,
        { code: "SessionClosed" },
      );
    }
  }

  #clientConfig(config?: object): Record<string, unknown> {
    return _mergeConfig({
      region: this.#region,
      profile: this.#profile,
      credentials: this.credentialProvider,
    }, config);
  }

  /**
   * A cached AWS SDK v3 client built with the session's region, profile and
   * `credentialProvider` (so it always signs with fresh credentials), unless
   * `config` overrides them. The same class with an equivalent config gives
   * the same instance (key order, `undefined` values, and naming the
   * session's own region, profile or `credentialProvider` do not matter). `options` change the session's client cache from now
   * on. With `maxSize: 0` nothing is cached and the caller owns (and should
   * `destroy()`) the client.
   *
   * @typeParam K The client class; the config is typed by its constructor
   * (a misspelt or mistyped option is a compile error) and the client is an
   * instance of it.
   * @param ClientClass The client class, e.g. `S3Client`.
   * @param config The client config, e.g. `{ region: "eu-west-1" }`.
   * @param options Eviction policy and size of the session's client cache.
   * @returns The client.
   * @throws {BRSError} If the session is closed (code `"SessionClosed"`).
   * @throws {BRSValidationError} If `ClientClass` is not a class or `options` is bad.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { STSClient } from "@aws-sdk/client-sts";
   * import { assertStrictEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "ASIAEXAMPLE",
   *     secretKey: "example-secret",
   *     token: "example-token",
   *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
   *   }),
   *   region: "eu-west-1",
   * });
   * const a = session.client(STSClient, {
   *   maxAttempts: 2,
   *   endpoint: undefined,
   * });
   * const b = session.client(STSClient, { maxAttempts: 2 });
   * assertStrictEquals(a, b);
   * ```
   */
  client<K extends ClientClass>(
    ClientClass: K,
    config?: ClientConfig<K>,
    options?: CacheOptions,
  ): InstanceType<K> {
    this.#checkOpen("get a client");
    if (typeof ClientClass !== "function") {
      throw new BRSValidationError(
        `Cannot get a client as 'ClientClass' must be a client class such as STSClient: got ${
          _describeValue(ClientClass)
        }`,
        { param: "ClientClass" },
      );
    }
    const clients = this.#clients;
    if (options !== undefined) {
      _applyCacheOptions(
        clients,
        options,
        "Cannot get a client",
      );
    }
    // The key of the caller's config alone: the session's defaults (region,
    // profile, credentialProvider) are the same for every client it builds,
    // so naming one of them explicitly gives the same key (see #keys).
    const key = this.#keys.key(ClientClass, config);
    const hit = clients.get(key);
    if (hit !== undefined) return hit as InstanceType<K>;
    return clients.getOrCreate(
      key,
      () =>
        _applySelfHealing(
          _newClient(ClientClass, this.#clientConfig(config)),
          this.#healer,
        ),
    ) as InstanceType<K>;
  }

  /**
   * A cached higher-level object built with `Wrapper.from(client)` (e.g.
   * `DynamoDBDocumentClient`), over a client of its own built like
   * {@linkcode RefreshableSession.prototype.client}; the JS counterpart of
   * boto3 resources. Kept in a cache separate from the clients; the client is
   * destroyed when the resource leaves the cache.
   *
   * `Wrapper` is a class with a static `from`, or any `{ from(client) }`
   * object (cached by its identity). `options.wrapperOptions` is passed on
   * as `Wrapper.from(client, wrapperOptions)`, typed by `from`'s second
   * parameter, and is part of the cache key by value: equal options give the
   * same resource, other options another one.
   *
   * @typeParam R The wrapper type.
   * @typeParam K The client class; the config is typed by its constructor.
   * @typeParam O The wrapper's own options, from the type of `Wrapper.from`.
   * @param Wrapper Has a static `from(client, options?)`.
   * @param ClientClass The client class.
   * @param config The client config, e.g. `{ region: "eu-west-1" }`.
   * @param options `wrapperOptions` for `Wrapper.from`, and the eviction
   * policy and size of the session's resource cache.
   * @returns The wrapper.
   * @throws {BRSError} If the session is closed (code `"SessionClosed"`).
   * @throws {BRSValidationError} If `Wrapper` has no `from`, `ClientClass` is
   * not a class or `options` is bad.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
   * import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
   * import { assertEquals, assertStrictEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "ASIAEXAMPLE",
   *     secretKey: "example-secret",
   *     token: "example-token",
   *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
   *   }),
   *   region: "eu-west-1",
   * });
   * const documents = session.resource(
   *   DynamoDBDocumentClient,
   *   DynamoDBClient,
   * );
   * assertStrictEquals(
   *   session.resource(DynamoDBDocumentClient, DynamoDBClient),
   *   documents,
   * );
   *
   * // The wrapper's own options: DynamoDBDocumentClient.from(client, options).
   * const lenient = session.resource(
   *   DynamoDBDocumentClient,
   *   DynamoDBClient,
   *   undefined,
   *   { wrapperOptions: { marshallOptions: { removeUndefinedValues: true } } },
   * );
   * assertEquals(
   *   lenient.config.translateConfig?.marshallOptions?.removeUndefinedValues,
   *   true,
   * );
   * assertStrictEquals(
   *   session.resource(DynamoDBDocumentClient, DynamoDBClient, undefined, {
   *     wrapperOptions: { marshallOptions: { removeUndefinedValues: true } },
   *   }),
   *   lenient,
   * );
   * ```
   */
  resource<R, K extends ClientClass, O = never>(
    Wrapper: ResourceWrapper<R, InstanceType<K>, O>,
    ClientClass: K,
    config?: ClientConfig<K>,
    options?: ResourceOptions<NoInfer<O>>,
  ): R {
    this.#checkOpen("get a resource");
    if (
      Wrapper === null ||
      (typeof Wrapper !== "object" && typeof Wrapper !== "function") ||
      typeof Wrapper.from !== "function"
    ) {
      throw new BRSValidationError(
        `Cannot get a resource as 'Wrapper' must have a static from(client) such as DynamoDBDocumentClient: got ${
          _describeValue(Wrapper)
        }`,
        { param: "Wrapper" },
      );
    }
    if (typeof ClientClass !== "function") {
      throw new BRSValidationError(
        `Cannot get a resource as 'ClientClass' must be a client class such as DynamoDBClient: got ${
          _describeValue(ClientClass)
        }`,
        { param: "ClientClass" },
      );
    }
    const { cache, wrapperOptions } = _splitResourceOptions(
      options,
      "Cannot get a resource",
    );
    _applyCacheOptions(this.#resources, cache, "Cannot get a resource");
    const clientKey = this.#keys.key(ClientClass, config);
    let keys = this.#resourceKeys.get(Wrapper);
    if (keys === undefined) {
      keys = new Map();
      this.#resourceKeys.set(Wrapper, keys);
    }
    let key = keys.get(clientKey);
    if (key === undefined) {
      if (keys.size >= 10_000) keys.clear();
      const name = (Wrapper as { name?: unknown }).name;
      key = `${typeof name === "string" ? name : ""}${
        _identityId(Wrapper)
      } => ${clientKey}`;
      keys.set(clientKey, key);
    }
    if (wrapperOptions !== undefined) {
      key = `${key} with ${_configKey(wrapperOptions)}`;
    }
    return this.#resources.getOrCreate(key, () => {
      const client = _applySelfHealing(
        _newClient(ClientClass, this.#clientConfig(config)),
        this.#healer,
      );
      return {
        resource: wrapperOptions === undefined
          ? Wrapper.from(client)
          : Wrapper.from(client, wrapperOptions as O),
        client,
        destroy: () => _destroy(client),
      };
    }).resource as R;
  }

  /**
   * Calls STS `GetCallerIdentity` **with the session's (refreshed)
   * credentials**: for an `STSRefreshableSession`, the assumed role's identity.
   *
   * The call is bounded by the session's `refreshTimeout` (default 60 s).
   *
   * @returns `{ UserId, Account, Arn }`.
   * @throws {BRSRefreshError} If no credentials can be had.
   * @throws {BRSIdentityError} If STS refuses or fails the call (`code` is
   * STS's error code, `cause` a secret-free copy of the SDK's error), sends a
   * reply that is not STS XML (`MalformedReply`), or does not answer within
   * `refreshTimeout` (`IdentityTimeout`).
   *
   * @example Usage
   * ```ts
   * import { STSRefreshableSession } from "@brs/session";
   * import { startLocalSts } from "@brs/session/testing";
   * import { assertMatch } from "@std/assert";
   *
   * await using sts = await startLocalSts();
   * await using session = new STSRefreshableSession({
   *   assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
   *   stsClientConfig: {
   *     endpoint: sts.url,
   *     credentials: sts.baseCredentials,
   *   },
   *   region: "us-east-1",
   * });
   * const identity = await session.getIdentity();
   * assertMatch(identity.Arn, /:assumed-role\/app\/brs-session$/);
   * ```
   */
  async getIdentity(): Promise<Identity> {
    this.#checkOpen("get the identity");
    // A refresh that fails or times out says so as a BRSRefreshError.
    await this.credentialProvider();
    this.#identityClient ??= _applySelfHealing(
      new STSClient(this.#clientConfig(this._identityClientConfig())),
      this.#healer,
    );
    return await _callerIdentity(
      this.#identityClient,
      this.#identityTimeoutMs,
      "raise the session's 'refreshTimeout'",
    );
  }

  /**
   * Same as {@linkcode RefreshableSession.prototype.getIdentity}.
   *
   * @returns `{ UserId, Account, Arn }`.
   *
   * @example Usage
   * ```ts
   * import { STSRefreshableSession } from "@brs/session";
   * import { startLocalSts } from "@brs/session/testing";
   * import { assertEquals } from "@std/assert";
   *
   * await using sts = await startLocalSts({ accountId: "210987654321" });
   * await using session = new STSRefreshableSession({
   *   assumeRole: { RoleArn: "arn:aws:iam::210987654321:role/app" },
   *   stsClientConfig: {
   *     endpoint: sts.url,
   *     credentials: sts.baseCredentials,
   *   },
   *   region: "us-east-1",
   * });
   * assertEquals((await session.whoami()).Account, "210987654321");
   * ```
   */
  whoami(): Promise<Identity> {
    return this.getIdentity();
  }

  /**
   * The region of the clients the session builds, if known.
   *
   * @returns The region name, e.g. `"eu-west-1"`.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "A",
   *     secretKey: "S",
   *     token: "T",
   *     expiryTime: "2099-01-01T00:00:00Z",
   *   }),
   *   region: "eu-west-1",
   * });
   * assertEquals(session.regionName, "eu-west-1");
   * ```
   */
  get regionName(): string | undefined {
    return this.#region;
  }

  /**
   * The AWS profile of the session (`profile`, else `AWS_PROFILE`), if any.
   *
   * @returns The profile name.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "A",
   *     secretKey: "S",
   *     token: "T",
   *     expiryTime: "2099-01-01T00:00:00Z",
   *   }),
   *   profile: "dev",
   * });
   * assertEquals(session.profileName, "dev");
   * ```
   */
  get profileName(): string | undefined {
    return this.#profile;
  }

  /**
   * The profiles of the shared AWS config and credentials files.
   *
   * @returns The profile names, sorted.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assert } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "A",
   *     secretKey: "S",
   *     token: "T",
   *     expiryTime: "2099-01-01T00:00:00Z",
   *   }),
   * });
   * assert(Array.isArray(await session.availableProfiles()));
   * ```
   */
  availableProfiles(): Promise<string[]> {
    return _availableProfiles();
  }

  /**
   * The AWS partitions the SDK knows.
   *
   * @returns E.g. `["aws", "aws-cn", "aws-us-gov", ...]`.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assert } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "A",
   *     secretKey: "S",
   *     token: "T",
   *     expiryTime: "2099-01-01T00:00:00Z",
   *   }),
   * });
   * assert(session.getAvailablePartitions().includes("aws-cn"));
   * ```
   */
  getAvailablePartitions(): string[] {
    return _getAvailablePartitions();
  }

  /**
   * The regions of a partition where `service` may be offered, as boto3's
   * `Session.get_available_regions(service_name, partition_name,
   * allow_non_regional)`. The AWS SDK v3 has no per-service lists, so these
   * are every region of the partition (from the SDK's partition data);
   * `allowNonRegional` adds the partition's global endpoints such as
   * `aws-global`.
   *
   * @param service A service name, e.g. `"s3"`.
   * @param partition A partition name (default `"aws"`).
   * @param options `allowNonRegional`: also list the global endpoints.
   * @returns The region names, sorted.
   * @throws {BRSValidationError} If the service, partition or options are bad.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assert, assertEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "A",
   *     secretKey: "S",
   *     token: "T",
   *     expiryTime: "2099-01-01T00:00:00Z",
   *   }),
   * });
   * assert(session.getAvailableRegions("s3").includes("eu-west-1"));
   * assertEquals(session.getAvailableRegions("s3", "aws-cn"), [
   *   "cn-north-1",
   *   "cn-northwest-1",
   * ]);
   * assert(
   *   session.getAvailableRegions("iam", "aws", { allowNonRegional: true })
   *     .includes("aws-global"),
   * );
   * ```
   */
  getAvailableRegions(
    service: string,
    partition?: string,
    options?: AvailableRegionsOptions,
  ): string[] {
    return _getAvailableRegions(service, partition, options);
  }

  /**
   * The partition of a region, as boto3's
   * `Session.get_partition_for_region(region_name)`: from the AWS SDK's
   * partition data, a region it does not list yet by its partition's name
   * pattern (e.g. any `cn-*-N` region is in `aws-cn`).
   *
   * @param region A region name, e.g. `"eu-west-1"`.
   * @returns The partition name, e.g. `"aws"`, `"aws-cn"` or `"aws-us-gov"`.
   * @throws {BRSValidationError} If `region` fits no partition.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * await using session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "A",
   *     secretKey: "S",
   *     token: "T",
   *     expiryTime: "2099-01-01T00:00:00Z",
   *   }),
   * });
   * assertEquals(session.getPartitionForRegion("eu-west-1"), "aws");
   * assertEquals(session.getPartitionForRegion("cn-north-1"), "aws-cn");
   * assertEquals(session.getPartitionForRegion("us-gov-west-1"), "aws-us-gov");
   * ```
   */
  getPartitionForRegion(region: string): string {
    return _getPartitionForRegion(region);
  }

  /**
   * Stops the timers, aborts a refresh in flight, and destroys the cached
   * clients and resources. Idempotent; later calls that need credentials or
   * clients fail with code `"SessionClosed"`.
   *
   * @returns When done.
   *
   * @example Usage
   * ```ts
   * import { CustomRefreshableSession } from "@brs/session";
   * import { assertRejects } from "@std/assert";
   *
   * const session = new CustomRefreshableSession({
   *   provider: () => ({
   *     accessKey: "A",
   *     secretKey: "S",
   *     token: "T",
   *     expiryTime: "2099-01-01T00:00:00Z",
   *   }),
   *   deferRefresh: false,
   * });
   * await session.close();
   * await session.close();
   * await assertRejects(() => session.refreshableCredentials());
   * ```
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#refresher.close();
    this.#clients.clear({ destroy: true });
    this.#resources.clear({ destroy: true });
    this.#keys.clear();
    this.#resourceKeys = new WeakMap();
    _destroy(this.#identityClient);
    this.#identityClient = undefined;
    try {
      this._onClose();
    } catch {
      // Closing must go on.
    }
    this.#closing = Promise.resolve();
    return this.#closing;
  }

  /**
   * Same as {@linkcode RefreshableSession.prototype.close}, for `await using`.
   *
   * @returns When done.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Secret-free facts for printing: class, region, profile and what the
   * subclass adds (e.g. the role ARN).
   *
   * @returns A plain object.
   *
   * @ignore
   */
  protected _describe(): Record<string, unknown> {
    const current = this.#refresher.current;
    return {
      regionName: this.#region,
      profileName: this.#profile,
      accessKeyIdSuffix: current === undefined
        ? undefined
        : _keyIdSuffix(current.accessKeyId),
      expiryTime: current?.expiration.toISOString(),
      closed: this.#closed,
    };
  }

  /**
   * The JSON form: secret-free facts only.
   *
   * @returns A plain object.
   */
  toJSON(): Record<string, unknown> {
    return _redactSecrets({ type: this.#kind, ...this._describe() });
  }

  /**
   * A one-line, secret-free description.
   *
   * @returns E.g. `STSRefreshableSession {"regionName":"eu-west-1",...}`.
   */
  override toString(): string {
    const { type: _type, ...rest } = this.toJSON();
    return `${this.#kind} ${JSON.stringify(rest)}`;
  }

  /**
   * What `Deno.inspect` prints: secret-free facts only.
   *
   * @param inspect Deno's inspect function.
   * @param options Deno's inspect options.
   * @returns The text.
   *
   * @ignore
   */
  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options?: unknown) => string,
    options?: unknown,
  ): string {
    const { type: _type, ...rest } = this.toJSON();
    return `${this.#kind} ${inspect(rest, options)}`;
  }
}
