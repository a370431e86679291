/**
 * A cross-process credential cache on disk, with a lock file around a
 * refresh, used by the companion CLI so that N processes started together
 * make one STS call and run the MFA command once.
 *
 * @module
 */

import { BRSConfigurationError } from "../errors.ts";
import type { TemporaryCredentials } from "../types.ts";
import { _READ_CAPS, _readBounded } from "../_read_bounded.ts";
import {
  _ensurePrivateDirectory,
  _knownUid,
  _writePrivateFile,
} from "../_private_dir.ts";

/** Options of a {@linkcode FileCache}. */
export interface FileCacheOptions {
  /**
   * The directory of the cache files. Created with mode 0700.
   * @default {"$XDG_CACHE_HOME/brs", else "$HOME/.cache/brs"}
   */
  directory?: string;
  /**
   * A lock older than this (by the time its holder recorded) is broken,
   * whether or not its process still lives. It is also the absolute bound of
   * one wait, measured on the monotonic clock: whatever the wall clocks say,
   * a process waits no longer than this before it breaks the lock. A lock
   * with a timestamp in the future is broken at once.
   * @default {60000}
   */
  staleLockMs?: number;
  /**
   * A lock whose process is gone (checked with signal 0, which needs
   * `--allow-run`; without it only `staleLockMs` applies) is broken once it
   * is older than this grace period.
   * @default {500}
   */
  deadLockGraceMs?: number;
  /**
   * How often a waiting process looks at the lock and the cache again.
   *
   * @default {40}
   */
  pollIntervalMs?: number;
  /**
   * Wall-clock time in milliseconds since the epoch.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

/** One cached credential set: the credentials and when they were obtained. */
export interface FileCacheEntry {
  /** The temporary credentials. */
  credentials: TemporaryCredentials;
  /** When they were obtained, ISO 8601 UTC: with `expiryTime` it gives the lifetime. */
  obtainedAt: string;
}

/** Options of {@linkcode FileCache.prototype.getOrRefresh}. */
export interface FileCacheGetOptions {
  /**
   * Cached credentials are reused while more than `min(advisorySeconds,
   * lifetime / 2)` of their life is left (the window is scaled down for short
   * lifetimes so a fresh credential is reused for at least half its life).
   * @default {900}
   */
  advisorySeconds?: number;
  /**
   * The access key id of credentials the caller holds and wants replaced
   * (e.g. revoked, or a forced refresh): an entry with it is not reused.
   * @default {undefined}
   */
  replace?: string;
  /**
   * The longest lifetime the request can have, in seconds (its
   * `DurationSeconds`): an entry whose expiry lies later than its
   * `obtainedAt` plus this (and 5 minutes of clock skew) could not come from
   * this request, and is ignored.
   * @default {129600} (36 hours, the longest lifetime STS gives)
   */
  maxLifetimeSeconds?: number;
}

/** Options of {@linkcode FileCache.prototype.read}. */
export interface FileCacheReadOptions {
  /** See {@linkcode FileCacheGetOptions.maxLifetimeSeconds}. @default {129600} */
  maxLifetimeSeconds?: number;
}

/** What {@linkcode FileCache.prototype.getOrRefresh} returns. */
export interface FileCacheResult {
  /** The credentials. */
  entry: FileCacheEntry;
  /** `"cache"`: found fresh; `"peer"`: another process refreshed while we waited; `"refresh"`: we refreshed. */
  source: "cache" | "peer" | "refresh";
  /**
   * Something the user should know: the directory could not be written
   * (e.g. read-only: the credentials are fresh but not cached), or its
   * permissions were repaired.
   */
  warning?: string;
  /**
   * Why an entry on disk was not used (e.g. owned by another user, mode not
   * 0600, a link, obtained in the future, an expiry past the requested
   * lifetime, corrupt): it was ignored and refreshed. No secret in it.
   */
  ignored?: string;
}

const _FORMAT_KIND = "brs-credentials";
/** The longest lifetime STS gives (GetSessionToken, 36 h). */
const _MAX_LIFETIME_SECONDS = 129_600;
/** Clock skew allowed between `obtainedAt`, the expiry and now. */
const _ENTRY_SKEW_MS = 300_000;
/** A lock timestamp later than now by more than this is in the future. */
const _LOCK_SKEW_MS = 2_000;

/**
 * JSON files in one directory (mode 0700), one per request (mode 0600),
 * written atomically (temp file + rename, never through a link), keyed by a
 * SHA-256 hash of the request. The directory is checked before anything is
 * read or created in it: a symbolic link, a non-directory or a directory
 * owned by another user is refused (`BRSConfigurationError`, code
 * `CacheDirectoryUnsafe`), group/world permissions are removed. A lock file
 * (`<key>.lock`, created with `createNew` as a mutex, holding pid and time)
 * guards a refresh; after taking the lock the cache is read again, so a
 * process that waited uses what the holder wrote.
 *
 * An entry is trusted only if it could be ours: a regular file (not a link,
 * one hard link) of the current user with mode 0600, at most 64 KiB, well
 * formed, `obtainedAt` not in the future, and an expiry no later than
 * `obtainedAt` + the requested lifetime (5 minutes of skew allowed). Anything
 * else is ignored and replaced, and the result says why (`ignored`).
 * A lock from a dead process, older than `staleLockMs` or with a timestamp
 * in the future is broken, and no wait lasts longer than `staleLockMs` on
 * the monotonic clock.
 *
 * @example Usage
 * ```ts
 * import { FileCache } from "./file_cache.ts";
 * import { assertEquals } from "@std/assert";
 *
 * const directory = await Deno.makeTempDir();
 * const cache = new FileCache({ directory });
 * const key = await FileCache.keyOf({
 *   role: "arn:aws:iam::123456789012:role/app",
 * });
 * const entry = {
 *   credentials: {
 *     accessKey: "ASIAEXAMPLE",
 *     secretKey: "example-secret",
 *     token: "example-token",
 *     expiryTime: new Date(Date.now() + 3600_000).toISOString(),
 *   },
 *   obtainedAt: new Date().toISOString(),
 * };
 * const first = await cache.getOrRefresh(
 *   key,
 *   () => Promise.resolve(entry),
 * );
 * const second = await cache.getOrRefresh(
 *   key,
 *   () => Promise.reject(new Error("not called")),
 * );
 * assertEquals([first.source, second.source], ["refresh", "cache"]);
 * await Deno.remove(directory, { recursive: true });
 * ```
 */
export class FileCache {
  readonly #directory: string;
  readonly #staleLockMs: number;
  readonly #deadLockGraceMs: number;
  readonly #pollIntervalMs: number;
  readonly #now: () => number;
  #dirReady = false;
  /** What #checkDirectory repaired, told once through a result's `warning`. */
  #repaired: string | undefined;

  /**
   * Creates a cache over a directory (nothing is touched until first use).
   *
   * @param options Directory, lock timing and clock.
   */
  constructor(options: FileCacheOptions = {}) {
    this.#directory = options.directory ?? FileCache.defaultDirectory();
    this.#staleLockMs = options.staleLockMs ?? 60_000;
    this.#deadLockGraceMs = options.deadLockGraceMs ?? 500;
    this.#pollIntervalMs = options.pollIntervalMs ?? 40;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The default directory: `$XDG_CACHE_HOME/brs`, else `$HOME/.cache/brs`.
   *
   * @returns An absolute path (or a relative one when neither variable is set).
   * @throws {Deno.errors.NotCapable} Without `--allow-env`.
   */
  static defaultDirectory(): string {
    const xdg = Deno.env.get("XDG_CACHE_HOME");
    if (xdg) return `${xdg}/brs`;
    const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
    return `${home}/.cache/brs`;
  }

  /**
   * The cache key of a request: the SHA-256 (hex) of its canonical JSON (keys
   * sorted, `undefined` dropped). Never put an MFA code or a secret in it.
   *
   * @param material The fields that identify the credentials.
   * @returns 64 hex characters.
   */
  static async keyOf(material: Record<string, unknown>): Promise<string> {
    const canonical = JSON.stringify(
      Object.fromEntries(
        Object.entries(material)
          .filter(([, v]) => v !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ),
    );
    const digest = await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(canonical),
    );
    return Array.from(
      new Uint8Array(digest),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
  }

  /** The directory of the cache files. */
  get directory(): string {
    return this.#directory;
  }

  /**
   * Reads the entry of a key. Missing, corrupt, foreign, group/world
   * accessible, linked or tampered files (see the class doc) give
   * `undefined`.
   *
   * @param key A key from {@linkcode FileCache.keyOf}.
   * @param options The longest lifetime the request can have.
   * @returns The entry, or `undefined`.
   * @throws {BRSConfigurationError} If the directory is not a private
   * directory of the current user (code `CacheDirectoryUnsafe`).
   */
  async read(
    key: string,
    options: FileCacheReadOptions = {},
  ): Promise<FileCacheEntry | undefined> {
    return (await this.#readEntry(
      key,
      (options.maxLifetimeSeconds ?? _MAX_LIFETIME_SECONDS) * 1000,
    )).entry;
  }

  /** The entry of a key, or why the file there was ignored. */
  async #readEntry(
    key: string,
    maxLifetimeMs: number,
  ): Promise<{ entry?: FileCacheEntry; ignored?: string }> {
    const path = this.#path(key, "json");
    try {
      if (!(await this.#checkDirectory(false))) return {};
    } catch (error) {
      if (!_isSystemError(error)) throw error;
      // Cannot learn whether the directory is ours (e.g. read-only): its
      // entries are not trusted.
      return {};
    }
    let text: string;
    let info: Deno.FileInfo;
    try {
      const read = await _readBounded(path, {
        maxBytes: _READ_CAPS.cacheEntry,
        what: "the cache entry",
        noFollow: true,
        message: (why) => `it ${why.split(":")[0]}`,
      });
      text = new TextDecoder().decode(read.bytes);
      info = read.info;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return {};
      if (error instanceof Deno.errors.NotCapable) throw error;
      return {
        ignored: error instanceof BRSConfigurationError
          ? error.message
          : "it cannot be read",
      };
    }
    const uid = _knownUid();
    if (uid === undefined) return { ignored: "its owner cannot be checked" };
    if (info.uid !== null && info.uid !== uid) {
      return {
        ignored: `it is owned by uid ${info.uid}, not by you (uid ${uid})`,
      };
    }
    if (info.mode !== null && (info.mode & 0o777) !== 0o600) {
      return {
        ignored: `its mode is 0${(info.mode & 0o777).toString(8)}, not 0600`,
      };
    }
    if (info.nlink !== null && info.nlink > 1) {
      return { ignored: `it has ${info.nlink} hard links, not 1` };
    }
    const entry = _parseEntry(text, key);
    if (entry === undefined) {
      return {
        ignored:
          "it is not a brs cache entry (corrupt, or from another version)",
      };
    }
    const obtained = Date.parse(entry.obtainedAt);
    const expiry = Date.parse(entry.credentials.expiryTime);
    if (obtained > this.#now() + _ENTRY_SKEW_MS) {
      return {
        ignored: `it was obtained in the future (${entry.obtainedAt})`,
      };
    }
    if (expiry <= obtained) {
      return { ignored: "it expires before it was obtained" };
    }
    if (expiry > obtained + maxLifetimeMs + _ENTRY_SKEW_MS) {
      return {
        ignored: `it expires ${
          Math.round((expiry - obtained) / 1000)
        } s after it was obtained, longer than the ${
          Math.round(maxLifetimeMs / 1000)
        } s requested`,
      };
    }
    return { entry };
  }

  /**
   * Writes the entry of a key atomically (temp file 0600 + rename), never
   * through a link.
   *
   * @param key A key from {@linkcode FileCache.keyOf}.
   * @param entry The credentials and when they were obtained.
   * @throws {BRSConfigurationError} If the directory is not a private
   * directory of the current user (code `CacheDirectoryUnsafe`).
   */
  async write(key: string, entry: FileCacheEntry): Promise<void> {
    await this.#checkDirectory(true);
    await _writePrivateFile(
      this.#path(key, "json"),
      JSON.stringify({
        version: 1,
        kind: _FORMAT_KIND,
        key,
        obtainedAt: entry.obtainedAt,
        credentials: entry.credentials,
      }),
    );
  }

  /**
   * Returns fresh cached credentials, or takes the key's lock, reads the cache
   * again and only then calls `refresh` and writes its result. Processes that
   * wait for the lock pick up what the holder wrote.
   *
   * @param key A key from {@linkcode FileCache.keyOf}.
   * @param refresh Fetches new credentials (called at most once, under the lock).
   * @param options The reuse window.
   * @returns The entry and where it came from.
   * @throws {Error} Whatever `refresh` throws (the lock is released first).
   */
  async getOrRefresh(
    key: string,
    refresh: () => Promise<FileCacheEntry>,
    options: FileCacheGetOptions = {},
  ): Promise<FileCacheResult> {
    const result = await this.#getOrRefresh(key, refresh, options);
    const repaired = this.#repaired;
    this.#repaired = undefined;
    return repaired === undefined || result.warning !== undefined
      ? result
      : { ...result, warning: repaired };
  }

  async #getOrRefresh(
    key: string,
    refresh: () => Promise<FileCacheEntry>,
    options: FileCacheGetOptions,
  ): Promise<FileCacheResult> {
    const advisoryMs = (options.advisorySeconds ?? 900) * 1000;
    const maxLifetimeMs =
      (options.maxLifetimeSeconds ?? _MAX_LIFETIME_SECONDS) * 1000;
    const replace = options.replace;
    const first = await this.#readEntry(key, maxLifetimeMs);
    const ignored = first.ignored === undefined
      ? {}
      : { ignored: first.ignored };
    if (first.entry && this.#isFresh(first.entry, advisoryMs, replace)) {
      return { entry: first.entry, source: "cache" };
    }
    const lockPath = this.#path(key, "lock");
    let waited = false;
    let nonce: string;
    // The absolute bound of the wait: the monotonic clock, whatever the
    // wall clocks of this process and of the lock's holder say.
    let waitStart = performance.now();
    while (true) {
      let taken: string | undefined;
      try {
        await this.#checkDirectory(true);
        taken = await this.#tryLock(lockPath);
      } catch (error) {
        if (!_isSystemError(error)) throw error;
        // Not writable (read-only, full, ...): refresh without the cache.
        return {
          entry: await refresh(),
          source: "refresh",
          warning: _notCachedWarning(this.#directory, error),
          ...ignored,
        };
      }
      if (taken !== undefined) {
        nonce = taken;
        break;
      }
      waited = true;
      const overdue = performance.now() - waitStart >= this.#staleLockMs;
      if (await this.#breakIfStale(lockPath, overdue)) {
        waitStart = performance.now();
      }
      const peer = await this.#readEntry(key, maxLifetimeMs);
      if (peer.entry && this.#isFresh(peer.entry, advisoryMs, replace)) {
        return { entry: peer.entry, source: "peer" };
      }
      await _sleep(this.#pollIntervalMs * (0.75 + Math.random() / 2));
    }
    try {
      const again = await this.#readEntry(key, maxLifetimeMs);
      if (again.entry && this.#isFresh(again.entry, advisoryMs, replace)) {
        return { entry: again.entry, source: waited ? "peer" : "cache" };
      }
      const entry = await refresh();
      try {
        await this.write(key, entry);
      } catch (error) {
        if (!_isSystemError(error)) throw error;
        return {
          entry,
          source: "refresh",
          warning: _notCachedWarning(this.#directory, error),
          ...ignored,
        };
      }
      return { entry, source: "refresh", ...ignored };
    } finally {
      await this.#unlock(lockPath, nonce);
    }
  }

  #isFresh(
    entry: FileCacheEntry,
    advisoryMs: number,
    replace: string | undefined,
  ): boolean {
    if (entry.credentials.accessKey === replace) return false;
    const expiry = Date.parse(entry.credentials.expiryTime);
    const obtained = Date.parse(entry.obtainedAt);
    const lifetime = Math.max(0, expiry - obtained);
    const threshold = Math.min(advisoryMs, lifetime / 2);
    return expiry - this.#now() > threshold;
  }

  #path(key: string, ext: "json" | "lock"): string {
    if (!/^[0-9a-f]{16,128}$/.test(key)) {
      throw new TypeError(
        `Cannot use cache key '${key}': it must be hex from FileCache.keyOf()`,
      );
    }
    return `${this.#directory}/${key}.${ext}`;
  }

  /**
   * Checks the directory (and creates it, 0700, with `create`) before
   * anything in it is read or created: a symlink, a non-directory or a
   * directory owned by someone else is refused; group or world permissions
   * are removed. Checked once per instance: once it is ours and 0700, only
   * we (and root) can change it.
   *
   * @returns `false` when it does not exist (and `create` is `false`).
   */
  async #checkDirectory(create: boolean): Promise<boolean> {
    if (this.#dirReady) return true;
    const dir = await _ensurePrivateDirectory(this.#directory, {
      create,
      what: "the credential cache directory",
      advice:
        "set XDG_CACHE_HOME to a directory of your own, or use --no-cache",
    });
    if (!dir.exists) return false;
    if (dir.repaired !== undefined) this.#repaired = dir.repaired;
    this.#dirReady = true;
    return true;
  }

  async #tryLock(lockPath: string): Promise<string | undefined> {
    const nonce = crypto.randomUUID();
    let file: Deno.FsFile;
    try {
      file = await Deno.open(lockPath, {
        createNew: true,
        write: true,
        mode: 0o600,
      });
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return undefined;
      throw error;
    }
    try {
      await file.write(
        new TextEncoder().encode(
          JSON.stringify({ pid: Deno.pid, time: this.#now(), nonce }),
        ),
      );
    } finally {
      file.close();
    }
    return nonce;
  }

  /** The lock's content (when it parses) and its mtime; never follows a link. */
  async #readLock(
    lockPath: string,
  ): Promise<
    { pid?: number; time?: number; mtime: number; nonce?: string } | undefined
  > {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(lockPath);
    } catch {
      return undefined;
    }
    const mtime = info.mtime?.getTime() ?? Date.now();
    let text: string;
    try {
      const read = await _readBounded(lockPath, {
        maxBytes: _READ_CAPS.lock,
        what: "the lock file",
        noFollow: true,
      });
      text = new TextDecoder().decode(read.bytes);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      // a link, a FIFO, an oversize file: judged by its mtime
      return { mtime };
    }
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === "object" && value !== null) {
        const { pid, time, nonce } = value as Record<string, unknown>;
        return {
          pid: typeof pid === "number" ? pid : undefined,
          time: typeof time === "number" && Number.isFinite(time)
            ? time
            : undefined,
          mtime,
          nonce: typeof nonce === "string" ? nonce : undefined,
        };
      }
    } catch {
      // a lock being written, or garbage: judged by its mtime
    }
    return { mtime };
  }

  /**
   * Breaks the lock when it is stale: its holder's recorded time (else its
   * mtime) is older than `staleLockMs`, any of its timestamps lies in the
   * future, its process is gone (after a grace), or `force` (the wait's
   * monotonic bound is reached).
   *
   * @returns Whether a lock was broken.
   */
  async #breakIfStale(lockPath: string, force: boolean): Promise<boolean> {
    const lock = await this.#readLock(lockPath);
    if (lock === undefined) return false;
    const now = this.#now();
    // The recorded time is on the holders' clock (ours); the mtime on the
    // system's.
    const future =
      (lock.time !== undefined && lock.time > now + _LOCK_SKEW_MS) ||
      lock.mtime > Date.now() + _LOCK_SKEW_MS;
    const age = lock.time !== undefined
      ? now - lock.time
      : Date.now() - lock.mtime;
    const stale = force || future || age > this.#staleLockMs ||
      (lock.pid === undefined && age > this.#deadLockGraceMs * 4) ||
      (lock.pid !== undefined && age > this.#deadLockGraceMs &&
        !(await _processAlive(lock.pid)));
    if (!stale) return false;
    // Move the lock aside atomically; if what we moved is not the lock we
    // judged (someone broke it and took a new one meanwhile), put it back.
    const aside = `${lockPath}.broken.${crypto.randomUUID()}`;
    try {
      await Deno.rename(lockPath, aside);
    } catch {
      return false;
    }
    const moved = await this.#readLock(aside);
    if (moved && moved.nonce !== lock.nonce) {
      await Deno.link(aside, lockPath).catch(() => {});
    }
    await Deno.remove(aside).catch(() => {});
    return true;
  }

  async #unlock(lockPath: string, nonce: string): Promise<void> {
    const lock = await this.#readLock(lockPath);
    if (lock?.nonce === nonce) await Deno.remove(lockPath).catch(() => {});
  }
}

function _parseEntry(text: string, key: string): FileCacheEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (
    record.version !== 1 || record.kind !== _FORMAT_KIND || record.key !== key
  ) return undefined;
  const obtainedAt = record.obtainedAt;
  const credentials = record.credentials;
  if (typeof obtainedAt !== "string" || Number.isNaN(Date.parse(obtainedAt))) {
    return undefined;
  }
  if (typeof credentials !== "object" || credentials === null) return undefined;
  const { accessKey, secretKey, token, expiryTime } = credentials as Record<
    string,
    unknown
  >;
  if (
    typeof accessKey !== "string" || typeof secretKey !== "string" ||
    typeof token !== "string" || typeof expiryTime !== "string" ||
    accessKey === "" || secretKey === "" ||
    Number.isNaN(Date.parse(expiryTime))
  ) return undefined;
  return {
    credentials: { accessKey, secretKey, token, expiryTime },
    obtainedAt,
  };
}

async function _processAlive(pid: number): Promise<boolean> {
  if (pid === Deno.pid) return true;
  // Signal 0 checks that the process exists (Deno denies /proc without
  // --allow-all). ESRCH: gone. EPERM: exists (another user). No --allow-run:
  // cannot tell, so the age bound decides.
  try {
    const { default: process } = await import("node:process");
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== "ESRCH";
  }
}

/** An operating-system failure to write (not a missing Deno permission or a refusal). */
function _isSystemError(error: unknown): boolean {
  return error instanceof Error && !(error instanceof Deno.errors.NotCapable) &&
    !(error instanceof BRSConfigurationError) && !(error instanceof TypeError);
}

function _notCachedWarning(directory: string, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return `Credentials not cached as the cache directory '${directory}' cannot be written: ${reason}`;
}

function _sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
