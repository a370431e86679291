/**
 * Module-level {@linkcode client} and {@linkcode resource} helpers (the
 * counterpart of boto3-refresh-session's module-level client cache): with a default
 * session set by {@linkcode setDefaultSession} they delegate to it; without
 * one they build clients with the AWS SDK's default credential chain and
 * cache them in a module-level, unbounded LRU {@linkcode ClientCache}.
 *
 * @module
 */

import {
  _applyCacheOptions,
  _describeValue,
  _splitResourceOptions,
} from "./_validate.ts";
import {
  _CacheKeyMemo,
  _configKey,
  _identityId,
  _newClient,
} from "./cache/_client_cache_key.ts";
import { ClientCache } from "./cache/client_cache.ts";
import { BRSValidationError } from "./errors.ts";
import type {
  CacheOptions,
  ClientClass,
  ClientConfig,
  ResourceOptions,
  ResourceWrapper,
} from "./types.ts";

/**
 * What {@linkcode setDefaultSession} accepts: anything with the `client()` and
 * `resource()` methods of a `RefreshableSession` (every session of this
 * module has them).
 *
 * @example Usage
 * ```ts
 * import {
 *   CustomRefreshableSession,
 *   type SessionLike,
 *   setDefaultSession,
 * } from "@brs/session";
 *
 * await using session = new CustomRefreshableSession({
 *   provider: () => ({
 *     accessKey: "ASIAEXAMPLE",
 *     secretKey: "example-secret",
 *     token: "example-token",
 *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
 *   }),
 * });
 * const like: SessionLike = session;
 * setDefaultSession(like);
 * setDefaultSession(undefined);
 * ```
 */
export interface SessionLike {
  /**
   * Returns a cached client of `ClientClass` built with the session's
   * credentials.
   *
   * @typeParam K The client class; the config is typed by its constructor.
   * @param ClientClass The client class.
   * @param config The client config.
   * @param options Settings of the session's client cache.
   * @returns The client.
   */
  client<K extends ClientClass>(
    ClientClass: K,
    config?: ClientConfig<K>,
    options?: CacheOptions,
  ): InstanceType<K>;
  /**
   * Returns a cached `Wrapper.from(client)` for the session's client of
   * `ClientClass`.
   *
   * @typeParam R The wrapper type.
   * @typeParam K The client class; the config is typed by its constructor.
   * @typeParam O The wrapper's own options, from the type of `Wrapper.from`.
   * @param Wrapper Has `from(client, options?)`.
   * @param ClientClass The client class.
   * @param config The client config.
   * @param options `wrapperOptions` for `Wrapper.from`, and settings of the
   * session's cache.
   * @returns The wrapper.
   */
  resource<R, K extends ClientClass, O = never>(
    Wrapper: ResourceWrapper<R, InstanceType<K>, O>,
    ClientClass: K,
    config?: ClientConfig<K>,
    options?: ResourceOptions<NoInfer<O>>,
  ): R;
}

let _defaultSession: SessionLike | undefined;
const _clients = new ClientCache<unknown>({ evictionPolicy: "LRU" });
/** Cache keys of the configs seen by the module-level client() and resource(). */
const _keys = new _CacheKeyMemo();
// Resources are not destroyed on eviction: the client they wrap belongs to
// `_clients` and is destroyed with it.
const _resources = new ClientCache<unknown>({
  evictionPolicy: "LRU",
  destroyOnEvict: false,
});

function _checkClass(value: unknown, fn: string): void {
  if (typeof value !== "function") {
    throw new BRSValidationError(
      `Cannot call ${fn}() as 'ClientClass' must be a client class such as STSClient: got ${
        _describeValue(value)
      }`,
      { param: "ClientClass" },
    );
  }
}

/**
 * Sets (or, with `undefined`, unsets) the session that the module-level
 * {@linkcode client} and {@linkcode resource} delegate to. Clients already
 * cached at module level stay cached for when no session is set.
 *
 * @param session A session, e.g. an `STSRefreshableSession`, or `undefined`.
 * @throws {BRSValidationError} If `session` has no `client` and `resource` methods.
 *
 * @example Usage
 * ```ts
 * import {
 *   CustomRefreshableSession,
 *   getDefaultSession,
 *   setDefaultSession,
 * } from "@brs/session";
 * import { assertStrictEquals } from "@std/assert";
 *
 * await using session = new CustomRefreshableSession({
 *   provider: () => ({
 *     accessKey: "ASIAEXAMPLE",
 *     secretKey: "example-secret",
 *     token: "example-token",
 *     expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
 *   }),
 * });
 * setDefaultSession(session);
 * assertStrictEquals(getDefaultSession(), session);
 * setDefaultSession(undefined);
 * assertStrictEquals(getDefaultSession(), undefined);
 * ```
 */
export function setDefaultSession(session: SessionLike | undefined): void {
  if (
    session !== undefined &&
    (session === null || typeof session !== "object" ||
      typeof session.client !== "function" ||
      typeof session.resource !== "function")
  ) {
    throw new BRSValidationError(
      `Cannot set the default session as it must have client() and resource() methods, such as an STSRefreshableSession, or be undefined: got ${
        _describeValue(session)
      }`,
      { param: "session" },
    );
  }
  _defaultSession = session;
}

/**
 * Returns the session set by {@linkcode setDefaultSession}, if any.
 *
 * @returns The default session, or `undefined`.
 *
 * @example Usage
 * ```ts
 * import { getDefaultSession } from "@brs/session";
 * import { assertStrictEquals } from "@std/assert";
 *
 * assertStrictEquals(getDefaultSession(), undefined);
 * ```
 */
export function getDefaultSession(): SessionLike | undefined {
  return _defaultSession;
}

/**
 * Returns a cached AWS SDK v3 client. With a default session set, this is
 * `session.client(ClientClass, config, options)`. Without one, the client is
 * built as `new ClientClass(config)` (so the SDK's default credential chain
 * and region apply unless `config` says otherwise) and kept in a
 * module-level cache (LRU, unbounded by default): the same class with an
 * equivalent config (key order and `undefined` values do not matter; functions
 * and class instances in it count by identity) gives the same instance.
 * `options` change the module-level cache's `evictionPolicy` and `maxSize`
 * (evicting at once); evicted clients are `destroy()`ed.
 *
 * @typeParam K The client class; the config is typed by its constructor (a
 * misspelt or mistyped option is a compile error) and the client is an
 * instance of it.
 * @param ClientClass An AWS SDK v3 client class, e.g. `STSClient`.
 * @param config Its config, e.g. `{ region: "eu-west-1" }`.
 * @param options Settings of the module-level cache.
 * @returns The cached or new client.
 * @throws {BRSValidationError} If `ClientClass` is not a class, `options` is
 * not an object or `options.maxSize` is not a non-negative integer.
 * @throws {BRSValidationError} If `options` has an unknown key, or
 * `options.evictionPolicy` is not `"LRU"` or `"LFU"`.
 *
 * @example Usage
 * ```ts
 * import { client } from "@brs/session";
 * import { STSClient } from "@aws-sdk/client-sts";
 * import { assertStrictEquals } from "@std/assert";
 *
 * const a = client(STSClient, {
 *   region: "eu-west-1",
 *   endpoint: "http://127.0.0.1:1",
 * });
 * const b = client(STSClient, {
 *   endpoint: "http://127.0.0.1:1",
 *   region: "eu-west-1",
 *   maxAttempts: undefined,
 * });
 * assertStrictEquals(a, b);
 * a.destroy();
 * ```
 */
export function client<K extends ClientClass>(
  ClientClass: K,
  config?: ClientConfig<K>,
  options?: CacheOptions,
): InstanceType<K> {
  const session = _defaultSession;
  if (session !== undefined) {
    return session.client(ClientClass, config, options);
  }
  _checkClass(ClientClass, "client");
  _applyCacheOptions(_clients, options, "Cannot call client()");
  return _clients.getOrCreate(
    _keys.key(ClientClass, config),
    () => _newClient(ClientClass, config),
  ) as InstanceType<K>;
}

/**
 * Returns a cached higher-level object built as `Wrapper.from(client)` (e.g.
 * `DynamoDBDocumentClient.from(new DynamoDBClient(...))`), the JavaScript
 * counterpart of boto3 resources. With a default session set, this is
 * `session.resource(Wrapper, ClientClass, config, options)`. Without one, the
 * client comes from the module-level {@linkcode client} cache and the wrapper
 * is kept in a module-level resource cache keyed by the wrapper (by identity)
 * and the client's key. `options` change that resource cache. Evicted
 * wrappers are not destroyed: the client they wrap belongs to the client
 * cache.
 *
 * With `options.wrapperOptions`, the wrapper is built as
 * `Wrapper.from(client, wrapperOptions)` and cached by those options too
 * (by value).
 *
 * @typeParam R The wrapper type.
 * @typeParam K The client class; the config is typed by its constructor.
 * @typeParam O The wrapper's own options, from the type of `Wrapper.from`.
 * @param Wrapper Has a static `from(client, options?)`.
 * @param ClientClass An AWS SDK v3 client class.
 * @param config Its config.
 * @param options `wrapperOptions` for `Wrapper.from`, and settings of the
 * module-level resource cache.
 * @returns The cached or new wrapper.
 * @throws {BRSValidationError} If `Wrapper` has no `from` function, or as
 * {@linkcode client} does.
 *
 * @example Usage
 * ```ts
 * import { client, resource } from "@brs/session";
 * import { STSClient } from "@aws-sdk/client-sts";
 * import { assertStrictEquals } from "@std/assert";
 *
 * class Wrapped {
 *   constructor(readonly sts: STSClient) {}
 *   static from(sts: STSClient): Wrapped {
 *     return new Wrapped(sts);
 *   }
 * }
 * const config = { region: "eu-west-1", endpoint: "http://127.0.0.1:1" };
 * const wrapped = resource(Wrapped, STSClient, config);
 * assertStrictEquals(
 *   resource(Wrapped, STSClient, { ...config }),
 *   wrapped,
 * );
 * assertStrictEquals(wrapped.sts, client(STSClient, config));
 * wrapped.sts.destroy();
 * ```
 */
export function resource<R, K extends ClientClass, O = never>(
  Wrapper: ResourceWrapper<R, InstanceType<K>, O>,
  ClientClass: K,
  config?: ClientConfig<K>,
  options?: ResourceOptions<NoInfer<O>>,
): R {
  const session = _defaultSession;
  if (session !== undefined) {
    return session.resource(Wrapper, ClientClass, config, options);
  }
  if (
    (typeof Wrapper !== "object" && typeof Wrapper !== "function") ||
    Wrapper === null || typeof Wrapper.from !== "function"
  ) {
    throw new BRSValidationError(
      `Cannot call resource() as 'Wrapper' must have a from(client) function, such as DynamoDBDocumentClient: got ${
        _describeValue(Wrapper)
      }`,
      { param: "Wrapper" },
    );
  }
  _checkClass(ClientClass, "resource");
  const { cache, wrapperOptions } = _splitResourceOptions(
    options,
    "Cannot call resource()",
  );
  _applyCacheOptions(_resources, cache, "Cannot call resource()");
  const clientKey = _keys.key(ClientClass, config);
  const name: unknown = (Wrapper as { name?: unknown }).name;
  const key = `${clientKey} => ${typeof name === "string" ? name : ""}${
    _identityId(Wrapper)
  }`;
  if (wrapperOptions === undefined) {
    return _resources.getOrCreate(
      key,
      () => Wrapper.from(client(ClientClass, config)),
    ) as R;
  }
  return _resources.getOrCreate(
    `${key} with ${_configKey(wrapperOptions)}`,
    () => Wrapper.from(client(ClientClass, config), wrapperOptions as O),
  ) as R;
}

/**
 * Private: empties the module-level caches, destroying the clients, and unsets
 * the default session (for tests and shutdown).
 */
export function _resetDefaultSession(): void {
  _defaultSession = undefined;
  _resources.clear({ destroy: false });
  _clients.clear();
  _keys.clear();
}

/** Private: the module-level client cache (for tests). */
export function _defaultClientCache(): ClientCache<unknown> {
  return _clients;
}
