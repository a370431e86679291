/**
 * {@linkcode ClientCache}: an LRU / LFU cache of AWS SDK clients (or of any
 * value), unbounded unless `maxSize` is set, with O(1) get, insert and
 * eviction for both policies.
 *
 * @module
 */

import { _describeValue } from "../_validate.ts";
import {
  BRSValidationError,
  ClientCacheError,
  ClientCacheExistsError,
  ClientCacheNotFoundError,
} from "../errors.ts";

/**
 * The eviction policies of a {@linkcode ClientCache}: `"LRU"` evicts the least
 * recently used entry, `"LFU"` the least frequently used one (ties: the least
 * recently used of those).
 *
 * @example Usage
 * ```ts
 * import { ClientCache, type EvictionPolicy } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * const evictionPolicy: EvictionPolicy = "LFU";
 * assertEquals(new ClientCache({ evictionPolicy }).evictionPolicy, "LFU");
 * ```
 */
export type EvictionPolicy = "LRU" | "LFU";

/**
 * Options of a {@linkcode ClientCache}.
 *
 * @example Usage
 * ```ts
 * import { ClientCache, type ClientCacheOptions } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * const options: ClientCacheOptions = {
 *   evictionPolicy: "LRU",
 *   maxSize: 32,
 *   destroyOnEvict: true,
 * };
 * assertEquals(new ClientCache(options).maxSize, 32);
 * ```
 */
export interface ClientCacheOptions {
  /**
   * Which entry leaves first when the cache is full: `"LRU"` the least
   * recently used, `"LFU"` the least frequently used (ties: the least recently
   * used of those).
   *
   * @default {"LRU"}
   */
  evictionPolicy?: EvictionPolicy;
  /**
   * The most entries kept: `undefined` is unbounded, `0` turns caching off
   * (nothing is stored; `getOrCreate` calls its factory every time).
   *
   * @default {undefined}
   */
  maxSize?: number;
  /**
   * Whether a value that leaves the cache (evicted, deleted, cleared) has its
   * `destroy()` method called, if it has one. AWS SDK v3 clients do: it closes
   * their sockets.
   *
   * @default {true}
   */
  destroyOnEvict?: boolean;
}

/**
 * Options of {@linkcode ClientCache.prototype.delete} and
 * {@linkcode ClientCache.prototype.clear}.
 *
 * @example Usage
 * ```ts
 * import {
 *   ClientCache,
 *   type ClientCacheRemoveOptions,
 * } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * let destroyed = 0;
 * const cache = new ClientCache<{ destroy(): void }>();
 * cache.set("a", { destroy: () => destroyed++ });
 * const options: ClientCacheRemoveOptions = { destroy: false };
 * cache.delete("a", options);
 * assertEquals(destroyed, 0);
 * ```
 */
export interface ClientCacheRemoveOptions {
  /**
   * Whether the removed values are `destroy()`ed.
   *
   * @default {the cache's `destroyOnEvict`}
   */
  destroy?: boolean;
}

const POLICIES: readonly EvictionPolicy[] = ["LRU", "LFU"];

/** The storage behind one eviction policy. Every method is O(1) but `snapshot()`. */
interface _Store<V> {
  readonly size: number;
  /** Reads and counts a use. */
  get(key: string): V | undefined;
  /** Reads without counting a use. */
  peek(key: string): V | undefined;
  has(key: string): boolean;
  /** Inserts a key that is not present, as the most recently used. */
  insert(key: string, value: V): void;
  /** Removes a key; returns whether it was there. */
  remove(key: string): boolean;
  /** Removes and returns the next entry to evict. */
  evict(): [string, V] | undefined;
  clear(): void;
  /** All entries in eviction order (first = next evicted). */
  snapshot(): [string, V][];
}

/** An entry: a node of an intrusive doubly linked list. */
interface _Node<V> {
  readonly key: string;
  value: V;
  prev: _Node<V> | undefined;
  next: _Node<V> | undefined;
}

/** An intrusive doubly linked list of nodes, least recent first. */
class _List<V> {
  head: _Node<V> | undefined = undefined;
  tail: _Node<V> | undefined = undefined;
  size = 0;

  append(node: _Node<V>): void {
    const tail = this.tail;
    node.prev = tail;
    node.next = undefined;
    if (tail === undefined) this.head = node;
    else tail.next = node;
    this.tail = node;
    this.size++;
  }

  unlink(node: _Node<V>): void {
    const { prev, next } = node;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    node.prev = node.next = undefined;
    this.size--;
  }
}

/**
 * LRU: a `Map` from key to node plus one recency list (head = least recent).
 * A hit moves the node to the tail by relinking, without touching the `Map`.
 * (Not `Map` insertion order: V8 leaves deleted slots at the front of a
 * `Map`, so taking its first entry after many evictions is not O(1).)
 */
class _LruStore<V> implements _Store<V> {
  #nodes = new Map<string, _Node<V>>();
  #list = new _List<V>();

  get size(): number {
    return this.#nodes.size;
  }

  get(key: string): V | undefined {
    const node = this.#nodes.get(key);
    if (node === undefined) return undefined;
    const list = this.#list;
    if (node !== list.tail) {
      list.unlink(node);
      list.append(node);
    }
    return node.value;
  }

  peek(key: string): V | undefined {
    return this.#nodes.get(key)?.value;
  }

  has(key: string): boolean {
    return this.#nodes.has(key);
  }

  insert(key: string, value: V): void {
    const node: _Node<V> = { key, value, prev: undefined, next: undefined };
    this.#nodes.set(key, node);
    this.#list.append(node);
  }

  remove(key: string): boolean {
    const node = this.#nodes.get(key);
    if (node === undefined) return false;
    this.#nodes.delete(key);
    this.#list.unlink(node);
    return true;
  }

  evict(): [string, V] | undefined {
    const node = this.#list.head;
    if (node === undefined) return undefined;
    this.#nodes.delete(node.key);
    this.#list.unlink(node);
    return [node.key, node.value];
  }

  clear(): void {
    this.#nodes.clear();
    this.#list = new _List();
  }

  snapshot(): [string, V][] {
    const out: [string, V][] = [];
    for (let n = this.#list.head; n !== undefined; n = n.next) {
      out.push([n.key, n.value]);
    }
    return out;
  }
}

/** One frequency bucket of the LFU store: the entries used `freq` times, least recent first. */
class _Bucket<V> extends _List<V> {
  prevBucket: _Bucket<V> | undefined = undefined;
  nextBucket: _Bucket<V> | undefined = undefined;
  constructor(readonly freq: number) {
    super();
  }
}

interface _LfuNode<V> extends _Node<V> {
  bucket: _Bucket<V>;
}

/**
 * The classic O(1) LFU: a doubly linked list of frequency buckets in
 * ascending order, each a recency list (least recent first). Eviction takes
 * the head of the first bucket; a hit moves the node to the tail of the next
 * bucket (`freq + 1`), creating it if needed and dropping emptied buckets.
 */
class _LfuStore<V> implements _Store<V> {
  #nodes = new Map<string, _LfuNode<V>>();
  #first: _Bucket<V> | undefined = undefined;

  get size(): number {
    return this.#nodes.size;
  }

  get(key: string): V | undefined {
    const node = this.#nodes.get(key);
    if (node === undefined) return undefined;
    this.#touch(node);
    return node.value;
  }

  peek(key: string): V | undefined {
    return this.#nodes.get(key)?.value;
  }

  has(key: string): boolean {
    return this.#nodes.has(key);
  }

  insert(key: string, value: V): void {
    let first = this.#first;
    if (first === undefined || first.freq !== 1) {
      const bucket = new _Bucket<V>(1);
      bucket.nextBucket = first;
      if (first !== undefined) first.prevBucket = bucket;
      this.#first = first = bucket;
    }
    const node: _LfuNode<V> = {
      key,
      value,
      prev: undefined,
      next: undefined,
      bucket: first,
    };
    first.append(node);
    this.#nodes.set(key, node);
  }

  remove(key: string): boolean {
    const node = this.#nodes.get(key);
    if (node === undefined) return false;
    this.#nodes.delete(key);
    this.#detach(node);
    return true;
  }

  evict(): [string, V] | undefined {
    const node = this.#first?.head as _LfuNode<V> | undefined;
    if (node === undefined) return undefined;
    this.#nodes.delete(node.key);
    this.#detach(node);
    return [node.key, node.value];
  }

  clear(): void {
    this.#nodes.clear();
    this.#first = undefined;
  }

  snapshot(): [string, V][] {
    const out: [string, V][] = [];
    for (let b = this.#first; b !== undefined; b = b.nextBucket) {
      for (let n = b.head; n !== undefined; n = n.next) {
        out.push([n.key, n.value]);
      }
    }
    return out;
  }

  #touch(node: _LfuNode<V>): void {
    const bucket = node.bucket;
    const freq = bucket.freq + 1;
    let next = bucket.nextBucket;
    if (next === undefined || next.freq !== freq) {
      const created = new _Bucket<V>(freq);
      created.prevBucket = bucket;
      created.nextBucket = next;
      if (next !== undefined) next.prevBucket = created;
      bucket.nextBucket = created;
      next = created;
    }
    this.#detach(node);
    next.append(node);
    node.bucket = next;
  }

  /** Unlinks `node` from its bucket, and the bucket from the list when it is empty. */
  #detach(node: _LfuNode<V>): void {
    const bucket = node.bucket;
    bucket.unlink(node);
    if (bucket.size !== 0) return;
    const { prevBucket, nextBucket } = bucket;
    if (prevBucket === undefined) this.#first = nextBucket;
    else prevBucket.nextBucket = nextBucket;
    if (nextBucket !== undefined) nextBucket.prevBucket = prevBucket;
  }
}

function _validateMaxSize(
  value: unknown,
  action: string,
): number | undefined {
  if (
    value === undefined ||
    (typeof value === "number" && Number.isInteger(value) && value >= 0)
  ) {
    return value;
  }
  throw new BRSValidationError(
    `Cannot ${action} as 'maxSize' must be a non-negative integer, or undefined for an unbounded cache: got ${
      _describeValue(value)
    }`,
    { param: "maxSize", details: { maxSize: _describeValue(value) } },
  );
}

function _validatePolicy(value: unknown, action: string): EvictionPolicy {
  if (value === "LRU" || value === "LFU") return value;
  throw new ClientCacheError(
    `Cannot ${action} as 'evictionPolicy' must be one of ${
      POLICIES.join(", ")
    }: got ${_describeValue(value)}`,
    {
      param: "evictionPolicy",
      details: {
        evictionPolicy: _describeValue(value),
        policies: [...POLICIES],
      },
    },
  );
}

function _validateKey(key: unknown, action: string): void {
  if (typeof key !== "string" || key === "") {
    throw new ClientCacheError(
      `Cannot ${action} as the key must be a non-empty string: got ${
        _describeValue(key)
      }`,
      { param: "key", details: { key: _describeValue(key) } },
    );
  }
}

/** Calls `value.destroy()` if there is one; errors (thrown or rejected) are swallowed. */
function _destroy(value: unknown): void {
  if (
    value === null ||
    (typeof value !== "object" && typeof value !== "function")
  ) return;
  const destroy = (value as { destroy?: unknown }).destroy;
  if (typeof destroy !== "function") return;
  try {
    const result: unknown = destroy.call(value);
    if (
      result !== null && typeof result === "object" &&
      typeof (result as { then?: unknown }).then === "function"
    ) {
      (result as Promise<unknown>).then(undefined, () => {});
    }
  } catch {
    // A value that fails to destroy itself must not break the cache.
  }
}

/**
 * A cache of AWS SDK clients (or of any value) keyed by non-empty strings,
 * with a least-recently-used (`"LRU"`, the default) or least-frequently-used
 * (`"LFU"`; ties go to the least recently used) eviction policy. Reads,
 * inserts and evictions are O(1) for both policies.
 *
 * Values that leave the cache (evicted when it is full, deleted, cleared, or
 * dropped when `maxSize` shrinks) are `destroy()`ed when they have a
 * `destroy` method, as AWS SDK v3 clients do, unless `destroyOnEvict` is
 * `false`. A `destroy()` that throws is ignored.
 *
 * Iteration (`keys()`, `values()`, `entries()`, `for...of`) is in eviction
 * order: the first entry is the next one to be evicted. It walks a snapshot
 * taken when it starts, so the cache may change meanwhile. Iterating, `has()`
 * and `peek()` do not count as uses.
 *
 * `Deno.inspect(cache)` shows the policy, size and `maxSize`, never the values.
 *
 * @typeParam V The type of the cached values.
 *
 * @example Usage
 * ```ts
 * import { ClientCache } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * const cache = new ClientCache<{ id: number }>({
 *   evictionPolicy: "LRU",
 *   maxSize: 2,
 * });
 * const a = cache.getOrCreate("a", () => ({ id: 1 }));
 * assertEquals(cache.getOrCreate("a", () => ({ id: 99 })), a); // cached
 * cache.set("b", { id: 2 });
 * cache.get("a"); // "a" is now the most recently used
 * cache.set("c", { id: 3 }); // evicts "b"
 * assertEquals([...cache.keys()], ["a", "c"]);
 * ```
 */
export class ClientCache<V = unknown> implements Iterable<[string, V]> {
  #store: _Store<V>;
  #policy: EvictionPolicy;
  #maxSize: number | undefined;
  #destroyOnEvict: boolean;

  /**
   * Creates an empty cache.
   *
   * @param options The eviction policy, the most entries kept and whether
   * values leaving the cache are destroyed.
   * @throws {ClientCacheError} If `evictionPolicy` is not `"LRU"` or `"LFU"`.
   * @throws {BRSValidationError} If `maxSize` is not a non-negative integer or
   * `undefined`, or `destroyOnEvict` is not a boolean.
   */
  constructor(options: ClientCacheOptions = {}) {
    const action = "create client cache";
    this.#policy = _validatePolicy(options.evictionPolicy ?? "LRU", action);
    this.#maxSize = _validateMaxSize(options.maxSize, action);
    const destroyOnEvict: unknown = options.destroyOnEvict ?? true;
    if (typeof destroyOnEvict !== "boolean") {
      throw new BRSValidationError(
        `Cannot ${action} as 'destroyOnEvict' must be a boolean: got ${
          _describeValue(destroyOnEvict)
        }`,
        { param: "destroyOnEvict" },
      );
    }
    this.#destroyOnEvict = destroyOnEvict;
    this.#store = this.#policy === "LRU" ? new _LruStore() : new _LfuStore();
  }

  /**
   * The number of entries.
   *
   * @returns The number of entries.
   */
  get size(): number {
    return this.#store.size;
  }

  /**
   * The most entries kept: `undefined` is unbounded, `0` turns caching off.
   * Setting a smaller value evicts (and destroys) entries at once, in
   * eviction order; setting `0` empties the cache.
   *
   * @returns The most entries kept.
   */
  get maxSize(): number | undefined {
    return this.#maxSize;
  }

  /**
   * Sets the most entries kept and evicts down to it at once.
   *
   * @param value A non-negative integer, or `undefined` for unbounded.
   * @throws {BRSValidationError} If `value` is not a non-negative integer or `undefined`.
   *
   * @example Usage
   * ```ts
   * import { ClientCache } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * let destroyed = 0;
   * const cache = new ClientCache<{ destroy(): void }>();
   * for (const key of ["a", "b", "c"]) {
   *   cache.set(key, { destroy: () => destroyed++ });
   * }
   * cache.maxSize = 1; // evicts "a" and "b" at once
   * assertEquals([...cache.keys()], ["c"]);
   * assertEquals(destroyed, 2);
   * ```
   */
  set maxSize(value: number | undefined) {
    this.#maxSize = _validateMaxSize(value, "set client cache size");
    this.#shrinkTo(this.#maxSize);
  }

  /**
   * The eviction policy. Setting another policy keeps every entry: LRU to LFU
   * starts every entry at one use in the current recency order; LFU to LRU
   * keeps the current eviction order.
   *
   * @returns `"LRU"` or `"LFU"`.
   */
  get evictionPolicy(): EvictionPolicy {
    return this.#policy;
  }

  /**
   * Changes the eviction policy, keeping the entries.
   *
   * @param value `"LRU"` or `"LFU"`.
   * @throws {ClientCacheError} If `value` is not `"LRU"` or `"LFU"`.
   *
   * @example Usage
   * ```ts
   * import { ClientCache } from "@brs/session";
   * import { assertEquals } from "@std/assert";
   *
   * const cache = new ClientCache<number>({ evictionPolicy: "LFU" });
   * cache.set("a", 1).set("b", 2);
   * cache.get("a");
   * cache.evictionPolicy = "LRU";
   * assertEquals([...cache.keys()], ["b", "a"]);
   * ```
   */
  set evictionPolicy(value: EvictionPolicy) {
    const policy = _validatePolicy(value, "set client cache eviction policy");
    if (policy === this.#policy) return;
    const entries = this.#store.snapshot();
    const store: _Store<V> = policy === "LRU"
      ? new _LruStore()
      : new _LfuStore();
    for (const [key, value] of entries) store.insert(key, value);
    this.#store = store;
    this.#policy = policy;
  }

  /**
   * Whether values leaving the cache are `destroy()`ed.
   *
   * @returns The `destroyOnEvict` option.
   */
  get destroyOnEvict(): boolean {
    return this.#destroyOnEvict;
  }

  /**
   * Returns the value of `key` and counts a use, or `undefined` when absent.
   *
   * @param key A non-empty string.
   * @returns The value, or `undefined`.
   * @throws {ClientCacheError} If `key` is not a non-empty string.
   */
  get(key: string): V | undefined {
    _validateKey(key, "get a cached client");
    return this.#store.get(key);
  }

  /**
   * Returns the value of `key` without counting a use, or `undefined`.
   *
   * @param key A non-empty string.
   * @returns The value, or `undefined`.
   * @throws {ClientCacheError} If `key` is not a non-empty string.
   */
  peek(key: string): V | undefined {
    _validateKey(key, "peek at a cached client");
    return this.#store.peek(key);
  }

  /**
   * Returns the value of `key` and counts a use.
   *
   * @param key A non-empty string.
   * @returns The value.
   * @throws {ClientCacheNotFoundError} If `key` is not in the cache.
   * @throws {ClientCacheError} If `key` is not a non-empty string.
   *
   * @example Usage
   * ```ts
   * import { ClientCache, ClientCacheNotFoundError } from "@brs/session";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const cache = new ClientCache<number>().set("a", 1);
   * assertEquals(cache.require("a"), 1);
   * assertThrows(() => cache.require("b"), ClientCacheNotFoundError);
   * ```
   */
  require(key: string): V {
    _validateKey(key, "require a cached client");
    const store = this.#store;
    const value = store.get(key);
    if (value === undefined && !store.has(key)) {
      throw new ClientCacheNotFoundError(
        `Cannot find client ${
          JSON.stringify(key)
        } in the cache: set it first, or use getOrCreate()`,
        { param: "key", details: { key } },
      );
    }
    return value as V;
  }

  /**
   * Whether `key` is in the cache. Not a use.
   *
   * @param key A non-empty string.
   * @returns `true` if present.
   * @throws {ClientCacheError} If `key` is not a non-empty string.
   */
  has(key: string): boolean {
    _validateKey(key, "look up a cached client");
    return this.#store.has(key);
  }

  /**
   * Inserts a new entry as the most recently used, evicting one entry first
   * when the cache is full. With `maxSize` 0 nothing is stored.
   *
   * @param key A non-empty string that is not in the cache.
   * @param value The value.
   * @returns This cache.
   * @throws {ClientCacheExistsError} If `key` is already in the cache.
   * @throws {ClientCacheError} If `key` is not a non-empty string.
   *
   * @example Usage
   * ```ts
   * import { ClientCache, ClientCacheExistsError } from "@brs/session";
   * import { assertThrows } from "@std/assert";
   *
   * const cache = new ClientCache<number>().set("a", 1);
   * assertThrows(() => cache.set("a", 2), ClientCacheExistsError);
   * ```
   */
  set(key: string, value: V): this {
    _validateKey(key, "cache a client");
    if (this.#store.has(key)) {
      throw new ClientCacheExistsError(
        `Cannot cache client ${
          JSON.stringify(key)
        } as the key is already in the cache: delete it first, or use getOrCreate()`,
        { param: "key", details: { key } },
      );
    }
    this.#insert(key, value);
    return this;
  }

  /**
   * Returns the value of `key` (counting a use), or calls `factory`, caches
   * what it returns and returns it. This is the hot path of
   * `session.client()`. It is synchronous, so concurrent async callers of the
   * same key all get the one instance. With `maxSize` 0, `factory` is called
   * every time and nothing is stored. If `factory` throws, nothing is stored.
   * If `factory` itself cached the same key, that value wins and the new one
   * is destroyed (per `destroyOnEvict`).
   *
   * @param key A non-empty string.
   * @param factory Builds the value on a miss.
   * @returns The cached or new value.
   * @throws {ClientCacheError} If `key` is not a non-empty string.
   *
   * @example Usage
   * ```ts
   * import { ClientCache } from "@brs/session";
   * import { assertEquals, assertStrictEquals } from "@std/assert";
   *
   * const cache = new ClientCache<object>();
   * let built = 0;
   * const [a, b] = await Promise.all([1, 2].map(async () => {
   *   await Promise.resolve();
   *   return cache.getOrCreate("sts", () => ({ n: ++built }));
   * }));
   * assertStrictEquals(a, b);
   * assertEquals(built, 1);
   * ```
   */
  getOrCreate(key: string, factory: () => V): V {
    if (typeof key !== "string" || key === "") {
      _validateKey(key, "get or create a cached client");
    }
    const store = this.#store;
    const hit = store.get(key);
    if (hit !== undefined || store.has(key)) return hit as V;
    const value = factory();
    if (this.#store.has(key)) {
      if (this.#destroyOnEvict) _destroy(value);
      return this.#store.get(key) as V;
    }
    this.#insert(key, value);
    return value;
  }

  /**
   * Removes `key`, destroying its value unless `{ destroy: false }` (default:
   * the cache's `destroyOnEvict`).
   *
   * @param key A non-empty string in the cache.
   * @param options Whether to destroy the value.
   * @throws {ClientCacheNotFoundError} If `key` is not in the cache.
   * @throws {ClientCacheError} If `key` is not a non-empty string.
   *
   * @example Usage
   * ```ts
   * import { ClientCache, ClientCacheNotFoundError } from "@brs/session";
   * import { assertEquals, assertThrows } from "@std/assert";
   *
   * const cache = new ClientCache<number>();
   * cache.set("a", 1);
   * cache.delete("a");
   * assertEquals(cache.size, 0);
   * assertThrows(() => cache.delete("a"), ClientCacheNotFoundError);
   * ```
   */
  delete(key: string, options: ClientCacheRemoveOptions = {}): void {
    _validateKey(key, "delete a cached client");
    const store = this.#store;
    const value = store.peek(key);
    if (!store.remove(key)) {
      throw new ClientCacheNotFoundError(
        `Cannot delete client ${
          JSON.stringify(key)
        } as it is not in the cache: check has() first`,
        { param: "key", details: { key } },
      );
    }
    if (options.destroy ?? this.#destroyOnEvict) _destroy(value);
  }

  /**
   * Removes every entry, destroying the values unless `{ destroy: false }`
   * (default: the cache's `destroyOnEvict`).
   *
   * @param options Whether to destroy the values.
   */
  clear(options: ClientCacheRemoveOptions = {}): void {
    const entries = this.#store.snapshot();
    this.#store.clear();
    if (options.destroy ?? this.#destroyOnEvict) {
      for (const [, value] of entries) _destroy(value);
    }
  }

  /**
   * The keys in eviction order (first = next evicted).
   *
   * @returns An iterator over a snapshot of the keys.
   */
  *keys(): IterableIterator<string> {
    for (const [key] of this.#store.snapshot()) yield key;
  }

  /**
   * The values in eviction order (first = next evicted).
   *
   * @returns An iterator over a snapshot of the values.
   */
  *values(): IterableIterator<V> {
    for (const [, value] of this.#store.snapshot()) yield value;
  }

  /**
   * The `[key, value]` pairs in eviction order (first = next evicted).
   *
   * @returns An iterator over a snapshot of the entries.
   */
  entries(): IterableIterator<[string, V]> {
    return this.#store.snapshot()[Symbol.iterator]();
  }

  /**
   * The `[key, value]` pairs in eviction order, as `entries()`.
   *
   * @returns An iterator over a snapshot of the entries.
   */
  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  /** Empties the cache as `clear()` does (for `using cache = new ClientCache()`). */
  [Symbol.dispose](): void {
    this.clear();
  }

  /**
   * The JSON form: policy, size and `maxSize` (never the values).
   *
   * @returns A plain object.
   */
  toJSON(): {
    evictionPolicy: EvictionPolicy;
    size: number;
    maxSize: number | null;
  } {
    return {
      evictionPolicy: this.#policy,
      size: this.size,
      maxSize: this.#maxSize ?? null,
    };
  }

  /**
   * `Deno.inspect()` shows the policy, size and `maxSize`, not the values.
   *
   * @ignore
   */
  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options?: unknown) => string,
    options: unknown,
  ): string {
    return `ClientCache ${
      inspect({
        evictionPolicy: this.#policy,
        size: this.size,
        maxSize: this.#maxSize,
      }, options)
    }`;
  }

  #insert(key: string, value: V): void {
    const maxSize = this.#maxSize;
    if (maxSize !== undefined) {
      if (maxSize === 0) return;
      if (this.#store.size >= maxSize) this.#shrinkTo(maxSize - 1);
    }
    this.#store.insert(key, value);
  }

  #shrinkTo(limit: number | undefined): void {
    if (limit === undefined) return;
    const store = this.#store;
    while (store.size > limit) {
      const evicted = store.evict();
      if (evicted === undefined) return;
      if (this.#destroyOnEvict) _destroy(evicted[1]);
    }
  }
}
