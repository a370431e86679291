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
import { BRSConfigurationError } from "../errors.ts";

/** The largest secret file read, in bytes. */
export const _SECRET_FILE_LIMIT = 4096;

/**
 * The uid of this process; without `--allow-sys=uid`, the owner of `HOME`
 * (the account's own directory); `undefined` when neither is known.
 */
export function _ownUid(): number | undefined {
  try {
    const uid = Deno.uid();
    if (uid !== null) return uid;
  } catch { /* no --allow-sys=uid */ }
  try {
    const home = Deno.env.get("HOME");
    if (home) return Deno.statSync(home).uid ?? undefined;
  } catch { /* no HOME, or not readable */ }
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
