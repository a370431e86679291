/**
 * Private helper: read a file that an option names (a token, a certificate,
 * a key) and turn every failure into a `BRSConfigurationError` that names
 * the option, the path and what to do. The file's content is never part of
 * the error. Only a regular file is read, up to a cap: a FIFO, a device
 * (`/dev/zero`) or an oversize file is refused at once.
 *
 * @module
 */

import { BRSConfigurationError } from "../errors.ts";
import { _readBounded } from "../_read_bounded.ts";

/**
 * Reads the file `path` given by option `param`.
 *
 * @param path The file.
 * @param param The option (or environment variable) that named it.
 * @param what What the file is, e.g. `the web identity token file`.
 * @param maxBytes The most bytes read (see `_READ_CAPS`).
 * @param hint What to check when it does not exist.
 * @returns Its bytes.
 * @throws {BRSConfigurationError} If it is missing, not a regular file,
 * larger than `maxBytes` or cannot be read.
 */
export async function _readOptionFile(
  path: string,
  param: string,
  what: string,
  maxBytes: number,
  hint = "check the path",
): Promise<Uint8Array> {
  const prefix =
    `Cannot refresh credentials as ${what} '${path}' given by '${param}'`;
  try {
    return (await _readBounded(path, {
      maxBytes,
      what,
      param,
      message: (why) => `${prefix} ${why}`,
    })).bytes;
  } catch (error) {
    if (error instanceof BRSConfigurationError) throw error;
    const why = error instanceof Deno.errors.NotFound
      ? `does not exist: ${hint}`
      : error instanceof Deno.errors.NotCapable
      ? `cannot be read (run with --allow-read=${path})`
      : error instanceof Deno.errors.PermissionDenied
      ? "cannot be read (check the file's permissions)"
      : error instanceof Deno.errors.IsADirectory
      ? "is a directory: give the file"
      : `cannot be read (${error instanceof Error ? error.name : "error"})`;
    throw new BRSConfigurationError(
      `${prefix} ${why}`,
      { param, cause: error, details: { path } },
    );
  }
}
