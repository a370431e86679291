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
import { _isSecretKeyName } from "../_redact.ts";

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

/**
 * Builds a client as `new ClientClass(config)`, or `new ClientClass()` when
 * `config` is `undefined` (the typed `client()` and `resource()` check the
 * config against the class's constructor before they get here).
 *
 * @param ClientClass The client class.
 * @param config The config given to its constructor.
 * @returns The new client.
 */
export function _newClient<K extends new (...args: never) => object>(
  ClientClass: K,
  config?: object,
): InstanceType<K> {
  const Class = ClientClass as unknown as new (
    ...args: unknown[]
  ) => InstanceType<K>;
  return config === undefined ? new Class() : new Class(config);
}

/**
 * The contents of a value-keyed part of a config (a plain object or an
 * array) when its key was computed: own enumerable string keys in order,
 * their values, and the same for nested value-keyed parts. A config whose
 * contents still match gives the same key without computing it again.
 */
interface _Snapshot {
  readonly array: boolean;
  /** A plain object whose values all count by identity or value (no nested snapshot). */
  readonly flat: boolean;
  readonly proto: object | null;
  /** Property names (plain objects only). */
  readonly keys: readonly string[];
  readonly values: readonly unknown[];
  /** Per value: its snapshot if it is itself value-keyed, else `undefined` (compared by identity). */
  readonly nested: readonly (_Snapshot | undefined)[];
}

function _isValueKeyed(value: unknown): value is object {
  return typeof value === "object" && value !== null &&
    (Array.isArray(value) || _isPlainObject(value));
}

function _snapshotOf(value: object, stack: object[]): _Snapshot {
  stack.push(value);
  const array = Array.isArray(value);
  const keys: string[] = [];
  const values: unknown[] = [];
  const nested: (_Snapshot | undefined)[] = [];
  const add = (item: unknown): void => {
    values.push(item);
    nested.push(
      _isValueKeyed(item) && !stack.includes(item)
        ? _snapshotOf(item, stack)
        : undefined,
    );
  };
  if (array) {
    const list = value as unknown[];
    for (let i = 0; i < list.length; i++) add(list[i]);
  } else {
    const record = value as Record<string, unknown>;
    for (const key in record) {
      keys.push(key);
      add(record[key]);
    }
  }
  stack.pop();
  return {
    array,
    flat: !array && nested.every((n) => n === undefined),
    proto: Object.getPrototypeOf(value),
    keys,
    values,
    nested,
  };
}

/** Whether `value` still has the contents `snapshot` recorded (so the same key). */
function _matches(snapshot: _Snapshot, value: object): boolean {
  if (snapshot.flat) {
    // The common case, kept small: `{ region, endpoint, maxAttempts, ... }`.
    if (
      Object.getPrototypeOf(value) !== snapshot.proto || Array.isArray(value)
    ) return false;
    const { keys, values } = snapshot;
    const record = value as Record<string, unknown>;
    let i = 0;
    for (const key in record) {
      if (key !== keys[i] || record[key] !== values[i]) return false;
      i++;
    }
    return i === keys.length;
  }
  if (
    Array.isArray(value) !== snapshot.array ||
    Object.getPrototypeOf(value) !== snapshot.proto
  ) return false;
  const { values, nested } = snapshot;
  if (snapshot.array) {
    const list = value as unknown[];
    if (list.length !== values.length) return false;
    for (let i = 0; i < values.length; i++) {
      if (!_itemMatches(list[i], values[i], nested[i])) return false;
    }
    return true;
  }
  const keys = snapshot.keys;
  const record = value as Record<string, unknown>;
  let i = 0;
  for (const key in record) {
    if (
      i >= keys.length || key !== keys[i] ||
      !_itemMatches(record[key], values[i], nested[i])
    ) return false;
    i++;
  }
  return i === keys.length;
}

function _itemMatches(
  item: unknown,
  recorded: unknown,
  snapshot: _Snapshot | undefined,
): boolean {
  if (snapshot === undefined) return item === recorded;
  return typeof item === "object" && item !== null && _matches(snapshot, item);
}

interface _MemoEntry {
  readonly ClientClass: _AnyClass;
  readonly key: string;
  /** `undefined`: the config counts by identity, its key never changes. */
  readonly snapshot: _Snapshot | undefined;
}

/** How many recent configs a memo compares a new config object with. */
const _RECENT_SIZE = 8;

/** How many flat configs a memo keeps per class for new objects to match. */
const _FLAT_SIZE = 16;

/**
 * A flat config seen before: its properties (in enumeration order, without
 * `undefined` values) and its key. (A property that repeats a default is
 * compared like any other; it only leaves the key.)
 */
interface _FlatEntry {
  readonly names: readonly string[];
  readonly values: readonly unknown[];
  readonly key: string;
}

/** Whether `value` may sit in a flat config (it is not compared by contents). */
function _isFlatValue(value: unknown): boolean {
  return typeof value !== "object" || value === null || !_isValueKeyed(value);
}

/**
 * A memo in front of {@linkcode _cacheKey} for a hot path (a session's
 * `client()`): gives exactly the key `_cacheKey(ClientClass, config)` would
 * (of `config` without the properties that repeat a default, see the
 * constructor), but without computing it again when
 *
 * - the config is a flat object literal (prototype `Object.prototype`, no
 *   value that is itself a plain object or an array), new or not, whose
 *   properties match one of the last few flat configs of that class in
 *   order and value (by identity): a walk over its properties with no
 *   allocation, the last match tried first. This is the common
 *   `session.client(S3Client, { region: "eu-west-1" })` in a request handler;
 * - the same config object comes back with the same contents (an identity
 *   memo in a `WeakMap`, checked against a snapshot of the contents, nested
 *   plain objects and arrays included, so a config mutated after a call gets
 *   the key of its new contents), or
 * - a new object comes with the same contents as one of the last few configs
 *   (same order of keys and the same values, by identity).
 *
 * It holds the configs' values (secrets included, as the clients do) only
 * until {@linkcode _CacheKeyMemo.prototype.clear} or while the config object
 * lives; it never prints them.
 */
export class _CacheKeyMemo {
  #byObject = new WeakMap<object, _MemoEntry[]>();
  #recent: (_MemoEntry | undefined)[] = [];
  #next = 0;
  /** The config object of the last call and its entry: a loop reusing one config skips the `WeakMap`. */
  #lastConfig: object | undefined;
  #lastEntry: _MemoEntry | undefined;
  /** Recent flat configs per class, the last match first. */
  #flat = new Map<_AnyClass, _FlatEntry[]>();
  /** Properties whose value, when it equals the default here, does not count. */
  readonly #defaults: ReadonlyMap<string, unknown>;

  /**
   * Creates an empty memo.
   *
   * @param defaults Properties that the caller adds to every config anyway
   * (a session's `region`, `profile` and `credentials`): a config property
   * with the same name and the same value (not `undefined`) does not count
   * in the key, so naming the default gives the key of not naming it.
   */
  constructor(defaults: Readonly<Record<string, unknown>> = {}) {
    const map = new Map<string, unknown>();
    for (const [name, value] of Object.entries(defaults)) {
      if (value !== undefined) map.set(name, value);
    }
    this.#defaults = map;
  }

  /**
   * The key of `ClientClass` with `config`, as {@linkcode _cacheKey} gives it
   * for `config` without the properties that repeat a default.
   *
   * @param ClientClass The client class (by identity).
   * @param config The config given to its constructor.
   * @returns A non-empty string.
   */
  key(ClientClass: _AnyClass, config?: unknown): string {
    if (typeof config !== "object" || config === null) {
      return _cacheKey(ClientClass, config);
    }
    const last = this.#lastEntry;
    if (
      config === this.#lastConfig && last !== undefined &&
      last.ClientClass === ClientClass &&
      (last.snapshot === undefined || _matches(last.snapshot, config))
    ) return last.key;
    const flat = Object.getPrototypeOf(config) === Object.prototype
      ? this.#flatKey(ClientClass, config as Record<string, unknown>)
      : undefined;
    if (flat !== undefined) return flat;
    const entry = this.#lookUp(ClientClass, config);
    this.#lastConfig = config;
    this.#lastEntry = entry;
    return entry.key;
  }

  /**
   * The key of a flat config from the recent flat configs of `ClientClass`
   * (recording it on a miss); `undefined` if `config` is not flat.
   */
  #flatKey(
    ClientClass: _AnyClass,
    config: Record<string, unknown>,
  ): string | undefined {
    let entries = this.#flat.get(ClientClass);
    if (entries !== undefined) {
      search: for (let e = 0; e < entries.length; e++) {
        const entry = entries[e] as _FlatEntry;
        const { names, values } = entry;
        let i = 0;
        for (const name in config) {
          const value = config[name];
          if (value === undefined) continue;
          if (name !== names[i] || value !== values[i]) {
            if (!_isFlatValue(value)) return undefined;
            continue search;
          }
          i++;
        }
        if (i !== names.length) continue;
        if (e !== 0) {
          entries[e] = entries[0] as _FlatEntry;
          entries[0] = entry;
        }
        return entry.key;
      }
    }
    const names: string[] = [];
    const values: unknown[] = [];
    for (const name in config) {
      const value = config[name];
      if (value === undefined) continue;
      if (!_isFlatValue(value)) return undefined;
      names.push(name);
      values.push(value);
    }
    const key = this.#lookUp(ClientClass, config).key;
    if (entries === undefined) {
      if (this.#flat.size >= 1000) this.#flat.clear();
      this.#flat.set(ClientClass, entries = []);
    }
    if (entries.length >= _FLAT_SIZE) entries.pop();
    entries.unshift({ names, values, key });
    return key;
  }

  /** `config` without the properties that repeat a default; `config` itself when it has none. */
  #withoutDefaults(config: object): object {
    const defaults = this.#defaults;
    if (defaults.size === 0) return config;
    const record = config as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const [name, value] of defaults) {
      if (Object.hasOwn(record, name) && record[name] === value) {
        copy ??= { ...record };
        delete copy[name];
      }
    }
    return copy ?? config;
  }

  #lookUp(ClientClass: _AnyClass, config: object): _MemoEntry {
    const entries = this.#byObject.get(config);
    if (entries !== undefined) {
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i] as _MemoEntry;
        if (entry.ClientClass !== ClientClass) continue;
        if (
          entry.snapshot === undefined || _matches(entry.snapshot, config)
        ) return entry;
        entries.splice(i, 1);
        break;
      }
    }
    const recent = this.#recent;
    for (let i = 0; i < recent.length; i++) {
      const entry = recent[i] as _MemoEntry;
      if (
        entry.ClientClass === ClientClass && entry.snapshot !== undefined &&
        _matches(entry.snapshot, config)
      ) return entry;
    }
    const entry: _MemoEntry = {
      ClientClass,
      snapshot: _isValueKeyed(config) ? _snapshotOf(config, []) : undefined,
      key: _cacheKey(ClientClass, this.#withoutDefaults(config)),
    };
    if (entries === undefined) this.#byObject.set(config, [entry]);
    else entries.push(entry);
    if (entry.snapshot !== undefined) {
      recent[this.#next] = entry;
      this.#next = (this.#next + 1) % _RECENT_SIZE;
    }
    return entry;
  }

  /** Forgets every config (and the values it holds). */
  clear(): void {
    this.#byObject = new WeakMap();
    this.#recent = [];
    this.#next = 0;
    this.#lastConfig = undefined;
    this.#lastEntry = undefined;
    this.#flat = new Map();
  }
}
