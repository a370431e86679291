/**
 * Private helper: read a file that brs or the library trusts (AWS config and
 * credentials files, the TOML profiles file, a web identity token, IoT PEM
 * files, cache entries, locks and labels) only when it is a regular file, and
 * never more than a cap. A FIFO, a device (`/dev/zero`), a directory or an
 * oversize file is a `BRSConfigurationError` at once, never a hang or an
 * unbounded allocation.
 *
 * How: the path is `stat`ed (or `lstat`ed with `noFollow`) and anything but a
 * regular file is refused before it is opened, so opening can never block on
 * a FIFO. The open file is `fstat`ed again: it must be the same file (device
 * and inode) that was checked, and it is read up to `maxBytes + 1` bytes, so
 * a file that grows after the check is refused too. A file replaced
 * atomically (renamed over) between the check and the open is read again
 * (up to 20 tries).
 *
 * The one gap left by design: between the check and the open, someone who
 * can write the directory that holds the file could swap it for a FIFO, and
 * the open would then wait for a writer. Opening with `O_NONBLOCK` closes
 * that gap but needs `node:fs`, which costs about 100 ms of start-up on the
 * CLI's warm path. Whoever can write that directory can already replace the
 * file's content (and, for `~/.aws/config`, run any `credential_process`),
 * so the gap gives them nothing new; the credential cache directory, where
 * the CLI reads what other processes wrote, is checked to be private (owner
 * and mode 0700) before anything in it is read.
 *
 * `/dev/null` (the character device, under any name) reads as empty: it is
 * how `AWS_CONFIG_FILE=/dev/null` turns a file off.
 *
 * @module
 */

import { BRSConfigurationError } from "./errors.ts";

const _KIB = 1024;
const _MIB = 1024 * 1024;

/**
 * The most bytes read from each kind of file. Documented in
 * guide/security.md; a larger file is refused with a typed error.
 */
export const _READ_CAPS = {
  /** `~/.aws/config` and `~/.aws/credentials` (thousands of profiles fit). */
  awsFile: 4 * _MIB,
  /** The TOML profiles file. */
  toml: 1 * _MIB,
  /** A web identity token file (STS takes at most 20 000 characters). */
  token: 64 * _KIB,
  /** An IoT certificate, private key or CA bundle (PEM). */
  pem: 1 * _MIB,
  /** A credential cache entry. */
  cacheEntry: 64 * _KIB,
  /** A lock file of the credential cache. */
  lock: 4 * _KIB,
  /** A label file of the credential cache. */
  label: 4 * _KIB,
} as const;

/** Options of {@linkcode _readBounded} and {@linkcode _readBoundedSync}. */
export interface _ReadBoundedOptions {
  /** The most bytes to read; a larger file is refused. */
  maxBytes: number;
  /** What the file is, for messages, e.g. `the AWS config file`. */
  what: string;
  /** Refuse a symbolic link instead of following it (cache files). */
  noFollow?: boolean;
  /**
   * Builds the message from the reason (e.g. `is a FIFO, not a regular
   * file: ...`). By default `Cannot read WHAT 'PATH' as it REASON`.
   */
  message?: (why: string) => string;
  /** The option or flag that named the file, for the error's `param`. */
  param?: string;
}

/** What was read: the bytes and the open file's `fstat`. */
export interface _BoundedRead {
  /** The content. */
  bytes: Uint8Array;
  /** The file as it was read (owner, mode, links). */
  info: Deno.FileInfo;
}

/** `makedev(1, 3)`: Linux's `/dev/null`. */
const _DEV_NULL_RDEV = 259;

function _kind(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isSymlink) return "a symbolic link";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

function _size(bytes: number): string {
  return bytes % _MIB === 0
    ? `${bytes / _MIB} MiB`
    : bytes % _KIB === 0
    ? `${bytes / _KIB} KiB`
    : `${bytes} bytes`;
}

function _fail(
  path: string,
  options: _ReadBoundedOptions,
  why: string,
  code: string,
  details: Record<string, unknown>,
): never {
  const message = options.message?.(why) ??
    `Cannot read ${options.what} '${path}' as it ${why}`;
  throw new BRSConfigurationError(message, {
    code,
    ...(options.param === undefined ? {} : { param: options.param }),
    details: { path, ...details },
  });
}

/** Refuses what is not a regular file; `true` for `/dev/null` (read as empty). */
function _checkKind(
  path: string,
  info: Deno.FileInfo,
  options: _ReadBoundedOptions,
): boolean {
  if (info.isFile) {
    if (info.size > options.maxBytes) _tooLarge(path, info.size, options);
    return false;
  }
  if (info.isCharDevice && info.rdev === _DEV_NULL_RDEV) return true;
  const kind = _kind(info);
  return _fail(
    path,
    options,
    `is ${kind}, not a regular file: give the path of a regular file`,
    "FileNotRegular",
    { kind },
  );
}

function _tooLarge(
  path: string,
  size: number | undefined,
  options: _ReadBoundedOptions,
): never {
  return _fail(
    path,
    options,
    `is larger than ${
      _size(options.maxBytes)
    }, the most read from such a file: check that it is the right file`,
    "FileTooLarge",
    { maxBytes: options.maxBytes, ...(size === undefined ? {} : { size }) },
  );
}

function _sameFile(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function _changed(path: string, options: _ReadBoundedOptions): never {
  return _fail(
    path,
    options,
    "was replaced while being read: try again, and check who else writes it",
    "FileChanged",
    {},
  );
}

function _join(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Reads a regular file of at most `options.maxBytes` bytes, synchronously
 * (the CLI's warm path reads its profile files this way: no thread-pool hop).
 *
 * @param path The file.
 * @param options The cap and the words of the messages.
 * @returns The bytes and the open file's `fstat`.
 * @throws {Deno.errors.NotFound} If it does not exist (callers decide what that means).
 * @throws {Deno.errors.NotCapable} Without `--allow-read` for it.
 * @throws {BRSConfigurationError} If it is not a regular file (code
 * `FileNotRegular`), is larger than the cap (`FileTooLarge`) or was swapped
 * while being read (`FileChanged`).
 */
export function _readBoundedSync(
  path: string,
  options: _ReadBoundedOptions,
): _BoundedRead {
  for (let attempt = 1;; attempt++) {
    try {
      return _readOnceSync(path, options);
    } catch (error) {
      if (!_retry(error, attempt)) throw error;
    }
  }
}

/** A file replaced atomically (rename) between the check and the open is read again. */
function _retry(error: unknown, attempt: number): boolean {
  return attempt < _ATTEMPTS && error instanceof BRSConfigurationError &&
    error.code === "FileChanged";
}

const _ATTEMPTS = 20;

function _readOnceSync(
  path: string,
  options: _ReadBoundedOptions,
): _BoundedRead {
  const before = options.noFollow ? Deno.lstatSync(path) : Deno.statSync(path);
  if (_checkKind(path, before, options)) {
    return { bytes: new Uint8Array(0), info: before };
  }
  using file = Deno.openSync(path, { read: true });
  const info = file.statSync();
  if (!info.isFile || !_sameFile(before, info)) _changed(path, options);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const limit = options.maxBytes + 1;
  while (total < limit) {
    const chunk = new Uint8Array(Math.min(limit - total, 64 * _KIB));
    const n = file.readSync(chunk);
    if (n === null) break;
    chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    total += n;
  }
  if (total > options.maxBytes) _tooLarge(path, undefined, options);
  return { bytes: _join(chunks, total), info };
}

/**
 * Reads a regular file of at most `options.maxBytes` bytes.
 *
 * @param path The file.
 * @param options The cap and the words of the messages.
 * @returns The bytes and the open file's `fstat`.
 * @throws {Deno.errors.NotFound} If it does not exist (callers decide what that means).
 * @throws {Deno.errors.NotCapable} Without `--allow-read` for it.
 * @throws {BRSConfigurationError} If it is not a regular file (code
 * `FileNotRegular`), is larger than the cap (`FileTooLarge`) or was swapped
 * while being read (`FileChanged`).
 */
export async function _readBounded(
  path: string,
  options: _ReadBoundedOptions,
): Promise<_BoundedRead> {
  for (let attempt = 1;; attempt++) {
    try {
      return await _readOnce(path, options);
    } catch (error) {
      if (!_retry(error, attempt)) throw error;
    }
  }
}

async function _readOnce(
  path: string,
  options: _ReadBoundedOptions,
): Promise<_BoundedRead> {
  const before = options.noFollow
    ? await Deno.lstat(path)
    : await Deno.stat(path);
  if (_checkKind(path, before, options)) {
    return { bytes: new Uint8Array(0), info: before };
  }
  using file = await Deno.open(path, { read: true });
  const info = await file.stat();
  if (!info.isFile || !_sameFile(before, info)) _changed(path, options);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const limit = options.maxBytes + 1;
  while (total < limit) {
    const chunk = new Uint8Array(Math.min(limit - total, 64 * _KIB));
    const n = await file.read(chunk);
    if (n === null) break;
    chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    total += n;
  }
  if (total > options.maxBytes) _tooLarge(path, undefined, options);
  return { bytes: _join(chunks, total), info };
}

/**
 * {@linkcode _readBoundedSync} as UTF-8 text.
 *
 * @param path The file.
 * @param options The cap and the words of the messages.
 * @returns The text.
 */
export function _readBoundedTextSync(
  path: string,
  options: _ReadBoundedOptions,
): string {
  return new TextDecoder().decode(_readBoundedSync(path, options).bytes);
}
