/**
 * Private helpers: directories and files only the user running us can use.
 *
 * - A directory is checked before anything is created in it: it must be a
 *   real directory (not a symbolic link) owned by the user running us, with
 *   no group or world permissions (a directory of ours with wider ones is
 *   set to 0700, and the caller is told).
 * - The user's uid is learned without `--allow-sys=uid`: from a file we
 *   create ourselves (`createNew`, so never through a link) and remove at
 *   once. The check is never skipped: when the uid cannot be learned (the
 *   directory cannot be written), the directory is not used.
 * - Files are written to a new temporary name (`createNew`, mode 0600) and
 *   renamed over the target, so a write never follows a link: a link in
 *   the target's place is replaced, its target is untouched.
 *
 * @module
 */

import { BRSConfigurationError } from "./errors.ts";

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

/** The uid of this process when it is known, else `undefined`. */
export function _knownUid(): number | undefined {
  return _ownUid;
}

/** Records the owner of a file this process has just created. */
export function _learnUid(uid: number | null): void {
  if (uid !== null) _ownUid ??= uid;
}

/** Options of {@linkcode _ensurePrivateDirectory}. */
export interface _PrivateDirectoryOptions {
  /** Create it (and its parents, 0700) when missing. @default {true} */
  create?: boolean;
  /** What to tell the user to do, after "remove it, or ...". */
  advice?: string;
  /** What the directory is, for messages. @default {"the directory"} */
  what?: string;
}

/** What {@linkcode _ensurePrivateDirectory} found. */
export interface _PrivateDirectory {
  /** `false` when it does not exist (and `create` was `false`). */
  exists: boolean;
  /** The user's uid (known once the directory exists). */
  uid?: number;
  /** Set when group/world permissions were removed: a sentence for the user. */
  repaired?: string;
}

/**
 * Checks (and creates) a directory that only the user running us may use.
 *
 * @param directory The directory.
 * @param options Whether to create it, and the advice of the refusal.
 * @returns What was found.
 * @throws {BRSConfigurationError} Code `CacheDirectoryUnsafe`: it is a
 * symbolic link, not a directory, or owned by another user.
 * @throws {Deno.errors.PermissionDenied} (or another OS error) If it cannot
 * be created, or the uid cannot be learned because it cannot be written.
 */
export async function _ensurePrivateDirectory(
  directory: string,
  options: _PrivateDirectoryOptions = {},
): Promise<_PrivateDirectory> {
  if (options.create ?? true) {
    await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(directory);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !(options.create ?? true)) {
      return { exists: false };
    }
    throw error;
  }
  const what = options.what ?? "the directory";
  const refuse = (why: string): never => {
    throw new BRSConfigurationError(
      `Cannot use ${what} '${directory}' as ${why}: remove it, or ${
        options.advice ?? "use a directory of your own"
      }`,
      {
        code: "CacheDirectoryUnsafe",
        param: "directory",
        details: { directory },
      },
    );
  };
  if (info.isSymlink) refuse("it is a symbolic link");
  if (!info.isDirectory) refuse("it is not a directory");
  const uid = _ownUid ?? await _probeUid(directory);
  if (info.uid !== null && info.uid !== uid) {
    refuse(`it is owned by uid ${info.uid}, not by you (uid ${uid})`);
  }
  // Whoever owns a directory above it, or can write one (no sticky bit),
  // could rename it away and put a link or a directory of theirs in its
  // place after this check.
  for (const above of _above(directory)) {
    let parent: Deno.FileInfo;
    try {
      parent = await Deno.lstat(above);
    } catch {
      continue; // not readable here (a narrowed --allow-read): not checked
    }
    const mode = parent.mode ?? 0;
    if (parent.uid !== null && parent.uid !== 0 && parent.uid !== uid) {
      refuse(
        `'${above}' above it is owned by uid ${parent.uid}, who could swap it`,
      );
    }
    if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0 && !parent.isSymlink) {
      refuse(
        `'${above}' above it is writable by other users, who could swap it`,
      );
    }
  }
  let repaired: string | undefined;
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    await Deno.chmod(directory, 0o700);
    repaired = `Set ${what} '${directory}' to mode 0700: it was 0${
      (info.mode & 0o777).toString(8)
    }, open to other users`;
  }
  return { exists: true, uid, ...(repaired ? { repaired } : {}) };
}

/** The directories above `path`, up to the root. */
function _above(path: string): string[] {
  const out: string[] = [];
  let dir = path.replace(/\/+$/, "").replace(/\/+[^/]*$/, "");
  while (dir !== "") {
    out.push(dir);
    dir = dir.replace(/\/+[^/]*$/, "");
  }
  if (path.startsWith("/")) out.push("/");
  return out;
}

/**
 * Learns this process's uid from a file it creates in `directory` (no
 * `--allow-sys=uid` needed): `createNew` never follows a link, and the file
 * is removed at once.
 */
async function _probeUid(directory: string): Promise<number> {
  const probe = `${directory}/.uid-probe.${Deno.pid}.${crypto.randomUUID()}`;
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
  if (_ownUid === undefined) {
    throw new Deno.errors.NotSupported(
      "the file system does not report file owners",
    );
  }
  return _ownUid;
}

/**
 * Writes a file atomically and never through a link: a new temporary file
 * (`createNew`, mode 0600) in the same directory, renamed over `path`.
 * Check the directory first with {@linkcode _ensurePrivateDirectory}.
 *
 * @param path The file.
 * @param data What to write.
 * @throws {Error} The OS error (nothing is left behind).
 */
export async function _writePrivateFile(
  path: string,
  data: string | Uint8Array,
): Promise<void> {
  const temp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  const file = await Deno.open(temp, {
    createNew: true,
    write: true,
    mode: 0o600,
  });
  try {
    try {
      _learnUid((await file.stat()).uid);
      const bytes = typeof data === "string"
        ? new TextEncoder().encode(data)
        : data;
      let written = 0;
      while (written < bytes.length) {
        written += await file.write(bytes.subarray(written));
      }
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/**
 * Creates a new directory inside a checked private directory, exclusively
 * (a fresh random name; `mkdir` fails rather than reuse anything there) with
 * mode 0700, and checks what was made.
 *
 * @param parent A directory checked with {@linkcode _ensurePrivateDirectory}.
 * @param prefix The start of the new directory's name.
 * @returns Its path.
 * @throws {BRSConfigurationError} If what is there is not the directory we made.
 */
export async function _makePrivateTempDir(
  parent: string,
  prefix: string,
): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: parent, prefix });
  const info = await Deno.lstat(dir);
  const uid = _ownUid;
  if (
    !info.isDirectory || info.isSymlink ||
    (info.mode !== null && (info.mode & 0o077) !== 0) ||
    (uid !== undefined && info.uid !== null && info.uid !== uid)
  ) {
    throw new BRSConfigurationError(
      `Cannot use the directory '${dir}' as it was replaced right after it was made: check who else can write '${parent}'`,
      { code: "CacheDirectoryUnsafe", param: "directory", details: { dir } },
    );
  }
  return dir;
}

/**
 * Creates a new file exclusively (`createNew`, mode 0600): it fails rather
 * than open anything already there, a link included.
 *
 * @param path The file.
 * @param data What to write.
 */
export async function _createPrivateFile(
  path: string,
  data: string,
): Promise<void> {
  const file = await Deno.open(path, {
    createNew: true,
    write: true,
    mode: 0o600,
  });
  try {
    const bytes = new TextEncoder().encode(data);
    let written = 0;
    while (written < bytes.length) {
      written += await file.write(bytes.subarray(written));
    }
  } finally {
    file.close();
  }
}
