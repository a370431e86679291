/**
 * {@linkcode IoTRefreshableSession}: a session whose credentials come from
 * the AWS IoT Core credentials provider (an X.509 device certificate over
 * mutual TLS) and refresh themselves.
 *
 * @module
 */

import {
  _checkClientCertificate,
  _isPem,
  _loadPem,
  _mutualTlsClient,
} from "./_iot_tls.ts";
import type { _FetchResult } from "../engine/_refresher.ts";
import { _checkOptionalObject, _describeValue } from "../_validate.ts";
import { BRSRefreshError, BRSValidationError } from "../errors.ts";
import {
  _checkOptionKeys,
  RefreshableSession,
  type RefreshableSessionOptions,
} from "../engine/refreshable_session.ts";
import type { STSClientConfig } from "../types.ts";

/**
 * Options of an {@linkcode IoTRefreshableSession}.
 *
 * @example Usage
 * ```ts
 * import type { IoTRefreshableSessionOptions } from "@brs/session";
 *
 * const options: IoTRefreshableSessionOptions = {
 *   endpoint: "c2abcdefghijkl.credentials.iot.eu-west-1.amazonaws.com",
 *   roleAlias: "device-role",
 *   thingName: "sensor-42",
 *   certificate: "/etc/device/cert.pem",
 *   privateKey: "/etc/device/key.pem",
 *   region: "eu-west-1",
 * };
 * ```
 */
export interface IoTRefreshableSessionOptions
  extends RefreshableSessionOptions {
  /**
   * The account's credentials endpoint (`aws iot describe-endpoint
   * --endpoint-type iot:CredentialProvider`): a host name, or an `https://`
   * URL (with a port, for tests).
   */
  endpoint: string;
  /** The role alias whose role the credentials are for. */
  roleAlias: string;
  /** The thing name sent as `x-amzn-iot-thingname`. */
  thingName: string;
  /** The device certificate: PEM text, or the path of a PEM file (read at every refresh). */
  certificate: string;
  /** The certificate's private key: PEM text, or the path of a PEM file (read at every refresh). Never printed. */
  privateKey: string;
  /**
   * CAs to trust for the endpoint's server certificate, as PEM text or file
   * paths (e.g. Amazon Root CA 1, or a test CA).
   *
   * @default {undefined} (the system's trust store)
   */
  caCertificates?: string[];
  /**
   * Config of the STS client behind `whoami()` (region, endpoint, ...). Its
   * `credentials` are not used.
   *
   * @default {{}}
   */
  stsClientConfig?: STSClientConfig;
}

const _KEYS = [
  "endpoint",
  "roleAlias",
  "thingName",
  "certificate",
  "privateKey",
  "caCertificates",
  "stsClientConfig",
];
const _OWNER = "IoTRefreshableSession";
/** Replies larger than this are not credentials. */
const _MAX_REPLY_BYTES = 64 * 1024;
/** Role alias names: 1-128 characters of `[\w=,@-]`. */
const _ROLE_ALIAS = /^[\w=,@-]{1,128}$/;
/** Thing names: 1-128 characters of `[a-zA-Z0-9:_-]`. */
const _THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;

function _requireString(
  o: Record<string, unknown>,
  name: string,
  what: string,
): string {
  const v = o[name];
  if (typeof v !== "string" || v.trim() === "") {
    throw new BRSValidationError(
      `Cannot create ${_OWNER} as '${name}' must be ${what}: got ${
        name === "privateKey" || name === "certificate"
          ? typeof v === "string" ? "an empty string" : typeof v
          : _describeValue(v)
      }`,
      { param: name },
    );
  }
  return v;
}

function _parseEndpoint(value: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value.includes("://") ? value : `https://${value}`);
  } catch {
    url = undefined;
  }
  if (
    url === undefined || url.protocol !== "https:" ||
    (url.pathname !== "/" && url.pathname !== "") || url.search !== "" ||
    url.username !== "" || url.password !== ""
  ) {
    throw new BRSValidationError(
      `Cannot create ${_OWNER} as 'endpoint' must be the credentials endpoint's host name or https:// URL, such as "c2abcdefghijkl.credentials.iot.eu-west-1.amazonaws.com": got ${
        _describeValue(value)
      }`,
      { param: "endpoint" },
    );
  }
  return url;
}

/** Classifies a failed fetch: TLS (not retried soon) or network (retried with backoff). */
function _fetchError(error: unknown, endpoint: string): unknown {
  if (error instanceof DOMException && error.name === "AbortError") {
    return error;
  }
  const texts: string[] = [];
  let e: unknown = error;
  for (let i = 0; i < 4 && e instanceof Error; i++, e = e.cause) {
    texts.push(e.message);
  }
  const text = texts.join(": ").slice(0, 400);
  const tls =
    /certificate|alert|tls|handshake|UnknownIssuer|NotValidForName|peer/i
      .test(text);
  return new BRSRefreshError(
    tls
      ? `Cannot refresh credentials as the TLS handshake with '${endpoint}' failed (${text}): check 'certificate', 'privateKey', 'caCertificates' and that the certificate is registered and active`
      : `Cannot refresh credentials as '${endpoint}' could not be reached (${text}): the refresh is retried with backoff`,
    {
      code: tls ? "TLSError" : "NetworkError",
      cause: error,
      details: { recoverable: !tls },
    },
  );
}

/** Codes and advice for error statuses of the credentials provider. */
function _statusError(status: number, message: string): BRSRefreshError {
  const known: Record<number, [string, boolean, string]> = {
    400: ["IoTBadRequest", false, "check 'thingName' and 'roleAlias'"],
    401: [
      "IoTUnauthorized",
      false,
      "check that the certificate is active and attached to the thing",
    ],
    403: [
      "IoTAccessDenied",
      false,
      "check that the certificate is attached to the thing and its policy allows iot:AssumeRoleWithCertificate on the role alias",
    ],
    404: ["IoTRoleAliasNotFound", false, "check 'roleAlias'"],
    429: ["Throttling", true, "the refresh is retried with backoff"],
  };
  const [code, recoverable, todo] = known[status] ??
    (status >= 500
      ? ["IoTServerError", true, "the refresh is retried with backoff"]
      : ["IoTError", false, "check the endpoint"]);
  return new BRSRefreshError(
    `Cannot refresh credentials as the IoT credentials provider answered ${status}${
      message === "" ? "" : ` (${message})`
    }: ${todo}`,
    { code, details: { status, recoverable } },
  );
}

/** Checks and maps the provider's JSON reply. */
function _mapReply(text: string, dateHeader: string | null): _FetchResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const c = (body as { credentials?: Record<string, unknown> } | undefined)
    ?.credentials;
  const missing = [
    "accessKeyId",
    "secretAccessKey",
    "sessionToken",
    "expiration",
  ]
    .filter((k) => typeof c?.[k] !== "string" || c[k] === "");
  const expiration = new Date(String(c?.expiration));
  if (missing.length === 0 && Number.isNaN(expiration.getTime())) {
    missing.push("expiration (an ISO 8601 date)");
  }
  if (missing.length > 0) {
    throw new BRSRefreshError(
      `Cannot refresh credentials as the IoT credentials reply lacks ${
        missing.join(", ")
      }: check 'endpoint' (it must be the iot:CredentialProvider endpoint)`,
      { code: "InvalidReply", details: { missing } },
    );
  }
  return {
    credentials: {
      accessKeyId: c!.accessKeyId as string,
      secretAccessKey: c!.secretAccessKey as string,
      sessionToken: c!.sessionToken as string,
      expiration,
    },
    dateHeader,
  };
}

/**
 * An AWS session whose credentials come from the AWS IoT Core credentials
 * provider (the counterpart of boto3-refresh-session's IoT method): an HTTPS
 * GET of `/role-aliases/{roleAlias}/credentials` on the account's
 * credentials endpoint with the device's X.509 certificate and key (mutual
 * TLS) and the `x-amzn-iot-thingname` header, with every rule of the other
 * sessions (one call however many callers, background refresh, static
 * stability).
 *
 * The certificate and key are PEM text or file paths, read and checked at
 * every refresh (a renewed certificate is picked up): a key that does not
 * match, an expired certificate or unreadable file is a
 * `BRSConfigurationError` before any connection; a TLS failure is a
 * `BRSRefreshError` with code `"TLSError"`; a reply without credentials
 * `"InvalidReply"`; 403/404 replies `"IoTAccessDenied"` /
 * `"IoTRoleAliasNotFound"` reach callers at once, 429 and 5xx are retried
 * with backoff. Key material never appears in messages, events,
 * `Deno.inspect` or `JSON.stringify`.
 *
 * Deno: mutual TLS uses `Deno.createHttpClient({ cert, key, caCerts })`,
 * stable since Deno 2 (no unstable flag). Permissions: `--allow-net=HOST` for
 * the endpoint, `--allow-read` for certificate and key files.
 *
 * Members inherited from {@linkcode RefreshableSession} (documented there):
 * {@linkcode RefreshableSession.prototype.client | client()},
 * {@linkcode RefreshableSession.prototype.resource | resource()},
 * {@linkcode RefreshableSession.prototype.credentialProvider | credentialProvider},
 * {@linkcode RefreshableSession.prototype.refreshableCredentials | refreshableCredentials()},
 * {@linkcode RefreshableSession.prototype.whoami | whoami()},
 * {@linkcode RefreshableSession.prototype.refresh | refresh()},
 * {@linkcode RefreshableSession.prototype.invalidate | invalidate()}, the
 * `refresh`, `refresh-error` and `warning` events, and
 * {@linkcode RefreshableSession.prototype.close | close()} / `await using`.
 *
 * @example Usage
 * ```ts
 * import { BRSConfigurationError, IoTRefreshableSession } from "@brs/session";
 * import { assertRejects, assertStringIncludes } from "@std/assert";
 *
 * await using session = new IoTRefreshableSession({
 *   endpoint: "c2abcdefghijkl.credentials.iot.eu-west-1.amazonaws.com",
 *   roleAlias: "device-role",
 *   thingName: "sensor-42",
 *   certificate: "/nonexistent/cert.pem",
 *   privateKey: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIExample\n-----END PRIVATE KEY-----\n",
 *   region: "eu-west-1",
 * });
 * assertStringIncludes(String(session), "sensor-42"); // the key is never printed
 * await assertRejects(
 *   () => session.refreshableCredentials(),
 *   BRSConfigurationError,
 *   "'/nonexistent/cert.pem' given by 'certificate' does not exist",
 * );
 * ```
 */
export class IoTRefreshableSession extends RefreshableSession {
  /** The credentials endpoint's origin, e.g. `https://c2ab....credentials.iot.eu-west-1.amazonaws.com`. */
  readonly endpoint: string;
  /** The role alias. */
  readonly roleAlias: string;
  /** The thing name. */
  readonly thingName: string;
  readonly #certificate: string;
  readonly #privateKey: string;
  readonly #caCertificates: string[] | undefined;
  readonly #identityConfig: Record<string, unknown>;

  /**
   * Creates the session. With `deferRefresh: false`, the first call starts
   * at once; otherwise on first use.
   *
   * @param options Endpoint, role alias, thing name, certificate, key and session options.
   * @throws {BRSValidationError} If an option is missing, has a bad type or
   * value, or is unknown.
   *
   * @example Usage
   * ```ts
   * import { BRSValidationError, IoTRefreshableSession } from "@brs/session";
   * import { assertThrows } from "@std/assert";
   *
   * assertThrows(
   *   () => new IoTRefreshableSession({
   *     endpoint: "http://example.com",
   *     roleAlias: "r",
   *     thingName: "t",
   *     certificate: "cert.pem",
   *     privateKey: "key.pem",
   *   }),
   *   BRSValidationError,
   *   "'endpoint' must be the credentials endpoint's host name or https:// URL",
   * );
   * ```
   */
  constructor(options: IoTRefreshableSessionOptions) {
    const o =
      (options !== null && typeof options === "object"
        ? options
        : {}) as Record<string, unknown>;
    _checkOptionKeys(options, _KEYS, _OWNER);
    const endpoint = _parseEndpoint(
      _requireString(o, "endpoint", "the credentials endpoint's host name"),
    );
    const roleAlias = _requireString(o, "roleAlias", "a role alias name");
    if (!_ROLE_ALIAS.test(roleAlias)) {
      throw new BRSValidationError(
        `Cannot create ${_OWNER} as 'roleAlias' must be 1-128 characters of letters, digits and =,@_-: got ${
          _describeValue(roleAlias)
        }`,
        { param: "roleAlias" },
      );
    }
    const thingName = _requireString(o, "thingName", "a thing name");
    if (!_THING_NAME.test(thingName)) {
      throw new BRSValidationError(
        `Cannot create ${_OWNER} as 'thingName' must be 1-128 characters of letters, digits and :_-: got ${
          _describeValue(thingName)
        }`,
        { param: "thingName" },
      );
    }
    const certificate = _requireString(
      o,
      "certificate",
      "PEM text or the path of a PEM file",
    );
    const privateKey = _requireString(
      o,
      "privateKey",
      "PEM text or the path of a PEM file",
    );
    const ca = o.caCertificates;
    if (
      ca !== undefined &&
      (!Array.isArray(ca) ||
        !ca.every((c) => typeof c === "string" && c.trim() !== ""))
    ) {
      throw new BRSValidationError(
        `Cannot create ${_OWNER} as 'caCertificates' must be an array of PEM strings or file paths: got ${
          _describeValue(ca)
        }`,
        { param: "caCertificates" },
      );
    }
    _checkOptionalObject(
      _OWNER,
      "stsClientConfig",
      o.stsClientConfig,
      '{ region: "eu-west-1" }',
    );
    super(options, _KEYS, { kind: _OWNER });
    this.endpoint = endpoint.origin;
    this.roleAlias = roleAlias;
    this.thingName = thingName;
    this.#certificate = certificate;
    this.#privateKey = privateKey;
    this.#caCertificates = ca === undefined ? undefined : [...ca as string[]];
    const { credentials: _credentials, ...identityConfig } =
      (o.stsClientConfig ?? {}) as Record<string, unknown>;
    this.#identityConfig = identityConfig;
  }

  /**
   * Loads and checks the certificate and key, then asks the credentials
   * provider over mutual TLS.
   *
   * @param signal Aborts the request.
   * @returns The new credentials and the reply's `Date`.
   *
   * @ignore
   */
  protected override async _fetchCredentials(
    signal: AbortSignal,
  ): Promise<_FetchResult> {
    const certificate = await _loadPem(this.#certificate, "certificate");
    const key = await _loadPem(this.#privateKey, "privateKey");
    const ca = this.#caCertificates === undefined
      ? undefined
      : await Promise.all(
        this.#caCertificates.map((c) => _loadPem(c, "caCertificates")),
      );
    _checkClientCertificate(certificate, key, Date.now());
    const client = _mutualTlsClient(certificate, key, ca);
    try {
      let reply: Response;
      try {
        reply = await fetch(
          `${this.endpoint}/role-aliases/${
            encodeURIComponent(this.roleAlias)
          }/credentials`,
          {
            client,
            signal,
            headers: { "x-amzn-iot-thingname": this.thingName },
          },
        );
      } catch (error) {
        throw _fetchError(error, this.endpoint);
      }
      const text = await _readBounded(reply);
      if (!reply.ok) {
        let message = "";
        try {
          const m = (JSON.parse(text) as { message?: unknown }).message;
          if (typeof m === "string") message = m.slice(0, 200);
        } catch {
          // Not JSON: the status says enough.
        }
        throw _statusError(reply.status, message);
      }
      return _mapReply(
        text,
        reply.headers.get("date"),
      );
    } finally {
      client.close();
    }
  }

  /**
   * The `whoami` client uses `stsClientConfig` without its `credentials`.
   *
   * @returns A config.
   *
   * @ignore
   */
  protected override _identityClientConfig(): Record<string, unknown> {
    return { ...this.#identityConfig };
  }

  /**
   * Secret-free facts for printing: no key material.
   *
   * @returns The base facts plus endpoint, role alias, thing name and
   * certificate source.
   *
   * @ignore
   */
  protected override _describe(): Record<string, unknown> {
    return {
      ...super._describe(),
      endpoint: this.endpoint,
      roleAlias: this.roleAlias,
      thingName: this.thingName,
      certificate: _isPem(this.#certificate) ? "PEM text" : this.#certificate,
      privateKeySource: _isPem(this.#privateKey)
        ? "PEM text"
        : this.#privateKey,
    };
  }
}

/** Reads a reply's body, at most {@linkcode _MAX_REPLY_BYTES}. */
async function _readBounded(reply: Response): Promise<string> {
  const reader = reply.body?.getReader();
  if (reader === undefined) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > _MAX_REPLY_BYTES) {
      await reader.cancel();
      throw new BRSRefreshError(
        `Cannot refresh credentials as the IoT credentials reply is larger than ${_MAX_REPLY_BYTES} bytes: check 'endpoint'`,
        { code: "InvalidReply" },
      );
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(all);
}
