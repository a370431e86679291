/**
 * Labels of the CLI's cache entries: next to `<key>.json`, `<key>.label`
 * holds the role ARN and the profile name of the request (never a secret),
 * so that `brs clear --role-arn ARN` or `--profile NAME` removes every entry
 * of that role or profile, whatever its session name, endpoint, region or
 * MFA device. The cache key itself is a hash and cannot be read back.
 *
 * @module
 */

/** What a label says about its entry. */
export interface _CacheLabel {
  /** The role ARN. */
  role?: string;
  /** The profile name, when a profile was used. */
  profile?: string;
}

const _LABEL = /^([0-9a-f]{16,128})\.label$/;

/**
 * Writes the label of the entry `key` (0600); a failure is ignored (the
 * entry is then only found by its exact request).
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
    await Deno.writeTextFile(
      `${directory}/${key}.label`,
      JSON.stringify({ role: label.role, profile: label.profile }),
      { mode: 0o600 },
    );
  } catch {
    // read-only or missing directory: the entry was not cached either
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
        label = JSON.parse(
          await Deno.readTextFile(`${directory}/${entry.name}`),
        );
      } catch {
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
