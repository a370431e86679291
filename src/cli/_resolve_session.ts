/**
 * Runs a plan of the profile planner (`_plan.ts`): the leaf through the AWS
 * SDK's own provider (`fromProcess`, `fromContainerMetadata`,
 * `fromInstanceMetadata`, `fromEnv`, `fromSSO`, the default chain), the web
 * identity leaf and every AssumeRole hop through the project's engine, each
 * hop with its own region, endpoint and MFA. The credentials come through
 * the cross-process {@linkcode FileCache}, keyed by the plan and its base
 * identity. The AWS SDK and the session module are loaded with `import()`
 * only when a refresh is needed, so the warm path reads the profile files,
 * plans and prints.
 *
 * @module
 */

import { _controlEscape } from "../_redact.ts";
import {
  BRSConfigurationError,
  BRSError,
  BRSIdentityError,
  BRSRefreshError,
  BRSValidationError,
} from "../errors.ts";
import { FileCache } from "../cache/file_cache.ts";
import { _READ_CAPS, _readBoundedSync } from "../_read_bounded.ts";
import { _ownUid } from "../mfa/_secret_file.ts";
import { _keyIdHint } from "../engine/_key_id.ts";
import type { Identity, TemporaryCredentials } from "../types.ts";
import type { AwsCredentialIdentity } from "../engine/refreshable_session.ts";
import type { _SessionFlags } from "./_args.ts";
import { _err, _registerSecret } from "./_output.ts";
import { _allowedCommands } from "./_allowed_commands.ts";
import { _writeCacheLabel } from "./_cache_labels.ts";
import {
  _awsConfigPath,
  _awsCredentialsPath,
  _readAwsIni,
} from "./_aws_ini.ts";
import { _configLocation, _loadTomlProfiles } from "./_profiles_file.ts";
import {
  type _Hop,
  type _Leaf,
  type _Plan,
  _planCredentials,
  _PROFILE_VARIABLES,
} from "./_plan.ts";

export { _checkEndpoint, _DEFAULT_SESSION_NAME } from "./_plan.ts";

/** The environment as a plain record (what the planner reads). */
function _env(): Record<string, string | undefined> {
  return Deno.env.toObject();
}

/**
 * Reads the profile files and plans the credentials of the flags.
 *
 * @param flags The session flags.
 * @param env The environment (default: the process's).
 * @param options `allowLeafOnly`: accept a profile without a role (`clear`).
 * @returns The plan.
 * @throws {BRSConfigurationError} A missing, broken or cyclic profile.
 * @throws {BRSValidationError} A bad value, naming where it came from.
 */
export async function _loadPlan(
  flags: _SessionFlags,
  env: Record<string, string | undefined> = _env(),
  options: { allowLeafOnly?: boolean } = {},
): Promise<_Plan> {
  const location = _configLocation(flags.config);
  const toml = await _loadTomlProfiles(location);
  const configFile = _awsConfigPath(env);
  const credentialsFile = _awsCredentialsPath(env);
  return _planCredentials({
    config: await _readAwsIni(configFile, "config"),
    configFile,
    credentials: await _readAwsIni(credentialsFile, "credentials"),
    credentialsFile,
    toml,
    tomlFile: location.path,
    env,
    flags,
    ...options,
  });
}

/** The role the plan ends in (the last hop's, or the web identity leaf's). */
export function _finalRole(plan: _Plan): string | undefined {
  return plan.hops.at(-1)?.roleArn ??
    (plan.leaf.kind === "web-identity" ? plan.leaf.roleArn : undefined);
}

/**
 * The longest life a cached entry of this plan can have: the last hop's
 * requested duration (STS's default, an hour, when none is asked), or, for
 * a leaf with no hop, the longest a web identity or SSO role lasts.
 */
function _maxLifetime(plan: _Plan): number {
  const last = plan.hops.at(-1);
  if (last !== undefined) return last.durationSeconds ?? 3600;
  return plan.leaf.kind === "web-identity"
    ? plan.leaf.durationSeconds ?? 3600
    : 12 * 3600;
}

/**
 * The planner has applied the endpoint rules of the profile each call belongs
 * to (flags, environment, `[services]`, `endpoint_url`). Without this, the AWS
 * SDK would read `endpoint_url` of `AWS_PROFILE` or `[default]` for a call
 * that has no endpoint of its own, and send another profile's credentials (or
 * an SSO token) there.
 */
const _PLANNED_ENDPOINT = { ignoreConfiguredEndpointUrls: true } as const;

/** Region and endpoint of the last STS call of a plan (whoami uses them). */
function _lastSts(plan: _Plan): { region: string; endpointUrl?: string } {
  const hop = plan.hops.at(-1);
  if (hop !== undefined) return hop;
  if (plan.leaf.kind === "web-identity") return plan.leaf;
  const env = _env();
  const endpointUrl = plan.endpointUrl || env.AWS_ENDPOINT_URL_STS ||
    env.AWS_ENDPOINT_URL || undefined;
  return {
    region: plan.region ?? "us-east-1",
    ...(endpointUrl ? { endpointUrl } : {}),
  };
}

/** The region to give children, if one is known. */
export function _knownRegion(plan: _Plan): string | undefined {
  return plan.region;
}

/** The hex digest of a text (one-way: for identities, never for secrets). */
async function _hexDigest(
  algorithm: "SHA-1" | "SHA-256",
  text: string,
): Promise<string> {
  const digest = await crypto.subtle.digest(
    algorithm,
    new TextEncoder().encode(text),
  );
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * What identifies the base credentials of a plan, never a secret: a SHA-256
 * digest of a static access key id; the SSO start URL, account and role; the
 * process command; the token file and role; the credential source (with a
 * digest of the environment's key id for `Environment`).
 */
export async function _baseIdentity(
  leaf: _Leaf,
  env: Record<string, string | undefined> = _env(),
): Promise<Record<string, unknown>> {
  const digest = async (id: string | undefined): Promise<string | undefined> =>
    id ? `sha256:${await _hexDigest("SHA-256", id)}` : undefined;
  switch (leaf.kind) {
    case "keys":
      return { kind: "keys", key: await digest(leaf.keys.accessKeyId) };
    case "process":
      return { kind: "process", command: leaf.command };
    case "credential-source":
      return {
        kind: "credential-source",
        source: leaf.source,
        ...(leaf.source === "Environment"
          ? { key: await digest(env.AWS_ACCESS_KEY_ID) }
          : {}),
        ...(leaf.source === "EcsContainer"
          ? {
            uri: env.AWS_CONTAINER_CREDENTIALS_FULL_URI ??
              env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
          }
          : {}),
      };
    case "web-identity":
      return {
        kind: "web-identity",
        tokenFile: leaf.tokenFile,
        role: leaf.roleArn,
        sessionName: leaf.roleSessionName,
        duration: leaf.durationSeconds,
        region: leaf.region,
        endpoint: leaf.endpointUrl,
      };
    case "sso":
      return {
        kind: "sso",
        startUrl: leaf.startUrl,
        session: leaf.ssoSession,
        account: leaf.accountId,
        role: leaf.roleName,
      };
    case "default-chain":
      return {
        kind: "default-chain",
        webIdentity: env.AWS_WEB_IDENTITY_TOKEN_FILE,
        role: env.AWS_ROLE_ARN,
        container: env.AWS_CONTAINER_CREDENTIALS_FULL_URI ??
          env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
      };
  }
}

function _hopMaterial(hop: _Hop): Record<string, unknown> {
  return {
    role: hop.roleArn,
    sessionName: hop.roleSessionName,
    duration: hop.durationSeconds,
    serial: hop.serialNumber,
    externalId: hop.externalId,
    endpoint: hop.endpointUrl,
    region: hop.region,
    mfaSession: hop.mfaSessionDuration,
  };
}

/**
 * What identifies the credentials of a plan (never the MFA code or a
 * secret): the base identity, then every hop's role, session name,
 * duration, serial, external id, endpoint, region and MFA session.
 */
export async function _cacheMaterial(
  plan: _Plan,
): Promise<Record<string, unknown>> {
  return {
    v: 2,
    base: await _baseIdentity(plan.leaf),
    hops: plan.hops.map(_hopMaterial),
  };
}

/**
 * What identifies the MFA session of hop `index` (never the code): the
 * device, its lifetime, endpoint and region, and everything before it, so
 * role profiles sharing them share one MFA session.
 */
async function _mfaSessionMaterial(
  plan: _Plan,
  index: number,
): Promise<Record<string, unknown>> {
  const hop = plan.hops[index]!;
  return {
    v: 2,
    kind: "mfa-session",
    serial: hop.serialNumber,
    duration: hop.mfaSessionDuration,
    endpoint: hop.endpointUrl,
    region: hop.region,
    base: await _baseIdentity(plan.leaf),
    before: plan.hops.slice(0, index).map(_hopMaterial),
  };
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

/** The leaf in words, for `--debug` and errors. */
export function _describeLeaf(leaf: _Leaf): string {
  switch (leaf.kind) {
    case "keys":
      return `static keys ${
        leaf.keys.accessKeyId.slice(0, 8)
      }... (${leaf.origin})`;
    case "process":
      return `credential_process (${leaf.origin})`;
    case "credential-source": {
      const what = {
        Environment: "the environment's keys",
        Ec2InstanceMetadata: "EC2 instance metadata (IMDS)",
        EcsContainer: "the container credentials endpoint",
      }[leaf.source];
      return `credential_source ${leaf.source}: ${what} (${leaf.origin})`;
    }
    case "web-identity":
      return `web identity token file (${leaf.origin})`;
    case "sso":
      return `SSO ${leaf.startUrl} account ${leaf.accountId} role ${leaf.roleName} (${leaf.origin})`;
    case "default-chain":
      return "the AWS SDK's default chain";
  }
}

/** The plan in one line, for `--debug`. */
export function _describePlan(plan: _Plan): string {
  return [
    _describeLeaf(plan.leaf),
    ...plan.hops.map((h) =>
      `AssumeRole ${h.roleArn} (${h.region}${
        h.endpointUrl ? ` ${h.endpointUrl}` : ""
      })`
    ),
  ].join(" -> ");
}

/** The SSO token of `aws sso login`, checked; its absence is a configuration error. */
async function _checkSsoToken(
  leaf: Extract<_Leaf, { kind: "sso" }>,
  env: Record<string, string | undefined>,
): Promise<void> {
  const id = leaf.ssoSession ?? leaf.startUrl;
  // the file name `aws sso login` gives it
  const name = await _hexDigest("SHA-1", id);
  const file = `${env.HOME ?? "~"}/.aws/sso/cache/${name}.json`;
  const login = `run 'aws sso login --profile ${
    _controlEscape(leaf.profile ?? "")
  }'`;
  let problem: string | undefined;
  try {
    // a regular file only, read up to its cap: a FIFO or a device is refused
    // at once, never a hang
    const { bytes, info } = _readBoundedSync(file, {
      maxBytes: _READ_CAPS.token,
      what: "the SSO token cache file",
      message: (why) => `it ${why.replace(/: .*$/, "")}`,
    });
    const uid = _ownUid();
    const mode = info.mode ?? 0;
    if (uid !== undefined && info.uid !== null && info.uid !== uid) {
      // planted: a token of another account would sign our calls
      problem =
        `the SSO token file belongs to uid ${info.uid}, not to the user running brs (uid ${uid})`;
    } else if (Deno.build.os !== "windows" && (mode & 0o022) !== 0) {
      problem = `the SSO token file can be changed by other users (mode ${
        (mode & 0o777).toString(8).padStart(4, "0")
      })`;
    } else {
      const token = JSON.parse(new TextDecoder().decode(bytes)) as {
        accessToken?: unknown;
        expiresAt?: unknown;
      } | null;
      const expires = typeof token?.expiresAt === "string"
        ? Date.parse(token.expiresAt)
        : NaN;
      if (typeof token?.accessToken !== "string" || Number.isNaN(expires)) {
        problem = "the SSO token file is not one of 'aws sso login'";
      } else if (expires <= Date.now()) {
        problem = `the SSO token expired at ${new Date(expires).toISOString()}`;
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    problem = error instanceof Deno.errors.NotFound
      ? "there is no SSO token"
      : error instanceof BRSConfigurationError
      ? `the SSO token file ${error.message.slice(3)}`
      : error instanceof SyntaxError
      ? "the SSO token file is not one of 'aws sso login'"
      : "the SSO token file cannot be read";
  }
  if (problem !== undefined) {
    throw new BRSConfigurationError(
      `Cannot get SSO credentials of profile '${
        _controlEscape(leaf.profile ?? "")
      }' (${_controlEscape(leaf.startUrl)}) as ${problem} (${
        _controlEscape(file)
      }): ${login}`,
      { code: "SsoLoginNeeded", param: leaf.profile },
    );
  }
}

/** Whether a reply could not be read as JSON (an HTML page, a proxy's answer). */
function _notJson(error: unknown): boolean {
  let current: unknown = error;
  for (let i = 0; i < 8 && current instanceof Error; i++) {
    if (
      current instanceof SyntaxError ||
      /is not valid JSON|Unexpected token|Deserialization error/.test(
        current.message,
      )
    ) return true;
    current = current.cause;
  }
  return false;
}

/** A leaf failed: say which source failed, in one line. */
function _leafError(leaf: _Leaf, error: unknown): unknown {
  if (error instanceof BRSConfigurationError) return error;
  if (error instanceof Deno.errors.NotCapable) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (leaf.kind === "keys" || leaf.kind === "web-identity") return error;
  if (leaf.kind === "sso" && _notJson(error)) {
    const env = _env();
    const set = env.AWS_ENDPOINT_URL_SSO
      ? "AWS_ENDPOINT_URL_SSO"
      : env.AWS_ENDPOINT_URL
      ? "AWS_ENDPOINT_URL"
      : undefined;
    const endpoint = set === undefined
      ? `https://portal.sso.${leaf.ssoRegion}.amazonaws.com`
      : env[set]!;
    return new BRSRefreshError(
      `Cannot get base credentials from SSO as the SSO portal endpoint '${
        _controlEscape(endpoint)
      }'${
        set === undefined ? "" : ` (from ${set})`
      } answered with something that is not the portal's JSON: check AWS_ENDPOINT_URL_SSO (unset it for AWS's portal) and sso_region ('${
        _controlEscape(leaf.ssoRegion)
      }', ${leaf.origin}), the network and a proxy`,
      { code: "BaseCredentialsFailed", cause: error },
    );
  }
  // A brs run by credential_process said why on its stderr, which the SDK
  // appends to "Command failed: ...": that reason is the one to read.
  const child = leaf.kind === "process"
    ? message.match(/^brs: error: (.+)$/m)?.[1]
    : undefined;
  if (child !== undefined) {
    return new BRSConfigurationError(
      `Cannot get base credentials from ${
        _describeLeaf(leaf)
      } as the brs it runs failed: ${_controlEscape(child.slice(0, 400))}`,
      { code: "BaseCredentialsFailed", cause: error },
    );
  }
  const first = message.split("\n")[0]!.slice(0, 300);
  // A failing command is the profile's to fix (exit 2), as is a loop.
  const ErrorClass = leaf.kind === "process"
    ? BRSConfigurationError
    : BRSRefreshError;
  return new ErrorClass(
    `Cannot get base credentials from ${_describeLeaf(leaf)}: ${
      _controlEscape(first)
    }${
      leaf.kind === "process"
        ? "; check the command (a credential_process loop if it runs brs)"
        : leaf.kind === "sso"
        ? `; run 'aws sso login --profile ${
          _controlEscape(leaf.profile ?? "")
        }' if the SSO session has ended`
        : ""
    }`,
    { code: "BaseCredentialsFailed", cause: error },
  );
}

/** STS error codes that mean: these keys are unknown, wrong or expired. */
const _BAD_KEYS =
  /^(InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient(Exception)?|ExpiredToken(Exception)?)$/;

/**
 * STS refused the base credentials: one line naming where they are set
 * (the plan's leaf) and what to renew; other errors as they are.
 *
 * @param identity Whether GetCallerIdentity (not a refresh) failed.
 */
function _badBaseKeys(plan: _Plan, error: unknown, identity: boolean): unknown {
  const leaf = plan.leaf;
  if (leaf.kind === "sso" || leaf.kind === "web-identity") return error;
  if (error instanceof BRSError && error.code === "BaseCredentialsFailed") {
    return error;
  }
  let refused: { code: string; text: string } | undefined;
  let current: unknown = error;
  for (let i = 0; i < 8 && current instanceof Error; i++) {
    const code = String((current as { code?: unknown }).code ?? "");
    const name = _BAD_KEYS.test(current.name) ? current.name : code;
    if (!(current instanceof BRSError) && _BAD_KEYS.test(name)) {
      refused = {
        code: name,
        text: current.message.split("\n")[0]!.slice(0, 200).replace(
          /\.$/,
          "",
        ),
      };
      break;
    }
    current = current.cause;
  }
  if (refused === undefined) return error;
  const renew = leaf.kind === "keys"
    ? leaf.fromEnv
      ? "renew AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) of the environment"
      : `renew ${leaf.origin}`
    : leaf.kind === "process"
    ? `check what ${leaf.origin} prints`
    : leaf.kind === "credential-source"
    ? `check ${_describeLeaf(leaf)}`
    : "renew them: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, put keys in [default] of ~/.aws/credentials, or add source_profile";
  const Class = identity ? BRSIdentityError : BRSRefreshError;
  return new Class(
    `Cannot ${
      identity ? "get the identity" : "get credentials"
    } as STS refused the base credentials with ${refused.code} (${
      _controlEscape(refused.text)
    }): they are wrong or expired; ${renew}`,
    { code: "BaseCredentialsFailed", cause: error },
  );
}

/** The STS call's bound without `BRS_REFRESH_TIMEOUT`, in seconds. */
const _DEFAULT_REFRESH_TIMEOUT = 60;

/**
 * `BRS_REFRESH_TIMEOUT`: how long one STS call may take, in whole seconds
 * (1-3600, default 60), e.g. longer on a slow link.
 *
 * @throws {BRSValidationError} Anything but a whole number in range.
 */
export function _refreshTimeout(
  env: Record<string, string | undefined>,
): number {
  const raw = env.BRS_REFRESH_TIMEOUT;
  if (raw === undefined || raw === "") return _DEFAULT_REFRESH_TIMEOUT;
  const value = /^\s*\d{1,4}\s*$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= 3600)) {
    throw new BRSValidationError(
      `Cannot use BRS_REFRESH_TIMEOUT as it must be a whole number of seconds from 1 to 3600: got '${
        _controlEscape(raw.slice(0, 40))
      }'; unset it for ${_DEFAULT_REFRESH_TIMEOUT} s`,
      { param: "BRS_REFRESH_TIMEOUT" },
    );
  }
  return value;
}

/** The STS endpoints of a plan's calls, in words. */
function _stsEndpoints(plan: _Plan): string {
  const at = (s: { region: string; endpointUrl?: string }): string =>
    s.endpointUrl ?? `https://sts.${s.region}.amazonaws.com`;
  const all = [
    ...(plan.leaf.kind === "web-identity" ? [at(plan.leaf)] : []),
    ...plan.hops.map(at),
  ];
  const endpoints = [...new Set(all.length === 0 ? [at(_lastSts(plan))] : all)];
  return endpoints.map((e) => `'${_controlEscape(e)}'`).join(" or ");
}

/**
 * An STS call that timed out: one line naming the endpoint and what to
 * check, instead of the refresher's words nested in the session's.
 */
function _timedOut(plan: _Plan, error: unknown, seconds: number): unknown {
  let current: unknown = error;
  for (let i = 0; i < 8 && current instanceof Error; i++) {
    if (current instanceof BRSError && current.code === "RefreshTimeout") {
      const sso = plan.leaf.kind === "sso"
        ? ` (or the SSO portal of sso_region '${
          _controlEscape(plan.leaf.ssoRegion)
        }')`
        : "";
      return new BRSRefreshError(
        `Cannot get credentials as STS at ${
          _stsEndpoints(plan)
        }${sso} did not answer within ${seconds} s: check the endpoint (--endpoint-url, endpoint_url, AWS_ENDPOINT_URL_STS), the network and a proxy (HTTPS_PROXY, NO_PROXY); on a slow link, raise BRS_REFRESH_TIMEOUT (seconds)`,
        { code: "RefreshTimeout", cause: error },
      );
    }
    current = current.cause;
  }
  return error;
}

/** The part of a session the CLI uses (see `STSRefreshableSession`). */
interface _SessionLike {
  refresh(options?: { force?: boolean }): Promise<TemporaryCredentials>;
  close(): Promise<void>;
  credentialProvider: () => Promise<AwsCredentialIdentity>;
}

type _Provider = () => Promise<AwsCredentialIdentity>;

/** A running plan: the leaf's provider and one session per hop. */
interface _Chain {
  final(): Promise<TemporaryCredentials>;
  close(): Promise<void>;
  /** Checks the leaf once (its failure is reported as the leaf's). */
  leafCheck(): Promise<void>;
  mfaSessions: { get(): Promise<unknown> }[];
}

function _toTemporary(
  c: AwsCredentialIdentity,
  leaf: _Leaf,
): TemporaryCredentials {
  if (!c.sessionToken || c.expiration === undefined) {
    throw new BRSConfigurationError(
      `Cannot use ${
        _describeLeaf(leaf)
      } as the credentials of the plan as they are long-term keys (no session token or expiry): add a role_arn to assume with them`,
      { code: "ConfigError", param: leaf.profile },
    );
  }
  return {
    accessKey: c.accessKeyId,
    secretKey: c.secretAccessKey,
    token: c.sessionToken,
    expiryTime: c.expiration.toISOString(),
  };
}

/** Options of {@linkcode _CredentialSource}. */
export interface _CredentialSourceOptions {
  /** Use the file cache (default true). */
  cache?: boolean;
  /** Print debug lines on stderr. */
  debug?: boolean;
}

/**
 * The credentials of one plan: from the file cache while fresh, else from
 * running the plan (created on first need, with dynamic imports) under the
 * cache's lock.
 */
export class _CredentialSource {
  readonly #plan: _Plan;
  readonly #cache: FileCache | undefined;
  readonly #debug: boolean;
  #chain: _Chain | undefined;
  #key: string | undefined;
  #accessKeyId: string | undefined;
  /** How long one STS call may take, in seconds (`BRS_REFRESH_TIMEOUT`). */
  readonly #timeoutSeconds: number;

  /**
   * Creates the source; nothing happens until {@linkcode _CredentialSource.prototype.get}.
   *
   * @throws {BRSValidationError} A bad `BRS_REFRESH_TIMEOUT`.
   */
  constructor(plan: _Plan, options: _CredentialSourceOptions = {}) {
    this.#plan = plan;
    this.#cache = options.cache === false ? undefined : new FileCache();
    this.#debug = options.debug ?? false;
    this.#timeoutSeconds = _refreshTimeout(_env());
  }

  /** The plan. */
  get plan(): _Plan {
    return this.#plan;
  }

  /** Fresh credentials (registered as secrets for the output module). */
  async get(): Promise<TemporaryCredentials> {
    let credentials: TemporaryCredentials;
    if (this.#cache === undefined) {
      credentials = await this.#refresh();
    } else {
      this.#key ??= await FileCache.keyOf(await _cacheMaterial(this.#plan));
      const result = await this.#cache.getOrRefresh(
        this.#key,
        async () => ({
          credentials: await this.#refresh(),
          obtainedAt: new Date().toISOString(),
        }),
        {
          advisorySeconds: this.#plan.advisoryTimeout ?? 900,
          maxLifetimeSeconds: _maxLifetime(this.#plan),
        },
      );
      if (this.#debug && result.ignored !== undefined) {
        await _err(
          `brs: debug: ignored the cached entry ${this.#cache.directory}/${
            this.#key.slice(0, 12)
          }...json as ${result.ignored}`,
        );
      }
      if (result.source === "refresh") {
        await _writeCacheLabel(this.#cache.directory, this.#key, {
          role: _finalRole(this.#plan),
          profile: this.#plan.profileName,
        });
      }
      if (result.warning !== undefined) {
        await _err(`brs: warning: ${result.warning}`);
      }
      if (this.#debug) {
        await _err(
          `brs: debug: credentials ${
            _keyIdHint(result.entry.credentials.accessKey)
          } from ${result.source} (${this.#cache.directory}/${
            this.#key.slice(0, 12)
          }...), expire ${result.entry.credentials.expiryTime}`,
        );
      }
      credentials = result.entry.credentials;
    }
    _registerSecret(credentials.secretKey);
    _registerSecret(credentials.token);
    this.#accessKeyId = credentials.accessKey;
    return credentials;
  }

  /** The access key id that {@linkcode _CredentialSource.prototype.get} gave last, if any. */
  get accessKeyId(): string | undefined {
    return this.#accessKeyId;
  }

  async #refresh(): Promise<TemporaryCredentials> {
    // The SDK writes some warnings with console.warn over several lines:
    // one line each.
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...data: unknown[]): void => {
      warnings.push(data.map(String).join(" "));
    };
    // Every process the base-credential lookup starts (a credential_process)
    // carries the marker, so a brs started that way stops at once.
    if (_lookups++ === 0) Deno.env.set(_LOOKUP_MARKER, String(Deno.pid));
    try {
      this.#chain ??= await this.#build();
      await this.#chain.leafCheck();
      if (this.#debug) {
        await _err(
          `brs: debug: base credentials from ${_describeLeaf(this.#plan.leaf)}`,
        );
      }
      // First, so that their errors reach the user as they are.
      for (const mfa of this.#chain.mfaSessions) await mfa.get();
      return await this.#chain.final();
    } catch (error) {
      throw _timedOut(
        this.#plan,
        _badBaseKeys(this.#plan, _inProfileTerms(this.#plan, error), false),
        this.#timeoutSeconds,
      );
    } finally {
      if (--_lookups === 0) Deno.env.delete(_LOOKUP_MARKER);
      console.warn = warn;
      for (const warning of warnings) {
        await _err(
          `brs: warning: ${warning.replace(/\s*\n\s*/g, " ").trim()}`,
        );
      }
    }
  }

  async #leafProvider(): Promise<
    { provider: _Provider; session?: _SessionLike }
  > {
    const leaf = this.#plan.leaf;
    const env = _env();
    switch (leaf.kind) {
      case "keys": {
        const keys = leaf.keys;
        const identity: AwsCredentialIdentity = {
          accessKeyId: keys.accessKeyId,
          secretAccessKey: keys.secretAccessKey,
          ...(keys.sessionToken ? { sessionToken: keys.sessionToken } : {}),
        };
        return { provider: () => Promise.resolve(identity) };
      }
      case "web-identity": {
        const { WebIdentityRefreshableSession } = await import(
          "../sources/web_identity_session.ts"
        );
        const session = new WebIdentityRefreshableSession({
          assumeRoleWithWebIdentity: {
            RoleArn: leaf.roleArn,
            RoleSessionName: leaf.roleSessionName,
            ...(leaf.durationSeconds === undefined
              ? {}
              : { DurationSeconds: leaf.durationSeconds }),
          },
          webIdentityTokenFile: leaf.tokenFile,
          stsClientConfig: {
            region: leaf.region,
            ...(leaf.endpointUrl !== undefined
              ? { endpoint: leaf.endpointUrl }
              : {}),
            ..._PLANNED_ENDPOINT,
          },
          deferRefresh: true,
          ...this.#timeouts(this.#plan.hops.length === 0),
          region: leaf.region,
        }) as unknown as _SessionLike;
        return { provider: session.credentialProvider, session };
      }
      case "sso": {
        await _checkSsoToken(leaf, env);
        const { fromSSO } = await import("@aws-sdk/credential-providers");
        const endpoint = env.AWS_ENDPOINT_URL_SSO || env.AWS_ENDPOINT_URL;
        return {
          provider: fromSSO({
            ssoStartUrl: leaf.startUrl,
            ssoAccountId: leaf.accountId,
            ssoRegion: leaf.ssoRegion,
            ssoRoleName: leaf.roleName,
            ...(leaf.ssoSession === undefined
              ? {}
              : { ssoSession: leaf.ssoSession, profile: leaf.profile }),
            clientConfig: {
              region: leaf.ssoRegion,
              ...(endpoint ? { endpoint } : {}),
              ..._PLANNED_ENDPOINT,
            },
          }) as _Provider,
        };
      }
      case "process": {
        const { fromProcess } = await import("@aws-sdk/credential-providers");
        return {
          provider: fromProcess({ profile: leaf.profile }) as _Provider,
        };
      }
      case "credential-source": {
        const providers = await import("@aws-sdk/credential-providers");
        const provider = leaf.source === "Environment"
          ? providers.fromEnv()
          : leaf.source === "Ec2InstanceMetadata"
          ? providers.fromInstanceMetadata()
          : providers.fromContainerMetadata();
        return { provider: provider as _Provider };
      }
      case "default-chain": {
        // The profile variables selected our profile; they never pick the base.
        for (const name of _PROFILE_VARIABLES) Deno.env.delete(name);
        const { fromNodeProviderChain } = await import(
          "@aws-sdk/credential-providers"
        );
        return { provider: fromNodeProviderChain() as _Provider };
      }
    }
  }

  #timeouts(last: boolean): Record<string, number> {
    const p = this.#plan;
    const refreshTimeout = { refreshTimeout: this.#timeoutSeconds };
    if (!last) return refreshTimeout;
    return {
      ...refreshTimeout,
      ...(p.advisoryTimeout === undefined
        ? {}
        : { advisoryTimeout: p.advisoryTimeout }),
      ...(p.mandatoryTimeout === undefined
        ? {}
        : { mandatoryTimeout: p.mandatoryTimeout }),
    };
  }

  async #build(): Promise<_Chain> {
    if (this.#debug) {
      await _err(
        `brs: debug: loading the AWS SDK for a refresh; plan: ${
          _describePlan(this.#plan)
        }`,
      );
    }
    const plan = this.#plan;
    const leaf = plan.leaf;
    const { provider: rawLeaf, session: leafSession } = await this
      .#leafProvider();
    // The leaf's credentials, kept while fresh (every hop above asks).
    let held: AwsCredentialIdentity | undefined;
    const leafProvider: _Provider = async () => {
      if (
        held !== undefined &&
        (held.expiration === undefined ||
          held.expiration.getTime() - Date.now() > 300_000)
      ) return held;
      try {
        held = await rawLeaf();
      } catch (error) {
        throw _leafError(leaf, error);
      }
      return held;
    };
    const sessions: _SessionLike[] = leafSession ? [leafSession] : [];
    const mfaSessions: { get(): Promise<unknown> }[] = [];
    let previous = leafProvider;
    const { STSRefreshableSession } = plan.hops.length === 0
      ? { STSRefreshableSession: undefined }
      : await import("../sources/sts_session.ts");
    for (const [i, hop] of plan.hops.entries()) {
      const assumeRole: Record<string, unknown> = {
        RoleArn: hop.roleArn,
        RoleSessionName: hop.roleSessionName,
      };
      if (hop.durationSeconds !== undefined) {
        assumeRole.DurationSeconds = hop.durationSeconds;
      }
      if (hop.externalId !== undefined) assumeRole.ExternalId = hop.externalId;
      const client = {
        region: hop.region,
        ...(hop.endpointUrl !== undefined ? { endpoint: hop.endpointUrl } : {}),
        ..._PLANNED_ENDPOINT,
      };
      let credentials: _Provider = previous;
      if (hop.mfaSessionDuration !== undefined && hop.serialNumber) {
        // The hop's base becomes an MFA session; the role is assumed with
        // it and no code (STS carries the MFA context).
        const { _MfaSessionSource } = await import("./_mfa_session_source.ts");
        const mfa = new _MfaSessionSource({
          serialNumber: hop.serialNumber,
          durationSeconds: hop.mfaSessionDuration,
          mfaCommand: hop.mfaCommand,
          allowedCommands: _allowedCommands(hop.allowedCommands),
          ...(hop.mfaStdinFile === undefined
            ? {}
            : { stdinFile: hop.mfaStdinFile }),
          debug: this.#debug,
          clientConfig: { ...client, credentials: previous },
          cache: this.#cache,
          key: await FileCache.keyOf(await _mfaSessionMaterial(plan, i)),
          advisorySeconds: plan.advisoryTimeout ?? 900,
        });
        mfaSessions.push(mfa);
        credentials = mfa.provider as _Provider;
      } else if (hop.serialNumber !== undefined) {
        assumeRole.SerialNumber = hop.serialNumber;
      }
      const options: Record<string, unknown> = {
        assumeRole,
        stsClientConfig: { ...client, credentials },
        deferRefresh: true,
        region: hop.region,
        ...this.#timeouts(i === plan.hops.length - 1),
      };
      if (assumeRole.SerialNumber !== undefined && hop.mfaCommand) {
        const { _mfaCommandProvider } = await import("./_mfa_command.ts");
        options.mfaTokenProvider = _mfaCommandProvider(
          hop.mfaCommand,
          _allowedCommands(hop.allowedCommands),
          { debug: this.#debug, stdinFile: hop.mfaStdinFile },
        );
      } else if (assumeRole.SerialNumber !== undefined) {
        options.mfaTokenProvider = (await import("./_tty_prompt.ts"))
          ._promptMfaCode;
      }
      const session = new STSRefreshableSession!(
        options as unknown as ConstructorParameters<
          typeof STSRefreshableSession & (new (...args: never[]) => unknown)
        >[0],
      ) as unknown as _SessionLike;
      sessions.push(session);
      previous = session.credentialProvider;
    }
    const last = sessions.at(-1);
    return {
      mfaSessions,
      leafCheck: async () => {
        if (leafSession !== undefined) return;
        if (plan.hops.length === 0) held = undefined; // a refresh: new ones
        await leafProvider();
      },
      final: async () => {
        if (plan.hops.length > 0 || leafSession !== undefined) {
          return await last!.refresh({ force: true });
        }
        // the leaf's credentials that leafCheck just fetched
        return _toTemporary(await leafProvider(), leaf);
      },
      close: async () => {
        for (const session of sessions.reverse()) await session.close();
      },
    };
  }

  /** Calls STS GetCallerIdentity with the plan's credentials. */
  async identity(): Promise<Identity> {
    const credentials = await this.get();
    const { STSClient } = await import("@aws-sdk/client-sts");
    const { _callerIdentity } = await import("../engine/_caller_identity.ts");
    const sts = _lastSts(this.#plan);
    const client = new STSClient({
      region: sts.region,
      ...(sts.endpointUrl ? { endpoint: sts.endpointUrl } : {}),
      ..._PLANNED_ENDPOINT,
      credentials: {
        accessKeyId: credentials.accessKey,
        secretAccessKey: credentials.secretKey,
        sessionToken: credentials.token,
      },
    });
    try {
      return await _callerIdentity(
        client,
        this.#timeoutSeconds * 1000,
        "raise BRS_REFRESH_TIMEOUT on a slow link",
      );
    } catch (error) {
      // with hops, STS itself issued these credentials a moment ago
      throw this.#plan.hops.length === 0
        ? _badBaseKeys(this.#plan, error, true)
        : error;
    } finally {
      client.destroy();
    }
  }

  /** Closes the sessions, if any were created. */
  async close(): Promise<void> {
    await this.#chain?.close();
    this.#chain = undefined;
  }
}

/**
 * A token-file error of the web identity session names the library option;
 * the user wrote `web_identity_token_file` in a profile: name that.
 */
function _inProfileTerms(plan: _Plan, error: unknown): unknown {
  if (plan.leaf.kind !== "web-identity") return error;
  const origin = plan.leaf.origin;
  let current: unknown = error;
  for (let i = 0; i < 4 && current instanceof Error; i++) {
    if (
      current instanceof BRSConfigurationError &&
      current.param === "webIdentityTokenFile"
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
 * Plans a command's session flags and opens its credential source (file
 * cache unless `--no-cache`); the caller closes it.
 *
 * @param flags The parsed session flags.
 * @returns The plan and its source.
 */
export async function _openCredentialSource(
  flags: _SessionFlags,
): Promise<{ plan: _Plan; source: _CredentialSource }> {
  _checkNotNested();
  const plan = await _loadPlan(flags);
  for (const warning of plan.warnings) await _err(`brs: warning: ${warning}`);
  for (const hop of plan.hops) {
    if (hop.mfaCommand === undefined) continue;
    // Checks the command (allowlist, no shell syntax) on every path, also
    // when the cache is warm and the command will not run. The MFA module
    // is loaded only for a profile that has an MFA command.
    const { createMfaTokenSource } = await import("../mfa/mfa.ts");
    createMfaTokenSource(hop.mfaCommand, {
      allowedCommands: _allowedCommands(hop.allowedCommands),
    });
    const { _warnSeedArgument } = await import("./_mfa_command.ts");
    await _warnSeedArgument(hop.mfaCommand);
  }
  const source = new _CredentialSource(plan, {
    cache: flags.cache,
    debug: flags.debug,
  });
  return { plan, source };
}
