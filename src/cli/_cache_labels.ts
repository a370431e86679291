/**
 * Labels of the CLI's cache entries: next to `<key>.json`, `<key>.label`
 * holds the role ARN and the profile name of the request (never a secret),
 * so that `brs clear --role-arn ARN` or `--profile NAME` removes every entry
 * of that role or profile, whatever its session name, endpoint, region or
 * MFA device. The cache key itself is a hash and cannot be read back.
 *
 * Labels are written like the entries (a new temporary file, renamed:
 * never through a link) and only into a cache directory that is checked to
 * be a private directory of the current user; they are read only as regular
 * files of at most 4 KiB, never through a link.
 *
 * @module
 */

import { _READ_CAPS, _readBounded } from "../_read_bounded.ts";
import { _ensurePrivateDirectory, _writePrivateFile } from "../_private_dir.ts";

/** What a label says about its entry. */
export interface _CacheLabel {
  /** The role ARN. */
  role?: string;
  /** The profile name, when a profile was used. */
  profile?: string;
}

const _LABEL = /^([0-9a-f]{16,128})\.label$/;

/**
 * Writes the label of the entry `key` (0600, never through a link); a
 * failure is ignored (the entry is then only found by its exact request).
 *
 * @param directory The cache directory.
 * @param key The entry's key.
 * @param label The role and profile of the request.
 */
export async function _writeCacheLabel(
  directory: string,
  key: string,
  label: _CacheLabel,
): Promise<void> {
  try {
    const dir = await _ensurePrivateDirectory(directory, { create: false });
    if (!dir.exists) return;
    await _writePrivateFile(
      `${directory}/${key}.label`,
      JSON.stringify({ role: label.role, profile: label.profile }),
    );
  } catch {
    // read-only, missing or unsafe directory: the entry was not cached either
  }
}

/**
 * The keys whose label matches every field given in `match`.
 *
 * @param directory The cache directory.
 * @param match The role and/or profile to look for.
 * @returns The matching keys (none when the directory does not exist).
 */
export async function _keysLabelled(
  directory: string,
  match: _CacheLabel,
): Promise<string[]> {
  const keys: string[] = [];
  try {
    for await (const entry of Deno.readDir(directory)) {
      const key = entry.isFile ? entry.name.match(_LABEL)?.[1] : undefined;
      if (key === undefined) continue;
      let label: _CacheLabel;
      try {
        const read = await _readBounded(`${directory}/${entry.name}`, {
          maxBytes: _READ_CAPS.label,
          what: "the cache label",
          noFollow: true,
        });
        label = JSON.parse(new TextDecoder().decode(read.bytes));
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) throw error;
        continue;
      }
      if (
        (match.role === undefined || label?.role === match.role) &&
        (match.profile === undefined || label?.profile === match.profile)
      ) keys.push(key);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return keys;
}
