/**
 * Profiles of the CLI: the TOML file (`--config`, `BRS_CONFIG_FILE`, or
 * `$XDG_CONFIG_HOME/brs/config.toml`) and the role profiles of
 * `~/.aws/config` (read with the AWS SDK's own ini loader, loaded lazily).
 *
 * ```toml
 * [dev]
 * role_arn = "arn:aws:iam::123456789012:role/dev"
 * serial_number = "arn:aws:iam::123456789012:mfa/me"
 * mfa_command = ["ykman", "oath", "accounts", "code", "-s", "aws"]
 * duration_seconds = 3600
 * region = "eu-west-1"
 * ```
 *
 * @module
 */

import { BRSConfigurationError } from "../errors.ts";

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
  /** `duration_seconds`. */
  duration_seconds?: number;
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
  /** The line of each key in the file (TOML only), for error messages. */
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
  duration_seconds: "integer",
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

function _lineIndex(
  text: string,
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
      current = { header: i + 1, keys: {} };
      tables.set(name, current);
      return;
    }
    const key = line.match(/^\s*(?:"([^"]+)"|'([^']+)'|([\w-]+))\s*=/);
    if (key) {
      const name = key[1] ?? key[2] ?? key[3] ?? "";
      const target = current ?? tables.get("") ?? { header: 0, keys: {} };
      if (!current && !tables.has("")) tables.set("", target);
      target.keys[name] ??= i + 1;
    }
  });
  return tables;
}

function _typeName(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  if (value === null) return "null";
  return typeof value === "object"
    ? "a table"
    : `${typeof value} ${JSON.stringify(value)}`;
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
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !location.explicit) {
      return new Map();
    }
    if (error instanceof Deno.errors.NotFound) {
      throw _configError(
        `Cannot read config file '${path}': it does not exist; fix --config or BRS_CONFIG_FILE`,
        "--config",
      );
    }
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied
    ) throw error;
    throw _configError(
      `Cannot read config file '${path}': ${(error as Error).message}`,
      "--config",
    );
  }
  const { parse } = await import("@std/toml");
  let data: Record<string, unknown>;
  try {
    data = parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const line = message.match(/line (\d+)/)?.[1];
    const reason =
      message.replace(/^Parse error on line \d+, column \d+:\s*/, "")
        .split("\n")[0];
    throw _configError(
      `Cannot parse config file '${path}'${
        line ? ` on line ${line}` : ""
      }: ${reason}`,
      "--config",
    );
  }
  const lines = _lineIndex(text);
  const profiles = new Map<string, _Profile>();
  for (const [name, table] of Object.entries(data)) {
    if (typeof table !== "object" || table === null || Array.isArray(table)) {
      const line = lines.get("")?.keys[name];
      throw _configError(
        `Cannot use config file '${path}'${
          line ? ` line ${line}` : ""
        }: top-level key '${name}' must be a profile table such as [${name}]`,
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
      const where =
        `Cannot use config file '${path}' line ${line}: profile '${name}'`;
      const kind = _TOML_KEYS[key];
      if (kind === undefined) {
        throw _configError(
          `${where} has an unknown key '${key}'; known keys: ${
            Object.keys(_TOML_KEYS).join(", ")
          }`,
          `${name}.${key}`,
        );
      }
      const bad = (what: string): BRSConfigurationError =>
        _configError(
          `${where} key '${key}' must be ${what}: got ${_typeName(value)}`,
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

/** The path of the AWS config file (`AWS_CONFIG_FILE` or `~/.aws/config`). */
export function _awsConfigPath(): string {
  return Deno.env.get("AWS_CONFIG_FILE") ??
    `${Deno.env.get("HOME") ?? "~"}/.aws/config`;
}

/**
 * Reads the profiles of `~/.aws/config` with the SDK's ini loader (loaded on
 * demand). Every profile is returned; role profiles have `role_arn`.
 */
export async function _loadAwsProfiles(): Promise<Map<string, _Profile>> {
  const file = _awsConfigPath();
  const { loadSharedConfigFiles } = await import(
    "@smithy/shared-ini-file-loader"
  );
  const { configFile } = await loadSharedConfigFiles({ ignoreCache: true });
  const profiles = new Map<string, _Profile>();
  for (const [name, section] of Object.entries(configFile)) {
    const values = section as Record<string, string | undefined>;
    const duration = values.duration_seconds;
    const durationSeconds = duration === undefined
      ? undefined
      : Number(duration);
    if (duration !== undefined && !/^\d+$/.test(duration)) {
      throw _configError(
        `Cannot use '${file}': profile '${name}' key 'duration_seconds' must be an integer: got '${duration}'`,
        `${name}.duration_seconds`,
      );
    }
    profiles.set(name, {
      name,
      source: "aws",
      file,
      role_arn: values.role_arn,
      role_session_name: values.role_session_name,
      serial_number: values.mfa_serial,
      source_profile: values.source_profile,
      external_id: values.external_id,
      duration_seconds: durationSeconds,
      region: values.region,
      endpoint_url: undefined,
      lines: {},
    });
  }
  return profiles;
}
