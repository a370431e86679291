/**
 * Private helpers shared by the option validators: how a wrong value is
 * named in an error message, and the check of an optional object option.
 *
 * @module
 */

import type { ClientCache } from "./cache/client_cache.ts";
import { BRSValidationError } from "./errors.ts";
import type { CacheOptions } from "./types.ts";

/**
 * Names the type of a wrong value for an error message without printing the
 * value (it may be a secret): `null`, `an array`, or its `typeof`.
 */
export function _typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/**
 * Throws a `BRSValidationError` unless `value` is `undefined` or an object
 * (not `null`, not an array).
 *
 * @param owner What is being created, e.g. `STSRefreshableSession`.
 * @param name The option's name, e.g. `stsClientConfig`.
 * @param value The value given.
 * @param example An example of a right value, e.g. `{ region: "eu-west-1" }`.
 */
export function _checkOptionalObject(
  owner: string,
  name: string,
  value: unknown,
  example: string,
): void {
  if (
    value === undefined ||
    (value !== null && typeof value === "object" && !Array.isArray(value))
  ) return;
  throw new BRSValidationError(
    `Cannot create ${owner} as '${name}' must be an object such as ${example}: got ${
      _typeName(value)
    }`,
    { param: name },
  );
}

/**
 * Names a wrong value for an error message: strings quoted (cut at 200
 * characters), numbers, booleans, `null` and `undefined` as they are, arrays
 * as `an array`, anything else by its type. Never call it on a secret.
 */
export function _describeValue(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(
      value.length > 200 ? `${value.slice(0, 200)}...` : value,
    );
  }
  if (
    typeof value === "number" || typeof value === "boolean" ||
    typeof value === "bigint" || value === undefined || value === null
  ) {
    return String(value);
  }
  if (Array.isArray(value)) return "an array";
  return `a value of type ${typeof value}`;
}

const _CACHE_OPTION_KEYS = ["evictionPolicy", "maxSize"];

/**
 * Refuses unknown keys and bad values of cache options (a typo is not
 * ignored): only `evictionPolicy` ("LRU" or "LFU") and `maxSize` (a
 * non-negative integer or `undefined`).
 *
 * @param cache The options given (an object).
 * @param prefix The start of the message, e.g. `Cannot create session`.
 * @param path The options' path, e.g. `cache.`, or `""` for a call's options.
 */
export function _validateCacheOptions(
  cache: object,
  prefix: string,
  path: string,
): void {
  const c = cache as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!_CACHE_OPTION_KEYS.includes(key)) {
      throw new BRSValidationError(
        `${prefix} as '${path}${key}' is unknown: use one of ${
          _CACHE_OPTION_KEYS.join(", ")
        }`,
        { param: `${path}${key}`, details: { allowed: _CACHE_OPTION_KEYS } },
      );
    }
  }
  const policy = c.evictionPolicy;
  if (policy !== undefined && policy !== "LRU" && policy !== "LFU") {
    throw new BRSValidationError(
      `${prefix} as '${path}evictionPolicy' must be one of LRU, LFU: got ${
        _describeValue(policy)
      }`,
      { param: `${path}evictionPolicy` },
    );
  }
  const maxSize = c.maxSize;
  if (
    maxSize !== undefined &&
    (typeof maxSize !== "number" || !Number.isInteger(maxSize) || maxSize < 0)
  ) {
    throw new BRSValidationError(
      `${prefix} as '${path}maxSize' must be a non-negative integer, or undefined for an unbounded cache: got ${
        _describeValue(maxSize)
      }`,
      { param: `${path}maxSize` },
    );
  }
}

/**
 * Checks the cache options of a `client()` / `resource()` call and applies
 * them to `cache` (changing `maxSize` evicts at once).
 *
 * @typeParam V The cached values.
 * @param cache The cache to change.
 * @param options The options given, or `undefined` for no change.
 * @param prefix The start of an error message, e.g. `Cannot call client()`.
 */
export function _applyCacheOptions<V>(
  cache: ClientCache<V>,
  options: CacheOptions | undefined,
  prefix: string,
): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object") {
    throw new BRSValidationError(
      `${prefix} as 'options' must be an object such as { maxSize: 16 }: got ${
        _describeValue(options)
      }`,
      { param: "options" },
    );
  }
  _validateCacheOptions(options, prefix, "options.");
  if (
    options.evictionPolicy !== undefined &&
    options.evictionPolicy !== cache.evictionPolicy
  ) cache.evictionPolicy = options.evictionPolicy;
  if (Object.hasOwn(options, "maxSize") && options.maxSize !== cache.maxSize) {
    cache.maxSize = options.maxSize;
  }
}

/**
 * Splits the `options` of a `resource()` call into the cache settings and
 * the wrapper's own options, checking that `options` is an object.
 *
 * @returns The cache settings (for {@linkcode _applyCacheOptions}), whether
 * `wrapperOptions` was given, and its value.
 */
export function _splitResourceOptions(
  options: (CacheOptions & { wrapperOptions?: unknown }) | undefined,
  prefix: string,
): { cache: CacheOptions | undefined; wrapperOptions: unknown } {
  if (options === undefined) {
    return { cache: undefined, wrapperOptions: undefined };
  }
  if (options === null || typeof options !== "object") {
    throw new BRSValidationError(
      `${prefix} as 'options' must be an object such as { maxSize: 16 } or { wrapperOptions: { marshallOptions } }: got ${
        _describeValue(options)
      }`,
      { param: "options" },
    );
  }
  const { wrapperOptions, ...cache } = options;
  return { cache, wrapperOptions };
}
