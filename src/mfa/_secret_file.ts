/**
 * Private: reads a small file that holds a secret (the TOTP seed an MFA
 * command reads on its standard input), checked as a secret must be: a
 * regular file (no FIFO, device or directory, so never a hang), of the user
 * running brs when the uid is known, with no group or other permission bits
 * (0600 or 0400), and at most {@linkcode _SECRET_FILE_LIMIT} bytes. Its
 * content never appears in an error.
 *
 * @module
 */

import { _controlEscape } from "../_redact.ts";
import { _knownUid } from "../_private_dir.ts";
import { BRSConfigurationError } from "../errors.ts";

/** The largest secret file read, in bytes. */
export const _SECRET_FILE_LIMIT = 4096;

/**
 * The uid of this process: from `--allow-sys=uid` or a file this process
 * created (see `_private_dir.ts`); else the owner of `HOME` (the account's
 * own directory; under `sudo -E` that is another user, so give
 * `--allow-sys=uid` there); `undefined` when none is known.
 */
export function _ownUid(): number | undefined {
  const known = _knownUid();
  if (known !== undefined) return known;
  try {
    const home = Deno.env.get("HOME");
    if (home) return Deno.statSync(home).uid ?? undefined;
  } catch { /* no HOME, or not readable */ }
  return undefined;
}

/** The directories from `path`'s parent up to the root. */
export function _parentDirectories(path: string): string[] {
  const out: string[] = [];
  let dir = path.replace(/\/+[^/]*$/, "");
  while (dir !== "") {
    out.push(dir);
    dir = dir.replace(/\/+[^/]*$/, "");
  }
  out.push("/");
  return out;
}

/**
 * The first of `entries` that another user could have put there or could
 * swap (rename, replace): one that belongs to neither root nor the user, or
 * that group or others can write. A directory with the sticky bit (`/tmp`)
 * is fine: others cannot rename or remove what is not theirs; so is group
 * write on the user's own entry whose group is the user's private group
 * (gid = uid, as `umask 002` systems create them). Missing entries are
 * skipped.
 *
 * @param entries Files and directories, `lstat`ed (a link itself is fine).
 * @param uid The user running brs, if known.
 * @param denied The error to throw when Deno's read permission does not
 * cover an entry.
 * @returns The entry and why, or `undefined` when all are safe.
 */
export async function _untrustedEntry(
  entries: Iterable<string>,
  uid: number | undefined,
  denied: (entry: string, cause: unknown) => Error,
): Promise<{ entry: string; why: string } | undefined> {
  for (const entry of entries) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(entry);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw denied(entry, error);
      continue;
    }
    const mode = info.mode ?? 0;
    const owner = info.uid ?? 0;
    const ownerOk = owner === 0 || owner === uid;
    const privateGroup = owner !== 0 && owner === uid && info.gid === owner;
    const writable = ((mode & 0o002) !== 0 ||
      ((mode & 0o020) !== 0 && !privateGroup)) &&
      !(info.isDirectory && (mode & 0o1000) !== 0) && !info.isSymlink;
    if (ownerOk && !writable) continue;
    const why = !ownerOk
      ? `belongs to uid ${owner}, neither root nor the user running brs${
        uid === undefined ? " (unknown: add --allow-sys=uid)" : ` (uid ${uid})`
      }`
      : `is writable by ${(mode & 0o002) !== 0 ? "other users" : "its group"}`;
    return { entry, why };
  }
  return undefined;
}

function _unsafe(
  param: string,
  path: string,
  why: string,
  todo: string,
  cause?: unknown,
): BRSConfigurationError {
  return new BRSConfigurationError(
    `Cannot read '${param}' file '${path}' as ${why}: ${todo}`,
    {
      code: "SecretFileUnsafe",
      param,
      details: { path },
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** Checks what `stat` says of a secret file. */
function _checkInfo(
  param: string,
  shown: string,
  info: Deno.FileInfo,
  uid: number | undefined,
): void {
  if (!info.isFile) {
    throw _unsafe(
      param,
      shown,
      "it is not a regular file (a FIFO, device, directory or socket)",
      "give a regular file",
    );
  }
  if (Deno.build.os !== "windows") {
    const mode = info.mode ?? 0;
    if ((mode & 0o077) !== 0) {
      throw _unsafe(
        param,
        shown,
        `its mode ${
          (mode & 0o777).toString(8).padStart(4, "0")
        } lets other users read or change it`,
        `run chmod 600 '${shown}'`,
      );
    }
    if (uid !== undefined && info.uid !== uid) {
      throw _unsafe(
        param,
        shown,
        `it belongs to uid ${info.uid}, not to the user running brs (uid ${uid})`,
        "use a file of your own",
      );
    }
  }
  if (info.size > _SECRET_FILE_LIMIT) {
    throw _unsafe(
      param,
      shown,
      `it has ${info.size} bytes, more than ${_SECRET_FILE_LIMIT}`,
      "give the file that holds only the secret",
    );
  }
}

/**
 * Reads a secret file after checking it (see the module doc).
 *
 * @param path The file.
 * @param param The option or key that named it, for messages.
 * @returns Its bytes.
 * @throws {BRSConfigurationError} If it is missing, not a regular file,
 * open to other users, someone else's, too large, or not readable.
 */
export async function _readSecretFile(
  path: string,
  param: string,
): Promise<Uint8Array> {
  const shown = _controlEscape(path);
  const uid = _ownUid();
  let info: Deno.FileInfo;
  try {
    // stat first: opening a FIFO would wait for a writer.
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new BRSConfigurationError(
        `Cannot read '${param}' file '${shown}' as Deno's read permission does not cover it: add --allow-read=${shown} to the deno command`,
        {
          code: "PermissionDenied",
          param,
          details: { path: shown, permission: `--allow-read=${shown}` },
          cause: error,
        },
      );
    }
    throw new BRSConfigurationError(
      `Cannot read '${param}' file '${shown}' as it ${
        error instanceof Deno.errors.NotFound
          ? "does not exist"
          : "cannot be read"
      }: check the path`,
      {
        code: "SecretFileNotFound",
        param,
        details: { path: shown },
        cause: error,
      },
    );
  }
  _checkInfo(param, shown, info, uid);
  if (Deno.build.os !== "windows") {
    // Whoever can write a directory above the file could swap it for a FIFO
    // between the check and the open (the open would then wait forever):
    // the file and the directories above it, also through a link, must be
    // root's or the user's and writable by nobody else.
    const denied = (entry: string, cause: unknown): Error =>
      new BRSConfigurationError(
        `Cannot read '${param}' file '${shown}' as Deno's read permission does not cover '${
          _controlEscape(entry)
        }' (the directories above the file are checked): add --allow-read to the deno command`,
        {
          code: "PermissionDenied",
          param,
          details: { path: shown, permission: "--allow-read" },
          cause,
        },
      );
    const absolute = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
    let real: string;
    try {
      real = await Deno.realPath(absolute);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) {
        throw denied(absolute, error);
      }
      throw _unsafe(param, shown, "it cannot be found", "check it", error);
    }
    const untrusted = await _untrustedEntry(
      new Set([..._parentDirectories(real), ..._parentDirectories(absolute)]),
      uid,
      denied,
    );
    if (untrusted !== undefined) {
      throw _unsafe(
        param,
        shown,
        `the directory '${
          _controlEscape(untrusted.entry)
        }' above it ${untrusted.why}, so another user could swap the file`,
        "keep the file in a directory only you can write",
      );
    }
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw _unsafe(param, shown, "it cannot be opened", "check it", error);
  }
  try {
    // The file opened is the one checked (not swapped since the stat).
    const opened = await file.stat();
    if (opened.ino !== info.ino || opened.dev !== info.dev) {
      throw _unsafe(
        param,
        shown,
        "it changed while it was being read",
        "check who else can write its directory",
      );
    }
    _checkInfo(param, shown, opened, uid);
    const buffer = new Uint8Array(_SECRET_FILE_LIMIT + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = await file.read(buffer.subarray(length));
      if (n === null) break;
      length += n;
    }
    if (length > _SECRET_FILE_LIMIT) {
      throw _unsafe(
        param,
        shown,
        `it has more than ${_SECRET_FILE_LIMIT} bytes`,
        "give the file that holds only the secret",
      );
    }
    return buffer.slice(0, length);
  } finally {
    file.close();
  }
}
