/**
 * A local STS endpoint for tests: the STS Query API on 127.0.0.1, answering
 * the unmodified AWS SDK like AWS would.
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
import { _errorXml, _successXml, type _XmlElements } from "./_xml.ts";
import {
  _parseAmzDate,
  _parseAuthorization,
  _verifySignature,
} from "./_sigv4.ts";
import { _base32Decode, _hotp, _totpCounter } from "./_totp.ts";
import {
  _checkRoleAndSessionName,
  _isoSeconds,
  _parseForm,
  _parseRoleArn,
  _randomId,
  _randomSecret,
  _randomSessionToken,
  _stableId,
  _STS_ACTIONS,
  _STS_VERSION,
  type _StsAction,
  _UNSUPPORTED_STS_ACTIONS,
  _Violations,
} from "./_sts_rules.ts";
import {
  _assumeRoleWithWebIdentity,
  _WEB_IDENTITY_FAULTS,
  type LocalWebIdentityOptions,
} from "./_web_identity.ts";
import { _registerRoleIssuer } from "./_role_issuer.ts";
import { _FaultQueue, type _Outcome, _pushCapped, _settle } from "./_faults.ts";
export type { LocalWebIdentityOptions } from "./_web_identity.ts";

/**
 * Options of {@linkcode startLocalSts}.
 *
 * @example Usage
 * ```ts
 * import {
 *   type LocalStsOptions,
 *   startLocalSts,
 * } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const options: LocalStsOptions = {
 *   accountId: "111122223333",
 *   // Short-lived credentials for refresh tests:
 *   credentialLifetimeSeconds: 5,
 *   mfaDevices: {
 *     "arn:aws:iam::111122223333:mfa/ci": "JBSWY3DPEHPK3PXP",
 *   },
 * };
 * await using sts = await startLocalSts(options);
 * assertEquals(sts.accountId, "111122223333");
 * ```
 */
export interface LocalStsOptions {
  /**
   * The TCP port on 127.0.0.1; `0` picks a free one.
   *
   * @default {0}
   */
  port?: number;
  /**
   * The account of the base user (12 digits).
   *
   * @default {"123456789012"}
   */
  accountId?: string;
  /**
   * The long-term key of the base user.
   *
   * @default {a random AKIA... key per server}
   */
  baseCredentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * The base user's name: `arn:aws:iam::ACCOUNT:user/NAME`.
   *
   * @default {"brs-local"}
   */
  baseUserName?: string;
  /**
   * When set, every issued credential lives this many seconds, whatever
   * `DurationSeconds` asked for, and any positive `DurationSeconds` is
   * accepted (AWS's minimum is 900).
   *
   * @default {undefined}
   */
  credentialLifetimeSeconds?: number;
  /**
   * Milliseconds added before every reply.
   *
   * @default {0}
   */
  latencyMs?: number;
  /**
   * MFA devices: serial number (ARN or id) to base32 TOTP secret (RFC 6238,
   * 30 s steps, 6 digits, SHA-1).
   *
   * @default {{}}
   */
  mfaDevices?: Record<string, string>;
  /**
   * Role ARNs that can only be assumed with MFA; `["*"]` means every role.
   *
   * @default {[]}
   */
  mfaRequiredRoles?: string[];
  /**
   * Seconds the server's clock is off: the `Date` header and every
   * `Expiration` are shifted by this, as on a server whose clock is wrong.
   * @default {0}
   */
  dateSkewSeconds?: number;
  /**
   * When set, requests signed more than this many seconds away from the
   * server's (skewed) clock are refused with `SignatureDoesNotMatch`
   * ("Signature expired"), as AWS does with 900; when unset, the time of a
   * signature is not checked.
   *
   * @default {undefined}
   */
  maxRequestSkewSeconds?: number;
  /**
   * `AssumeRoleWithWebIdentity`: the issuers, audiences and HS256 key that
   * tokens (see `mintWebIdentityToken`) are checked against.
   * @default {{}} (the defaults of `mintWebIdentityToken`)
   */
  webIdentity?: LocalWebIdentityOptions;
}

/**
 * A fault that {@linkcode LocalSts.injectFault} makes the endpoint answer with.
 *
 * @example Usage
 * ```ts
 * import { startLocalSts } from "@brs/session/testing";
 * import {
 *   GetCallerIdentityCommand,
 *   STSClient,
 * } from "@aws-sdk/client-sts";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * sts.injectFault({
 *   kind: "throttle",
 *   times: 1,
 *   actions: ["GetCallerIdentity"],
 * });
 * const client = new STSClient({
 *   region: "us-east-1",
 *   endpoint: sts.url,
 *   credentials: sts.baseCredentials,
 *   maxAttempts: 1,
 * });
 * try {
 *   const error = await assertRejects(() =>
 *     client.send(new GetCallerIdentityCommand({}))
 *   );
 *   assertEquals((error as Error).name, "Throttling");
 *   // `times: 1`: answered again.
 *   await client.send(new GetCallerIdentityCommand({}));
 * } finally {
 *   client.destroy();
 * }
 * ```
 */
export interface LocalStsFault {
  /**
   * What happens:
   * - `"throttle"`: 400 `Throttling` ("Rate exceeded")
   * - `"server-error"`: 500 `InternalFailure`
   * - `"access-denied"`: 403 `AccessDenied`
   * - `"drop"`: the connection is closed without a reply
   * - `"hang"`: no reply until the client gives up or the server closes
   * - `"outage"`: 503 `ServiceUnavailable`
   * - `"expired-token"`: 403 `ExpiredToken`
   * - `"malformed"`: 200 with a broken XML body
   * - `"invalid-identity-token"`: 400 `InvalidIdentityToken`
   * - `"idp-communication-error"`: 400 `IDPCommunicationError`
   * - `"idp-rejected-claim"`: 403 `IDPRejectedClaim`
   */
  kind:
    | "throttle"
    | "server-error"
    | "access-denied"
    | "drop"
    | "hang"
    | "outage"
    | "expired-token"
    | "malformed"
    | "invalid-identity-token"
    | "idp-communication-error"
    | "idp-rejected-claim";
  /**
   * How many matching requests it hits; when unset, every one until {@linkcode LocalSts.clearFaults}.
   *
   * @default {undefined}
   */
  times?: number;
  /**
   * The actions it hits, e.g. `["AssumeRole"]`; when unset, all of them.
   *
   * @default {undefined}
   */
  actions?: string[];
}

/**
 * Requests per action that reached the endpoint's handler (faulted and
 * refused ones included; requests without a valid `Action` and `Version` are
 * not counted).
 *
 * @example Usage
 * ```ts
 * import {
 *   type LocalStsCalls,
 *   startLocalSts,
 * } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * // A snapshot; sts.calls is live.
 * const before: LocalStsCalls = { ...sts.calls };
 * assertEquals(before.total, 0);
 * ```
 */
export interface LocalStsCalls {
  /** `AssumeRole` requests. */
  AssumeRole: number;
  /** `GetCallerIdentity` requests. */
  GetCallerIdentity: number;
  /** `GetSessionToken` requests. */
  GetSessionToken: number;
  /** `AssumeRoleWithWebIdentity` requests. */
  AssumeRoleWithWebIdentity: number;
  /** The sum of the above. */
  total: number;
}

/**
 * One answered request in {@linkcode LocalSts.requests}. Holds no secret.
 *
 * @example Usage
 * ```ts
 * import { startLocalSts } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * const reply = await fetch(sts.url, {
 *   method: "POST",
 *   headers: { "content-type": "application/x-www-form-urlencoded" },
 *   body: "Action=GetCallerIdentity&Version=2011-06-15",
 * });
 * await reply.body?.cancel();
 * const [record] = sts.requests;
 * assertEquals(record?.status, 403);
 * assertEquals(record?.errorCode, "MissingAuthenticationToken");
 * ```
 */
export interface LocalStsRequestRecord {
  /** The `Action` parameter (`""` when missing). */
  action: string;
  /** The access key id of the `Authorization` header, if any. */
  accessKeyId?: string;
  /** The HTTP status sent; `0` for a dropped or hanging request. */
  status: number;
  /** The AWS error code sent, if any. */
  errorCode?: string;
  /** The injected fault that answered, if any. */
  fault?: LocalStsFault["kind"];
  /** The `x-amzn-RequestId` sent. */
  requestId: string;
  /** When it was answered (ms since the epoch, real clock). */
  at: number;
}

/**
 * A running local STS endpoint: see {@linkcode startLocalSts}. Dispose of it
 * (`await using`, or {@linkcode LocalSts.close}) to free its port and
 * connections.
 *
 * @example Usage
 * ```ts
 * import { startLocalSts } from "@brs/session/testing";
 * import {
 *   AssumeRoleCommand,
 *   GetCallerIdentityCommand,
 *   STSClient,
 * } from "@aws-sdk/client-sts";
 * import { assertEquals, assertRejects } from "@std/assert";
 *
 * const sts = await startLocalSts({ latencyMs: 5 });
 * const base = new STSClient({
 *   region: "us-east-1",
 *   endpoint: sts.url,
 *   credentials: sts.baseCredentials,
 * });
 * const { Credentials } = await base.send(
 *   new AssumeRoleCommand({
 *     RoleArn: "arn:aws:iam::123456789012:role/app",
 *     RoleSessionName: "test",
 *   }),
 * );
 * base.destroy();
 *
 * sts.expire(Credentials!.AccessKeyId!);
 * const assumed = new STSClient({
 *   region: "us-east-1",
 *   endpoint: sts.url,
 *   maxAttempts: 1,
 *   credentials: {
 *     accessKeyId: Credentials!.AccessKeyId!,
 *     secretAccessKey: Credentials!.SecretAccessKey!,
 *     sessionToken: Credentials!.SessionToken!,
 *   },
 * });
 * const error = await assertRejects(() =>
 *   assumed.send(new GetCallerIdentityCommand({}))
 * );
 * assertEquals((error as Error).name, "ExpiredToken");
 * assumed.destroy();
 * assertEquals(sts.calls.AssumeRole, 1);
 * await sts.close();
 * ```
 */
export interface LocalSts extends AsyncDisposable {
  /** The endpoint, e.g. `http://127.0.0.1:41234`: use as the STS client's `endpoint`. */
  readonly url: string;
  /** The base user's account. */
  readonly accountId: string;
  /** The base user's long-term key (never logged). */
  readonly baseCredentials: { accessKeyId: string; secretAccessKey: string };
  /** Live counts of requests per action (copy with `{ ...sts.calls }` for a snapshot). */
  readonly calls: Readonly<LocalStsCalls>;
  /** Live log of answered requests, oldest first (the last 10 000 at most). */
  readonly requests: readonly LocalStsRequestRecord[];
  /** Milliseconds added before every reply (abortable by `close()`). */
  latencyMs: number;
  /** Seconds the server's clock is off (`Date` header and `Expiration`). */
  dateSkewSeconds: number;
  /** If a number: the lifetime of every credential issued from now on. */
  credentialLifetimeSeconds: number | undefined;
  /**
   * Makes the endpoint answer matching requests with a fault. Faults are
   * checked in the order injected, after the `Action` is read and before the
   * signature is. While a `"drop"` fault is armed, replies close their
   * connection (a client may silently retry a request dropped on a reused
   * keep-alive connection, which would hide the fault).
   *
   * @param fault The kind, and optionally how many requests and which actions it hits.
   * @throws {TypeError} If the fault's kind, times or actions are invalid.
   */
  injectFault(fault: LocalStsFault): void;
  /** Removes every injected fault. */
  clearFaults(): void;
  /** Sets every count of {@linkcode LocalSts.calls} to 0 and empties {@linkcode LocalSts.requests}. */
  resetCalls(): void;
  /**
   * Makes an issued temporary key (or, without an argument, every one issued
   * so far) expired: requests signed with it get `ExpiredToken`.
   *
   * @param accessKeyId The `ASIA...` key to expire; all issued keys when left out.
   * @throws {TypeError} If `accessKeyId` was not issued by this endpoint.
   */
  expire(accessKeyId?: string): void;
  /**
   * Revokes an issued temporary key (or, without an argument, every one
   * issued so far) before it expires, as revoking a role's active sessions
   * in IAM does: requests signed with it get 403 `ExpiredToken` ("The
   * security token included in the request is expired") while the session
   * still thinks it fresh. Use it to test self-healing clients.
   *
   * @param accessKeyId The `ASIA...` key to revoke; all issued keys when left out.
   * @throws {TypeError} If `accessKeyId` was not issued by this endpoint.
   *
   * @example Usage
   * ```ts
   * import { STSRefreshableSession } from "@brs/session";
   * import { startLocalSts } from "@brs/session/testing";
   * import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
   * import { assertEquals } from "@std/assert";
   *
   * await using sts = await startLocalSts();
   * await using session = new STSRefreshableSession({
   *   assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
   *   stsClientConfig: { endpoint: sts.url, credentials: sts.baseCredentials },
   *   region: "us-east-1",
   * });
   * const client = session.client(STSClient, { endpoint: sts.url });
   * await client.send(new GetCallerIdentityCommand({}));
   * sts.revoke((await session.refreshableCredentials()).accessKey);
   * await client.send(new GetCallerIdentityCommand({})); // heals: one refresh, one retry
   * assertEquals(sts.calls.AssumeRole, 2);
   * ```
   */
  revoke(accessKeyId?: string): void;
  /** Stops the endpoint, ends open connections and pending replies. Idempotent. */
  close(): Promise<void>;
}

const FAULT_KINDS: readonly LocalStsFault["kind"][] = [
  "throttle",
  "server-error",
  "access-denied",
  "drop",
  "hang",
  "outage",
  "expired-token",
  "malformed",
  ...Object.keys(_WEB_IDENTITY_FAULTS) as LocalStsFault["kind"][],
];

interface UserPrincipal {
  kind: "user";
  /** Session credentials of the base user (from GetSessionToken). */
  temporary: boolean;
  /** GetSessionToken was called with a valid MFA code: the MFA context carries into AssumeRole. */
  mfa?: boolean;
}

interface RolePrincipal {
  kind: "role";
  roleArn: string;
  partition: string;
  account: string;
  roleName: string;
  roleId: string;
  sessionName: string;
}

type Principal = UserPrincipal | RolePrincipal;

interface IssuedKey {
  secretAccessKey: string;
  sessionToken: string;
  /** Real-clock expiry in ms (whole seconds). */
  expiresAt: number;
  expired: boolean;
  principal: Principal;
}

type Outcome = _Outcome<LocalStsFault["kind"]>;

class StsError extends Error {
  readonly status: number;
  readonly code: string;
  readonly type: "Sender" | "Receiver";
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.type = status >= 500 ? "Receiver" : "Sender";
  }
}

const INVALID_TOKEN_MESSAGE =
  "The security token included in the request is invalid.";
const EXPIRED_TOKEN_MESSAGE =
  "The security token included in the request is expired";
const SIGNATURE_MESSAGE =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const MFA_INVALID_MESSAGE =
  "MultiFactorAuthentication failed with invalid MFA one time pass code. ";
const MFA_UNKNOWN_MESSAGE =
  "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.";
const MFA_INCOMPLETE_MESSAGE =
  "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.";

function checkNonNegative(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `Cannot configure local STS as '${name}' must be a finite number >= 0: got ${
        String(value)
      }`,
    );
  }
  return value;
}

function checkSkew(value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(
      `Cannot configure local STS as 'dateSkewSeconds' must be a finite number: got ${
        String(value)
      }`,
    );
  }
  return value;
}

function checkLifetime(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(
      `Cannot configure local STS as 'credentialLifetimeSeconds' must be a number > 0 or undefined: got ${
        String(value)
      }`,
    );
  }
  return value;
}

class LocalStsServer implements LocalSts {
  readonly url: string;
  readonly accountId: string;
  readonly baseCredentials: { accessKeyId: string; secretAccessKey: string };
  readonly #calls: LocalStsCalls = {
    AssumeRole: 0,
    GetCallerIdentity: 0,
    GetSessionToken: 0,
    AssumeRoleWithWebIdentity: 0,
    total: 0,
  };
  readonly #requests: LocalStsRequestRecord[] = [];
  readonly #server: _HttpServer;
  readonly #baseUserName: string;
  readonly #baseUserId: string;
  readonly #mfaDevices: Map<string, Uint8Array>;
  readonly #mfaUsed = new Map<string, Set<number>>();
  readonly #mfaRequiredRoles: ReadonlySet<string>;
  readonly #maxRequestSkewSeconds: number | undefined;
  readonly #webIdentity: LocalWebIdentityOptions;
  readonly #issued = new Map<string, IssuedKey>();
  readonly #faults = new _FaultQueue(
    FAULT_KINDS,
    "actions",
    "action names",
    () => true,
  );
  #latencyMs: number;
  #dateSkewSeconds: number;
  #credentialLifetimeSeconds: number | undefined;

  constructor(
    listener: Deno.Listener,
    options: LocalStsOptions,
    mfaDevices: Map<string, Uint8Array>,
  ) {
    const addr = listener.addr as Deno.NetAddr;
    this.url = `http://127.0.0.1:${addr.port}`;
    this.accountId = options.accountId ?? "123456789012";
    this.baseCredentials = options.baseCredentials
      ? { ...options.baseCredentials }
      : {
        accessKeyId: `AKIA${_randomId(16)}`,
        secretAccessKey: _randomSecret(),
      };
    this.#baseUserName = options.baseUserName ?? "brs-local";
    this.#baseUserId = `AIDA${
      _stableId(`user:${this.accountId}:${this.#baseUserName}`)
    }`;
    this.#mfaDevices = mfaDevices;
    this.#mfaRequiredRoles = new Set(options.mfaRequiredRoles ?? []);
    this.#maxRequestSkewSeconds = options.maxRequestSkewSeconds;
    this.#webIdentity = structuredClone(options.webIdentity ?? {});
    this.#latencyMs = options.latencyMs ?? 0;
    this.#dateSkewSeconds = options.dateSkewSeconds ?? 0;
    this.#credentialLifetimeSeconds = options.credentialLifetimeSeconds;
    this.#server = new _HttpServer(listener, {
      handle: (request) => this.#handle(request),
      problem: (problem) => this.#problem(problem),
    });
    _registerRoleIssuer(this, ({ roleArn, sessionName, lifetimeSeconds }) => {
      const role = _parseRoleArn(roleArn);
      if (!role || !/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
        throw new TypeError(
          `Cannot issue role credentials for '${roleArn}' and session '${sessionName}'`,
        );
      }
      const issued = this.#issue({
        kind: "role",
        roleArn,
        partition: role.partition,
        account: role.account,
        roleName: role.name,
        roleId: `AROA${_stableId(`role:${roleArn}`)}`,
        sessionName,
      }, lifetimeSeconds);
      return {
        accessKeyId: issued.AccessKeyId as string,
        secretAccessKey: issued.SecretAccessKey as string,
        sessionToken: issued.SessionToken as string,
        expiration: Date.parse(issued.Expiration as string),
      };
    });
  }

  get calls(): Readonly<LocalStsCalls> {
    return this.#calls;
  }

  get requests(): readonly LocalStsRequestRecord[] {
    return this.#requests;
  }

  get latencyMs(): number {
    return this.#latencyMs;
  }
  set latencyMs(value: number) {
    this.#latencyMs = checkNonNegative(value, "latencyMs");
  }

  get dateSkewSeconds(): number {
    return this.#dateSkewSeconds;
  }
  set dateSkewSeconds(value: number) {
    this.#dateSkewSeconds = checkSkew(value);
  }

  get credentialLifetimeSeconds(): number | undefined {
    return this.#credentialLifetimeSeconds;
  }
  set credentialLifetimeSeconds(value: number | undefined) {
    this.#credentialLifetimeSeconds = checkLifetime(value);
  }

  injectFault(fault: LocalStsFault): void {
    const kind = this.#faults.add(fault);
    // A client may silently retry a request dropped on a reused keep-alive
    // connection: make the next requests come on fresh connections.
    if (kind === "drop") this.#server.closeIdle();
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  resetCalls(): void {
    this.#calls.AssumeRole = 0;
    this.#calls.GetCallerIdentity = 0;
    this.#calls.GetSessionToken = 0;
    this.#calls.AssumeRoleWithWebIdentity = 0;
    this.#calls.total = 0;
    this.#requests.length = 0;
  }

  expire(accessKeyId?: string): void {
    this.#markExpired("expire", accessKeyId);
  }

  revoke(accessKeyId?: string): void {
    this.#markExpired("revoke", accessKeyId);
  }

  /** Makes one issued key, or every one, answer `ExpiredToken`. */
  #markExpired(verb: string, accessKeyId: string | undefined): void {
    if (accessKeyId === undefined) {
      for (const key of this.#issued.values()) key.expired = true;
      return;
    }
    const key = this.#issued.get(accessKeyId);
    if (!key) {
      throw new TypeError(
        `Cannot ${verb} access key as it was not issued by this local STS: got '${accessKeyId}'`,
      );
    }
    key.expired = true;
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
      accountId: this.accountId,
      calls: { ...this.#calls },
    };
  }

  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options?: unknown) => string,
    options: unknown,
  ): string {
    return `LocalSts ${inspect(this.toJSON(), options)}`;
  }

  // ---- request handling --------------------------------------------------

  #record(record: LocalStsRequestRecord): void {
    _pushCapped(this.#requests, record);
  }

  #serverNow(): number {
    return Date.now() + this.#dateSkewSeconds * 1000;
  }

  #headers(requestId: string): [string, string][] {
    return [
      ["x-amzn-RequestId", requestId],
      ["Content-Type", "text/xml"],
      ["Date", new Date(this.#serverNow()).toUTCString()],
    ];
  }

  #problem(problem: _ProtocolProblem): _Reply & { kind: "reply" } {
    const requestId = crypto.randomUUID();
    const [code, message] = problem.reason === "body-too-large"
      ? [
        "RequestEntityTooLarge",
        `Request body must be at most ${_MAX_BODY_BYTES} bytes`,
      ]
      : problem.reason === "head-too-large"
      ? ["RequestHeaderSectionTooLarge", "Request headers are too large"]
      : problem.reason === "chunked"
      ? [
        "MissingContentLength",
        "You must provide the Content-Length HTTP header.",
      ]
      : ["MalformedHttpRequest", "The HTTP request could not be parsed."];
    this.#record({
      action: "",
      status: problem.status,
      errorCode: code,
      requestId,
      at: Date.now(),
    });
    return {
      kind: "reply",
      status: problem.status,
      headers: this.#headers(requestId),
      body: _errorXml("Sender", code, message, requestId),
    };
  }

  async #handle(request: _RawRequest): Promise<_Reply> {
    const requestId = crypto.randomUUID();
    const record: LocalStsRequestRecord = {
      action: "",
      status: 0,
      requestId,
      at: 0,
    };
    const authHeader = request.headers.get("authorization");
    if (authHeader) {
      const parsed = _parseAuthorization(authHeader);
      if (!("problem" in parsed)) record.accessKeyId = parsed.accessKeyId;
    }
    let outcome: Outcome;
    try {
      outcome = await this.#process(request, record, requestId);
    } catch (error) {
      const e = error instanceof StsError ? error : new StsError(
        500,
        "InternalFailure",
        "The request processing has failed because of an unknown error, exception or failure.",
      );
      outcome = {
        status: e.status,
        errorCode: e.code,
        body: _errorXml(e.type, e.code, e.message, requestId),
      };
    }
    return await _settle(outcome, record, {
      latencyMs: this.#latencyMs,
      signal: this.#server.signal,
      requests: this.#requests,
      headers: () => this.#headers(requestId),
      close: () => this.#faults.has("drop"),
    });
  }

  async #process(
    request: _RawRequest,
    record: LocalStsRequestRecord,
    requestId: string,
  ): Promise<Outcome> {
    if (request.method !== "POST" && request.method !== "GET") {
      throw new StsError(
        405,
        "MethodNotAllowed",
        `The HTTP method ${request.method} is not allowed: use POST or GET`,
      );
    }
    const params = new Map<string, string>();
    try {
      const url = new URL(request.target, "http://localhost");
      _parseForm(url.search.slice(1), params);
      const contentType = request.headers.get("content-type") ?? "";
      if (
        request.method === "POST" &&
        (contentType === "" ||
          contentType.toLowerCase().includes(
            "application/x-www-form-urlencoded",
          ))
      ) {
        _parseForm(
          new TextDecoder("utf-8", { fatal: true }).decode(request.body),
          params,
        );
      }
    } catch {
      throw new StsError(
        400,
        "MalformedQueryString",
        "The query string or form body is not valid application/x-www-form-urlencoded UTF-8",
      );
    }
    const action = params.get("Action");
    if (action === undefined || action === "") {
      throw new StsError(
        400,
        "MissingAction",
        "The request is missing an action or a required parameter.",
      );
    }
    record.action = action;
    const version = params.get("Version");
    if (version !== _STS_VERSION) {
      throw new StsError(
        400,
        "InvalidAction",
        `Could not find operation ${action} for version ${
          version ?? "NO_VERSION_SPECIFIED"
        }`,
      );
    }
    if (!(_STS_ACTIONS as readonly string[]).includes(action)) {
      throw new StsError(
        400,
        "InvalidAction",
        _UNSUPPORTED_STS_ACTIONS.has(action)
          ? `Operation ${action} is not supported by the local STS endpoint`
          : `Could not find operation ${action} for version ${_STS_VERSION}`,
      );
    }
    const stsAction = action as _StsAction;
    this.#calls[stsAction]++;
    this.#calls.total++;

    const fault = this.#takeFault(stsAction);
    if (fault) return this.#faultOutcome(fault, stsAction, requestId);

    if (stsAction === "AssumeRoleWithWebIdentity") {
      const answer = _assumeRoleWithWebIdentity(
        params,
        this.#webIdentity,
        this.#credentialLifetimeSeconds !== undefined,
        (principal, duration) =>
          this.#issue(principal, this.#lifetime(duration, 3600)),
      );
      if ("error" in answer) throw new StsError(...answer.error);
      return this.#ok(stsAction, answer.result, requestId);
    }
    const principal = await this.#authenticate(request, params);
    switch (stsAction) {
      case "GetCallerIdentity":
        return this.#ok(
          stsAction,
          this.#identity(principal),
          requestId,
        );
      case "AssumeRole":
        return this.#ok(
          stsAction,
          this.#assumeRole(principal, params),
          requestId,
        );
      case "GetSessionToken":
        return this.#ok(
          stsAction,
          this.#getSessionToken(principal, params),
          requestId,
        );
    }
  }

  #ok(action: string, result: _XmlElements, requestId: string): Outcome {
    return { status: 200, body: _successXml(action, result, requestId) };
  }

  #takeFault(action: string): LocalStsFault["kind"] | undefined {
    return this.#faults.take(action);
  }

  #faultOutcome(
    kind: LocalStsFault["kind"],
    action: string,
    requestId: string,
  ): Outcome {
    const error = (e: StsError): Outcome => ({
      status: e.status,
      errorCode: e.code,
      fault: kind,
      body: _errorXml(e.type, e.code, e.message, requestId),
    });
    switch (kind) {
      case "throttle":
        return error(new StsError(400, "Throttling", "Rate exceeded"));
      case "server-error":
        return error(
          new StsError(
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
          ),
        );
      case "access-denied":
        return error(
          new StsError(
            403,
            "AccessDenied",
            `User: ${this.#baseUserArn()} is not authorized to perform: sts:${action}`,
          ),
        );
      case "outage":
        return error(
          new StsError(
            503,
            "ServiceUnavailable",
            "Service is unavailable. Please try again later.",
          ),
        );
      case "expired-token":
        return error(new StsError(403, "ExpiredToken", EXPIRED_TOKEN_MESSAGE));
      case "malformed":
        return {
          status: 200,
          fault: kind,
          body:
            `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n  <${action}Result>\n    <Credentials>\n      <AccessKeyId>ASIA</Acc<<\n`,
        };
      case "drop":
      case "hang":
        return { status: 0, body: "", fault: kind, special: kind };
      default:
        return error(new StsError(..._WEB_IDENTITY_FAULTS[kind]!));
    }
  }

  #baseUserArn(): string {
    return `arn:aws:iam::${this.accountId}:user/${this.#baseUserName}`;
  }

  async #authenticate(
    request: _RawRequest,
    params: Map<string, string>,
  ): Promise<Principal> {
    const header = request.headers.get("authorization");
    if (!header) {
      throw new StsError(
        403,
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
      );
    }
    const auth = _parseAuthorization(header);
    if ("problem" in auth) {
      throw new StsError(400, "IncompleteSignature", auth.problem);
    }
    const amzDate = request.headers.get("x-amz-date");
    const signingDate = amzDate === undefined
      ? undefined
      : _parseAmzDate(amzDate);
    if (!signingDate) {
      throw new StsError(
        400,
        "IncompleteSignature",
        `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential=${auth.accessKeyId}/${auth.scopeDate}/${auth.region}/${auth.service}/aws4_request`,
      );
    }
    if (auth.service !== "sts") {
      throw new StsError(
        403,
        "SignatureDoesNotMatch",
        `Credential should be scoped to correct service: 'sts'. `,
      );
    }
    if (auth.scopeDate !== amzDate!.slice(0, 8)) {
      throw new StsError(
        403,
        "SignatureDoesNotMatch",
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${
          amzDate!.slice(0, 8)
        }', from '${amzDate}'.`,
      );
    }
    const token = request.headers.get("x-amz-security-token") ??
      params.get("X-Amz-Security-Token");
    let secret: string;
    let principal: Principal;
    if (auth.accessKeyId === this.baseCredentials.accessKeyId) {
      if (token !== undefined) {
        throw new StsError(403, "InvalidClientTokenId", INVALID_TOKEN_MESSAGE);
      }
      secret = this.baseCredentials.secretAccessKey;
      principal = { kind: "user", temporary: false };
    } else {
      const issued = this.#issued.get(auth.accessKeyId);
      if (!issued || token !== issued.sessionToken) {
        throw new StsError(403, "InvalidClientTokenId", INVALID_TOKEN_MESSAGE);
      }
      if (issued.expired || Date.now() >= issued.expiresAt) {
        throw new StsError(403, "ExpiredToken", EXPIRED_TOKEN_MESSAGE);
      }
      secret = issued.secretAccessKey;
      principal = issued.principal;
    }
    if (this.#maxRequestSkewSeconds !== undefined) {
      const now = this.#serverNow();
      const limit = this.#maxRequestSkewSeconds * 1000;
      const at = signingDate.getTime();
      if (Math.abs(at - now) > limit) {
        const fmt = (ms: number): string =>
          _isoSeconds(ms).replace(/[-:]/g, "");
        throw new StsError(
          403,
          "SignatureDoesNotMatch",
          at < now
            ? `Signature expired: ${amzDate} is now earlier than ${
              fmt(now - limit)
            } (${fmt(now)} - ${this.#maxRequestSkewSeconds} sec.)`
            : `Signature not yet current: ${amzDate} is still later than ${
              fmt(now + limit)
            } (${fmt(now)} + ${this.#maxRequestSkewSeconds} sec.)`,
        );
      }
    }
    if (!await _verifySignature(request, auth, signingDate, secret)) {
      throw new StsError(403, "SignatureDoesNotMatch", SIGNATURE_MESSAGE);
    }
    return principal;
  }

  #identity(principal: Principal): _XmlElements {
    if (principal.kind === "user") {
      return {
        UserId: this.#baseUserId,
        Account: this.accountId,
        Arn: this.#baseUserArn(),
      };
    }
    return {
      UserId: `${principal.roleId}:${principal.sessionName}`,
      Account: principal.account,
      Arn: this.#assumedRoleArn(principal),
    };
  }

  #assumedRoleArn(principal: RolePrincipal): string {
    return `arn:${principal.partition}:sts::${principal.account}:assumed-role/${principal.roleName}/${principal.sessionName}`;
  }

  #callerArn(principal: Principal): string {
    return principal.kind === "user"
      ? this.#baseUserArn()
      : this.#assumedRoleArn(principal);
  }

  #lifetime(requested: number | undefined, fallback: number): number {
    return this.#credentialLifetimeSeconds ?? requested ?? fallback;
  }

  #assumeRole(principal: Principal, params: Map<string, string>): _XmlElements {
    const lenient = this.#credentialLifetimeSeconds !== undefined;
    const v = new _Violations();
    const roleArn = params.get("RoleArn");
    const sessionName = params.get("RoleSessionName");
    _checkRoleAndSessionName(v, roleArn, sessionName);
    const duration = v.integer(
      params.get("DurationSeconds"),
      "durationSeconds",
      lenient ? { min: 1 } : { min: 900, max: 43200 },
    );
    this.#validateMfaParams(v, params);
    const message = v.message();
    if (message) throw new StsError(400, "ValidationError", message);
    const role = _parseRoleArn(roleArn!)!;
    if (
      principal.kind === "role" && !lenient && duration !== undefined &&
      duration > 3600
    ) {
      throw new StsError(
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
      );
    }
    const mfaUsed = this.#checkMfa(params) ||
      (principal.kind === "user" && principal.mfa === true);
    if (
      !mfaUsed &&
      (this.#mfaRequiredRoles.has("*") || this.#mfaRequiredRoles.has(roleArn!))
    ) {
      throw new StsError(
        403,
        "AccessDenied",
        `User: ${
          this.#callerArn(principal)
        } is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    }
    const newPrincipal: RolePrincipal = {
      kind: "role",
      roleArn: roleArn!,
      partition: role.partition,
      account: role.account,
      roleName: role.name,
      roleId: `AROA${_stableId(`role:${roleArn}`)}`,
      sessionName: sessionName!,
    };
    const credentials = this.#issue(
      newPrincipal,
      this.#lifetime(duration, 3600),
    );
    const sourceIdentity = params.get("SourceIdentity");
    return {
      Credentials: credentials,
      AssumedRoleUser: {
        AssumedRoleId: `${newPrincipal.roleId}:${newPrincipal.sessionName}`,
        Arn: this.#assumedRoleArn(newPrincipal),
      },
      SourceIdentity: sourceIdentity,
    };
  }

  #getSessionToken(
    principal: Principal,
    params: Map<string, string>,
  ): _XmlElements {
    const lenient = this.#credentialLifetimeSeconds !== undefined;
    const v = new _Violations();
    const duration = v.integer(
      params.get("DurationSeconds"),
      "durationSeconds",
      lenient ? { min: 1 } : { min: 900, max: 129600 },
    );
    this.#validateMfaParams(v, params);
    const message = v.message();
    if (message) throw new StsError(400, "ValidationError", message);
    if (principal.kind !== "user" || principal.temporary) {
      throw new StsError(
        403,
        "AccessDenied",
        "Cannot call GetSessionToken with session credentials",
      );
    }
    const mfa = this.#checkMfa(params);
    return {
      Credentials: this.#issue(
        { kind: "user", temporary: true, mfa },
        this.#lifetime(duration, 43200),
      ),
    };
  }

  #validateMfaParams(v: _Violations, params: Map<string, string>): void {
    v.string(params.get("SerialNumber"), "serialNumber", {
      min: 9,
      max: 256,
      pattern: /^[\w+=/:,.@-]*$/,
      patternText: "[\\w+=/:,.@-]*",
    });
    // The code itself is never echoed in a message.
    const code = params.get("TokenCode");
    if (code === undefined) return;
    if (code.length !== 6) {
      v.add(
        "***",
        "tokenCode",
        `Member must have length ${
          code.length < 6 ? "greater" : "less"
        } than or equal to 6`,
      );
    } else if (!/^\d+$/.test(code)) {
      v.add(
        "***",
        "tokenCode",
        "Member must satisfy regular expression pattern: [\\d]*",
      );
    }
  }

  /** Checks `SerialNumber` + `TokenCode`; returns whether MFA was used. */
  #checkMfa(params: Map<string, string>): boolean {
    const serial = params.get("SerialNumber");
    const code = params.get("TokenCode");
    if (serial === undefined && code === undefined) return false;
    if (serial === undefined || code === undefined) {
      throw new StsError(403, "AccessDenied", MFA_INCOMPLETE_MESSAGE);
    }
    const device = this.#findDevice(serial);
    if (!device) throw new StsError(403, "AccessDenied", MFA_UNKNOWN_MESSAGE);
    const [deviceSerial, key] = device;
    const current = _totpCounter(Date.now());
    let used = this.#mfaUsed.get(deviceSerial);
    if (!used) this.#mfaUsed.set(deviceSerial, used = new Set());
    for (const old of used) if (old < current - 2) used.delete(old);
    for (const counter of [current, current - 1, current + 1]) {
      if (_hotp(key, counter) === code) {
        if (used.has(counter)) break;
        used.add(counter);
        return true;
      }
    }
    throw new StsError(403, "AccessDenied", MFA_INVALID_MESSAGE);
  }

  #findDevice(serial: string): [string, Uint8Array] | undefined {
    const exact = this.#mfaDevices.get(serial);
    if (exact) return [serial, exact];
    const id = /:mfa\/(.+)$/.exec(serial)?.[1];
    for (const [name, key] of this.#mfaDevices) {
      if (id !== undefined && name === id) return [name, key];
      if (name.endsWith(`:mfa/${serial}`)) return [name, key];
    }
    return undefined;
  }

  #issue(principal: Principal, lifetimeSeconds: number): _XmlElements {
    const accessKeyId = `ASIA${_randomId(16)}`;
    const secretAccessKey = _randomSecret();
    const sessionToken = _randomSessionToken();
    const expiresAt = Math.floor((Date.now() + lifetimeSeconds * 1000) / 1000) *
      1000;
    this.#issued.set(accessKeyId, {
      secretAccessKey,
      sessionToken,
      expiresAt,
      expired: false,
      principal,
    });
    return {
      AccessKeyId: accessKeyId,
      SecretAccessKey: secretAccessKey,
      SessionToken: sessionToken,
      Expiration: _isoSeconds(expiresAt + this.#dateSkewSeconds * 1000),
    };
  }
}

/**
 * Starts a local STS endpoint on 127.0.0.1 for tests: the STS Query API
 * (`AssumeRole`, `GetCallerIdentity`, `GetSessionToken`, POST form bodies or
 * GET query strings, `Version=2011-06-15`) with AWS's XML replies, headers and
 * error codes, so the unmodified `STSClient` of `@aws-sdk/client-sts` works
 * against it and throws its usual errors.
 *
 * It checks SigV4 signatures (with the AWS SDK's own signer) against the base
 * key and the temporary keys it issued: an unknown key or a wrong or missing
 * session token gets `InvalidClientTokenId`, a wrong secret
 * `SignatureDoesNotMatch`, an expired key `ExpiredToken` (403 each). It
 * validates `RoleArn`, `RoleSessionName` and `DurationSeconds` like AWS
 * (`ValidationError`), allows role chaining (at most 1 hour, as AWS), and
 * checks RFC 6238 TOTP codes of the configured MFA devices (current step ±1,
 * each code once per device; failures are 403 `AccessDenied`). MFA codes are
 * checked against the real clock, not the skewed one.
 *
 * Test controls: live `calls` and `requests`, settable `latencyMs`,
 * `dateSkewSeconds` and `credentialLifetimeSeconds`, `injectFault()`,
 * `expire()`. Bodies over 64 KiB are refused with 413.
 *
 * @param options Port, account, base key, lifetimes, MFA devices, latency and skew.
 * @returns The running endpoint; dispose of it with `await using` or `close()`.
 * @throws {TypeError} If an option is invalid (e.g. an MFA secret that is not base32).
 * @throws {Deno.errors.AddrInUse} If `port` is taken.
 *
 * @example Usage
 * ```ts
 * import { startLocalSts } from "@brs/session/testing";
 * import {
 *   AssumeRoleCommand,
 *   GetCallerIdentityCommand,
 *   STSClient,
 * } from "@aws-sdk/client-sts";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts({ accountId: "111122223333" });
 * const base = new STSClient({
 *   region: "us-east-1",
 *   endpoint: sts.url,
 *   credentials: sts.baseCredentials,
 * });
 * const { Credentials } = await base.send(
 *   new AssumeRoleCommand({
 *     RoleArn: "arn:aws:iam::111122223333:role/app",
 *     RoleSessionName: "test",
 *   }),
 * );
 * base.destroy();
 *
 * const assumed = new STSClient({
 *   region: "us-east-1",
 *   endpoint: sts.url,
 *   credentials: {
 *     accessKeyId: Credentials!.AccessKeyId!,
 *     secretAccessKey: Credentials!.SecretAccessKey!,
 *     sessionToken: Credentials!.SessionToken!,
 *   },
 * });
 * const identity = await assumed.send(new GetCallerIdentityCommand({}));
 * assumed.destroy();
 * assertEquals(
 *   identity.Arn,
 *   "arn:aws:sts::111122223333:assumed-role/app/test",
 * );
 * assertEquals(sts.calls.total, 2);
 * ```
 */
export function startLocalSts(
  options: LocalStsOptions = {},
): Promise<LocalSts> {
  try {
    return Promise.resolve(start(options));
  } catch (error) {
    return Promise.reject(error);
  }
}

function start(options: LocalStsOptions): LocalSts {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(
      `Cannot start local STS as 'port' must be an integer from 0 to 65535: got ${
        String(port)
      }`,
    );
  }
  if (
    options.accountId !== undefined && !/^\d{12}$/.test(options.accountId)
  ) {
    throw new TypeError(
      `Cannot start local STS as 'accountId' must be 12 digits: got '${options.accountId}'`,
    );
  }
  const base = options.baseCredentials;
  if (
    base !== undefined &&
    (typeof base.accessKeyId !== "string" ||
      !/^\w{16,128}$/.test(base.accessKeyId) ||
      typeof base.secretAccessKey !== "string" || base.secretAccessKey === "")
  ) {
    throw new TypeError(
      "Cannot start local STS as 'baseCredentials' must have an 'accessKeyId' of 16-128 word characters and a non-empty 'secretAccessKey'",
    );
  }
  if (
    options.baseUserName !== undefined &&
    !/^[\w+=,.@-]{1,64}$/.test(options.baseUserName)
  ) {
    throw new TypeError(
      `Cannot start local STS as 'baseUserName' must be 1-64 characters of [\\w+=,.@-]: got '${options.baseUserName}'`,
    );
  }
  checkNonNegative(options.latencyMs ?? 0, "latencyMs");
  checkSkew(options.dateSkewSeconds ?? 0);
  checkLifetime(options.credentialLifetimeSeconds);
  if (options.maxRequestSkewSeconds !== undefined) {
    checkNonNegative(options.maxRequestSkewSeconds, "maxRequestSkewSeconds");
  }
  const devices = new Map<string, Uint8Array>();
  for (const [serial, secret] of Object.entries(options.mfaDevices ?? {})) {
    const key = typeof secret === "string" ? _base32Decode(secret) : undefined;
    if (!key) {
      throw new TypeError(
        `Cannot start local STS as the secret of MFA device '${serial}' is not valid RFC 4648 base32: use the letters A-Z and digits 2-7`,
      );
    }
    devices.set(serial, key);
  }
  const listener = Deno.listen({
    hostname: "127.0.0.1",
    port,
    transport: "tcp",
  });
  return new LocalStsServer(listener, options, devices);
}
