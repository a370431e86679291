/**
 * `brs profiles`: lists every profile of the TOML file and of the AWS files
 * (`~/.aws/config` and `~/.aws/credentials`, merged as the AWS SDKs merge
 * them), with its kind, the chain it resolves to, and the names that two
 * files define.
 *
 * @module
 */

import { _parseProfilesArgs } from "./_args.ts";
import { EXIT_OK } from "./_exit_codes.ts";
import { _out } from "./_output.ts";
import {
  _awsConfigPath,
  _awsCredentialsPath,
  _mergeAwsProfiles,
  _readAwsIni,
} from "./_aws_ini.ts";
import { _configLocation, _loadTomlProfiles } from "./_profiles_file.ts";
import {
  type _Leaf,
  type _Plan,
  _planCredentials,
  _PROFILE_VARIABLES,
} from "./_plan.ts";

const _HELP = `Usage: brs profiles [--config FILE] [--format json|text]

Lists the profiles of the TOML file (--config, $BRS_CONFIG_FILE, or
$XDG_CONFIG_HOME/brs/config.toml) and of the AWS files ($AWS_CONFIG_FILE,
else ~/.aws/config, and $AWS_SHARED_CREDENTIALS_FILE, else
~/.aws/credentials, merged as the AWS SDKs merge them): NAME, KIND (role,
web identity, sso, process, keys, or config for a profile without
credentials), ROLE, CHAIN (where the base credentials come from, then each
role assumed, or the configuration error the profile has) and FILE. A name
defined both in the TOML file and in the AWS files is listed twice, with a
note.

  --config FILE   the TOML profiles file
  --format json   print a JSON array: per profile its name, kind, role_arn,
                  source_profile (the profile's own key), leaf (where the
                  base credentials come from: kind, profile, origin), chain
                  (the leaf in words, then each role assumed), source
                  ("toml" or "aws-config"), file, files, error, and settings
                  (every key as parsed and merged; the secret keys only as
                  "(present)")  (alias: --json)
  --debug         add the cause chain to errors
  --help, -h      this help
  --version       print the version
`;

/** Keys whose values are never printed. */
const _SECRET_KEYS = new Set([
  "aws_secret_access_key",
  "aws_session_token",
  "aws_security_token",
]);

/** One row of the listing. */
interface _Row {
  name: string;
  kind: string;
  role_arn: string;
  source_profile?: string;
  leaf?: { kind: string; profile?: string; origin: string };
  chain: string[];
  /** The chain in words, or the error (the text listing's CHAIN column). */
  chainText: string;
  source: "toml" | "aws-config";
  file: string;
  files: string[];
  error?: string;
  collision?: string;
  settings: Record<string, unknown>;
}

function _roleName(arn: string): string {
  return arn.replace(/^arn:[^:]*:iam::\d*:role\//, "");
}

/** The leaf in a few words. */
function _leafWords(leaf: _Leaf): string {
  switch (leaf.kind) {
    case "keys":
      return leaf.fromEnv
        ? "keys of the environment"
        : `keys of ${leaf.profile}`;
    case "process":
      return `credential_process of ${leaf.profile}`;
    case "credential-source":
      return `credential_source ${leaf.source}`;
    case "web-identity":
      return `web identity -> ${_roleName(leaf.roleArn)}`;
    case "sso":
      return `sso ${leaf.accountId}/${leaf.roleName}`;
    case "default-chain":
      return "default chain";
  }
}

/** `leaf` of the JSON form: what the chain starts with, and where it is set. */
function _leafJson(
  leaf: _Leaf,
): { kind: string; profile?: string; origin: string } {
  return {
    kind: leaf.kind,
    ...(leaf.profile === undefined ? {} : { profile: leaf.profile }),
    origin: leaf.kind === "default-chain"
      ? "the AWS SDK's default chain"
      : leaf.origin,
  };
}

function _chainSteps(plan: _Plan): string[] {
  return [_leafWords(plan.leaf), ...plan.hops.map((h) => _roleName(h.roleArn))];
}

/**
 * Runs `profiles`.
 *
 * @param args The arguments after `profiles`.
 * @returns The exit code.
 * @throws {BRSConfigurationError} A broken TOML or AWS file (exit code 2).
 */
export async function runProfiles(args: string[]): Promise<number> {
  const flags = _parseProfilesArgs(args);
  if (flags.help) {
    await _out(_HELP);
    return EXIT_OK;
  }
  const env: Record<string, string | undefined> = Deno.env.toObject();
  for (const name of _PROFILE_VARIABLES) delete env[name];
  const location = _configLocation(flags.config);
  const toml = await _loadTomlProfiles(location);
  const configFile = _awsConfigPath(env);
  const credentialsFile = _awsCredentialsPath(env);
  const config = await _readAwsIni(configFile, "config");
  const credentials = await _readAwsIni(credentialsFile, "credentials");
  const aws = _mergeAwsProfiles(
    { sections: config, file: configFile },
    { sections: credentials, file: credentialsFile },
  );
  const plan = (
    name: string,
    onlyToml: boolean,
  ): { plan?: _Plan; error?: string } => {
    try {
      return {
        plan: _planCredentials({
          config,
          configFile,
          credentials,
          credentialsFile,
          merged: aws,
          // the AWS profile of a shared name is planned without the TOML one
          toml: onlyToml ? toml : new Map(),
          env,
          flags: { profile: name },
          allowLeafOnly: true,
        }),
      };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  };
  const rows: _Row[] = [];
  for (const p of toml.values()) {
    const { plan: planned, error } = plan(p.name, true);
    const settings: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(p)) {
      if (["name", "source", "file", "lines"].includes(key)) continue;
      if (value !== undefined) settings[key] = value;
    }
    rows.push({
      name: p.name,
      kind: p.web_identity_token_file !== undefined ? "web identity" : "role",
      role_arn: p.role_arn ?? "",
      ...(p.source_profile === undefined
        ? {}
        : { source_profile: p.source_profile }),
      ...(planned ? { leaf: _leafJson(planned.leaf) } : {}),
      chain: planned ? _chainSteps(planned) : [],
      chainText: planned
        ? _chainSteps(planned).join(" -> ")
        : `error: ${error}`,
      source: "toml",
      file: p.file,
      files: [p.file],
      ...(error === undefined ? {} : { error }),
      ...(aws.has(p.name)
        ? {
          collision: `also defined in ${aws.get(p.name)!.files.join(" and ")}`,
        }
        : {}),
      settings,
    });
  }
  for (const p of aws.values()) {
    const { plan: planned, error } = plan(p.name, false);
    const v = p.values;
    const settings: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(v)) {
      settings[key] = _SECRET_KEYS.has(key) ? "(present)" : value;
    }
    const kind = v.web_identity_token_file !== undefined
      ? "web identity"
      : v.role_arn !== undefined
      ? "role"
      : v.sso_session !== undefined || v.sso_start_url !== undefined ||
          v.sso_account_id !== undefined
      ? "sso"
      : v.credential_process !== undefined
      ? "process"
      : v.aws_access_key_id !== undefined ||
          v.aws_secret_access_key !== undefined
      ? "keys"
      : "config";
    rows.push({
      name: p.name,
      kind,
      role_arn: v.role_arn ?? "",
      ...(v.source_profile === undefined
        ? {}
        : { source_profile: v.source_profile }),
      ...(planned ? { leaf: _leafJson(planned.leaf) } : {}),
      chain: planned ? _chainSteps(planned) : [],
      chainText: kind === "config" && error !== undefined
        ? "-"
        : planned
        ? _chainSteps(planned).join(" -> ")
        : `error: ${error}`,
      source: "aws-config",
      file: p.files[0] ?? configFile,
      files: [...new Set(p.files)],
      ...(error === undefined || kind === "config" ? {} : { error }),
      ...(toml.has(p.name)
        ? { collision: `also defined in ${toml.get(p.name)!.file}` }
        : {}),
      settings,
    });
  }
  if (flags.json) {
    await _out(
      `${
        JSON.stringify(rows.map(({ chainText: _, ...row }) => row), null, 2)
      }\n`,
    );
    return EXIT_OK;
  }
  if (rows.length === 0) {
    await _out(
      `No profiles: add one to ${location.path} or a role profile to ${configFile}\n`,
    );
    return EXIT_OK;
  }
  const table = [
    ["NAME", "KIND", "ROLE", "CHAIN", "FILE"],
    ...rows.map((r) => [
      r.name,
      r.kind,
      r.role_arn || "-",
      r.error !== undefined ? "error (see below)" : r.chainText,
      r.files.join(", "),
    ]),
  ];
  const widths = [0, 1, 2, 3].map((i) =>
    Math.max(...table.map((row) => row[i]!.length))
  );
  const lines = table.map((row) =>
    row.map((cell, i) => i < 4 ? cell.padEnd(widths[i]!) : cell).join("  ")
  );
  for (const r of rows) {
    if (r.error !== undefined) lines.push(`error: ${r.name}: ${r.error}`);
  }
  const notes = new Set(
    rows.filter((r) => r.collision !== undefined && r.source === "toml").map((
      r,
    ) =>
      `note: profile '${r.name}' is defined in ${r.file} and in ${
        aws.get(r.name)!.files.join(" and ")
      }: ${
        r.role_arn && aws.get(r.name)!.values.role_arn !== undefined
          ? `every command refuses --profile ${r.name} as both have a role_arn; rename one of them`
          : `--profile ${r.name} uses the TOML one; rename one of them to use the other`
      }`
    ),
  );
  lines.push(...notes);
  await _out(`${lines.join("\n")}\n`);
  return EXIT_OK;
}
