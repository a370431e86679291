/**
 * The CLI's profile planner: a pure function from the AWS files, the TOML
 * profiles, the environment (a plain record) and the flags to a **plan**:
 * one leaf that yields base credentials, then the AssumeRole hops in order,
 * each with its own role, session name, external id, duration, MFA, region
 * and STS endpoint. It reads no file, no network and no `Deno.env`, and runs
 * no command, so every rule is tested directly (and against the AWS SDKs'
 * shared conformance data).
 *
 * The rules are the AWS SDKs' shared profile rules:
 *
 * - a profile with `role_arn` is a hop whose base comes from its
 *   `source_profile`, its `credential_source`, or (with
 *   `web_identity_token_file`) AssumeRoleWithWebIdentity;
 * - after the first hop, a profile with static keys uses its keys, even if
 *   it also has a `role_arn`; a profile whose `source_profile` is itself
 *   (the self-referencing `[default]`) makes one AssumeRole with its keys;
 * - a profile without `role_arn` is a leaf: SSO (`sso_session` or
 *   `sso_start_url`, with `sso_account_id` and `sso_role_name`),
 *   `credential_process`, or static keys;
 * - a cycle, an unknown or broken source profile, or a profile with no
 *   credential information is a configuration error naming the profile,
 *   file, key and line: never a fall back to the machine's own identity.
 *   Only a selection that names no source at all (`--role-arn` alone, a TOML
 *   role profile without `source_profile`) uses the default chain.
 *
 * Region: `--region`, then `AWS_REGION` / `AWS_DEFAULT_REGION` (as the AWS
 * CLI), then the hop's profile, then the selected profile, then `us-east-1`.
 * STS endpoint of a hop: `--endpoint-url`, `AWS_ENDPOINT_URL_STS`,
 * `AWS_ENDPOINT_URL`, the `[services]` section's `sts` `endpoint_url` of the
 * hop's profile, its `endpoint_url` (none of these with
 * `ignore_configured_endpoint_urls`).
 *
 * @module
 */

import { _controlEscape } from "../_redact.ts";
import { BRSConfigurationError, BRSValidationError } from "../errors.ts";
import {
  type _AwsProfile,
  type _IniFile,
  _mergeAwsProfiles,
  _subProperties,
} from "./_aws_ini.ts";
import { _didYouMean, type _SessionFlags } from "./_args.ts";
import type { _Profile } from "./_profiles_file.ts";
import { _AWS_KNOWN_KEYS, _CREDENTIAL_SOURCES } from "./_profiles_file.ts";

/** The default `RoleSessionName` of the CLI. */
export const _DEFAULT_SESSION_NAME = "brs-cli";

/** The environment variables that select a profile, in order, after `--profile`. */
export const _PROFILE_VARIABLES = [
  "BRS_PROFILE",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
] as const;

/** Static keys, kept out of `JSON.stringify` and `Deno.inspect`. */
export class _StaticKeys {
  readonly #secret: string;
  readonly #token: string | undefined;
  /** The access key id (not a secret). */
  readonly accessKeyId: string;

  /** Holds the keys. */
  constructor(accessKeyId: string, secret: string, token?: string) {
    this.accessKeyId = accessKeyId;
    this.#secret = secret;
    this.#token = token;
  }

  /** The secret access key. */
  get secretAccessKey(): string {
    return this.#secret;
  }

  /** The session token, if any. */
  get sessionToken(): string | undefined {
    return this.#token;
  }

  /** No secret in JSON. */
  toJSON(): Record<string, unknown> {
    return {
      accessKeyId: this.accessKeyId,
      secretAccessKey: "[redacted]",
      ...(this.#token === undefined ? {} : { sessionToken: "[redacted]" }),
    };
  }

  /** No secret in `Deno.inspect`. */
  [Symbol.for("Deno.customInspect")](): string {
    return `_StaticKeys { accessKeyId: ${this.accessKeyId} }`;
  }
}

/** Where a leaf or hop comes from, for messages and `--debug`. */
interface _From {
  /** The profile, if any. */
  profile?: string;
  /** "profile 'x' of 'file'" or "--role-arn", in words. */
  origin: string;
}

/** A leaf: where the base credentials come from. */
export type _Leaf =
  & _From
  & (
    | {
      kind: "keys";
      keys: _StaticKeys;
      fromEnv: boolean;
      /** `aws_account_id` of the profile, if given. */
      accountId?: string;
    }
    | { kind: "process"; command: string }
    | {
      kind: "credential-source";
      source: typeof _CREDENTIAL_SOURCES[number];
    }
    | {
      kind: "web-identity";
      roleArn: string;
      tokenFile: string;
      roleSessionName: string;
      durationSeconds?: number;
      region: string;
      endpointUrl?: string;
    }
    | {
      kind: "sso";
      ssoSession?: string;
      startUrl: string;
      ssoRegion: string;
      accountId: string;
      roleName: string;
    }
    | { kind: "default-chain" }
  );

/** One AssumeRole hop. */
export interface _Hop extends _From {
  /** The role. */
  roleArn: string;
  /** The session name. */
  roleSessionName: string;
  /** Requested lifetime. */
  durationSeconds?: number;
  /** External id. */
  externalId?: string;
  /** MFA device. */
  serialNumber?: string;
  /** MFA command (no shell). */
  mfaCommand?: string[] | string;
  /** The file whose content the MFA command reads on stdin (a TOTP seed). */
  mfaStdinFile?: string;
  /** Added to the MFA command allowlist. */
  allowedCommands: string[];
  /** Keep an MFA session (GetSessionToken) of this many seconds and assume the role with it. */
  mfaSessionDuration?: number;
  /** Region of the STS client. */
  region: string;
  /** STS endpoint, if not AWS's. */
  endpointUrl?: string;
}

/** A plan: the leaf, then the hops in the order they run. */
export interface _Plan {
  /** The profile selected, if any. */
  profileName?: string;
  /** Where the selection came from (`--profile`, `AWS_PROFILE`...). */
  selectedFrom?: string;
  /** Base credentials. */
  leaf: _Leaf;
  /** AssumeRole hops, first to last. */
  hops: _Hop[];
  /** The region to give children, when one is known. */
  region?: string;
  /**
   * The STS endpoint of the selected profile when the plan has no hop (an SSO
   * profile): where `whoami` calls GetCallerIdentity.
   */
  endpointUrl?: string;
  /** Advisory window in seconds (TOML profiles). */
  advisoryTimeout?: number;
  /** Mandatory window in seconds (TOML profiles). */
  mandatoryTimeout?: number;
  /** Warnings to print (unknown keys of used profiles). */
  warnings: string[];
}

/** The flags that shape a plan (the session flags but `--config` and the switches). */
export type _PlanFlags = Partial<
  Pick<
    _SessionFlags,
    | "profile"
    | "roleArn"
    | "roleSessionName"
    | "serialNumber"
    | "mfaCommand"
    | "mfaStdinFile"
    | "durationSeconds"
    | "externalId"
    | "region"
    | "endpointUrl"
  >
>;

/** What the planner plans from. */
export interface _PlanInput {
  /** The AWS config file's sections. */
  config: _IniFile;
  /** Its path. */
  configFile: string;
  /** The AWS credentials file's sections. */
  credentials: _IniFile;
  /** Its path. */
  credentialsFile: string;
  /** The TOML profiles (none: an empty map). */
  toml: Map<string, _Profile>;
  /** The TOML file's path, for messages. */
  tomlFile?: string;
  /** The environment. */
  env: Record<string, string | undefined>;
  /** The flags. */
  flags: _PlanFlags;
  /** Check values (ARN, names, numbers) as STS would; default true. */
  checkValues?: boolean;
  /** Accept a plan with no hop whose leaf is keys, a process or a credential source (`brs profiles` shows it); default false. */
  allowLeafOnly?: boolean;
  /**
   * The AWS profiles of `config` and `credentials`, already merged, when the
   * caller plans many profiles of the same files (`brs profiles`): merging
   * once keeps that linear in the number of profiles.
   */
  merged?: Map<string, _AwsProfile>;
}

/**
 * The most profiles a chain of source profiles may go through. Real chains
 * have a few; the bound keeps planning (and `brs profiles`, which plans every
 * profile) fast whatever the config file holds.
 */
export const _MAX_CHAIN_PROFILES = 100;

function _config(message: string, param?: string): BRSConfigurationError {
  return new BRSConfigurationError(message, { code: "ConfigError", param });
}

/** "'key' of profile 'p' in 'file' line N". */
function _at(p: _AwsProfile, key: string): string {
  const where = p.where[key];
  return `'${key}' of profile '${_controlEscape(p.name)}' in '${
    _controlEscape(where?.file ?? p.files[0] ?? "?")
  }'${where ? ` line ${where.line}` : ""}`;
}

/** Whether HOME is unset while an AWS file's path depends on it. */
function _homeUnset(env: Record<string, string | undefined>): boolean {
  return !env.HOME &&
    (!env.AWS_CONFIG_FILE || !env.AWS_SHARED_CREDENTIALS_FILE);
}

/** "profile 'p' of 'file'". */
function _profileAt(p: _AwsProfile): string {
  return `profile '${_controlEscape(p.name)}' of '${
    p.files.map(_controlEscape).join("' and '")
  }'`;
}

/**
 * The profile name the user asked for: `--profile`, then `BRS_PROFILE`,
 * `AWS_PROFILE`, `AWS_DEFAULT_PROFILE` (as the AWS CLI does).
 *
 * @param flags The flags.
 * @param env The environment.
 * @returns The name, where it came from, and whether from the environment.
 */
export function _selectProfile(
  flags: { profile?: string },
  env: Record<string, string | undefined>,
): { name: string; origin: string; fromEnv: boolean } | undefined {
  if (flags.profile !== undefined) {
    return { name: flags.profile, origin: "--profile", fromEnv: false };
  }
  for (const variable of _PROFILE_VARIABLES) {
    const value = env[variable];
    if (value) return { name: value, origin: variable, fromEnv: true };
  }
  return undefined;
}

function _hasKeys(p: _AwsProfile): boolean {
  return p.values.aws_access_key_id !== undefined ||
    p.values.aws_secret_access_key !== undefined;
}

function _keysLeaf(p: _AwsProfile, via: string): _Leaf {
  const v = p.values;
  for (
    const [have, missing] of [
      ["aws_access_key_id", "aws_secret_access_key"],
      ["aws_secret_access_key", "aws_access_key_id"],
    ] as const
  ) {
    if (v[have] === undefined && v[missing] === undefined) {
      throw _config(
        `Cannot use ${
          _profileAt(p)
        }${via} as it has no credentials: add aws_access_key_id and aws_secret_access_key, a role_arn with its source, credential_process or SSO settings`,
        p.name,
      );
    }
    if (v[have] !== undefined && !v[missing]) {
      throw _config(
        `Cannot use ${_profileAt(p)}${via} as it has ${_at(p, have)} but ${
          v[missing] === undefined ? "no" : "an empty"
        } '${missing}': add it (in the same file) or remove ${have}`,
        `${p.name}.${missing}`,
      );
    }
  }
  return {
    kind: "keys",
    profile: p.name,
    origin: `the keys of ${_profileAt(p)}`,
    fromEnv: false,
    ...(v.aws_account_id ? { accountId: v.aws_account_id } : {}),
    keys: new _StaticKeys(
      v.aws_access_key_id!,
      v.aws_secret_access_key!,
      v.aws_session_token || v.aws_security_token || undefined,
    ),
  };
}

/** The SSO leaf of a profile, or `undefined` if it has no SSO settings. */
function _ssoLeaf(
  p: _AwsProfile,
  config: _IniFile,
  configFile: string,
): _Leaf | undefined {
  const v = p.values;
  if (
    v.sso_session === undefined && v.sso_start_url === undefined &&
    v.sso_account_id === undefined && v.sso_role_name === undefined
  ) return undefined;
  let startUrl = v.sso_start_url;
  let ssoRegion = v.sso_region;
  if (v.sso_session !== undefined) {
    const session = config.get(`[sso-session ${v.sso_session}]`);
    if (session === undefined) {
      const names = [...config.values()].filter((s) => s.kind === "sso-session")
        .map((s) => s.name);
      throw _config(
        `Cannot use ${_at(p, "sso_session")}: there is no [sso-session ${
          _controlEscape(v.sso_session)
        }] section in '${_controlEscape(configFile)}'${
          _didYouMean(v.sso_session, names)
        }`,
        `${p.name}.sso_session`,
      );
    }
    for (
      const [key, value] of [["sso_region", ssoRegion], [
        "sso_start_url",
        startUrl,
      ]] as const
    ) {
      const own = session.values[key];
      if (own === undefined) {
        throw _config(
          `Cannot use [sso-session ${_controlEscape(session.name)}] of '${
            _controlEscape(configFile)
          }' line ${session.line} (from ${
            _at(p, "sso_session")
          }) as it has no ${key}: add ${key} to the sso-session section`,
          `sso-session.${session.name}.${key}`,
        );
      }
      if (value !== undefined && value !== own) {
        throw _config(
          `Cannot use ${_at(p, key)}: it differs from ${key} of [sso-session ${
            _controlEscape(session.name)
          }]; remove it from the profile`,
          `${p.name}.${key}`,
        );
      }
    }
    startUrl = session.values.sso_start_url;
    ssoRegion = session.values.sso_region;
  }
  for (
    const [key, value] of [
      ["sso_start_url", startUrl],
      ["sso_region", ssoRegion],
      ["sso_account_id", v.sso_account_id],
      ["sso_role_name", v.sso_role_name],
    ] as const
  ) {
    if (!value) {
      throw _config(
        `Cannot use ${_profileAt(p)} for SSO credentials as it has no ${key}${
          key === "sso_start_url" || key === "sso_region"
            ? " (nor an sso_session section that has it)"
            : ""
        }: add ${key}, or run 'aws configure sso --profile ${
          _controlEscape(p.name)
        }'`,
        `${p.name}.${key}`,
      );
    }
  }
  return {
    kind: "sso",
    profile: p.name,
    origin: `the SSO settings of ${_profileAt(p)}`,
    ...(v.sso_session === undefined ? {} : { ssoSession: v.sso_session }),
    startUrl: startUrl!,
    ssoRegion: ssoRegion!,
    accountId: v.sso_account_id!,
    roleName: v.sso_role_name!,
  };
}

interface _Ctx {
  input: _PlanInput;
  aws: Map<string, _AwsProfile>;
  warnings: string[];
  check: boolean;
  /** Region from --region or the environment (wins over profiles). */
  regionOverride?: string;
  /** Region of the selected profile. */
  selectedRegion?: string;
}

function _regionFor(ctx: _Ctx, own: string | undefined): string {
  return ctx.regionOverride ?? own ?? ctx.selectedRegion ?? "us-east-1";
}

function _ignoreEndpoints(
  ctx: _Ctx,
  values: Record<string, string | undefined>,
): boolean {
  const flag = ctx.input.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ??
    values.ignore_configured_endpoint_urls;
  return flag?.toLowerCase() === "true";
}

/** The STS endpoint of a hop whose profile has these values. */
function _endpointFor(
  ctx: _Ctx,
  values: Record<string, string | undefined>,
  where: string,
): { value?: string; origin: string } {
  const { flags, env } = ctx.input;
  if (flags.endpointUrl !== undefined) {
    return { value: flags.endpointUrl, origin: "'--endpoint-url'" };
  }
  if (!_ignoreEndpoints(ctx, values)) {
    for (const name of ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"]) {
      if (env[name]) return { value: env[name], origin: `'${name}'` };
    }
    if (values.services !== undefined) {
      const section = ctx.input.config.get(`[services ${values.services}]`);
      const url = _subProperties(section?.values.sts).endpoint_url;
      if (url) {
        return {
          value: url,
          origin: `'sts endpoint_url' of [services ${
            _controlEscape(values.services)
          }] in '${_controlEscape(ctx.input.configFile)}'`,
        };
      }
    }
    if (values.endpoint_url) {
      return { value: values.endpoint_url, origin: where };
    }
  }
  if (values.sts_regional_endpoints === "legacy") {
    return { value: "https://sts.amazonaws.com", origin: where };
  }
  return { origin: "'--endpoint-url'" };
}

function _unknownKeys(ctx: _Ctx, p: _AwsProfile): void {
  for (const key of Object.keys(p.values)) {
    if (_AWS_KNOWN_KEYS.has(key)) continue;
    const where = p.where[key];
    ctx.warnings.push(
      `Ignoring unknown key '${_controlEscape(key)}' of profile '${
        _controlEscape(p.name)
      }' in '${_controlEscape(where?.file ?? "?")}' line ${where?.line ?? 0}${
        _didYouMean(key, [..._AWS_KNOWN_KEYS])
      }`,
    );
  }
}

function _invalid(
  what: string,
  origin: string,
  value: unknown,
  rule: string,
  secret = false,
): BRSValidationError {
  return new BRSValidationError(
    `Cannot use ${what} from ${origin}: it must be ${rule}${
      secret ? "" : `: got ${_controlEscape(JSON.stringify(value))}`
    }`,
    { param: origin },
  );
}

function _str(
  ctx: _Ctx,
  what: string,
  value: string | undefined,
  origin: string,
  pattern: RegExp,
  rule: string,
): string | undefined {
  if (ctx.check && value !== undefined && !pattern.test(value)) {
    throw _invalid(what, origin, value, rule);
  }
  return value;
}

function _int(
  ctx: _Ctx,
  what: string,
  value: string | number | undefined,
  origin: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === "number"
    ? value
    : /^\d{1,9}$/.test(value.trim())
    ? Number(value.trim())
    : NaN;
  if (!Number.isInteger(n) || (ctx.check && (n < min || n > max))) {
    throw _invalid(what, origin, value, `an integer from ${min} to ${max}`);
  }
  return n;
}

const _ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;
const _ROLE_RULE =
  "an IAM role ARN such as arn:aws:iam::123456789012:role/NAME";
const _SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const _SESSION_RULE = "2 to 64 characters of letters, digits and +=,.@_-";

/** Checks that a URL is http(s); returns it. */
export function _checkEndpoint(
  picked: { value: string | undefined; origin: string },
): string | undefined {
  const { value } = picked;
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw _invalid(
      "the STS endpoint",
      picked.origin,
      value,
      "an http:// or https:// URL",
    );
  }
  return value;
}

/** The settings of a hop, from a profile of either kind. */
interface _HopSource {
  profile?: string;
  origin: string;
  values: Record<string, string | undefined>;
  /** Where a key comes from, in words. */
  at(key: string): string;
  mfaCommand?: string[] | string;
  mfaStdinFile?: string;
  allowedCommands?: string[];
  integers: Record<string, number | string | undefined>;
}

function _awsHopSource(p: _AwsProfile): _HopSource {
  return {
    profile: p.name,
    origin: _profileAt(p),
    values: p.values,
    at: (key) => _at(p, key),
    mfaCommand: p.values.mfa_process,
    mfaStdinFile: p.values.mfa_stdin_file,
    integers: {
      duration_seconds: p.values.duration_seconds,
      mfa_session_duration: p.values.mfa_session_duration,
    },
  };
}

function _tomlHopSource(p: _Profile): _HopSource {
  const line = (key: string): string =>
    p.lines[key] ? ` line ${p.lines[key]}` : "";
  return {
    profile: p.name,
    origin: `profile '${_controlEscape(p.name)}' of '${
      _controlEscape(p.file)
    }'`,
    values: {
      role_arn: p.role_arn,
      role_session_name: p.role_session_name,
      mfa_serial: p.serial_number,
      external_id: p.external_id,
      region: p.region,
      endpoint_url: p.endpoint_url,
    },
    at: (key) =>
      `'${key === "mfa_serial" ? "serial_number" : key}' of profile '${
        _controlEscape(p.name)
      }' in '${_controlEscape(p.file)}'${
        line(key === "mfa_serial" ? "serial_number" : key)
      }`,
    mfaCommand: p.mfa_command,
    mfaStdinFile: p.mfa_stdin_file,
    allowedCommands: p.allowed_commands,
    integers: {
      duration_seconds: p.duration_seconds,
      mfa_session_duration: p.mfa_session_duration,
    },
  };
}

function _hop(ctx: _Ctx, s: _HopSource, last: boolean): _Hop {
  const flags = last ? ctx.input.flags : {};
  const pick = (
    flag: string | undefined,
    flagName: string,
    key: string,
  ): { value: string | undefined; origin: string } =>
    flag !== undefined
      ? { value: flag, origin: `'${flagName}'` }
      : { value: s.values[key], origin: s.at(key) };
  const role = pick(flags.roleArn, "--role-arn", "role_arn");
  const roleArn = _str(
    ctx,
    "role ARN",
    role.value,
    role.origin,
    _ROLE_ARN,
    _ROLE_RULE,
  );
  if (roleArn === undefined) {
    throw _config(
      "Cannot assume a role as none is given: pass --role-arn ARN or --profile NAME (see 'brs profiles')",
      "--role-arn",
    );
  }
  const session = pick(
    flags.roleSessionName,
    "--role-session-name",
    "role_session_name",
  );
  const serial = pick(flags.serialNumber, "--serial-number", "mfa_serial");
  const external = pick(flags.externalId, "--external-id", "external_id");
  const durationOrigin = flags.durationSeconds !== undefined
    ? "'--duration-seconds'"
    : s.at("duration_seconds");
  const serialNumber = _str(
    ctx,
    "MFA serial number",
    serial.value,
    serial.origin,
    /^[\w+=\/:,.@-]{9,256}$/,
    "an MFA device serial or ARN (9 to 256 characters)",
  );
  const mfaCommand = flags.mfaCommand ?? s.mfaCommand;
  if (mfaCommand !== undefined && serialNumber === undefined) {
    throw _config(
      `Cannot use the MFA command from ${
        flags.mfaCommand !== undefined ? "'--mfa-command'" : s.origin
      } as no MFA device is given: add --serial-number or serial_number`,
      "--serial-number",
    );
  }
  const mfaStdinFile = flags.mfaStdinFile ?? s.mfaStdinFile;
  if (mfaStdinFile !== undefined && mfaCommand === undefined) {
    throw _config(
      `Cannot use the MFA stdin file from ${
        flags.mfaStdinFile !== undefined ? "'--mfa-stdin-file'" : s.origin
      } as no MFA command reads it: add --mfa-command, mfa_command (TOML) or mfa_process (~/.aws/config), e.g. 'oathtool --totp -b -'`,
      "--mfa-stdin-file",
    );
  }
  const mfaSessionDuration = _int(
    ctx,
    "MFA session duration",
    s.integers.mfa_session_duration,
    s.at("mfa_session_duration"),
    900,
    129_600,
  );
  if (mfaSessionDuration !== undefined && serialNumber === undefined) {
    throw _config(
      `Cannot keep an MFA session for ${
        s.at("mfa_session_duration")
      } as no MFA device is given: add mfa_serial (~/.aws/config), serial_number (TOML) or --serial-number, or remove mfa_session_duration`,
      "mfa_session_duration",
    );
  }
  const endpoint = _endpointFor(ctx, s.values, s.at("endpoint_url"));
  const hop: _Hop = {
    ...(s.profile === undefined ? {} : { profile: s.profile }),
    origin: role.origin,
    roleArn,
    roleSessionName: _str(
      ctx,
      "role session name",
      session.value,
      session.origin,
      _SESSION_NAME,
      _SESSION_RULE,
    ) ?? _DEFAULT_SESSION_NAME,
    allowedCommands: s.allowedCommands ?? [],
    region: _regionFor(
      ctx,
      _str(
        ctx,
        "region",
        s.values.region,
        s.at("region"),
        /^[a-z0-9-]{2,32}$/,
        "a region name such as eu-west-1",
      ),
    ),
  };
  const duration = _int(
    ctx,
    "duration",
    flags.durationSeconds ?? s.integers.duration_seconds,
    durationOrigin,
    900,
    43200,
  );
  if (duration !== undefined) hop.durationSeconds = duration;
  const externalId = _str(
    ctx,
    "external id",
    external.value,
    external.origin,
    /^[\w+=,.@:\/-]{2,1224}$/,
    "2 to 1224 characters of letters, digits and +=,.@:/_-",
  );
  if (externalId !== undefined) hop.externalId = externalId;
  if (serialNumber !== undefined) hop.serialNumber = serialNumber;
  if (mfaCommand !== undefined) hop.mfaCommand = mfaCommand;
  if (mfaStdinFile !== undefined) hop.mfaStdinFile = mfaStdinFile;
  if (mfaSessionDuration !== undefined) {
    hop.mfaSessionDuration = mfaSessionDuration;
  }
  const url = ctx.check
    ? _checkEndpoint({ value: endpoint.value, origin: endpoint.origin })
    : endpoint.value;
  if (url !== undefined) hop.endpointUrl = url;
  return hop;
}

/** A web identity leaf from a profile with `web_identity_token_file`. */
function _webIdentityLeaf(
  ctx: _Ctx,
  s: _HopSource,
  tokenFile: string,
  last: boolean,
): _Leaf {
  const clash = [
    s.values.source_profile !== undefined && "source_profile",
    s.values.credential_source !== undefined && "credential_source",
    (s.values.mfa_serial !== undefined ||
      last && ctx.input.flags.serialNumber !== undefined) &&
    (s.mfaCommand !== undefined || s.values.mfa_serial !== undefined
      ? "mfa_serial"
      : "--serial-number"),
    (s.values.external_id !== undefined ||
      last && ctx.input.flags.externalId !== undefined) && "external_id",
    s.integers.mfa_session_duration !== undefined && "mfa_session_duration",
  ].filter((key): key is string => typeof key === "string");
  if (clash.length > 0) {
    throw _config(
      `Cannot use ${s.origin} as it has web_identity_token_file and ${
        clash.join(", ")
      }: AssumeRoleWithWebIdentity takes no base credentials, MFA or external id; remove ${
        clash.length === 1 ? "it" : "them"
      } or web_identity_token_file`,
      "web_identity_token_file",
    );
  }
  if (tokenFile.trim() === "") {
    throw _config(
      `Cannot use ${
        s.at("web_identity_token_file")
      }: it must be the path of the web identity token file: got an empty string`,
      "web_identity_token_file",
    );
  }
  const hop = _hop(ctx, {
    ...s,
    values: { ...s.values, mfa_serial: undefined },
  }, last);
  return {
    kind: "web-identity",
    ...(s.profile === undefined ? {} : { profile: s.profile }),
    origin: s.at("web_identity_token_file"),
    roleArn: hop.roleArn,
    tokenFile,
    roleSessionName: hop.roleSessionName,
    ...(hop.durationSeconds === undefined
      ? {}
      : { durationSeconds: hop.durationSeconds }),
    region: hop.region,
    ...(hop.endpointUrl === undefined ? {} : { endpointUrl: hop.endpointUrl }),
  };
}

/**
 * Resolves an AWS profile into a leaf and hops (first to last).
 *
 * @param first Whether the profile is the one selected (its own static keys
 * are then not used when it has a role).
 * @param via Words naming who refers to it, for messages.
 */
function _resolveAws(
  ctx: _Ctx,
  name: string,
  first: boolean,
  via: string,
  targetIsLast: boolean,
): { leaf: _Leaf; hops: _Hop[] } {
  const visited: string[] = [];
  const seen = new Set<string>();
  const hops: _Hop[] = []; // last first, reversed at the end
  let current = name;
  let referrer = via;
  let isFirst = first;
  while (true) {
    if (seen.has(current)) {
      const loop = [...visited.slice(visited.indexOf(current)), current];
      const closing = ctx.aws.get(visited[visited.length - 1]!);
      throw _config(
        `Cannot use profile '${
          _controlEscape(visited[0]!)
        }' as its source profiles form a cycle: ${
          loop.map((n) => `'${_controlEscape(n)}'`).join(" -> ")
        }${
          closing ? ` (closed by ${_at(closing, "source_profile")})` : ""
        }; point one source_profile at a profile with keys or another source`,
        `${current}.source_profile`,
      );
    }
    const p = ctx.aws.get(current);
    if (p === undefined) {
      throw _config(
        `Cannot use ${referrer}: there is no profile '${
          _controlEscape(current)
        }' in '${_controlEscape(ctx.input.configFile)}' or '${
          _controlEscape(ctx.input.credentialsFile)
        }'${_didYouMean(current, [...ctx.aws.keys()])}`,
        current,
      );
    }
    if (visited.length === _MAX_CHAIN_PROFILES) {
      throw _config(
        `Cannot use profile '${
          _controlEscape(visited[0]!)
        }' as its chain of source profiles goes through more than ${_MAX_CHAIN_PROFILES} profiles (${
          _at(ctx.aws.get(visited[visited.length - 1]!)!, "source_profile")
        } goes on to '${
          _controlEscape(current)
        }'): point a source_profile nearer the start at a profile with keys or another source`,
        `${visited[0]}.source_profile`,
      );
    }
    visited.push(current);
    seen.add(current);
    _unknownKeys(ctx, p);
    const v = p.values;
    const isLast = hops.length === 0 && targetIsLast && isFirst;
    if (!isFirst && _hasKeys(p)) {
      return { leaf: _keysLeaf(p, ` (${referrer})`), hops: hops.reverse() };
    }
    isFirst = false;
    if (v.web_identity_token_file !== undefined) {
      if (v.role_arn === undefined && !(isLast && ctx.input.flags.roleArn)) {
        throw _config(
          `Cannot use ${
            _profileAt(p)
          } as it has web_identity_token_file but no role_arn: add role_arn`,
          `${p.name}.role_arn`,
        );
      }
      return {
        leaf: _webIdentityLeaf(
          ctx,
          _awsHopSource(p),
          v.web_identity_token_file,
          isLast,
        ),
        hops: hops.reverse(),
      };
    }
    if (v.role_arn === undefined) {
      const sso = _ssoLeaf(p, ctx.input.config, ctx.input.configFile);
      if (sso !== undefined) return { leaf: sso, hops: hops.reverse() };
      if (v.credential_process !== undefined) {
        if (v.credential_process.trim() === "") {
          throw _config(
            `Cannot use ${_at(p, "credential_process")}: it is empty`,
            `${p.name}.credential_process`,
          );
        }
        return {
          leaf: {
            kind: "process",
            profile: p.name,
            origin: _at(p, "credential_process"),
            command: v.credential_process,
          },
          hops: hops.reverse(),
        };
      }
      if (v.credential_source !== undefined || v.source_profile !== undefined) {
        const key = v.credential_source !== undefined
          ? "credential_source"
          : "source_profile";
        throw _config(
          `Cannot use ${
            _at(p, key)
          } as the profile has no role_arn: add the role_arn to assume with it`,
          `${p.name}.role_arn`,
        );
      }
      return {
        leaf: _keysLeaf(p, referrer === "" ? "" : ` (${referrer})`),
        hops: hops.reverse(),
      };
    }
    hops.push(_hop(ctx, _awsHopSource(p), isLast));
    if (v.source_profile !== undefined && v.credential_source !== undefined) {
      throw _config(
        `Cannot use ${_profileAt(p)} as it has both source_profile (line ${
          p.where.source_profile?.line ?? 0
        }) and credential_source (line ${
          p.where.credential_source?.line ?? 0
        }): keep one`,
        `${p.name}.credential_source`,
      );
    }
    if (v.source_profile === p.name) {
      // the self-referencing profile: its own keys, one AssumeRole
      return {
        leaf: _keysLeaf(p, ` (its own ${_at(p, "source_profile")})`),
        hops: hops.reverse(),
      };
    }
    if (v.source_profile !== undefined) {
      referrer = `${_at(p, "source_profile")}`;
      current = v.source_profile;
      continue;
    }
    if (v.credential_source !== undefined) {
      const source = v.credential_source;
      if (!(_CREDENTIAL_SOURCES as readonly string[]).includes(source)) {
        throw _config(
          `Cannot use ${_at(p, "credential_source")}: it must be one of ${
            _CREDENTIAL_SOURCES.join(", ")
          }: got '${_controlEscape(source)}'${
            _didYouMean(source, _CREDENTIAL_SOURCES)
          }`,
          `${p.name}.credential_source`,
        );
      }
      return {
        leaf: {
          kind: "credential-source",
          profile: p.name,
          origin: _at(p, "credential_source"),
          source: source as typeof _CREDENTIAL_SOURCES[number],
        },
        hops: hops.reverse(),
      };
    }
    throw _config(
      `Cannot use ${
        _at(p, "role_arn")
      } as the profile names no base credentials: add source_profile, credential_source (Environment, Ec2InstanceMetadata, EcsContainer) or web_identity_token_file`,
      `${p.name}.source_profile`,
    );
  }
}

/** Whether an AWS profile names any source of credentials. */
function _namesASource(p: _AwsProfile): boolean {
  const v = p.values;
  return _hasKeys(p) || v.role_arn !== undefined ||
    v.credential_process !== undefined ||
    v.web_identity_token_file !== undefined ||
    v.source_profile !== undefined || v.credential_source !== undefined ||
    v.sso_session !== undefined || v.sso_start_url !== undefined ||
    v.sso_account_id !== undefined || v.sso_role_name !== undefined;
}

/** The base of a selection that names no source: env keys, `[default]`, else the SDK's default chain. */
function _defaultBase(ctx: _Ctx): { leaf: _Leaf; hops: _Hop[] } {
  const env = ctx.input.env;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      leaf: {
        kind: "keys",
        origin: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        fromEnv: true,
        keys: new _StaticKeys(
          env.AWS_ACCESS_KEY_ID,
          env.AWS_SECRET_ACCESS_KEY,
          env.AWS_SESSION_TOKEN || undefined,
        ),
      },
      hops: [],
    };
  }
  const fallback = ctx.aws.get("default");
  if (fallback !== undefined && _namesASource(fallback)) {
    return _resolveAws(ctx, "default", true, "the default profile", false);
  }
  return {
    leaf: { kind: "default-chain", origin: "the default chain" },
    hops: [],
  };
}

/**
 * Plans the credentials of one command.
 *
 * @param input The files, environment and flags.
 * @returns The plan.
 * @throws {BRSConfigurationError} A missing, broken or cyclic profile.
 * @throws {BRSValidationError} A bad value, naming where it came from.
 */
export function _planCredentials(input: _PlanInput): _Plan {
  const aws = input.merged ?? _mergeAwsProfiles(
    { sections: input.config, file: input.configFile },
    { sections: input.credentials, file: input.credentialsFile },
  );
  const ctx: _Ctx = {
    input,
    aws,
    warnings: [],
    check: input.checkValues ?? true,
  };
  const { flags, env, toml } = input;
  const envRegion = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  const regionFlag = _str(
    ctx,
    "region",
    flags.region,
    "'--region'",
    /^[a-z0-9-]{2,32}$/,
    "a region name such as eu-west-1",
  );
  ctx.regionOverride = regionFlag ?? envRegion;
  let selected = _selectProfile(flags, env);
  if (
    selected?.fromEnv && !toml.has(selected.name) &&
    aws.get(selected.name)?.values.role_arn === undefined &&
    aws.get(selected.name)?.values.credential_process !== undefined
  ) {
    // The profile whose credential_process started us (AWS_PROFILE=brs aws
    // ...): it is neither our profile nor our base credentials.
    selected = undefined;
  }
  let name = selected?.name;
  const awsDefault = aws.get("default");
  if (
    name === undefined && flags.roleArn === undefined &&
    (toml.has("default") ||
      awsDefault !== undefined && _namesASource(awsDefault))
  ) name = "default";
  if (name === undefined) ctx.selectedRegion = awsDefault?.values.region;
  const from = selected?.origin ?? "the default profile";
  const plan = (
    leaf: _Leaf,
    hops: _Hop[],
    extra: Partial<_Plan> = {},
  ): _Plan => ({
    ...(name === undefined ? {} : { profileName: name, selectedFrom: from }),
    leaf,
    hops,
    ...(ctx.regionOverride ?? ctx.selectedRegion
      ? { region: ctx.regionOverride ?? ctx.selectedRegion }
      : {}),
    warnings: ctx.warnings,
    ...extra,
  });
  if (name === undefined) {
    // --role-arn alone: the default base, then the flags' hop
    const base = _defaultBase(ctx);
    const hop = _hop(ctx, {
      origin: "'--role-arn'",
      values: {},
      at: (key) => `'--${key.replaceAll("_", "-")}'`,
      integers: {},
    }, true);
    return plan(base.leaf, [...base.hops, hop]);
  }
  const fromToml = toml.get(name);
  const fromAws = aws.get(name);
  if (fromToml === undefined && fromAws === undefined) {
    throw _config(
      `Cannot find profile '${_controlEscape(name)}' (from ${from}) in '${
        _controlEscape(input.configFile)
      }', '${_controlEscape(input.credentialsFile)}' or '${
        _controlEscape(input.tomlFile ?? "the TOML file")
      }'${_didYouMean(name, [...new Set([...toml.keys(), ...aws.keys()])])}: ${
        _homeUnset(input.env)
          ? "HOME is not set, so brs cannot find ~/.aws: set HOME, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE to the files' paths"
          : "run 'brs profiles' to list the profiles"
      }`,
      "--profile",
    );
  }
  if (fromToml !== undefined && fromAws?.values.role_arn !== undefined) {
    throw new BRSConfigurationError(
      `Cannot use profile '${
        _controlEscape(name)
      }' (from ${from}) as it names two role profiles, one in '${
        _controlEscape(fromToml.file)
      }' and one in '${
        _controlEscape(fromAws.files[0] ?? "")
      }': rename one of them`,
      { param: "--profile", code: "AmbiguousProfile" },
    );
  }
  if (fromToml !== undefined) {
    ctx.selectedRegion = fromToml.region;
    const s = _tomlHopSource(fromToml);
    const timeouts = {
      ...(fromToml.advisory_timeout === undefined ? {} : {
        advisoryTimeout: _int(
          ctx,
          "advisory timeout",
          fromToml.advisory_timeout,
          s.at("advisory_timeout"),
          0,
          43200,
        ),
      }),
      ...(fromToml.mandatory_timeout === undefined ? {} : {
        mandatoryTimeout: _int(
          ctx,
          "mandatory timeout",
          fromToml.mandatory_timeout,
          s.at("mandatory_timeout"),
          0,
          43200,
        ),
      }),
    };
    if (fromToml.web_identity_token_file !== undefined) {
      s.values.source_profile = fromToml.source_profile;
      return plan(
        _webIdentityLeaf(ctx, s, fromToml.web_identity_token_file, true),
        [],
        timeouts,
      );
    }
    const hop = _hop(ctx, s, true);
    const base = fromToml.source_profile === undefined
      ? _defaultBase(ctx)
      : _resolveAws(
        ctx,
        fromToml.source_profile,
        false,
        s.at("source_profile"),
        false,
      );
    return plan(base.leaf, [...base.hops, hop], timeouts);
  }
  const p = fromAws!;
  ctx.selectedRegion = p.values.region;
  const resolved = _resolveAws(ctx, name, true, "", true);
  if (flags.roleArn !== undefined && resolved.hops.length === 0) {
    if (resolved.leaf.kind === "web-identity") return plan(resolved.leaf, []);
    // the profile is the base of the flag's role
    resolved.hops.push(
      _hop(ctx, {
        ...(_awsHopSource(p)),
        values: {
          region: p.values.region,
          endpoint_url: p.values.endpoint_url,
          services: p.values.services,
          sts_regional_endpoints: p.values.sts_regional_endpoints,
          ignore_configured_endpoint_urls:
            p.values.ignore_configured_endpoint_urls,
        },
        mfaCommand: undefined,
        integers: {},
      }, true),
    );
  }
  if (
    resolved.hops.length === 0 && resolved.leaf.kind !== "sso" &&
    resolved.leaf.kind !== "web-identity" && !input.allowLeafOnly
  ) {
    throw _config(
      `Cannot use profile '${_controlEscape(name)}' (from ${from}) of '${
        p.files.map(_controlEscape).join("' and '")
      }' as it has no role_arn: give --role-arn ARN to assume a role with its credentials`,
      "--profile",
    );
  }
  if (resolved.hops.length === 0 && resolved.leaf.kind !== "web-identity") {
    // No hop carries an endpoint: the selected profile's rules give it, as
    // for a hop (flag, environment, [services], endpoint_url).
    const endpoint = _endpointFor(ctx, p.values, _at(p, "endpoint_url"));
    const url = ctx.check
      ? _checkEndpoint({ value: endpoint.value, origin: endpoint.origin })
      : endpoint.value;
    if (url !== undefined) {
      return plan(resolved.leaf, resolved.hops, { endpointUrl: url });
    }
  }
  return plan(resolved.leaf, resolved.hops);
}
