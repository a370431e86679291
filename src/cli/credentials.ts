/**
 * `brs credentials`: prints the assumed-role credentials as JSON, as shell
 * `export` lines, or in the AWS `credential_process` format.
 *
 * @module
 */

import type { TemporaryCredentials } from "../types.ts";
import { _parseCredentialsArgs, _SESSION_FLAGS_HELP } from "./_args.ts";
import { EXIT_OK } from "./_exit_codes.ts";
import { _out } from "./_output.ts";
import { _openCredentialSource } from "./_resolve_session.ts";

const _HELP =
  `Usage: brs credentials [--format json|env|credential-process] [session flags]

Prints temporary credentials of the assumed role. Credentials are cached across
processes ($XDG_CACHE_HOME/brs, files 0600) and reused while more than
min(advisory_timeout (900 s), half their lifetime) is left; a refresh takes a
lock so that many processes started together make one STS call.

  --format json               {"AccessKeyId","SecretAccessKey","SessionToken","Expiration"} (default)
  --format env                export AWS_ACCESS_KEY_ID=... lines for eval
  --format credential-process the Version 1 JSON of credential_process in ~/.aws/config

${_SESSION_FLAGS_HELP}

Examples:
  eval "$(brs credentials --profile dev --format env)"
  # ~/.aws/config:
  # [profile dev-brs]
  # credential_process = deno run --allow-net --allow-env --allow-read --allow-write --allow-run --allow-sys=osRelease,homedir /path/to/cli.ts credentials --profile dev --format credential-process
`;

function _shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value)
    ? value
    : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Formats credentials in one of the `--format`s. */
export function _formatCredentials(
  credentials: TemporaryCredentials,
  format: "json" | "env" | "credential-process",
): string {
  switch (format) {
    case "json":
      return `${
        JSON.stringify(
          {
            AccessKeyId: credentials.accessKey,
            SecretAccessKey: credentials.secretKey,
            SessionToken: credentials.token,
            Expiration: credentials.expiryTime,
          },
          null,
          2,
        )
      }\n`;
    case "credential-process":
      return `${
        JSON.stringify({
          Version: 1,
          AccessKeyId: credentials.accessKey,
          SecretAccessKey: credentials.secretKey,
          SessionToken: credentials.token,
          Expiration: credentials.expiryTime,
        })
      }\n`;
    case "env":
      return [
        `export AWS_ACCESS_KEY_ID=${_shellQuote(credentials.accessKey)}`,
        `export AWS_SECRET_ACCESS_KEY=${_shellQuote(credentials.secretKey)}`,
        `export AWS_SESSION_TOKEN=${_shellQuote(credentials.token)}`,
        `export AWS_CREDENTIAL_EXPIRATION=${
          _shellQuote(credentials.expiryTime)
        }`,
        "",
      ].join("\n");
  }
}

/**
 * Runs `credentials`.
 *
 * @param args The arguments after `credentials`.
 * @returns The exit code.
 * @throws {BRSValidationError} Bad flags or values (exit code 2).
 * @throws {BRSRefreshError} STS failed (exit code 1).
 */
export async function runCredentials(args: string[]): Promise<number> {
  const flags = _parseCredentialsArgs(args);
  if (flags.help) {
    await _out(_HELP);
    return EXIT_OK;
  }
  const { source } = await _openCredentialSource(flags);
  try {
    await _out(_formatCredentials(await source.get(), flags.format));
  } finally {
    await source.close();
  }
  return EXIT_OK;
}
