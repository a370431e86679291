/**
 * Pure argument parsers, one per subcommand, over `@std/cli/parse-args`.
 * Unknown flags, missing values and bad values are `BRSValidationError`s
 * (exit code 2) naming the flag.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { BRSValidationError } from "../errors.ts";

/** The subcommands. */
export const _COMMANDS = [
  "whoami",
  "credentials",
  "exec",
  "profiles",
  "clear",
  "help",
] as const;
/** A subcommand name. */
export type _CommandName = typeof _COMMANDS[number];

/** Flags every session command takes. */
export interface _SessionFlags {
  /** `--profile`: a TOML or ~/.aws/config profile. */
  profile?: string;
  /** `--role-arn`. */
  roleArn?: string;
  /** `--role-session-name`. */
  roleSessionName?: string;
  /** `--serial-number`: the MFA device. */
  serialNumber?: string;
  /** `--mfa-command`: a command string, split without a shell by the MFA module. */
  mfaCommand?: string;
  /** `--mfa-stdin-file`: fed to the MFA command's stdin (a TOTP seed). */
  mfaStdinFile?: string;
  /** `--duration-seconds`. */
  durationSeconds?: number;
  /** `--external-id`. */
  externalId?: string;
  /** `--region`. */
  region?: string;
  /** `--endpoint-url`: an http(s) URL for STS. */
  endpointUrl?: string;
  /** `--config`: the TOML profiles file. */
  config?: string;
  /** `--no-cache`: skip the file cache. */
  cache: boolean;
  /** `--debug`: cause chains on errors. */
  debug: boolean;
  /** `--help`. */
  help: boolean;
}

/** `whoami` arguments. */
export interface _WhoamiArgs extends _SessionFlags {
  /** `--format json` (or its alias `--json`). */
  json: boolean;
}

/** `clear` arguments. */
export interface _ClearArgs extends _SessionFlags {
  /** `--all`: every cached credential (the default without a profile or role). */
  all: boolean;
}

/** The `credentials` output formats. */
export const _FORMATS = ["json", "env", "credential-process"] as const;

/** `credentials` arguments. */
export interface _CredentialsArgs extends _SessionFlags {
  /** `--format`. */
  format: typeof _FORMATS[number];
}

/** `exec` arguments. */
export interface _ExecArgs extends _SessionFlags {
  /** `--server`: serve credentials on loopback instead of static env keys. */
  server: boolean;
  /** The command and its arguments (after `--`). */
  command: string[];
}

/** `profiles` arguments. */
export interface _ProfilesArgs {
  /** `--config`. */
  config?: string;
  /** `--format json` (or its alias `--json`). */
  json: boolean;
  /** `--debug`. */
  debug: boolean;
  /** `--help`. */
  help: boolean;
}

const _SESSION_STRINGS = [
  "profile",
  "role-arn",
  "role-session-name",
  "serial-number",
  "mfa-command",
  "mfa-stdin-file",
  "duration-seconds",
  "external-id",
  "region",
  "endpoint-url",
  "config",
];
const _SESSION_BOOLEANS = ["help", "debug", "cache"];

/** The edit distance of two short strings (for "did you mean"). */
function _distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length]!;
}

/**
 * The closest of `choices` to `given` (at most 2 edits, or a prefix), as a
 * " (did you mean 'x'?)" suffix, or "".
 */
export function _didYouMean(given: string, choices: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const choice of choices) {
    const distance = choice.startsWith(given) && given.length >= 3
      ? 1
      : _distance(given, choice);
    if (distance < bestDistance) {
      best = choice;
      bestDistance = distance;
    }
  }
  return best === undefined ? "" : ` (did you mean '${best}'?)`;
}

function _usage(message: string, param?: string): BRSValidationError {
  return new BRSValidationError(message, { code: "UsageError", param });
}

function _parse(
  command: string,
  args: string[],
  strings: string[],
  booleans: string[],
  options: { stopEarly?: boolean; positional?: boolean } = {},
): Record<string, unknown> & { _: string[]; "--"?: string[] } {
  const parsed = parseArgs(args, {
    string: strings,
    boolean: booleans,
    alias: { h: "help" },
    default: booleans.includes("cache") ? { cache: true } : {},
    negatable: booleans.includes("cache") ? ["cache"] : [],
    "--": true,
    stopEarly: options.stopEarly ?? false,
    unknown: (arg: string, key?: string): boolean => {
      if (key === undefined && !arg.startsWith("-")) return true;
      if (arg === "-") return true;
      const flag = arg.split("=")[0]!;
      const known = [...strings, ...booleans, "version"].map((f) => `--${f}`);
      throw _usage(
        `Cannot run '${command}' as '${flag}' is not a flag of it${
          _didYouMean(flag, known)
        }: run 'brs ${command} --help' for its flags`,
        arg,
      );
    },
  });
  const counts = _flagCounts(args, strings, options.stopEarly ?? false);
  for (const name of strings) {
    const value = parsed[name];
    const count = counts.get(name) ?? 0;
    if (Array.isArray(value) || count > 1) {
      throw _usage(
        `Cannot run '${command}' as '--${name}' is given ${count} times: give it once`,
        `--${name}`,
      );
    }
    if (value === "") {
      throw _usage(
        `Cannot run '${command}' as '--${name}' needs a value: e.g. '--${name} VALUE'`,
        `--${name}`,
      );
    }
  }
  const positionals = parsed._.map(String);
  if (!options.positional && positionals.length > 0) {
    throw _usage(
      `Cannot run '${command}' as it takes no arguments: got '${
        positionals[0]
      }'`,
    );
  }
  return { ...parsed, _: positionals };
}

function _flagCounts(
  args: string[],
  strings: string[],
  stopEarly: boolean,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("-")) {
      if (stopEarly) break;
      continue;
    }
    const name = arg.replace(/^--?/, "").split("=")[0]!;
    if (strings.includes(name)) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (!arg.includes("=")) i++;
    }
  }
  return counts;
}

function _int(
  command: string,
  flag: string,
  value: unknown,
): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^\d{1,9}$/.test(text)) {
    throw _usage(
      `Cannot run '${command}' as '--${flag}' must be a whole number of seconds: got '${text}'`,
      `--${flag}`,
    );
  }
  return Number(text);
}

function _optString(value: unknown): string | undefined {
  return value === undefined ? undefined : String(value);
}

function _sessionFlags(
  command: string,
  parsed: Record<string, unknown>,
): _SessionFlags {
  const mfa = _optString(parsed["mfa-command"]);
  const mfaCommand = mfa?.trim();
  if (mfaCommand === "") {
    throw _usage(
      `Cannot run '${command}' as '--mfa-command' is blank: give a command such as 'ykman oath accounts code -s NAME'`,
      "--mfa-command",
    );
  }
  return {
    profile: _optString(parsed.profile),
    roleArn: _optString(parsed["role-arn"]),
    roleSessionName: _optString(parsed["role-session-name"]),
    serialNumber: _optString(parsed["serial-number"]),
    mfaCommand,
    ...(parsed["mfa-stdin-file"] === undefined
      ? {}
      : { mfaStdinFile: _optString(parsed["mfa-stdin-file"]) }),
    durationSeconds: _int(
      command,
      "duration-seconds",
      parsed["duration-seconds"],
    ),
    externalId: _optString(parsed["external-id"]),
    region: _optString(parsed.region),
    endpointUrl: _optString(parsed["endpoint-url"]),
    config: _optString(parsed.config),
    cache: parsed.cache !== false,
    debug: parsed.debug === true,
    help: parsed.help === true,
  };
}

/**
 * Finds the subcommand: the first argument that is neither a flag nor the
 * value of a known value flag (so `--profile dev whoami` works).
 *
 * @returns The command and the arguments without it, or `undefined` if none.
 */
export function _splitCommand(
  args: string[],
): { command: string; rest: string[] } | undefined {
  const valueFlags = new Set(
    [..._SESSION_STRINGS, "format"].map((f) => `--${f}`),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return undefined;
    if (arg.startsWith("-")) {
      if (valueFlags.has(arg)) i++;
      continue;
    }
    return { command: arg, rest: [...args.slice(0, i), ...args.slice(i + 1)] };
  }
  return undefined;
}

/**
 * Whether the flags of a command (before `--` or its first positional, the
 * child's command of `exec`) include `--version`, a shared flag.
 */
export function _hasVersionFlag(args: string[]): boolean {
  const valueFlags = new Set(
    [..._SESSION_STRINGS, "format"].map((f) => `--${f}`),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--" || !arg.startsWith("-")) return false;
    if (arg === "--version") return true;
    if (valueFlags.has(arg)) i++;
  }
  return false;
}

/** `--format json|text` (or `--json`) of `whoami` and `profiles`: whether JSON is asked for. */
function _jsonFormat(
  command: string,
  parsed: Record<string, unknown>,
): boolean {
  const format = _optString(parsed.format);
  if (format !== undefined && format !== "json" && format !== "text") {
    throw _usage(
      `Cannot run '${command}' as '--format' must be one of json, text: got '${format}'`,
      "--format",
    );
  }
  if (format === "text" && parsed.json === true) {
    throw _usage(
      `Cannot run '${command}' as '--json' and '--format text' disagree: give one`,
      "--format",
    );
  }
  return format === "json" || parsed.json === true;
}

/** Parses `whoami` arguments. */
export function _parseWhoamiArgs(args: string[]): _WhoamiArgs {
  const parsed = _parse("whoami", args, [..._SESSION_STRINGS, "format"], [
    ..._SESSION_BOOLEANS,
    "json",
  ]);
  return {
    ..._sessionFlags("whoami", parsed),
    json: _jsonFormat("whoami", parsed),
  };
}

/** Parses `clear` arguments. */
export function _parseClearArgs(args: string[]): _ClearArgs {
  const parsed = _parse("clear", args, _SESSION_STRINGS, [
    ..._SESSION_BOOLEANS,
    "all",
  ]);
  return { ..._sessionFlags("clear", parsed), all: parsed.all === true };
}

/** Parses `credentials` arguments. */
export function _parseCredentialsArgs(args: string[]): _CredentialsArgs {
  const parsed = _parse("credentials", args, [..._SESSION_STRINGS, "format"], [
    ..._SESSION_BOOLEANS,
  ]);
  const format = _optString(parsed.format) ?? "json";
  if (!(_FORMATS as readonly string[]).includes(format)) {
    throw _usage(
      `Cannot run 'credentials' as '--format' must be one of ${
        _FORMATS.join(", ")
      }: got '${format}'`,
      "--format",
    );
  }
  return {
    ..._sessionFlags("credentials", parsed),
    format: format as _CredentialsArgs["format"],
  };
}

/** Parses `exec` arguments: flags, then the command after `--` (or the first positional). */
export function _parseExecArgs(args: string[]): _ExecArgs {
  const parsed = _parse("exec", args, _SESSION_STRINGS, [
    ..._SESSION_BOOLEANS,
    "server",
  ], { stopEarly: true, positional: true });
  const flags = _sessionFlags("exec", parsed);
  const command = [...parsed._, ...(parsed["--"] ?? [])];
  if (command.length === 0 && !flags.help) {
    throw _usage(
      "Cannot run 'exec' as no command is given: e.g. 'brs exec --profile dev -- aws s3 ls'",
    );
  }
  return { ...flags, server: parsed.server === true, command };
}

/** Parses `profiles` arguments. */
export function _parseProfilesArgs(args: string[]): _ProfilesArgs {
  const parsed = _parse("profiles", args, ["config", "format"], [
    "help",
    "debug",
    "json",
  ]);
  return {
    config: _optString(parsed.config),
    json: _jsonFormat("profiles", parsed),
    debug: parsed.debug === true,
    help: parsed.help === true,
  };
}

/** The help lines of the flags every session command takes. */
export const _SESSION_FLAGS_HELP = `Session flags (flags win over the profile):
  --profile NAME            profile of the TOML file or of ~/.aws/config (default:
                            $BRS_PROFILE, $AWS_PROFILE, $AWS_DEFAULT_PROFILE, 'default')
  --role-arn ARN            role to assume, e.g. arn:aws:iam::123456789012:role/dev
  --role-session-name NAME  session name (default: brs-cli)
  --duration-seconds N      credential lifetime, 900-43200
  --serial-number SERIAL    MFA device serial or ARN (without an MFA command:
                            asks for the code on the terminal)
  --mfa-command "CMD ARGS"  prints the MFA code; split as a shell splits words
                            ('...', "..." and \\ work) but run without a shell:
                            no pipes, redirections or $VARS; must be allowlisted
                            (ykman, oathtool, op, ..., allowed_commands or
                            $BRS_ALLOWED_COMMANDS); never put a seed in it
  --mfa-stdin-file FILE     fed to the MFA command's stdin, e.g. a TOTP seed
                            (regular file of yours, mode 0600) for
                            --mfa-command "oathtool --totp -b -"
  --external-id ID          external id of the role's trust policy
  --region REGION           region of STS and of children (default: $AWS_REGION,
                            $AWS_DEFAULT_REGION, the profile's region, us-east-1)
  --endpoint-url URL        STS endpoint, http(s) only
  --config FILE             TOML profiles file (default: $BRS_CONFIG_FILE,
                            $XDG_CONFIG_HOME/brs/config.toml)
  --no-cache                skip the cross-process cache in $XDG_CACHE_HOME/brs
  --debug                   print the profile's plan and the cache's use to stderr,
                            and the cause chain of an error
  --help, -h                this help
  --version                 print the version

Environment: BRS_REFRESH_TIMEOUT=SECONDS, how long one STS call may take
(1-3600, default 60), e.g. longer on a slow link.

Deno permissions (deno run ... cli.ts, or deno install -g ...):
  --allow-net --allow-env --allow-read --allow-write --allow-run
  --allow-sys=osRelease,homedir (--allow-sys when NODE_EXTRA_CA_CERTS is set)`;
