/**
 * A cross-process credential cache on disk, with a lock file around a
 * refresh, used by the companion CLI so that N processes started together
 * make one STS call and run the MFA command once.
 *
 * @module
 */

import { BRSConfigurationError } from "./errors.ts";
import type { TemporaryCredentials } from "./types.ts";

/** Options of a {@linkcode FileCache}. */
export interface FileCacheOptions {
  /**
   * The directory of the cache files. Created with mode 0700.
   * @default {"$XDG_CACHE_HOME/brs", else "$HOME/.cache/brs"}
   */
  directory?: string;
  /**
   * A lock older than this is broken, whether or not its process still lives.
   * It bounds the wait behind a hung refresh.
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
}

const _FORMAT_KIND = "brs-credentials";

/**
 * JSON files in one directory (mode 0700), one per request (mode 0600),
 * written atomically (temp file + rename), keyed by a SHA-256 hash of the
 * request. A lock file (`<key>.lock`, created with `createNew` as a mutex,
 * holding pid and time) guards a refresh; after taking the lock the cache is
 * read again, so a process that waited uses what the holder wrote. Corrupt,
 * foreign or group/world-accessible cache files are ignored and replaced.
 * A lock from a dead process, or older than `staleLockMs`, is broken.
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
  /** What #ensureDirectory repaired, told once through a result's `warning`. */
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
   * Reads the entry of a key. Missing, corrupt, foreign or group/world
   * accessible files give `undefined`.
   *
   * @param key A key from {@linkcode FileCache.keyOf}.
   * @returns The entry, or `undefined`.
   */
  async read(key: string): Promise<FileCacheEntry | undefined> {
    const path = this.#path(key, "json");
    let text: string;
    try {
      // Neither the directory nor the file may be a symlink, group/world
      // accessible, or owned by someone else.
      const dir = await Deno.lstat(this.#directory);
      if (!_private(dir, _ownUid) || !dir.isDirectory) return undefined;
      const info = await Deno.lstat(path);
      if (!info.isFile || !_private(info, dir.uid)) return undefined;
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (_isPermissionError(error)) throw error;
      return undefined;
    }
    return _parseEntry(text, key);
  }

  /**
   * Writes the entry of a key atomically (temp file 0600 + rename).
   *
   * @param key A key from {@linkcode FileCache.keyOf}.
   * @param entry The credentials and when they were obtained.
   */
  async write(key: string, entry: FileCacheEntry): Promise<void> {
    await this.#ensureDirectory();
    const path = this.#path(key, "json");
    const temp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
    const body = JSON.stringify({
      version: 1,
      kind: _FORMAT_KIND,
      key,
      obtainedAt: entry.obtainedAt,
      credentials: entry.credentials,
    });
    const file = await Deno.open(temp, {
      createNew: true,
      write: true,
      mode: 0o600,
    });
    try {
      _learnUid((await file.stat()).uid);
      await file.write(new TextEncoder().encode(body));
    } finally {
      file.close();
    }
    try {
      await Deno.rename(temp, path);
    } catch (error) {
      await Deno.remove(temp).catch(() => {});
      throw error;
    }
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
    const replace = options.replace;
    const cached = await this.read(key);
    if (cached && this.#isFresh(cached, advisoryMs, replace)) {
      return { entry: cached, source: "cache" };
    }
    const lockPath = this.#path(key, "lock");
    let waited = false;
    let nonce: string;
    while (true) {
      let taken: string | undefined;
      try {
        await this.#ensureDirectory();
        taken = await this.#tryLock(lockPath);
      } catch (error) {
        if (!_isSystemError(error)) throw error;
        // Not writable (read-only, full, ...): refresh without the cache.
        return {
          entry: await refresh(),
          source: "refresh",
          warning: _notCachedWarning(this.#directory, error),
        };
      }
      if (taken !== undefined) {
        nonce = taken;
        break;
      }
      waited = true;
      await this.#breakIfStale(lockPath);
      const peer = await this.read(key);
      if (peer && this.#isFresh(peer, advisoryMs, replace)) {
        return { entry: peer, source: "peer" };
      }
      await _sleep(this.#pollIntervalMs * (0.75 + Math.random() / 2));
    }
    try {
      const again = await this.read(key);
      if (again && this.#isFresh(again, advisoryMs, replace)) {
        return { entry: again, source: waited ? "peer" : "cache" };
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
        };
      }
      return { entry, source: "refresh" };
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
   * Creates the directory (0700), or checks the one there: a symlink, a
   * non-directory or a directory owned by someone else is refused; group or
   * world permissions are removed.
   */
  async #ensureDirectory(): Promise<void> {
    if (this.#dirReady) return;
    await Deno.mkdir(this.#directory, { recursive: true, mode: 0o700 });
    const info = await Deno.lstat(this.#directory);
    const refuse = (why: string): never => {
      throw new BRSConfigurationError(
        `Cannot use the credential cache directory '${this.#directory}' as ${why}: remove it, or set XDG_CACHE_HOME to a directory of your own, or use --no-cache`,
        { code: "CacheDirectoryUnsafe", param: "directory" },
      );
    };
    if (info.isSymlink) refuse("it is a symbolic link");
    if (!info.isDirectory) refuse("it is not a directory");
    if (_ownUid === undefined) await this.#probeUid();
    if (info.uid !== null && _ownUid !== undefined && info.uid !== _ownUid) {
      refuse(`it is owned by uid ${info.uid}, not by you (uid ${_ownUid})`);
    }
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      await Deno.chmod(this.#directory, 0o700);
      this.#repaired =
        `Set the credential cache directory '${this.#directory}' to mode 0700: it was 0${
          (info.mode & 0o777).toString(8)
        }, open to other users`;
    }
    this.#dirReady = true;
  }

  /** Learns this process's uid from a file it creates (no --allow-sys=uid needed). */
  async #probeUid(): Promise<void> {
    const probe =
      `${this.#directory}/.uid-probe.${Deno.pid}.${crypto.randomUUID()}`;
    try {
      const file = await Deno.open(probe, {
        createNew: true,
        write: true,
        mode: 0o600,
      });
      try {
        _learnUid((await file.stat()).uid);
      } finally {
        file.close();
      }
    } finally {
      await Deno.remove(probe).catch(() => {});
    }
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

  async #readLock(
    lockPath: string,
  ): Promise<{ pid?: number; time: number; nonce?: string } | undefined> {
    let text: string;
    let mtime: number;
    try {
      const info = await Deno.stat(lockPath);
      mtime = info.mtime?.getTime() ?? this.#now();
      text = await Deno.readTextFile(lockPath);
    } catch {
      return undefined;
    }
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === "object" && value !== null) {
        const { pid, time, nonce } = value as Record<string, unknown>;
        return {
          pid: typeof pid === "number" ? pid : undefined,
          time: typeof time === "number" ? Math.min(time, mtime) : mtime,
          nonce: typeof nonce === "string" ? nonce : undefined,
        };
      }
    } catch {
      // a lock being written, or garbage: judged by its mtime
    }
    return { time: mtime };
  }

  async #breakIfStale(lockPath: string): Promise<void> {
    const lock = await this.#readLock(lockPath);
    if (lock === undefined) return;
    const age = this.#now() - lock.time;
    const dead = lock.pid !== undefined && !(await _processAlive(lock.pid));
    const stale = age > this.#staleLockMs ||
      (dead && age > this.#deadLockGraceMs) ||
      (lock.pid === undefined && age > this.#deadLockGraceMs * 4);
    if (!stale) return;
    // Move the lock aside atomically; if what we moved is not the lock we
    // judged (someone broke it and took a new one meanwhile), put it back.
    const aside = `${lockPath}.broken.${crypto.randomUUID()}`;
    try {
      await Deno.rename(lockPath, aside);
    } catch {
      return;
    }
    const moved = await this.#readLock(aside);
    if (moved && moved.nonce !== lock.nonce) {
      await Deno.link(aside, lockPath).catch(() => {});
    }
    await Deno.remove(aside).catch(() => {});
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

/** This process's uid, once known (from --allow-sys=uid or a file it created). */
let _ownUid: number | undefined = (() => {
  try {
    return Deno.permissions.querySync({ name: "sys", kind: "uid" }).state ===
        "granted"
      ? Deno.uid() ?? undefined
      : undefined;
  } catch {
    return undefined;
  }
})();

function _learnUid(uid: number | null): void {
  if (uid !== null) _ownUid ??= uid;
}

/**
 * A file or directory only its owner can use: not a symlink, no group or
 * world permissions, and owned by `uid` when that is known.
 */
function _private(
  info: Deno.FileInfo,
  uid: number | null | undefined,
): boolean {
  if (info.isSymlink) return false;
  if (info.mode !== null && (info.mode & 0o077) !== 0) return false;
  return uid === undefined || uid === null || info.uid === null ||
    info.uid === uid;
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

function _isPermissionError(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied;
}

function _sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
