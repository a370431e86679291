/**
 * Profiles of the CLI: the TOML file (`--config`, `BRS_CONFIG_FILE`, or
 * `$XDG_CONFIG_HOME/brs/config.toml`) and the profiles of `~/.aws/config`
 * (read by `_aws_ini.ts`, with line numbers, and no AWS SDK module).
 *
 * ```toml
 * [dev]
 * role_arn = "arn:aws:iam::123456789012:role/dev"
 * serial_number = "arn:aws:iam::123456789012:mfa/me"
 * mfa_command = ["ykman", "oath", "accounts", "code", "-s", "aws"]
 * duration_seconds = 3600
 * mfa_session_duration = 43200   # one MFA code per 12 h for every role
 * region = "eu-west-1"
 *
 * [ci]
 * role_arn = "arn:aws:iam::123456789012:role/ci"
 * web_identity_token_file = "/run/secrets/token"  # AssumeRoleWithWebIdentity
 * ```
 *
 * @module
 */

import { _READ_CAPS } from "../_read_bounded.ts";
import { BRSConfigurationError } from "../errors.ts";
import { _readProfileText } from "./_aws_ini.ts";
import { _controlEscape } from "../_redact.ts";
import { _didYouMean } from "./_args.ts";

/** One profile, from either source, with values type-checked. */
export interface _Profile {
  /** The profile name. */
  name: string;
  /** Where it comes from ("toml" or "aws"). */
  source: "toml" | "aws";
  /** The file it was read from. */
  file: string;
  /** `role_arn`. */
  role_arn?: string;
  /** `role_session_name`. */
  role_session_name?: string;
  /** `serial_number` (TOML) or `mfa_serial` (~/.aws/config). */
  serial_number?: string;
  /** `mfa_command`: an array (preferred), or a string split without a shell. */
  mfa_command?: string[] | string;
  /** `allowed_commands`: added to the MFA command allowlist. */
  allowed_commands?: string[];
  /** `mfa_stdin_file`: fed to the MFA command's stdin (a TOTP seed, kept out of its arguments). */
  mfa_stdin_file?: string;
  /** `duration_seconds`. */
  duration_seconds?: number;
  /** `mfa_session_duration`: keep an MFA session (GetSessionToken) of this many seconds and assume the role with it. */
  mfa_session_duration?: number;
  /** `region`. */
  region?: string;
  /** `source_profile`: the AWS profile of the base credentials. */
  source_profile?: string;
  /** `endpoint_url`: STS endpoint. */
  endpoint_url?: string;
  /** `external_id`. */
  external_id?: string;
  /** `advisory_timeout` in seconds. */
  advisory_timeout?: number;
  /** `mandatory_timeout` in seconds. */
  mandatory_timeout?: number;
  /** `credential_source` (~/.aws/config): where the base credentials come from. */
  credential_source?: "Environment" | "Ec2InstanceMetadata" | "EcsContainer";
  /** `web_identity_token_file`: the role is assumed with AssumeRoleWithWebIdentity and the token in this file. */
  web_identity_token_file?: string;
  /** `credential_process` (~/.aws/config): not run by brs, but a profile that has it may be the one that started brs. */
  credential_process?: string;
  /** `sts_regional_endpoints` (~/.aws/config): `regional` or `legacy`. */
  sts_regional_endpoints?: string;
  /** Whether the profile holds static keys (~/.aws/credentials or config). */
  has_keys?: boolean;
  /** Keys of an ~/.aws/config profile that no AWS tool knows (warned about when used). */
  unknown_keys?: string[];
  /** The line of each key in the file, for error messages. */
  lines: Record<string, number>;
}

type _Kind = "string" | "string[]" | "command" | "integer";

/** The keys of a TOML profile and their types. */
export const _TOML_KEYS: Record<string, _Kind> = {
  role_arn: "string",
  role_session_name: "string",
  serial_number: "string",
  mfa_command: "command",
  allowed_commands: "string[]",
  mfa_stdin_file: "string",
  duration_seconds: "integer",
  mfa_session_duration: "integer",
  web_identity_token_file: "string",
  region: "string",
  source_profile: "string",
  endpoint_url: "string",
  external_id: "string",
  advisory_timeout: "integer",
  mandatory_timeout: "integer",
};

/** The TOML profiles file: where it is and whether the user named it. */
export interface _ConfigLocation {
  /** The path. */
  path: string;
  /** True for `--config` / `BRS_CONFIG_FILE`: a missing file is then an error. */
  explicit: boolean;
}

/** Where the TOML file is: `--config`, `BRS_CONFIG_FILE`, `$XDG_CONFIG_HOME/brs/config.toml`, `~/.config/brs/config.toml`. */
export function _configLocation(flag: string | undefined): _ConfigLocation {
  if (flag !== undefined) return { path: flag, explicit: true };
  const env = Deno.env.get("BRS_CONFIG_FILE");
  if (env) return { path: env, explicit: true };
  const xdg = Deno.env.get("XDG_CONFIG_HOME");
  if (xdg) return { path: `${xdg}/brs/config.toml`, explicit: false };
  const home = Deno.env.get("HOME") ?? ".";
  return { path: `${home}/.config/brs/config.toml`, explicit: false };
}

function _configError(message: string, param?: string): BRSConfigurationError {
  return new BRSConfigurationError(message, { code: "ConfigError", param });
}

/** A TOML basic-string key with its escapes (`\u0000`) resolved. */
function _unescape(text: string): string {
  try {
    return JSON.parse(`"${text}"`);
  } catch {
    return text;
  }
}

/**
 * The line of each table and key; a key defined twice in one table, or a
 * table defined twice, is an error (TOML forbids both), naming the lines.
 */
function _lineIndex(
  text: string,
  path: string,
): Map<string, { header: number; keys: Record<string, number> }> {
  const tables = new Map<
    string,
    { header: number; keys: Record<string, number> }
  >();
  let current: { header: number; keys: Record<string, number> } | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    const header = line.match(
      /^\s*\[\s*(?:"([^"]+)"|'([^']+)'|([\w.-]+))\s*\]/,
    );
    if (header) {
      const name = header[1] ?? header[2] ?? header[3] ?? "";
      const before = tables.get(name);
      if (before !== undefined && before.header > 0) {
        throw _configError(
          `Cannot use config file '${_controlEscape(path)}' line ${
            i + 1
          }: profile '${
            _controlEscape(name)
          }' is defined twice (first on line ${before.header}), which TOML forbids: merge the two tables`,
          name,
        );
      }
      current = { header: i + 1, keys: {} };
      tables.set(name, current);
      return;
    }
    const key = line.match(/^\s*(?:"([^"]+)"|'([^']+)'|([\w-]+))\s*=/);
    if (key) {
      const name = (key[1] === undefined ? undefined : _unescape(key[1])) ??
        key[2] ?? key[3] ?? "";
      const target = current ?? tables.get("") ?? { header: 0, keys: {} };
      if (!current && !tables.has("")) tables.set("", target);
      const first = target.keys[name];
      if (first !== undefined) {
        throw _configError(
          `Cannot use config file '${_controlEscape(path)}' line ${
            i + 1
          }: key '${
            _controlEscape(name)
          }' is defined twice in one table (first on line ${first}), which TOML forbids: keep one`,
          name,
        );
      }
      target.keys[name] = i + 1;
    }
  });
  return tables;
}

function _typeName(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  if (value === null) return "null";
  // never the value: it may be a secret
  return typeof value === "object" ? "a table" : `a ${typeof value}`;
}

/**
 * Reads and checks the TOML profiles file. A missing default file gives no
 * profiles; a missing explicit file, broken TOML, an unknown key or a wrong
 * type is a `BRSConfigurationError` naming the file, profile, key and line.
 */
export async function _loadTomlProfiles(
  location: _ConfigLocation,
): Promise<Map<string, _Profile>> {
  const { path } = location;
  const text = _readProfileText(path, "config file", _READ_CAPS.toml);
  if (text === undefined) {
    if (!location.explicit) return new Map();
    throw _configError(
      `Cannot read config file '${
        _controlEscape(path)
      }': it does not exist; fix --config or BRS_CONFIG_FILE`,
      "--config",
    );
  }
  const lines = _lineIndex(text, path);
  const { parse } = await import("@std/toml");
  let data: Record<string, unknown>;
  try {
    data = parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const line = message.match(/line (\d+)/)?.[1];
    // The parser quotes a bracket or a character, but also a whole line or
    // a date: a value of the file that may be a secret is never repeated.
    const reason =
      (message.replace(/^Parse error on line \d+, column \d+:\s*/, "")
        .split("\n")[0] ?? "")
        .replace(/^Cannot parse value on line '.*$/, "Cannot parse a value")
        .replace(/^(Invalid date string) ".*$/, "$1")
        .replace(/^Cannot parse the TOML: /, "")
        .replace(/:\s*$/, "");
    throw _configError(
      `Cannot parse config file '${_controlEscape(path)}'${
        line ? ` on line ${line}` : ""
      }: ${reason}; fix the TOML syntax there (a [profile] header, key = "value" lines), or point --config or BRS_CONFIG_FILE at another file`,
      "--config",
    );
  }
  const profiles = new Map<string, _Profile>();
  for (const [name, table] of Object.entries(data)) {
    if (typeof table !== "object" || table === null || Array.isArray(table)) {
      const line = lines.get("")?.keys[name];
      throw _configError(
        `Cannot use config file '${_controlEscape(path)}'${
          line ? ` line ${line}` : ""
        }: top-level key '${
          _controlEscape(name)
        }' must be a profile table such as [${_controlEscape(name)}]`,
        name,
      );
    }
    const tableLines = lines.get(name) ?? { header: 0, keys: {} };
    const profile: _Profile = {
      name,
      source: "toml",
      file: path,
      lines: tableLines.keys,
    };
    for (
      const [key, value] of Object.entries(table as Record<string, unknown>)
    ) {
      const line = tableLines.keys[key] ?? tableLines.header;
      const where = `Cannot use config file '${
        _controlEscape(path)
      }' line ${line}: profile '${_controlEscape(name)}'`;
      const kind = _TOML_KEYS[key];
      if (kind === undefined) {
        throw _configError(
          `${where} has an unknown key '${_controlEscape(key)}'${
            _didYouMean(key, Object.keys(_TOML_KEYS))
          }; known keys: ${Object.keys(_TOML_KEYS).join(", ")}`,
          `${name}.${key}`,
        );
      }
      const bad = (what: string): BRSConfigurationError =>
        _configError(
          `${where} key '${_controlEscape(key)}' must be ${what}: got ${
            _typeName(value)
          }`,
          `${name}.${key}`,
        );
      const record = profile as unknown as Record<string, unknown>;
      switch (kind) {
        case "string":
          if (typeof value !== "string") throw bad("a string");
          record[key] = value;
          break;
        case "integer":
          if (typeof value !== "number" || !Number.isInteger(value)) {
            throw bad("an integer");
          }
          record[key] = value;
          break;
        case "string[]":
          if (
            !Array.isArray(value) || !value.every((v) => typeof v === "string")
          ) {
            throw bad("an array of strings");
          }
          record[key] = value;
          break;
        case "command":
          if (typeof value === "string" && value.trim() !== "") {
            record[key] = value.trim();
          } else if (
            Array.isArray(value) && value.length > 0 &&
            value.every((v) => typeof v === "string")
          ) record[key] = value;
          else throw bad("a non-empty array of strings (no shell)");
          break;
      }
    }
    profiles.set(name, profile);
  }
  return profiles;
}

/** Keys of an `~/.aws/config` profile that brs uses. */
export const _AWS_USED_KEYS: readonly string[] = [
  "role_arn",
  "source_profile",
  "credential_source",
  "web_identity_token_file",
  "role_session_name",
  "duration_seconds",
  "external_id",
  "mfa_serial",
  "mfa_process",
  "mfa_stdin_file",
  "mfa_session_duration",
  "region",
  "endpoint_url",
  "sts_regional_endpoints",
];

/**
 * Keys the AWS CLI, the SDKs and aws-vault know that brs leaves to them
 * (no warning when a used profile holds them).
 */
const _AWS_OTHER_KEYS: readonly string[] = [
  "output",
  "cli_pager",
  "cli_timestamp_format",
  "cli_auto_prompt",
  "cli_binary_format",
  "cli_history",
  "ca_bundle",
  "parameter_validation",
  "tcp_keepalive",
  "max_attempts",
  "retry_mode",
  "credential_process",
  "aws_access_key_id",
  "aws_secret_access_key",
  "aws_session_token",
  "aws_security_token",
  "aws_account_id",
  "sso_session",
  "sso_account_id",
  "sso_role_name",
  "sso_region",
  "sso_start_url",
  "sso_registration_scopes",
  "ignore_configure_endpoints",
  "services",
  "s3",
  "use_dualstack_endpoint",
  "use_fips_endpoint",
  "ec2_metadata_service_endpoint",
  "ec2_metadata_service_endpoint_mode",
  "ec2_metadata_v1_disabled",
  "metadata_service_timeout",
  "metadata_service_num_attempts",
  "api_versions",
  "defaults_mode",
  "sdk_ua_app_id",
  "request_min_compression_size_bytes",
  "disable_request_compression",
  "account_id_endpoint_mode",
  "request_checksum_calculation",
  "response_checksum_validation",
  "sigv4a_signing_region_set",
  "auth_scheme_preference",
  "include_profile",
  "parent_profile",
  "session_tags",
  "transitive_session_tags",
  "source_identity",
  "login_session",
  "ignore_configured_endpoint_urls",
  "sso_auto_populated",
  "endpoint_discovery_enabled",
  "s3api",
];

/** Every key of an `~/.aws/config` profile that brs or another AWS tool knows. */
export const _AWS_KNOWN_KEYS: ReadonlySet<string> = new Set([
  ..._AWS_USED_KEYS,
  ..._AWS_OTHER_KEYS,
]);

/** The values `credential_source` may take (as in the AWS CLI). */
export const _CREDENTIAL_SOURCES = [
  "Environment",
  "Ec2InstanceMetadata",
  "EcsContainer",
] as const;
