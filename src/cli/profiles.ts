/**
 * `brs profiles`: lists the profiles the CLI can use.
 *
 * @module
 */

import { _parseProfilesArgs } from "./_args.ts";
import { EXIT_OK } from "./_exit_codes.ts";
import { _out } from "./_output.ts";
import {
  _awsConfigPath,
  _configLocation,
  _loadAwsProfiles,
  _loadTomlProfiles,
} from "./_profiles_file.ts";

const _HELP = `Usage: brs profiles [--config FILE] [--format json|text]

Lists the profiles of the TOML file (--config, $BRS_CONFIG_FILE, or
$XDG_CONFIG_HOME/brs/config.toml) and the role profiles (with role_arn) of
~/.aws/config ($AWS_CONFIG_FILE): NAME, ROLE, BASE (where the base
credentials that assume the role come from: source_profile NAME,
credential_source NAME, web identity, or the AWS SDK's default chain) and
FILE (the file that defines the profile).

  --config FILE   the TOML profiles file
  --format json   print a JSON array of {name, role_arn, base, source, file}
                  (source: "toml" or "aws-config"; alias: --json)
  --debug         add the cause chain to errors
  --help, -h      this help
  --version       print the version
`;

/**
 * Runs `profiles`.
 *
 * @param args The arguments after `profiles`.
 * @returns The exit code.
 * @throws {BRSConfigurationError} A broken TOML file (exit code 2).
 */
export async function runProfiles(args: string[]): Promise<number> {
  const flags = _parseProfilesArgs(args);
  if (flags.help) {
    await _out(_HELP);
    return EXIT_OK;
  }
  const location = _configLocation(flags.config);
  const toml = await _loadTomlProfiles(location);
  const aws = await _loadAwsProfiles();
  const rows = [
    ...[...toml.values()].map((p) => ({
      name: p.name,
      role_arn: p.role_arn ?? "",
      base: _base(p),
      source: "toml",
      file: p.file,
    })),
    ...[...aws.values()].filter((p) =>
      p.role_arn !== undefined && !toml.has(p.name)
    )
      .map((p) => ({
        name: p.name,
        role_arn: p.role_arn ?? "",
        base: _base(p),
        source: "aws-config",
        file: p.file,
      })),
  ];
  if (flags.json) {
    await _out(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT_OK;
  }
  if (rows.length === 0) {
    await _out(
      `No profiles: add one to ${location.path} or a role profile to ${_awsConfigPath()}\n`,
    );
    return EXIT_OK;
  }
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  const roleWidth = Math.max(4, ...rows.map((r) => r.role_arn.length));
  const baseWidth = Math.max(4, ...rows.map((r) => r.base.length));
  const lines = [
    `${"NAME".padEnd(width)}  ${"ROLE".padEnd(roleWidth)}  ${
      "BASE".padEnd(baseWidth)
    }  FILE`,
    ...rows.map((r) =>
      `${r.name.padEnd(width)}  ${r.role_arn.padEnd(roleWidth)}  ${
        r.base.padEnd(baseWidth)
      }  ${r.file}`
    ),
  ];
  await _out(`${lines.join("\n")}\n`);
  return EXIT_OK;
}

/** Where the base credentials of a profile come from, in its own keys' words. */
function _base(profile: {
  source_profile?: string;
  credential_source?: string;
  web_identity_token_file?: string;
}): string {
  if (profile.source_profile !== undefined) {
    return `source_profile ${profile.source_profile}`;
  }
  if (profile.credential_source !== undefined) {
    return `credential_source ${profile.credential_source}`;
  }
  if (profile.web_identity_token_file !== undefined) return "web identity";
  return "default chain";
}
