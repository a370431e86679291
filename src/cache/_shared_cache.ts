/**
 * Private: the `sharedCache` option of the library sessions. It puts the
 * session's refresh behind the cross-process {@linkcode FileCache} (the
 * companion CLI's cache and lock), so N processes of one service on one host
 * make one STS call per expiry instead of N.
 *
 * How it fits the engine: the engine still decides *when* to refresh (its
 * windows, jitter, backoff, static stability). When it does, this module
 * first reads the shared entry; if a peer already refreshed (the entry is
 * newer than what this process holds and is not yet in its own advisory
 * window), that entry is the refresh. Otherwise it takes the entry's lock,
 * reads again (a peer may have just finished), and only then runs the
 * session's own fetch and writes the result. Processes that find the lock
 * taken wait for it and reuse the holder's result.
 *
 * @module
 */

import {
  FileCache,
  type FileCacheEntry,
  type FileCacheResult,
} from "./file_cache.ts";
import type { _FetchResult } from "../engine/_refresher.ts";
import { _describeValue } from "../_validate.ts";
import { BRSConfigurationError, BRSValidationError } from "../errors.ts";
import type { SharedCacheOptions } from "../types.ts";

const _SHARED_KEYS = ["directory", "key"];

/**
 * Validates the `sharedCache` option.
 *
 * @param value What was given: `true`, `false`, `{ directory?, key? }` or `undefined`.
 * @param kind The session class, for messages.
 * @returns The settings, or `undefined` when the option is off.
 * @throws {BRSValidationError} If the value has a bad type, an unknown key or an empty string.
 */
export function _validateSharedCache(
  value: unknown,
  kind: string,
): SharedCacheOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  const prefix = `Cannot create ${kind} as`;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BRSValidationError(
      `${prefix} 'sharedCache' must be true, false or an object such as { directory: "/var/cache/app/brs" }: got ${
        _describeValue(value)
      }`,
      { param: "sharedCache" },
    );
  }
  for (const key of Object.keys(value)) {
    if (!_SHARED_KEYS.includes(key)) {
      throw new BRSValidationError(
        `${prefix} 'sharedCache.${key}' is unknown: use ${
          _SHARED_KEYS.join(" or ")
        }`,
        { param: `sharedCache.${key}`, details: { allowed: _SHARED_KEYS } },
      );
    }
  }
  const settings: SharedCacheOptions = {};
  for (const key of ["directory", "key"] as const) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.trim() === "") {
      throw new BRSValidationError(
        `${prefix} 'sharedCache.${key}' must be a non-empty string: got ${
          _describeValue(v)
        }`,
        { param: `sharedCache.${key}` },
      );
    }
    settings[key] = v;
  }
  return settings;
}

/** What a {@linkcode _SharedCache} needs from its session. */
export interface _SharedCacheContext {
  /** The session's `advisoryTimeout`, seconds. */
  advisorySeconds: number;
  /** The session's `refreshTimeout`, seconds: a lock older than this (plus slack) is stale. */
  refreshTimeoutSeconds: number;
  /** The session's wall clock. */
  now: () => number;
  /** Emits a `warning` event of the session. */
  warn: (code: string, message: string) => void;
}

/** The cross-process refresh of one session (see the module doc). */
export class _SharedCache {
  readonly #settings: SharedCacheOptions;
  readonly #context: _SharedCacheContext;
  #cache: FileCache | undefined;
  /** The access key this process last took: never handed back as a refresh. */
  #held: string | undefined;

  /**
   * @param settings The validated option.
   * @param context The session's windows, clock and warnings.
   */
  constructor(settings: SharedCacheOptions, context: _SharedCacheContext) {
    this.#settings = settings;
    this.#context = context;
  }

  /**
   * The shared cache of a session, or `undefined` when the option is off.
   *
   * @param settings The validated option.
   * @param options The session's options (windows, `refreshTimeout`, `clock`).
   * @param warn Emits a `warning` event of the session.
   * @returns The cache, or `undefined`.
   */
  static of(
    settings: SharedCacheOptions | undefined,
    options: Record<string, unknown>,
    warn: (code: string, message: string) => void,
  ): _SharedCache | undefined {
    if (settings === undefined) return undefined;
    const clock = options.clock as { now(): number } | undefined;
    return new _SharedCache(settings, {
      advisorySeconds: (options.advisoryTimeout as number | undefined) ?? 900,
      refreshTimeoutSeconds: (options.refreshTimeout as number | undefined) ??
        60,
      now: clock === undefined ? Date.now : () => clock.now(),
      warn,
    });
  }

  /** The settings, for printing (no secret in them). */
  get settings(): SharedCacheOptions {
    return { ...this.#settings };
  }

  /**
   * A refresh through the shared cache: a peer's fresh entry, or the
   * session's own fetch under the lock; the own fetch alone, with a
   * `warning`, when the cache cannot be used.
   *
   * @param material What identifies the credentials (never an MFA code or a secret).
   * @param own The session's own fetch.
   * @returns The credentials.
   */
  async fetch(
    material: () => Promise<Record<string, unknown>>,
    own: () => Promise<_FetchResult>,
  ): Promise<_FetchResult> {
    let key: string;
    try {
      // Not memoized: the base identity may change (rotated keys).
      key = await FileCache.keyOf({
        ...(await material()),
        format: "brs-library-session/1",
        key: this.#settings.key,
      });
    } catch {
      // The base identity is unknown (e.g. no base credentials): the own
      // fetch fails with the real reason.
      return await own();
    }
    let ownFailure: { error: unknown } | undefined;
    let fresh: _FetchResult | undefined;
    const refresh = async (): Promise<FileCacheEntry> => {
      try {
        fresh = await own();
      } catch (error) {
        ownFailure = { error };
        throw error;
      }
      return {
        credentials: {
          accessKey: fresh.credentials.accessKeyId,
          secretKey: fresh.credentials.secretAccessKey,
          token: fresh.credentials.sessionToken ?? "",
          expiryTime: fresh.credentials.expiration.toISOString(),
        },
        obtainedAt: new Date(this.#context.now()).toISOString(),
      };
    };
    let directory = this.#settings.directory ?? "$XDG_CACHE_HOME/brs";
    let result: FileCacheResult;
    try {
      directory = this.#settings.directory ?? FileCache.defaultDirectory();
      this.#cache ??= new FileCache({
        directory,
        staleLockMs: (this.#context.refreshTimeoutSeconds + 5) * 1000,
        now: this.#context.now,
      });
      await this.#checkEntry(this.#cache, key);
      result = await this.#cache.getOrRefresh(key, refresh, {
        // Reuse an entry only before its advisory point (jitter included),
        // so taking it never starts another refresh at once.
        advisorySeconds: this.#context.advisorySeconds * 1.1,
        replace: this.#held,
      });
    } catch (error) {
      if (ownFailure !== undefined) throw ownFailure.error;
      this.#context.warn(
        "SharedCacheUnavailable",
        `Refreshed without the shared credential cache as '${directory}' cannot be used: ${
          _reason(error)
        }; ${_hint(error, directory, this.#settings.directory === undefined)}`,
      );
      if (fresh !== undefined) return this.#took(fresh);
      return this.#took(await own());
    }
    if (result.warning !== undefined) {
      const repaired = /^Set the/.test(result.warning);
      this.#context.warn(
        repaired ? "SharedCacheRepaired" : "SharedCacheUnavailable",
        repaired ? result.warning : `${result.warning}; ${_WRITABLE_HINT}`,
      );
    }
    if (result.source === "refresh" && fresh !== undefined) {
      return this.#took(fresh);
    }
    const { credentials, obtainedAt } = result.entry;
    return this.#took({
      credentials: {
        accessKeyId: credentials.accessKey,
        secretAccessKey: credentials.secretKey,
        ...(credentials.token === ""
          ? {}
          : { sessionToken: credentials.token }),
        expiration: new Date(credentials.expiryTime),
      },
      obtainedAt: new Date(obtainedAt),
    });
  }

  #took(result: _FetchResult): _FetchResult {
    this.#held = result.credentials.accessKeyId;
    return result;
  }

  /** Warns when an entry exists but cannot be used (corrupt, foreign, open to others). */
  async #checkEntry(cache: FileCache, key: string): Promise<void> {
    // The file first, then its content: a peer's write (an atomic rename)
    // between the two then reads as a good entry, never as a bad one.
    const path = `${cache.directory}/${key}.json`;
    try {
      await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      return; // no entry yet
    }
    if (await cache.read(key) !== undefined) return;
    this.#context.warn(
      "SharedCacheEntryIgnored",
      `Ignored the shared credential cache entry '${path}' as it is corrupt, not a private file of yours, or from another version: this refresh replaces it`,
    );
  }
}

/**
 * An STS client config's `endpoint` for a cache key: the URL, `"custom"` for
 * an endpoint object or function, `undefined` when not set.
 *
 * @param endpoint What the config holds.
 * @returns A string or `undefined`.
 */
export function _endpointName(endpoint: unknown): string | undefined {
  if (endpoint === undefined) return undefined;
  return typeof endpoint === "string" || endpoint instanceof URL
    ? String(endpoint)
    : "custom";
}

/**
 * Request fields as flat `request.<name>` entries, so a key does not depend
 * on the order the fields were given in.
 *
 * @param request The request.
 * @returns The flat entries.
 */
export function _flatRequest(request: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(request).map(([name, value]) => [`request.${name}`, value]),
  );
}

const _WRITABLE_HINT =
  "set 'sharedCache.directory' to a private directory this process can write";

/** The first line of an error, without the file cache's CLI-specific advice. */
function _reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Deno's own advice ("run again with the --allow-env flag") is replaced
  // by the hint, which names the flag's value.
  const line = message.split("\n")[0]!.replace(/, run again with .*$/, "");
  const cut = error instanceof BRSConfigurationError ? line.indexOf(": ") : -1;
  return (cut === -1 ? line : line.slice(0, cut)).replace(/[.\s]+$/, "");
}

/** What to do about an unusable directory. */
function _hint(error: unknown, directory: string, isDefault: boolean): string {
  if (
    error instanceof Deno.errors.NotCapable && isDefault &&
    /\benv access\b/.test(error.message)
  ) {
    // The default directory is found through the environment, which the
    // AWS SDK's --allow-env list does not cover.
    return `add XDG_CACHE_HOME and HOME to --allow-env (the default directory is $XDG_CACHE_HOME/brs, else $HOME/.cache/brs) and allow reading and writing it, or ${_WRITABLE_HINT}`;
  }
  if (error instanceof Deno.errors.NotCapable) {
    return `run with --allow-read=${directory} --allow-write=${directory}${
      isDefault ? " (and --allow-env for the default directory)" : ""
    }, or ${_WRITABLE_HINT}`;
  }
  if (error instanceof BRSConfigurationError) {
    return `remove it, or ${_WRITABLE_HINT}`;
  }
  return _WRITABLE_HINT;
}
