/**
 * Private helpers: the canonical cache key of a client class and its config,
 * and the config merge that sessions apply before they compute it.
 *
 * Rules of the key (`_cacheKey(ClientClass, config)`):
 *
 * - The class counts by identity: each class gets a per-process id, so two
 *   classes that share a name never share a key. Its name is kept in the key
 *   for readability (`"STSClient#1 {...}"`).
 * - Plain objects (prototype `Object.prototype` or `null`) and arrays count by
 *   value, recursively: key order does not matter, properties whose value is
 *   `undefined` are dropped (so `{}`, `undefined` and `{ endpoint: undefined }`
 *   are the same config), array positions do matter. Symbol-keyed properties
 *   are ignored.
 * - Strings, numbers, booleans, `null` and bigints count by value; a registered
 *   symbol by its key, any other symbol by identity.
 * - Everything else counts by identity (a per-process id kept in a `WeakMap`):
 *   functions (credential providers, loggers' methods), class instances
 *   (request handlers, retry strategies, loggers), and also `Map`, `Set`,
 *   `Date`, `RegExp`, typed arrays and `URL`. These are often mutable or
 *   stateful, so the same instance gives the same key and an equal copy gives
 *   another one.
 * - Secrets never appear in a key: under a property whose name holds a secret
 *   (`credentials`, `secretAccessKey`, `sessionToken`, `token`, ... see
 *   `_isSecretKeyName`), a function or non-plain object counts by identity as
 *   everywhere, and any other value (a string, or a plain object of static
 *   keys) is replaced by a SHA-256 digest of its canonical form keyed with
 *   random bytes made once per process: equal secrets give equal keys, and a
 *   key reveals nothing and is useless outside the process.
 * - A cycle counts by the identity of the object met again.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { _isSecretKeyName } from "./_redact.ts";

/** A class (or abstract class) whose instances are cached. */
type _AnyClass = abstract new (...args: never[]) => unknown;

let _nextId = 0;
const _objectIds = new WeakMap<object, string>();
const _symbolIds = new Map<symbol, string>();
const _classKeys = new WeakMap<object, string>();
let _hashKey: Uint8Array | undefined;

/**
 * The per-process identity id of an object or function, e.g. `"#12"`.
 * Stable for the object's lifetime; never reused.
 */
export function _identityId(value: object): string {
  let id = _objectIds.get(value);
  if (id === undefined) {
    id = `#${++_nextId}`;
    _objectIds.set(value, id);
  }
  return id;
}

function _symbolId(value: symbol): string {
  const registered = Symbol.keyFor(value);
  if (registered !== undefined) {
    return `Symbol.for(${JSON.stringify(registered)})`;
  }
  let id = _symbolIds.get(value);
  if (id === undefined) {
    id = `Symbol#${++_nextId}`;
    _symbolIds.set(value, id);
  }
  return id;
}

/** An opaque digest of a secret's canonical form: equal secrets give equal digests, in this process only. */
function _secretDigest(canonical: string): string {
  _hashKey ??= crypto.getRandomValues(new Uint8Array(32));
  return `~${
    createHash("sha256").update(_hashKey).update(canonical).digest("base64url")
  }`;
}

function _isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

interface _KeyInfo {
  json: string;
  secret: boolean;
}

/** Property names seen so far: their JSON form and whether they hold a secret. */
const _keyInfos = new Map<string, _KeyInfo>();

function _keyInfo(key: string): _KeyInfo {
  let info = _keyInfos.get(key);
  if (info === undefined) {
    if (_keyInfos.size >= 10_000) _keyInfos.clear();
    info = { json: JSON.stringify(key), secret: _isSecretKeyName(key) };
    _keyInfos.set(key, info);
  }
  return info;
}

/**
 * The canonical form of a value under a secret property name: functions,
 * symbols and non-plain objects by identity (no secret is printed that way),
 * anything else as a digest of its canonical form.
 */
function _secretCanonical(value: unknown, stack: object[]): string {
  if (typeof value === "function") return _identityId(value);
  if (typeof value === "symbol") return _symbolId(value);
  if (
    typeof value === "object" && value !== null && !Array.isArray(value) &&
    !_isPlainObject(value)
  ) {
    return _identityId(value);
  }
  if (value === null) return "null";
  return _secretDigest(_canonical(value, stack));
}

function _canonical(value: unknown, stack: object[]): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
    case "boolean":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
      return "undefined";
    case "symbol":
      return _symbolId(value);
    case "function":
      return _identityId(value);
  }
  if (value === null) return "null";
  const object = value as object;
  if (stack.includes(object)) return _identityId(object);
  if (Array.isArray(object)) {
    stack.push(object);
    let out = "[";
    for (let i = 0; i < object.length; i++) {
      if (i !== 0) out += ",";
      out += _canonical(object[i], stack);
    }
    stack.pop();
    return `${out}]`;
  }
  if (!_isPlainObject(object)) return _identityId(object);
  stack.push(object);
  const record = object as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 1) keys.sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (!first) out += ",";
    first = false;
    const info = _keyInfo(key);
    out += `${info.json}:${
      info.secret ? _secretCanonical(item, stack) : _canonical(item, stack)
    }`;
  }
  stack.pop();
  return `${out}}`;
}

/**
 * The canonical form of a config alone (no class), or `""` for an empty one.
 * Secrets appear only as opaque digests or identity ids.
 */
export function _configKey(config: unknown): string {
  if (config === undefined || config === null) return "";
  if (typeof config === "object" && _isPlainObject(config)) {
    let empty = true;
    for (const key in config) {
      if ((config as Record<string, unknown>)[key] !== undefined) {
        empty = false;
        break;
      }
    }
    if (empty) return "";
  }
  return _canonical(config, []);
}

/**
 * The cache key of a client class and its config: canonical, so key order,
 * `undefined` values and equal nested plain values give the same key, while
 * functions, class instances and the class itself count by identity. See the
 * module doc for every rule. Never contains a secret.
 *
 * @param ClientClass The client class (by identity).
 * @param config The config given to its constructor.
 * @returns A non-empty string.
 */
export function _cacheKey(ClientClass: _AnyClass, config?: unknown): string {
  let base = _classKeys.get(ClientClass);
  if (base === undefined) {
    base = `${ClientClass.name || "anonymous"}${_identityId(ClientClass)}`;
    _classKeys.set(ClientClass, base);
  }
  if (config === undefined) return base;
  const rest = _configKey(config);
  return rest === "" ? base : `${base} ${rest}`;
}

/**
 * Merges a session's client defaults with a caller's config, the way sessions
 * build the config they pass to a client and to {@linkcode _cacheKey}: a copy
 * of `defaults` with every property of `config` whose value is not `undefined`
 * on top (an `undefined` value means "not given", so the default stays; this
 * matches the key, where `undefined` values do not count). Shallow: nested
 * objects in `config` replace those of `defaults`.
 *
 * @param defaults The session's defaults, e.g. `{ region, credentials }`.
 * @param config The caller's config.
 * @returns A new object.
 */
export function _mergeConfig(
  defaults: Readonly<Record<string, unknown>>,
  config?: object,
): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) {
    const value = defaults[key];
    if (value !== undefined) merged[key] = value;
  }
  if (config !== undefined && config !== null) {
    const record = config as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (value !== undefined) merged[key] = value;
    }
  }
  return merged;
}
