/**
 * Turns flags and profiles into one checked AssumeRole request, and gets its
 * credentials through the cross-process {@linkcode FileCache}. The AWS SDK
 * and the session module are loaded with `import()` only when a refresh is
 * needed, so the warm path reads one file and prints.
 *
 * @module
 */

import { BRSConfigurationError, BRSValidationError } from "../errors.ts";
import { FileCache } from "../file_cache.ts";
import type { Identity, TemporaryCredentials } from "../types.ts";
import type { _SessionFlags } from "./_args.ts";
import { _err, _registerSecret } from "./_output.ts";
import { _allowedCommands } from "./_allowed_commands.ts";
import { _writeCacheLabel } from "./_cache_labels.ts";
import {
  _awsConfigPath,
  _configLocation,
  _CREDENTIAL_SOURCES,
  _loadAwsProfiles,
  _loadTomlProfiles,
  type _Profile,
} from "./_profiles_file.ts";

/** A checked AssumeRole request of the CLI. */
export interface _Request {
  /** The profile used, if any. */
  profileName?: string;
  /** The role. */
  roleArn: string;
  /** The session name. */
  roleSessionName: string;
  /** Requested lifetime. */
  durationSeconds?: number;
  /** MFA device. */
  serialNumber?: string;
  /** External id. */
  externalId?: string;
  /** MFA command (no shell). */
  mfaCommand?: string[] | string;
  /** Added to the MFA command allowlist. */
  allowedCommands: string[];
  /** The file whose content the MFA command reads on stdin (a TOTP seed). */
  mfaStdinFile?: string;
  /** Region given by flag or profile. */
  region?: string;
  /** STS endpoint. */
  endpointUrl?: string;
  /** AWS profile of the base credentials. */
  sourceProfile?: string;
  /** `credential_source` of an ~/.aws/config role profile. */
  credentialSource?: "Environment" | "Ec2InstanceMetadata" | "EcsContainer";
  /** `web_identity_token_file` of the profile: the role is assumed with AssumeRoleWithWebIdentity and the token in this file (read again at every refresh). */
  webIdentityTokenFile?: string;
  /** Where `webIdentityTokenFile` came from (profile, file and line), for messages. */
  webIdentityTokenFileOrigin?: string;
  /** `mfa_session_duration` of the profile: the role is assumed with an MFA session (GetSessionToken) of this many seconds, shared across processes. */
  mfaSessionDuration?: number;
  /** Advisory window in seconds. */
  advisoryTimeout?: number;
  /** Mandatory window in seconds. */
  mandatoryTimeout?: number;
}

/** The default `RoleSessionName` of the CLI. */
export const _DEFAULT_SESSION_NAME = "brs-cli";

function _origin(
  flag: string,
  profile: _Profile | undefined,
  key: string,
): string {
  if (profile === undefined || profile.source === "aws" && key === "") {
    return `'${flag}'`;
  }
  const line = profile.lines[key];
  return `'${key}' of profile '${profile.name}' in '${profile.file}'${
    line ? ` line ${line}` : ""
  }`;
}

function _pick<T>(
  flagValue: T | undefined,
  flag: string,
  profile: _Profile | undefined,
  key: keyof _Profile & string,
): { value: T | undefined; origin: string } {
  if (flagValue !== undefined) return { value: flagValue, origin: `'${flag}'` };
  const value = profile?.[key] as T | undefined;
  return {
    value,
    origin: value === undefined ? `'${flag}'` : _origin(flag, profile, key),
  };
}

function _invalid(
  what: string,
  origin: string,
  value: unknown,
  rule: string,
): BRSValidationError {
  return new BRSValidationError(
    `Cannot use ${what} from ${origin}: it must be ${rule}: got ${
      JSON.stringify(value)
    }`,
    { param: origin },
  );
}

function _checkString(
  what: string,
  picked: { value: string | undefined; origin: string },
  pattern: RegExp,
  rule: string,
): string | undefined {
  if (picked.value !== undefined && !pattern.test(picked.value)) {
    throw _invalid(what, picked.origin, picked.value, rule);
  }
  return picked.value;
}

function _checkInt(
  what: string,
  picked: { value: number | undefined; origin: string },
  min: number,
  max: number,
): number | undefined {
  const { value } = picked;
  if (
    value !== undefined &&
    (!Number.isInteger(value) || value < min || value > max)
  ) {
    throw _invalid(
      what,
      picked.origin,
      value,
      `an integer from ${min} to ${max}`,
    );
  }
  return value;
}

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

/** The environment variables that select a profile, in order, after `--profile`. */
export const _PROFILE_VARIABLES = [
  "BRS_PROFILE",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
] as const;

/**
 * The profile name the user asked for: `--profile`, then `BRS_PROFILE`,
 * `AWS_PROFILE`, `AWS_DEFAULT_PROFILE` (as the AWS CLI does), with where it
 * came from.
 */
export function _selectProfile(
  flags: { profile?: string },
): { name: string; origin: string; fromEnv: boolean } | undefined {
  if (flags.profile !== undefined) {
    return { name: flags.profile, origin: "--profile", fromEnv: false };
  }
  for (const variable of _PROFILE_VARIABLES) {
    const value = Deno.env.get(variable);
    if (value) return { name: value, origin: variable, fromEnv: true };
  }
  return undefined;
}

/**
 * Resolves flags (which win) and the profile into a checked request.
 *
 * @throws {BRSValidationError} A bad value, naming where it came from.
 * @throws {BRSConfigurationError} A missing profile, broken file, missing role.
 */
export async function _resolveRequest(flags: _SessionFlags): Promise<_Request> {
  const location = _configLocation(flags.config);
  const toml = await _loadTomlProfiles(location);
  const aws = await _loadAwsProfiles();
  const selected = _selectProfile(flags);
  const profileName = selected?.name ??
    (flags.roleArn === undefined &&
        (toml.has("default") || aws.get("default")?.role_arn !== undefined)
      ? "default"
      : undefined);
  const origin = selected?.origin ?? "the default profile";
  let profile: _Profile | undefined;
  let sourceProfile: string | undefined;
  if (profileName !== undefined) {
    const fromToml = toml.get(profileName);
    const fromAws = aws.get(profileName);
    if (fromToml !== undefined && fromAws?.role_arn !== undefined) {
      throw new BRSConfigurationError(
        `Cannot use profile '${profileName}' (from ${origin}) as it names two role profiles, one in '${fromToml.file}' and one in '${fromAws.file}': rename one of them`,
        { param: "--profile", code: "AmbiguousProfile" },
      );
    }
    profile = fromToml ?? fromAws;
    if (
      profile?.source === "aws" && selected?.fromEnv &&
      profile.role_arn === undefined && profile.credential_process !== undefined
    ) {
      // The profile whose credential_process started us (AWS_PROFILE=brs aws
      // ...): it is neither our profile nor our base credentials.
      profile = undefined;
    } else if (profile === undefined) {
      throw new BRSConfigurationError(
        `Cannot find profile '${profileName}' (from ${origin}) in '${location.path}' or '${_awsConfigPath()}': run 'brs profiles' to list the profiles`,
        { param: "--profile", code: "ProfileNotFound" },
      );
    } else if (profile.source === "aws") {
      for (const key of profile.unknown_keys ?? []) {
        await _err(
          `brs: warning: Ignoring unknown key '${key}' of profile '${profile.name}' in '${profile.file}' line ${
            profile.lines[key] ?? 0
          }`,
        );
      }
      if (profile.role_arn === undefined) {
        if (flags.roleArn === undefined) {
          throw new BRSConfigurationError(
            `Cannot use profile '${profileName}' (from ${origin}) of '${profile.file}' as it has no role_arn: give --role-arn ARN to assume a role with its credentials`,
            { param: "--profile" },
          );
        }
        sourceProfile = profileName;
      }
    }
  }
  const credentialSource = profile?.credential_source as string | undefined;
  if (
    credentialSource !== undefined &&
    !(_CREDENTIAL_SOURCES as readonly string[]).includes(credentialSource)
  ) {
    throw new BRSConfigurationError(
      `Cannot use '${profile!.file}' line ${
        profile!.lines.credential_source ?? 0
      }: profile '${profile!.name}' key 'credential_source' must be one of ${
        _CREDENTIAL_SOURCES.join(", ")
      }: got '${credentialSource}'`,
      { param: `${profile!.name}.credential_source`, code: "ConfigError" },
    );
  }
  if (
    profile?.credential_source !== undefined &&
    profile.source_profile !== undefined
  ) {
    throw new BRSConfigurationError(
      `Cannot use profile '${profile.name}' of '${profile.file}' as it has both source_profile and credential_source: keep one`,
      { param: "credential_source" },
    );
  }
  const roleArn = _checkString(
    "role ARN",
    _pick(flags.roleArn, "--role-arn", profile, "role_arn"),
    /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/,
    "an IAM role ARN such as arn:aws:iam::123456789012:role/NAME",
  );
  if (roleArn === undefined) {
    throw new BRSConfigurationError(
      "Cannot assume a role as none is given: pass --role-arn ARN or --profile NAME (see 'brs profiles')",
      { param: "--role-arn" },
    );
  }
  const roleSessionName = _checkString(
    "role session name",
    _pick(
      flags.roleSessionName,
      "--role-session-name",
      profile,
      "role_session_name",
    ),
    /^[\w+=,.@-]{2,64}$/,
    "2 to 64 characters of letters, digits and +=,.@_-",
  ) ?? _DEFAULT_SESSION_NAME;
  const durationSeconds = _checkInt(
    "duration",
    _pick(
      flags.durationSeconds,
      "--duration-seconds",
      profile,
      "duration_seconds",
    ),
    900,
    43200,
  );
  const serialPick = _pick(
    flags.serialNumber,
    "--serial-number",
    profile,
    "serial_number",
  );
  const serialNumber = _checkString(
    "MFA serial number",
    serialPick,
    /^[\w+=\/:,.@-]{9,256}$/,
    "an MFA device serial or ARN (9 to 256 characters)",
  );
  const externalId = _checkString(
    "external id",
    _pick(flags.externalId, "--external-id", profile, "external_id"),
    /^[\w+=,.@:\/-]{2,1224}$/,
    "2 to 1224 characters of letters, digits and +=,.@:/_-",
  );
  const region = _checkString(
    "region",
    _pick(flags.region, "--region", profile, "region"),
    /^[a-z0-9-]{2,32}$/,
    "a region name such as eu-west-1",
  );
  const endpointUrl = _checkEndpoint(
    _pick(flags.endpointUrl, "--endpoint-url", profile, "endpoint_url"),
  ) ?? (profile?.sts_regional_endpoints === "legacy"
    ? "https://sts.amazonaws.com"
    : undefined);
  const advisoryTimeout = _checkInt(
    "advisory timeout",
    _pick(undefined, "advisory_timeout", profile, "advisory_timeout"),
    0,
    43200,
  );
  const mandatoryTimeout = _checkInt(
    "mandatory timeout",
    _pick(undefined, "mandatory_timeout", profile, "mandatory_timeout"),
    0,
    43200,
  );
  const mfaPick = _pick<string[] | string>(
    flags.mfaCommand,
    "--mfa-command",
    profile,
    "mfa_command",
  );
  const mfaCommand = mfaPick.value;
  if (mfaCommand !== undefined && serialNumber === undefined) {
    throw new BRSConfigurationError(
      `Cannot use the MFA command from ${mfaPick.origin} as no MFA device is given: add --serial-number or serial_number`,
      { param: "--serial-number" },
    );
  }
  const mfaSessionPick = _pick<number>(
    undefined,
    "mfa_session_duration",
    profile,
    "mfa_session_duration",
  );
  const mfaSessionDuration = _checkInt(
    "MFA session duration",
    mfaSessionPick,
    900,
    129_600,
  );
  if (mfaSessionDuration !== undefined && serialNumber === undefined) {
    throw new BRSConfigurationError(
      `Cannot keep an MFA session for ${mfaSessionPick.origin} as no MFA device is given: add mfa_serial (~/.aws/config), serial_number (TOML) or --serial-number, or remove mfa_session_duration`,
      { param: "mfa_session_duration", code: "ConfigError" },
    );
  }
  const webIdentityTokenFile = _checkWebIdentity(profile, {
    serialNumber,
    externalId,
    mfaSessionDuration,
  });
  const allowedCommands = _allowedCommands(profile?.allowed_commands);
  const mfaStdinFile = _pick(
    flags.mfaStdinFile,
    "--mfa-stdin-file",
    profile,
    "mfa_stdin_file",
  ).value;
  if (mfaStdinFile !== undefined && mfaCommand === undefined) {
    throw new BRSConfigurationError(
      "Cannot use the MFA stdin file as no MFA command reads it: add --mfa-command, mfa_command (TOML) or mfa_process (~/.aws/config), e.g. 'oathtool --totp -b -'",
      { param: "--mfa-stdin-file", code: "ConfigError" },
    );
  }
  if (mfaCommand !== undefined) {
    // Checks the command (allowlist, no shell syntax) on every path, also
    // when the cache is warm and the command will not run. The MFA module
    // is loaded only for a profile that has an MFA command.
    const { createMfaTokenSource } = await import("../mfa.ts");
    createMfaTokenSource(mfaCommand, { allowedCommands });
    const { _warnSeedArgument } = await import("./_mfa_command.ts");
    await _warnSeedArgument(mfaCommand);
  }
  return {
    profileName,
    roleArn,
    roleSessionName,
    durationSeconds,
    serialNumber,
    externalId,
    mfaCommand,
    allowedCommands,
    ...(mfaStdinFile === undefined ? {} : { mfaStdinFile }),
    region,
    endpointUrl,
    sourceProfile: sourceProfile ?? profile?.source_profile,
    credentialSource: profile?.credential_source,
    webIdentityTokenFile,
    webIdentityTokenFileOrigin: webIdentityTokenFile === undefined
      ? undefined
      : _origin("", profile, "web_identity_token_file"),
    mfaSessionDuration,
    advisoryTimeout,
    mandatoryTimeout,
  };
}

/**
 * The token file of a web identity profile, checked: a non-empty path, and
 * none of the keys that AssumeRoleWithWebIdentity cannot take (it needs no
 * base credentials, and the AWS CLI lets such a profile go without
 * source_profile).
 */
function _checkWebIdentity(
  profile: _Profile | undefined,
  request: {
    serialNumber?: string;
    externalId?: string;
    mfaSessionDuration?: number;
  },
): string | undefined {
  const file = profile?.web_identity_token_file;
  if (profile === undefined || file === undefined) return undefined;
  const where = _origin("", profile, "web_identity_token_file");
  if (file.trim() === "") {
    throw new BRSConfigurationError(
      `Cannot use ${where}: it must be the path of the web identity token file: got an empty string`,
      { param: "web_identity_token_file", code: "ConfigError" },
    );
  }
  const clash = [
    profile.source_profile !== undefined && "source_profile",
    profile.credential_source !== undefined && "credential_source",
    request.serialNumber !== undefined &&
    (profile.source === "aws" ? "mfa_serial" : "serial_number"),
    request.externalId !== undefined && "external_id",
    request.mfaSessionDuration !== undefined && "mfa_session_duration",
  ].filter((key): key is string => typeof key === "string");
  if (clash.length > 0) {
    throw new BRSConfigurationError(
      `Cannot use profile '${profile.name}' of '${profile.file}' as it has web_identity_token_file and ${
        clash.join(", ")
      }: AssumeRoleWithWebIdentity takes no base credentials, MFA or external id; remove ${
        clash.length === 1 ? "it" : "them"
      } or web_identity_token_file`,
      { param: "web_identity_token_file", code: "ConfigError" },
    );
  }
  return file;
}

/** The region for STS: the request's, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
export function _stsRegion(request: _Request): string {
  return request.region ?? Deno.env.get("AWS_REGION") ??
    Deno.env.get("AWS_DEFAULT_REGION") ?? "us-east-1";
}

/** The region to give children, if one is known. */
export function _knownRegion(request: _Request): string | undefined {
  return request.region ?? Deno.env.get("AWS_REGION") ??
    Deno.env.get("AWS_DEFAULT_REGION");
}

/**
 * What identifies the credentials (never the MFA code): role, session name,
 * duration, serial, external id, endpoint, region, the base identity (see
 * `_baseIdentity`) and the MFA session's duration when one is used.
 */
export function _cacheMaterial(request: _Request): Record<string, unknown> {
  return {
    v: 1,
    role: request.roleArn,
    sessionName: request.roleSessionName,
    duration: request.durationSeconds,
    serial: request.serialNumber,
    externalId: request.externalId,
    endpoint: request.endpointUrl,
    region: _stsRegion(request),
    base: _baseIdentity(request),
    mfaSession: request.mfaSessionDuration,
  };
}

/**
 * What identifies an MFA session (never the code): the device, its
 * lifetime, the endpoint, the region and the base identity, so role profiles
 * sharing them share one MFA session.
 */
export function _mfaSessionMaterial(
  request: _Request,
): Record<string, unknown> {
  return {
    v: 1,
    kind: "mfa-session",
    serial: request.serialNumber,
    duration: request.mfaSessionDuration,
    endpoint: request.endpointUrl,
    region: _stsRegion(request),
    base: _baseIdentity(request),
  };
}

/** The base identity of a request: source profile, credential source, token file or base access key id. */
function _baseIdentity(request: _Request): string {
  const envKey = Deno.env.get("AWS_ACCESS_KEY_ID");
  return request.sourceProfile !== undefined
    ? `profile:${request.sourceProfile}`
    : request.credentialSource !== undefined
    ? `source:${request.credentialSource}`
    : request.webIdentityTokenFile !== undefined
    ? `web-identity:${request.webIdentityTokenFile}`
    : envKey
    ? `key:${envKey}`
    : "profile:default";
}

/**
 * The variable that marks the processes started by a base-credential lookup
 * of brs (a `credential_process`): a brs that finds it set stops at once,
 * as it would otherwise loop on itself.
 */
export const _LOOKUP_MARKER = "BRS_CREDENTIAL_LOOKUP";

/** Base-credential lookups in flight in this process (the marker is set while > 0). */
let _lookups = 0;

/** Fails at once inside a base-credential lookup of another brs. */
export function _checkNotNested(): void {
  const pid = Deno.env.get(_LOOKUP_MARKER);
  if (pid === undefined) return;
  throw new BRSConfigurationError(
    `Cannot get credentials inside the base-credential lookup of another brs (pid ${pid}), a credential_process loop: give brs base credentials that do not run brs (source_profile, credential_source, AWS_ACCESS_KEY_ID or [default] keys)`,
    { code: "CredentialLoop", param: _LOOKUP_MARKER },
  );
}

async function _credentialSourceProvider(
  source: NonNullable<_Request["credentialSource"]>,
): Promise<unknown> {
  const providers = await import("@aws-sdk/credential-providers");
  switch (source) {
    case "Environment":
      return providers.fromEnv();
    case "Ec2InstanceMetadata":
      return providers.fromInstanceMetadata();
    case "EcsContainer":
      return providers.fromContainerMetadata();
  }
}

async function _webIdentitySession(r: _Request): Promise<_SessionLike> {
  const { WebIdentityRefreshableSession } = await import(
    "../web_identity_session.ts"
  );
  return new WebIdentityRefreshableSession({
    assumeRoleWithWebIdentity: {
      RoleArn: r.roleArn,
      RoleSessionName: r.roleSessionName,
      ...(r.durationSeconds === undefined
        ? {}
        : { DurationSeconds: r.durationSeconds }),
    },
    webIdentityTokenFile: r.webIdentityTokenFile,
    stsClientConfig: {
      region: _stsRegion(r),
      ...(r.endpointUrl !== undefined ? { endpoint: r.endpointUrl } : {}),
    },
    deferRefresh: true,
    ...(r.advisoryTimeout === undefined
      ? {}
      : { advisoryTimeout: r.advisoryTimeout }),
    ...(r.mandatoryTimeout === undefined
      ? {}
      : { mandatoryTimeout: r.mandatoryTimeout }),
    ...(r.region === undefined ? {} : { region: r.region }),
  });
}

/**
 * A token-file error of the web identity session names the library option;
 * the user wrote `web_identity_token_file` in a profile: name that.
 */
function _inProfileTerms(request: _Request, error: unknown): unknown {
  const origin = request.webIdentityTokenFileOrigin;
  let current: unknown = error;
  for (let i = 0; i < 4 && current instanceof Error; i++) {
    if (
      current instanceof BRSConfigurationError &&
      current.param === "webIdentityTokenFile" && origin !== undefined
    ) {
      return new BRSConfigurationError(
        current.message.replace("'webIdentityTokenFile'", origin),
        {
          code: current.code,
          param: "web_identity_token_file",
          details: current.details,
          cause: current,
        },
      );
    }
    current = current.cause;
  }
  return error;
}

/**
 * When the base chain failed and the profile it fell back to (`[default]`,
 * or the source profile) runs a `credential_process`, that process was
 * stopped by the loop guard (or failed): say so in one line.
 */
async function _explainLoop(
  request: _Request,
  error: unknown,
): Promise<unknown> {
  if (
    request.credentialSource !== undefined ||
    request.webIdentityTokenFile !== undefined ||
    !String((error as Error)?.message ?? error).includes(
        "CredentialsProviderError",
      ) && !(error instanceof Error && _hasProviderError(error))
  ) return error;
  const name = request.sourceProfile ?? "default";
  const profile = (await _loadAwsProfiles().catch(() => undefined))?.get(name);
  if (profile?.credential_process === undefined) return error;
  return new BRSConfigurationError(
    `Cannot get base credentials as the credential_process of profile '${name}' (${profile.file}) failed, a credential_process loop if it runs brs: give brs base credentials that do not run brs (source_profile, credential_source or keys)`,
    { code: "CredentialLoop", param: name, cause: error },
  );
}

function _hasProviderError(error: Error): boolean {
  let current: unknown = error;
  for (let i = 0; i < 8 && current instanceof Error; i++) {
    if (current.name === "CredentialsProviderError") return true;
    current = current.cause;
  }
  return false;
}

/** One line for an SDK warning; the "Multiple credential sources" one in brs's words. */
function _sdkWarning(text: string, request: _Request): string {
  if (
    /Multiple credential sources/.test(text) &&
    request.sourceProfile !== undefined
  ) {
    return `Both source_profile '${request.sourceProfile}' and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are set: the base credentials come from source_profile '${request.sourceProfile}'`;
  }
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** The part of a session the CLI uses (see `STSRefreshableSession`). */
interface _SessionLike {
  refresh(options?: { force?: boolean }): Promise<TemporaryCredentials>;
  close(): Promise<void>;
}

/** Options of {@linkcode _CredentialSource}. */
export interface _CredentialSourceOptions {
  /** Use the file cache (default true). */
  cache?: boolean;
  /** Print debug lines on stderr. */
  debug?: boolean;
}

/**
 * The credentials of one request: from the file cache while fresh, else from
 * one `STSRefreshableSession` (created on first need, with a dynamic import)
 * under the cache's lock.
 */
export class _CredentialSource {
  readonly #request: _Request;
  readonly #cache: FileCache | undefined;
  readonly #debug: boolean;
  #session: _SessionLike | undefined;
  /** The MFA session, with `mfa_session_duration`. */
  #mfaSession: { get(): Promise<unknown> } | undefined;
  #key: string | undefined;

  /** Creates the source; nothing happens until {@linkcode _CredentialSource.prototype.get}. */
  constructor(request: _Request, options: _CredentialSourceOptions = {}) {
    this.#request = request;
    this.#cache = options.cache === false ? undefined : new FileCache();
    this.#debug = options.debug ?? false;
  }

  /** The request. */
  get request(): _Request {
    return this.#request;
  }

  /** Fresh credentials (registered as secrets for the output module). */
  async get(): Promise<TemporaryCredentials> {
    let credentials: TemporaryCredentials;
    if (this.#cache === undefined) {
      credentials = await this.#refresh();
    } else {
      this.#key ??= await FileCache.keyOf(_cacheMaterial(this.#request));
      const result = await this.#cache.getOrRefresh(
        this.#key,
        async () => ({
          credentials: await this.#refresh(),
          obtainedAt: new Date().toISOString(),
        }),
        { advisorySeconds: this.#request.advisoryTimeout ?? 900 },
      );
      if (result.source === "refresh") {
        await _writeCacheLabel(this.#cache.directory, this.#key, {
          role: this.#request.roleArn,
          profile: this.#request.profileName,
        });
      }
      if (result.warning !== undefined) {
        await _err(`brs: warning: ${result.warning}`);
      }
      if (this.#debug) {
        await _err(
          `brs: debug: credentials ${
            result.entry.credentials.accessKey.slice(0, 8)
          }... from ${result.source} (${this.#cache.directory}/${
            this.#key.slice(0, 12)
          }...), expire ${result.entry.credentials.expiryTime}`,
        );
      }
      credentials = result.entry.credentials;
    }
    _registerSecret(credentials.secretKey);
    _registerSecret(credentials.token);
    return credentials;
  }

  async #refresh(): Promise<TemporaryCredentials> {
    // The SDK writes some warnings (e.g. "Multiple credential sources
    // detected") with console.warn over several lines: one line each.
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...data: unknown[]): void => {
      warnings.push(data.map(String).join(" "));
    };
    // Every process the base-credential lookup starts (a credential_process)
    // carries the marker, so a brs started that way stops at once.
    if (_lookups++ === 0) Deno.env.set(_LOOKUP_MARKER, String(Deno.pid));
    try {
      this.#session ??= await this.#createSession();
      // First, so that its errors reach the user as they are.
      await this.#mfaSession?.get();
      return await this.#session.refresh({ force: true });
    } catch (error) {
      throw await _explainLoop(
        this.#request,
        _inProfileTerms(this.#request, error),
      );
    } finally {
      if (--_lookups === 0) Deno.env.delete(_LOOKUP_MARKER);
      console.warn = warn;
      for (const warning of warnings) {
        await _err(`brs: warning: ${_sdkWarning(warning, this.#request)}`);
      }
    }
  }

  async #createSession(): Promise<_SessionLike> {
    if (this.#debug) {
      await _err("brs: debug: loading the AWS SDK for a refresh");
    }
    // The profile variables selected our profile; they never pick the base.
    for (const name of _PROFILE_VARIABLES) Deno.env.delete(name);
    const r = this.#request;
    if (r.webIdentityTokenFile !== undefined) {
      return await _webIdentitySession(r);
    }
    const { STSRefreshableSession } = await import("../sts_session.ts");
    const assumeRole: Record<string, unknown> = {
      RoleArn: r.roleArn,
      RoleSessionName: r.roleSessionName,
    };
    if (r.durationSeconds !== undefined) {
      assumeRole.DurationSeconds = r.durationSeconds;
    }
    if (r.externalId !== undefined) assumeRole.ExternalId = r.externalId;
    let stsClientConfig: Record<string, unknown> = { region: _stsRegion(r) };
    if (r.endpointUrl !== undefined) stsClientConfig.endpoint = r.endpointUrl;
    if (r.sourceProfile !== undefined) {
      stsClientConfig.profile = r.sourceProfile;
    }
    if (r.credentialSource !== undefined) {
      stsClientConfig.credentials = await _credentialSourceProvider(
        r.credentialSource,
      );
    }
    if (r.mfaSessionDuration !== undefined && r.serialNumber !== undefined) {
      // The base credentials become the MFA session; the role is assumed
      // with them and no code (STS carries the MFA context).
      const mfa = await this.#createMfaSession(r, r.serialNumber, {
        ...stsClientConfig,
      });
      this.#mfaSession = mfa;
      stsClientConfig = {
        region: stsClientConfig.region,
        ...(r.endpointUrl !== undefined ? { endpoint: r.endpointUrl } : {}),
        credentials: mfa.provider,
      };
    } else if (r.serialNumber !== undefined) {
      assumeRole.SerialNumber = r.serialNumber;
    }
    const options: Record<string, unknown> = {
      assumeRole,
      stsClientConfig,
      deferRefresh: true,
    };
    // With an MFA session, AssumeRole takes no code. The MFA and prompt
    // modules load only when a refresh needs them.
    if (assumeRole.SerialNumber !== undefined && r.mfaCommand !== undefined) {
      const { _mfaCommandProvider } = await import("./_mfa_command.ts");
      options.mfaTokenProvider = _mfaCommandProvider(
        r.mfaCommand,
        r.allowedCommands,
        { debug: this.#debug, stdinFile: r.mfaStdinFile },
      );
    } else if (assumeRole.SerialNumber !== undefined) {
      options.mfaTokenProvider = (await import("./_tty_prompt.ts"))
        ._promptMfaCode;
    }
    if (r.advisoryTimeout !== undefined) {
      options.advisoryTimeout = r.advisoryTimeout;
    }
    if (r.mandatoryTimeout !== undefined) {
      options.mandatoryTimeout = r.mandatoryTimeout;
    }
    if (r.region !== undefined) options.region = r.region;
    return new STSRefreshableSession(
      options as unknown as ConstructorParameters<
        typeof STSRefreshableSession
      >[0],
    );
  }

  async #createMfaSession(
    r: _Request,
    serialNumber: string,
    clientConfig: Record<string, unknown>,
  ): Promise<import("./_mfa_session_source.ts")._MfaSessionSource> {
    const { _MfaSessionSource } = await import("./_mfa_session_source.ts");
    return new _MfaSessionSource({
      serialNumber,
      durationSeconds: r.mfaSessionDuration ?? 43_200,
      mfaCommand: r.mfaCommand,
      allowedCommands: r.allowedCommands,
      ...(r.mfaStdinFile === undefined ? {} : { stdinFile: r.mfaStdinFile }),
      debug: this.#debug,
      clientConfig,
      cache: this.#cache,
      key: await FileCache.keyOf(_mfaSessionMaterial(r)),
      advisorySeconds: r.advisoryTimeout ?? 900,
    });
  }

  /** Calls STS GetCallerIdentity with the assumed-role credentials. */
  async identity(): Promise<Identity> {
    const credentials = await this.get();
    const { STSClient } = await import("@aws-sdk/client-sts");
    const { _callerIdentity } = await import("../_caller_identity.ts");
    const client = new STSClient({
      region: _stsRegion(this.#request),
      ...(this.#request.endpointUrl
        ? { endpoint: this.#request.endpointUrl }
        : {}),
      credentials: {
        accessKeyId: credentials.accessKey,
        secretAccessKey: credentials.secretKey,
        sessionToken: credentials.token,
      },
    });
    try {
      return await _callerIdentity(
        client,
        60_000,
        "run again later",
      );
    } finally {
      client.destroy();
    }
  }

  /** Closes the session, if one was created. */
  async close(): Promise<void> {
    await this.#session?.close();
    this.#session = undefined;
  }
}

/**
 * Resolves a command's session flags into a request and opens its
 * credential source (file cache unless `--no-cache`); the caller closes it.
 *
 * @param flags The parsed session flags.
 * @returns The request and its source.
 */
export async function _openCredentialSource(
  flags: _SessionFlags,
): Promise<{ request: _Request; source: _CredentialSource }> {
  _checkNotNested();
  const request = await _resolveRequest(flags);
  const source = new _CredentialSource(request, {
    cache: flags.cache,
    debug: flags.debug,
  });
  return { request, source };
}
