/**
 * `brs clear`: removes cached credentials, all of them or those of one
 * profile or role.
 *
 * @module
 */

import { FileCache } from "../file_cache.ts";
import { _parseClearArgs, _SESSION_FLAGS_HELP } from "./_args.ts";
import { EXIT_OK } from "./_exit_codes.ts";
import { _out } from "./_output.ts";
import {
  _cacheMaterial,
  _resolveRequest,
  _selectProfile,
} from "./_resolve_session.ts";

const _HELP = `Usage: brs clear [--all | session flags]

Removes cached credentials from the cross-process cache ($XDG_CACHE_HOME/brs,
else ~/.cache/brs): with --all or without a profile or role, every entry; with
--profile NAME (or AWS_PROFILE...) or --role-arn ARN, the entry of that
request only. The next command then calls STS (and asks for MFA) again.

  --all        every cached credential

${_SESSION_FLAGS_HELP}

Examples:
  brs clear
  brs clear --profile dev
`;

const _ENTRY = /^[0-9a-f]{16,128}\.json$/;

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
  const one = !flags.all &&
    (_selectProfile(flags) !== undefined || flags.roleArn !== undefined);
  let names: string[] = [];
  if (one) {
    const request = await _resolveRequest(flags);
    names = [`${await FileCache.keyOf(_cacheMaterial(request))}.json`];
  } else {
    try {
      for await (const entry of Deno.readDir(directory)) {
        if (entry.isFile && _ENTRY.test(entry.name)) names.push(entry.name);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  let removed = 0;
  for (const name of names) {
    try {
      await Deno.remove(`${directory}/${name}`);
      removed++;
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
