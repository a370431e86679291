/**
 * {@linkcode startLocalSso}: a local IAM Identity Center (SSO) portal for
 * tests, beside the local STS endpoint.
 *
 * @module
 */

import {
  _HttpServer,
  _MAX_BODY_BYTES,
  type _ProtocolProblem,
  type _RawRequest,
  type _Reply,
} from "./_http.ts";
import { type _RoleIssuer, _roleIssuerOf } from "./_role_issuer.ts";
import { _FaultQueue, type _Outcome, _pushCapped, _settle } from "./_faults.ts";
import type { LocalSts } from "./local_sts.ts";
import { writeSsoTokenCache } from "./sso_token_cache.ts";

/**
 * Options of {@linkcode startLocalSso}.
 *
 * @example Usage
 * ```ts
 * import {
 *   type LocalSsoOptions,
 *   startLocalSso,
 *   startLocalSts,
 * } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * const options: LocalSsoOptions = {
 *   sts,
 *   region: "eu-west-1",
 *   accounts: { "111122223333": ["ReadOnly", "Admin"] },
 *   // Short-lived role credentials for refresh tests:
 *   credentialLifetimeSeconds: 5,
 * };
 * await using sso = await startLocalSso(options);
 * assertEquals(sso.region, "eu-west-1");
 * ```
 */
export interface LocalSsoOptions {
  /**
   * The local STS (from `startLocalSts()`) that accepts the role credentials
   * the portal hands out: they sign requests to it like keys it issued.
   */
  sts: LocalSts;
  /**
   * The TCP port on 127.0.0.1; `0` picks a free one.
   *
   * @default {0}
   */
  port?: number;
  /**
   * The portal's region (`sso_region`).
   *
   * @default {"us-east-1"}
   */
  region?: string;
  /**
   * The portal's start URL (`sso_start_url`).
   *
   * @default {"https://brs-local.awsapps.com/start"}
   */
  startUrl?: string;
  /**
   * The accounts the signed-in user may use: 12-digit account id to the
   * names of its permission sets (roles).
   *
   * @default {{ [sts.accountId]: ["AdministratorAccess"] }}
   */
  accounts?: Record<string, string[]>;
  /**
   * The signed-in user's name: the role session name of the credentials.
   *
   * @default {"brs-local-user"}
   */
  userName?: string;
  /**
   * Seconds a minted access token lives (8 hours, as in IAM Identity Center).
   *
   * @default {28800}
   */
  tokenLifetimeSeconds?: number;
  /**
   * Seconds the role credentials live (the permission set's session
   * duration); any value > 0 is accepted.
   * @default {the local STS's `credentialLifetimeSeconds`, else 3600}
   */
  credentialLifetimeSeconds?: number;
  /**
   * Milliseconds added before every reply.
   *
   * @default {0}
   */
  latencyMs?: number;
}

/**
 * A fault that {@linkcode LocalSso.injectFault} makes the portal answer with.
 *
 * @example Usage
 * ```ts
 * import { type LocalSsoFault, startLocalSso, startLocalSts } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * await using sso = await startLocalSso({ sts });
 * const fault: LocalSsoFault = { kind: "outage", times: 1 };
 * sso.injectFault(fault);
 * const reply = await fetch(`${sso.url}/federation/credentials`);
 * await reply.body?.cancel();
 * assertEquals(reply.status, 503);
 * ```
 */
export interface LocalSsoFault {
  /**
   * What happens:
   * - `"throttle"`: 429 `TooManyRequestsException`
   * - `"server-error"`: 500 `InternalServerException`
   * - `"outage"`: 503 `ServiceUnavailableException`
   * - `"drop"`: the connection is closed without a reply
   * - `"hang"`: no reply until the client gives up or the portal closes
   */
  kind: "throttle" | "server-error" | "outage" | "drop" | "hang";
  /**
   * How many matching requests it hits; when unset, every one until {@linkcode LocalSso.clearFaults}.
   *
   * @default {undefined}
   */
  times?: number;
  /**
   * The operations it hits, e.g. `["GetRoleCredentials"]`; when unset, all of them.
   *
   * @default {undefined}
   */
  operations?: string[];
}

/**
 * Requests per operation that reached the portal (faulted and refused ones
 * included; unknown paths are not counted).
 *
 * @example Usage
 * ```ts
 * import { type LocalSsoCalls, startLocalSso, startLocalSts } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * await using sso = await startLocalSso({ sts });
 * const snapshot: LocalSsoCalls = { ...sso.calls };
 * assertEquals(snapshot.GetRoleCredentials, 0);
 * ```
 */
export interface LocalSsoCalls {
  /** `GetRoleCredentials` (`GET /federation/credentials`). */
  GetRoleCredentials: number;
  /** `ListAccounts` (`GET /assignment/accounts`). */
  ListAccounts: number;
  /** `ListAccountRoles` (`GET /assignment/roles`). */
  ListAccountRoles: number;
  /** `Logout` (`POST /logout`). */
  Logout: number;
  /** The OIDC `CreateToken` with a refresh token (`POST /token`). */
  CreateToken: number;
  /** The sum of the above. */
  total: number;
}

/**
 * One answered request in {@linkcode LocalSso.requests}. Holds no token.
 *
 * @example Usage
 * ```ts
 * import { type LocalSsoRequestRecord, startLocalSso, startLocalSts } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * await using sso = await startLocalSso({ sts });
 * const reply = await fetch(`${sso.url}/assignment/accounts`);
 * await reply.body?.cancel();
 * const record: LocalSsoRequestRecord | undefined = sso.requests[0];
 * assertEquals(record?.errorCode, "UnauthorizedException");
 * ```
 */
export interface LocalSsoRequestRecord {
  /** The operation, e.g. `"GetRoleCredentials"` (`""` for an unknown path). */
  operation: string;
  /** The HTTP status sent; `0` for a dropped or hanging request. */
  status: number;
  /** The error code sent, if any. */
  errorCode?: string;
  /** The injected fault that answered, if any. */
  fault?: LocalSsoFault["kind"];
  /** The `x-amzn-RequestId` sent. */
  requestId: string;
  /** When it was answered (ms since the epoch). */
  at: number;
}

/**
 * A token minted by {@linkcode LocalSso.mintToken}: what `aws sso login`
 * gets from IAM Identity Center. Holds secrets: keep it out of logs.
 *
 * @example Usage
 * ```ts
 * import { type LocalSsoToken, startLocalSso, startLocalSts } from "@brs/session/testing";
 * import { assert } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * await using sso = await startLocalSso({ sts });
 * const token: LocalSsoToken = sso.mintToken({ lifetimeSeconds: 600 });
 * assert(token.expiresAt.getTime() > Date.now());
 * ```
 */
export interface LocalSsoToken {
  /** The bearer token (`x-amz-sso_bearer_token`). */
  accessToken: string;
  /** When it expires (whole seconds). */
  expiresAt: Date;
  /** The refresh token, for the OIDC `CreateToken` call. */
  refreshToken: string;
  /** The OIDC client registration's id. */
  clientId: string;
  /** The OIDC client registration's secret. */
  clientSecret: string;
  /** When the client registration expires (90 days, as IAM Identity Center). */
  registrationExpiresAt: Date;
}

/**
 * What {@linkcode LocalSso.login} wrote: the token and the cache file.
 *
 * @example Usage
 * ```ts
 * import type { LocalSsoLogin } from "@brs/session/testing";
 *
 * function cacheFile(login: LocalSsoLogin): string {
 *   return login.path;
 * }
 * ```
 */
export interface LocalSsoLogin extends LocalSsoToken {
  /** The token cache file written (`HOME/.aws/sso/cache/<sha1>.json`). */
  path: string;
}

/**
 * A running local IAM Identity Center portal: see {@linkcode startLocalSso}.
 * Dispose of it (`await using`, or {@linkcode LocalSso.close}) to free its
 * port and connections.
 *
 * @example Usage
 * ```ts
 * import { startLocalSso, startLocalSts } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * await using sso = await startLocalSso({ sts });
 * const token = sso.mintToken();
 * const reply = await fetch(
 *   `${sso.url}/federation/credentials?role_name=AdministratorAccess&account_id=${sts.accountId}`,
 *   { headers: { "x-amz-sso_bearer_token": token.accessToken } },
 * );
 * const { roleCredentials } = await reply.json();
 * assertEquals(roleCredentials.accessKeyId.slice(0, 4), "ASIA");
 * assertEquals(sso.calls.GetRoleCredentials, 1);
 * ```
 */
export interface LocalSso extends AsyncDisposable {
  /**
   * The portal, e.g. `http://127.0.0.1:41234`: set `AWS_ENDPOINT_URL_SSO`
   * (and `AWS_ENDPOINT_URL_SSO_OIDC` for token refreshes) to it, or pass it
   * as the SSO client's `endpoint`.
   */
  readonly url: string;
  /** The portal's region (`sso_region`). */
  readonly region: string;
  /** The portal's start URL (`sso_start_url`). */
  readonly startUrl: string;
  /** The signed-in user's name (the role session name). */
  readonly userName: string;
  /** Live counts of requests per operation (copy with `{ ...sso.calls }` for a snapshot). */
  readonly calls: Readonly<LocalSsoCalls>;
  /** Live log of answered requests, oldest first (the last 10 000 at most). */
  readonly requests: readonly LocalSsoRequestRecord[];
  /** Milliseconds added before every reply (abortable by `close()`). */
  latencyMs: number;
  /**
   * The role ARN behind a permission set, as IAM Identity Center names it:
   * `arn:aws:iam::ACCOUNT:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ROLE_<16 hex>`.
   * Credentials of the role call `GetCallerIdentity` as
   * `arn:aws:sts::ACCOUNT:assumed-role/AWSReservedSSO_ROLE_<16 hex>/USER`.
   *
   * @param accountId The 12-digit account.
   * @param roleName The permission set's name.
   * @returns The role's ARN.
   */
  roleArn(accountId: string, roleName: string): string;
  /**
   * Mints an access token (with a refresh token and a client registration)
   * as a sign-in would. A lifetime <= 0 gives an already expired token.
   *
   * @param options The token's lifetime in seconds (default: `tokenLifetimeSeconds`).
   * @returns The token; it holds secrets.
   */
  mintToken(options?: { lifetimeSeconds?: number }): LocalSsoToken;
  /**
   * Does what `aws sso login` does: mints a token and writes it to the token
   * cache of `home` (see `writeSsoTokenCache`), keyed by `sessionName` (for
   * an `[sso-session NAME]` profile, with a refresh token) or by the start
   * URL (for a legacy profile with `sso_start_url`, without one).
   *
   * @param options The home directory, the `sso_session` name, the token's lifetime.
   * @returns The token and the file written.
   * @throws {TypeError} If `home` is missing or a directory in the way is a link or a file.
   */
  login(options: {
    home: string;
    sessionName?: string;
    lifetimeSeconds?: number;
  }): Promise<LocalSsoLogin>;
  /**
   * Makes a minted access token (or, without an argument, every one) expired
   * on the portal: requests with it get 401 `UnauthorizedException`, while
   * the cache file still says it is valid.
   *
   * @param accessToken The token to expire; all minted tokens when left out.
   * @throws {TypeError} If `accessToken` was not minted by this portal.
   */
  expireToken(accessToken?: string): void;
  /**
   * Makes the portal answer matching requests with a fault, checked in the
   * order injected, before the token is.
   *
   * @param fault The kind, and optionally how many requests and which operations it hits.
   * @throws {TypeError} If the fault's kind, times or operations are invalid.
   */
  injectFault(fault: LocalSsoFault): void;
  /** Removes every injected fault. */
  clearFaults(): void;
  /** Sets every count of {@linkcode LocalSso.calls} to 0 and empties {@linkcode LocalSso.requests}. */
  resetCalls(): void;
  /** Stops the portal, ends open connections and pending replies. Idempotent. */
  close(): Promise<void>;
}

const OPERATIONS = [
  "GetRoleCredentials",
  "ListAccounts",
  "ListAccountRoles",
  "Logout",
  "CreateToken",
] as const;
type Operation = typeof OPERATIONS[number];

const FAULT_KINDS: readonly LocalSsoFault["kind"][] = [
  "throttle",
  "server-error",
  "outage",
  "drop",
  "hang",
];

const PORTAL_ERROR_NAMESPACE =
  "http://internal.amazon.com/coral/com.amazon.switchboard.portal/";
const UNAUTHORIZED_MESSAGE = "Session token not found or invalid";
const REGISTRATION_SECONDS = 90 * 24 * 3600;
const PERMISSION_SET_PATTERN = /^[\w+=,.@-]{1,32}$/;
const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;

class PortalError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** OIDC errors carry `error` / `error_description` instead of `message`. */
    readonly oidcError?: string,
  ) {
    super(message);
  }
}

interface MintedToken {
  expiresAt: number;
  expired: boolean;
}

type Outcome = _Outcome<LocalSsoFault["kind"]>;

function randomText(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...data)).replace(/\+/g, "-").replace(
    /\//g,
    "_",
  ).replace(/=+$/, "");
}

function checkLifetime(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(
      `Cannot configure local SSO portal as '${name}' must be a number > 0: got ${
        String(value)
      }`,
    );
  }
  return value;
}

function checkLatency(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `Cannot configure local SSO portal as 'latencyMs' must be a finite number >= 0: got ${
        String(value)
      }`,
    );
  }
  return value;
}

/** A stable 16-hex-digit suffix, like the one IAM Identity Center gives a permission set's role. */
async function roleSuffix(seed: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(seed),
  );
  return [...new Uint8Array(digest).subarray(0, 8)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Starts a local IAM Identity Center (SSO) portal on 127.0.0.1 for tests: the
 * portal API as the AWS SDKs' SSO clients call it, with the error shapes the
 * real service sends, so that the AWS SDK's own `fromSSO` provider (and
 * botocore's) work against it with a token cache written like
 * `aws sso login` writes it.
 *
 * - `GetRoleCredentials` (`GET /federation/credentials?role_name=&account_id=`
 *   with the `x-amz-sso_bearer_token` header) returns role credentials that
 *   the local STS `sts` accepts (issued by it directly, without an STS call):
 *   `GetCallerIdentity` with them answers
 *   `arn:aws:sts::ACCOUNT:assumed-role/AWSReservedSSO_ROLE_<hex>/USER`, and
 *   they can assume further roles (role chaining, as with real SSO
 *   credentials).
 * - `ListAccounts` and `ListAccountRoles` (`GET /assignment/...`) list the
 *   `accounts`; `Logout` (`POST /logout`) ends the token.
 * - The OIDC `CreateToken` with `grantType: "refresh_token"` (`POST /token`)
 *   trades a refresh token for a new access token, as the SDKs do when a
 *   token is within 5 minutes of expiry: point `AWS_ENDPOINT_URL_SSO_OIDC`
 *   at the portal too.
 *
 * Errors: a missing, unknown, expired or logged-out token is 401
 * `UnauthorizedException` ("Session token not found or invalid"); an account
 * or role the user has no access to is 403 `ForbiddenException`
 * ("No access"); a missing parameter 400 `InvalidRequestException`; a bad
 * refresh token 400 `InvalidGrantException`, a bad client 401
 * `InvalidClientException`. The token's expiry is checked against the real
 * clock; `mintToken({ lifetimeSeconds })` and `expireToken()` make expired
 * tokens without waiting.
 *
 * Permissions: `--allow-net=127.0.0.1`, plus `--allow-read` and
 * `--allow-write` of `HOME/.aws` for `login()`.
 *
 * @param options The local STS, and the port, region, start URL, accounts, user and lifetimes.
 * @returns The running portal; dispose of it with `await using` or `close()`.
 * @throws {TypeError} If an option is invalid (e.g. `sts` is not a handle of `startLocalSts()`).
 * @throws {Deno.errors.AddrInUse} If `port` is taken.
 *
 * @example Usage
 * ```ts
 * import { startLocalSso, startLocalSts } from "@brs/session/testing";
 * import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts({ accountId: "111122223333" });
 * await using sso = await startLocalSso({
 *   sts,
 *   accounts: { "111122223333": ["Developer"] },
 *   userName: "alice",
 * });
 * // What the AWS SDK's SSO client sends (with a profile: write the token
 * // cache with `await sso.login({ home })` and set AWS_ENDPOINT_URL_SSO).
 * const { accessToken } = sso.mintToken();
 * const reply = await fetch(
 *   `${sso.url}/federation/credentials?role_name=Developer&account_id=111122223333`,
 *   { headers: { "x-amz-sso_bearer_token": accessToken } },
 * );
 * const { roleCredentials: c } = await reply.json();
 * const client = new STSClient({
 *   region: "us-east-1",
 *   endpoint: sts.url,
 *   credentials: {
 *     accessKeyId: c.accessKeyId,
 *     secretAccessKey: c.secretAccessKey,
 *     sessionToken: c.sessionToken,
 *   },
 * });
 * const { Arn } = await client.send(new GetCallerIdentityCommand({}));
 * client.destroy();
 * const role = sso.roleArn("111122223333", "Developer").split("/").at(-1);
 * assertEquals(Arn, `arn:aws:sts::111122223333:assumed-role/${role}/alice`);
 * ```
 */
export async function startLocalSso(
  options: LocalSsoOptions,
): Promise<LocalSso> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      "Cannot start local SSO portal as the options must be an object with 'sts'",
    );
  }
  const issuer = _roleIssuerOf(options.sts);
  if (!issuer) {
    throw new TypeError(
      "Cannot start local SSO portal as 'sts' must be a running local STS from startLocalSts()",
    );
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(
      `Cannot start local SSO portal as 'port' must be an integer from 0 to 65535: got ${
        String(port)
      }`,
    );
  }
  const region = options.region ?? "us-east-1";
  if (
    typeof region !== "string" || !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region)
  ) {
    throw new TypeError(
      `Cannot start local SSO portal as 'region' must be a region name like 'us-east-1': got '${
        String(region)
      }'`,
    );
  }
  const startUrl = options.startUrl ?? "https://brs-local.awsapps.com/start";
  if (typeof startUrl !== "string" || !URL.canParse(startUrl)) {
    throw new TypeError(
      `Cannot start local SSO portal as 'startUrl' must be a URL: got '${
        String(startUrl)
      }'`,
    );
  }
  const userName = options.userName ?? "brs-local-user";
  if (typeof userName !== "string" || !SESSION_NAME_PATTERN.test(userName)) {
    throw new TypeError(
      `Cannot start local SSO portal as 'userName' must be 2-64 characters of [\\w+=,.@-]: got '${
        String(userName)
      }'`,
    );
  }
  const accounts = new Map<string, string[]>();
  for (
    const [account, roles] of Object.entries(
      options.accounts ?? { [options.sts.accountId]: ["AdministratorAccess"] },
    )
  ) {
    if (!/^\d{12}$/.test(account)) {
      throw new TypeError(
        `Cannot start local SSO portal as the accounts must be 12-digit ids: got '${account}'`,
      );
    }
    if (
      !Array.isArray(roles) ||
      roles.some((r) =>
        typeof r !== "string" || !PERMISSION_SET_PATTERN.test(r)
      )
    ) {
      throw new TypeError(
        `Cannot start local SSO portal as the roles of account '${account}' must be permission set names of 1-32 characters of [\\w+=,.@-]`,
      );
    }
    accounts.set(account, [...roles]);
  }
  const tokenLifetimeSeconds = checkLifetime(
    options.tokenLifetimeSeconds ?? 28800,
    "tokenLifetimeSeconds",
  );
  if (options.credentialLifetimeSeconds !== undefined) {
    checkLifetime(
      options.credentialLifetimeSeconds,
      "credentialLifetimeSeconds",
    );
  }
  const latencyMs = checkLatency(options.latencyMs ?? 0);
  const roleArns = new Map<string, string>();
  for (const [account, roles] of accounts) {
    for (const role of roles) {
      roleArns.set(
        `${account}/${role}`,
        `arn:aws:iam::${account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_${role}_${await roleSuffix(
          `${startUrl}|${account}|${role}`,
        )}`,
      );
    }
  }
  const listener = Deno.listen({
    hostname: "127.0.0.1",
    port,
    transport: "tcp",
  });
  return new LocalSsoServer(listener, {
    issuer,
    sts: options.sts,
    region,
    startUrl,
    userName,
    accounts,
    roleArns,
    tokenLifetimeSeconds,
    credentialLifetimeSeconds: options.credentialLifetimeSeconds,
    latencyMs,
  });
}

interface ServerConfig {
  issuer: _RoleIssuer;
  sts: LocalSts;
  region: string;
  startUrl: string;
  userName: string;
  accounts: Map<string, string[]>;
  roleArns: Map<string, string>;
  tokenLifetimeSeconds: number;
  credentialLifetimeSeconds: number | undefined;
  latencyMs: number;
}

class LocalSsoServer implements LocalSso {
  readonly url: string;
  readonly region: string;
  readonly startUrl: string;
  readonly userName: string;
  readonly #config: ServerConfig;
  readonly #server: _HttpServer;
  readonly #calls: LocalSsoCalls = {
    GetRoleCredentials: 0,
    ListAccounts: 0,
    ListAccountRoles: 0,
    Logout: 0,
    CreateToken: 0,
    total: 0,
  };
  readonly #requests: LocalSsoRequestRecord[] = [];
  readonly #tokens = new Map<string, MintedToken>();
  /** Refresh token to the client id it was issued to; used ones are removed. */
  readonly #refreshTokens = new Map<string, string>();
  /** Client id to its secret and expiry (ms). */
  readonly #clients = new Map<string, { secret: string; expiresAt: number }>();
  readonly #faults = new _FaultQueue(
    FAULT_KINDS,
    "operations",
    OPERATIONS.join(", "),
    (name: string) => (OPERATIONS as readonly string[]).includes(name),
  );
  #latencyMs: number;

  constructor(listener: Deno.Listener, config: ServerConfig) {
    const addr = listener.addr as Deno.NetAddr;
    this.url = `http://127.0.0.1:${addr.port}`;
    this.region = config.region;
    this.startUrl = config.startUrl;
    this.userName = config.userName;
    this.#config = config;
    this.#latencyMs = config.latencyMs;
    this.#server = new _HttpServer(listener, {
      handle: (request) => this.#handle(request),
      problem: (problem) => this.#problem(problem),
    });
  }

  get calls(): Readonly<LocalSsoCalls> {
    return this.#calls;
  }

  get requests(): readonly LocalSsoRequestRecord[] {
    return this.#requests;
  }

  get latencyMs(): number {
    return this.#latencyMs;
  }
  set latencyMs(value: number) {
    this.#latencyMs = checkLatency(value);
  }

  roleArn(accountId: string, roleName: string): string {
    const arn = this.#config.roleArns.get(`${accountId}/${roleName}`);
    if (arn === undefined) {
      throw new TypeError(
        `Cannot name the role as account '${accountId}' has no permission set '${roleName}' on this portal`,
      );
    }
    return arn;
  }

  mintToken(options: { lifetimeSeconds?: number } = {}): LocalSsoToken {
    const lifetime = options.lifetimeSeconds ??
      this.#config.tokenLifetimeSeconds;
    if (typeof lifetime !== "number" || !Number.isFinite(lifetime)) {
      throw new TypeError(
        `Cannot mint SSO token as 'lifetimeSeconds' must be a finite number: got ${
          String(lifetime)
        }`,
      );
    }
    const clientId = randomText(16);
    const clientSecret = randomText(96);
    const registrationExpiresAt =
      Math.floor((Date.now() + REGISTRATION_SECONDS * 1000) / 1000) * 1000;
    this.#clients.set(clientId, {
      secret: clientSecret,
      expiresAt: registrationExpiresAt,
    });
    const { accessToken, expiresAt, refreshToken } = this.#newToken(
      clientId,
      lifetime,
    );
    return {
      accessToken,
      expiresAt: new Date(expiresAt),
      refreshToken,
      clientId,
      clientSecret,
      registrationExpiresAt: new Date(registrationExpiresAt),
    };
  }

  async login(options: {
    home: string;
    sessionName?: string;
    lifetimeSeconds?: number;
  }): Promise<LocalSsoLogin> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        "Cannot log in to the local SSO portal as the options must be an object with 'home'",
      );
    }
    const token = this.mintToken({ lifetimeSeconds: options.lifetimeSeconds });
    const path = await writeSsoTokenCache({
      home: options.home,
      sessionName: options.sessionName,
      startUrl: this.startUrl,
      region: this.region,
      accessToken: token.accessToken,
      expiresAt: token.expiresAt,
      clientId: token.clientId,
      clientSecret: token.clientSecret,
      registrationExpiresAt: token.registrationExpiresAt,
      // The AWS CLI gets (and writes) a refresh token for sso-session
      // profiles only.
      refreshToken: options.sessionName === undefined
        ? undefined
        : token.refreshToken,
    });
    return { ...token, path };
  }

  expireToken(accessToken?: string): void {
    if (accessToken === undefined) {
      for (const token of this.#tokens.values()) token.expired = true;
      return;
    }
    const token = this.#tokens.get(accessToken);
    if (!token) {
      throw new TypeError(
        "Cannot expire SSO token as it was not minted by this local portal",
      );
    }
    token.expired = true;
  }

  injectFault(fault: LocalSsoFault): void {
    const kind = this.#faults.add(fault);
    // A client may silently retry a request dropped on a reused keep-alive
    // connection: make the next requests come on fresh connections.
    if (kind === "drop") this.#server.closeIdle();
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  resetCalls(): void {
    for (const operation of OPERATIONS) this.#calls[operation] = 0;
    this.#calls.total = 0;
    this.#requests.length = 0;
  }

  close(): Promise<void> {
    return this.#server.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  toJSON(): Record<string, unknown> {
    return {
      url: this.url,
      region: this.region,
      startUrl: this.startUrl,
      calls: { ...this.#calls },
    };
  }

  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options?: unknown) => string,
    options: unknown,
  ): string {
    return `LocalSso ${inspect(this.toJSON(), options)}`;
  }

  // ---- tokens ------------------------------------------------------------

  #newToken(
    clientId: string,
    lifetimeSeconds: number,
  ): { accessToken: string; expiresAt: number; refreshToken: string } {
    const accessToken = `aoa${randomText(180)}`;
    const refreshToken = `aor${randomText(180)}`;
    const expiresAt = Math.floor(
      (Date.now() + lifetimeSeconds * 1000) / 1000,
    ) * 1000;
    this.#tokens.set(accessToken, { expiresAt, expired: false });
    this.#refreshTokens.set(refreshToken, clientId);
    return { accessToken, expiresAt, refreshToken };
  }

  /** Checks the bearer token of a portal request. */
  #authorize(request: _RawRequest): string {
    const accessToken = request.headers.get("x-amz-sso_bearer_token");
    const token = accessToken === undefined
      ? undefined
      : this.#tokens.get(accessToken);
    if (!token || token.expired || Date.now() >= token.expiresAt) {
      throw new PortalError(401, "UnauthorizedException", UNAUTHORIZED_MESSAGE);
    }
    return accessToken!;
  }

  // ---- request handling --------------------------------------------------

  #headers(requestId: string, errorCode?: string): [string, string][] {
    const headers: [string, string][] = [
      ["x-amzn-RequestId", requestId],
      ["Content-Type", "application/json"],
      ["Date", new Date().toUTCString()],
    ];
    if (errorCode) {
      headers.push([
        "x-amzn-ErrorType",
        `${errorCode}:${PORTAL_ERROR_NAMESPACE}`,
      ]);
    }
    return headers;
  }

  #problem(problem: _ProtocolProblem): _Reply & { kind: "reply" } {
    const requestId = crypto.randomUUID();
    const message = problem.reason === "body-too-large"
      ? `Request body must be at most ${_MAX_BODY_BYTES} bytes`
      : problem.reason === "chunked"
      ? "You must provide the Content-Length HTTP header."
      : "The HTTP request could not be parsed.";
    _pushCapped(this.#requests, {
      operation: "",
      status: problem.status,
      errorCode: "InvalidRequestException",
      requestId,
      at: Date.now(),
    });
    return {
      kind: "reply",
      status: problem.status,
      headers: this.#headers(requestId, "InvalidRequestException"),
      body: JSON.stringify({ message }),
    };
  }

  async #handle(request: _RawRequest): Promise<_Reply> {
    const requestId = crypto.randomUUID();
    const record: LocalSsoRequestRecord = {
      operation: "",
      status: 0,
      requestId,
      at: 0,
    };
    let outcome: Outcome;
    try {
      outcome = this.#process(request, record);
    } catch (error) {
      const e = error instanceof PortalError ? error : new PortalError(
        500,
        "InternalServerException",
        "An internal error occurred",
      );
      outcome = {
        status: e.status,
        errorCode: e.code,
        body: JSON.stringify(
          e.oidcError === undefined
            ? { message: e.message }
            : { error: e.oidcError, error_description: e.message },
        ),
      };
    }
    return await _settle(outcome, record, {
      latencyMs: this.#latencyMs,
      signal: this.#server.signal,
      requests: this.#requests,
      headers: (errorCode) => this.#headers(requestId, errorCode),
      close: () => this.#faults.has("drop"),
    });
  }

  #operation(method: string, path: string): Operation | undefined {
    if (method === "GET" && path === "/federation/credentials") {
      return "GetRoleCredentials";
    }
    if (method === "GET" && path === "/assignment/accounts") {
      return "ListAccounts";
    }
    if (method === "GET" && path === "/assignment/roles") {
      return "ListAccountRoles";
    }
    if (method === "POST" && path === "/logout") return "Logout";
    if (method === "POST" && path === "/token") return "CreateToken";
    return undefined;
  }

  #process(request: _RawRequest, record: LocalSsoRequestRecord): Outcome {
    const url = new URL(request.target, "http://localhost");
    const operation = this.#operation(request.method, url.pathname);
    if (operation === undefined) {
      throw new PortalError(
        404,
        "UnknownOperationException",
        `No operation at ${request.method} ${url.pathname}`,
      );
    }
    record.operation = operation;
    this.#calls[operation]++;
    this.#calls.total++;
    const fault = this.#faults.take(operation);
    if (fault) return this.#faultOutcome(fault);
    const query = url.searchParams;
    switch (operation) {
      case "GetRoleCredentials":
        return this.#ok(this.#getRoleCredentials(request, query));
      case "ListAccounts":
        this.#authorize(request);
        return this.#ok({
          accountList: [...this.#config.accounts.keys()].map((accountId) => ({
            accountId,
            accountName: `account-${accountId}`,
            emailAddress: `aws+${accountId}@example.com`,
          })),
        });
      case "ListAccountRoles": {
        this.#authorize(request);
        const accountId = this.#required(query, "account_id", "accountId");
        const roles = this.#config.accounts.get(accountId);
        if (!roles) {
          throw new PortalError(403, "ForbiddenException", "No access");
        }
        return this.#ok({
          roleList: roles.map((roleName) => ({ roleName, accountId })),
        });
      }
      case "Logout": {
        const accessToken = this.#authorize(request);
        this.#tokens.get(accessToken)!.expired = true;
        return { status: 200, body: "" };
      }
      case "CreateToken":
        return this.#ok(this.#createToken(request));
    }
  }

  #required(query: URLSearchParams, name: string, member: string): string {
    const value = query.get(name);
    if (value === null || value === "") {
      throw new PortalError(
        400,
        "InvalidRequestException",
        `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return value;
  }

  #getRoleCredentials(
    request: _RawRequest,
    query: URLSearchParams,
  ): Record<string, unknown> {
    this.#authorize(request);
    const roleName = this.#required(query, "role_name", "roleName");
    const accountId = this.#required(query, "account_id", "accountId");
    const roleArn = this.#config.roleArns.get(`${accountId}/${roleName}`);
    if (roleArn === undefined) {
      throw new PortalError(403, "ForbiddenException", "No access");
    }
    const issued = this.#config.issuer({
      roleArn,
      sessionName: this.userName,
      lifetimeSeconds: this.#config.credentialLifetimeSeconds ??
        this.#config.sts.credentialLifetimeSeconds ?? 3600,
    });
    return {
      roleCredentials: {
        accessKeyId: issued.accessKeyId,
        secretAccessKey: issued.secretAccessKey,
        sessionToken: issued.sessionToken,
        // Milliseconds since the epoch, as the portal sends it.
        expiration: issued.expiration,
      },
    };
  }

  #createToken(request: _RawRequest): Record<string, unknown> {
    let input: Record<string, unknown>;
    try {
      const parsed = JSON.parse(new TextDecoder().decode(request.body));
      if (typeof parsed !== "object" || parsed === null) throw new Error();
      input = parsed;
    } catch {
      throw new PortalError(
        400,
        "InvalidRequestException",
        "The request body is not a JSON object",
        "invalid_request",
      );
    }
    const text = (name: string): string | undefined =>
      typeof input[name] === "string" ? input[name] as string : undefined;
    const clientId = text("clientId");
    const clientSecret = text("clientSecret");
    const grantType = text("grantType");
    if (!clientId || !clientSecret || !grantType) {
      throw new PortalError(
        400,
        "InvalidRequestException",
        "clientId, clientSecret and grantType are required",
        "invalid_request",
      );
    }
    const client = this.#clients.get(clientId);
    if (
      !client || client.secret !== clientSecret ||
      Date.now() >= client.expiresAt
    ) {
      throw new PortalError(
        401,
        "InvalidClientException",
        "Invalid client provided",
        "invalid_client",
      );
    }
    if (grantType !== "refresh_token") {
      throw new PortalError(
        400,
        "UnsupportedGrantTypeException",
        `Unsupported grant type: ${grantType}`,
        "unsupported_grant_type",
      );
    }
    const refreshToken = text("refreshToken");
    if (
      refreshToken === undefined ||
      this.#refreshTokens.get(refreshToken) !== clientId
    ) {
      throw new PortalError(
        400,
        "InvalidGrantException",
        "Invalid refresh token provided",
        "invalid_grant",
      );
    }
    this.#refreshTokens.delete(refreshToken);
    const lifetime = this.#config.tokenLifetimeSeconds;
    const next = this.#newToken(clientId, lifetime);
    return {
      accessToken: next.accessToken,
      tokenType: "Bearer",
      expiresIn: Math.floor(lifetime),
      refreshToken: next.refreshToken,
    };
  }

  #ok(result: Record<string, unknown>): Outcome {
    return { status: 200, body: JSON.stringify(result) };
  }

  #faultOutcome(kind: LocalSsoFault["kind"]): Outcome {
    const error = (status: number, code: string, message: string): Outcome => ({
      status,
      errorCode: code,
      fault: kind,
      body: JSON.stringify({ message }),
    });
    switch (kind) {
      case "throttle":
        return error(429, "TooManyRequestsException", "Rate exceeded");
      case "server-error":
        return error(
          500,
          "InternalServerException",
          "An internal error occurred",
        );
      case "outage":
        return error(
          503,
          "ServiceUnavailableException",
          "Service is unavailable. Please try again later.",
        );
      case "drop":
      case "hang":
        return { status: 0, body: "", fault: kind, special: kind };
    }
  }
}
