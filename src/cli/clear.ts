/**
 * `brs clear`: removes cached credentials, all of them or those of one
 * profile or role.
 *
 * @module
 */

import { FileCache } from "../cache/file_cache.ts";
import { _parseClearArgs } from "./_args.ts";
import { EXIT_OK } from "./_exit_codes.ts";
import { _out } from "./_output.ts";
import { _keysLabelled } from "./_cache_labels.ts";
import { _selectProfile } from "./_plan.ts";
import { _cacheMaterial, _finalRole, _loadPlan } from "./_resolve_session.ts";

const _HELP =
  `Usage: brs clear [--all | --profile NAME | --role-arn ARN] [--config FILE]

Removes cached credentials from the cross-process cache ($XDG_CACHE_HOME/brs,
else ~/.cache/brs): with --all or without a profile or role, every entry; with
--profile NAME (or AWS_PROFILE...), every entry of that profile; with
--role-arn ARN, every entry of that role, whatever its session name,
endpoint, region or MFA device (both: the entries of that role under that
profile). The next command then calls STS (and asks for MFA) again.

  --all                 every cached credential
  --profile NAME        the entries of this profile of the TOML file or of
                        ~/.aws/config (default: $BRS_PROFILE, $AWS_PROFILE,
                        $AWS_DEFAULT_PROFILE; without one: every entry)
  --role-arn ARN        the entries of this role
  --config FILE         TOML profiles file (default: $BRS_CONFIG_FILE,
                        $XDG_CONFIG_HOME/brs/config.toml)
  --debug               add the cause chain to errors
  --help, -h            this help

Examples:
  brs clear
  brs clear --profile dev
  brs clear --role-arn arn:aws:iam::123456789012:role/dev
`;

const _FILE = /^[0-9a-f]{16,128}\.(json|label)$/;
/** Left behind when a process died while it broke a stale lock. */
const _LITTER = /^[0-9a-f]{16,128}\.lock\.broken\.[^/]+$/;

/**
 * Runs `clear`.
 *
 * @param args The arguments after `clear`.
 * @returns The exit code.
 * @throws {BRSConfigurationError} A profile that does not exist (exit code 2).
 */
export async function runClear(args: string[]): Promise<number> {
  const flags = _parseClearArgs(args);
  if (flags.help) {
    await _out(_HELP);
    return EXIT_OK;
  }
  const directory = FileCache.defaultDirectory();
  const env = Deno.env.toObject();
  const selected = _selectProfile(flags, env) !== undefined;
  const one = !flags.all && (selected || flags.roleArn !== undefined);
  let names: string[] = [];
  if (one) {
    // Plans only: no MFA command is checked or run, no credential is fetched.
    const plan = await _loadPlan(flags, env, { allowLeafOnly: true });
    const keys = new Set(
      await _keysLabelled(directory, {
        role: flags.roleArn === undefined ? undefined : _finalRole(plan),
        profile: selected ? plan.profileName : undefined,
      }),
    );
    keys.add(await FileCache.keyOf(await _cacheMaterial(plan)));
    names = [...keys].flatMap((key) => [`${key}.json`, `${key}.label`]);
  } else {
    try {
      for await (const entry of Deno.readDir(directory)) {
        if (entry.isFile && _FILE.test(entry.name)) names.push(entry.name);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  // Broken-lock litter, whatever was asked: a link is removed itself (its
  // target never is).
  try {
    for await (const entry of Deno.readDir(directory)) {
      if ((entry.isFile || entry.isSymlink) && _LITTER.test(entry.name)) {
        await Deno.remove(`${directory}/${entry.name}`).catch(() => {});
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  let removed = 0;
  for (const name of names) {
    try {
      await Deno.remove(`${directory}/${name}`);
      if (name.endsWith(".json")) removed++;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  await _out(
    `Removed ${removed} cached credential${
      removed === 1 ? "" : "s"
    } from ${directory}\n`,
  );
  return EXIT_OK;
}
