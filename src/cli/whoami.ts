/**
 * `brs whoami`: the identity AWS sees with the assumed-role credentials.
 *
 * @module
 */

import { _parseWhoamiArgs, _SESSION_FLAGS_HELP } from "./_args.ts";
import { EXIT_OK } from "./_exit_codes.ts";
import { _out } from "./_output.ts";
import { _keyIdHint } from "../engine/_key_id.ts";
import { _openCredentialSource } from "./_resolve_session.ts";

const _HELP = `Usage: brs whoami [--format json|text] [session flags]

Prints the identity of the assumed role (STS GetCallerIdentity called with the
assumed-role credentials, from the cache when they are fresh).

  --format json             print {"UserId","Account","Arn"} as JSON (alias: --json)
  --format text             Account, Arn, UserId and Key id lines (default);
                            the key id as its kind and last 8 characters

${_SESSION_FLAGS_HELP}

Example:
  brs whoami --profile dev
`;

/**
 * Runs `whoami`.
 *
 * @param args The arguments after `whoami`.
 * @returns The exit code.
 * @throws {BRSValidationError} Bad flags or values (exit code 2).
 * @throws {BRSRefreshError} STS failed (exit code 1).
 */
export async function runWhoami(args: string[]): Promise<number> {
  const flags = _parseWhoamiArgs(args);
  if (flags.help) {
    await _out(_HELP);
    return EXIT_OK;
  }
  const { source } = await _openCredentialSource(flags);
  try {
    const identity = await source.identity();
    // The key id's last characters tell keys apart (its first ones are the
    // same for every key of an account); the JSON form stays GetCallerIdentity's.
    const key = source.accessKeyId === undefined
      ? ""
      : `Key id:  ${_keyIdHint(source.accessKeyId)}\n`;
    await _out(
      flags.json
        ? `${JSON.stringify(identity, null, 2)}\n`
        : `Account: ${identity.Account}\nArn:     ${identity.Arn}\nUserId:  ${identity.UserId}\n${key}`,
    );
  } finally {
    await source.close();
  }
  return EXIT_OK;
}
