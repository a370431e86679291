/**
 * {@linkcode startLocalIotCredentials}: a local AWS IoT Core credentials
 * provider for tests, over TLS with client-certificate verification.
 *
 * @module
 */

import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { LocalSts } from "./local_sts.ts";

/**
 * Options of {@linkcode startLocalIotCredentials}. The PKI (server
 * certificate and the CA of device certificates) is yours: e.g. made with
 * `openssl` at test time.
 *
 * @example Usage
 * ```ts
 * import type { LocalIotCredentialsOptions, LocalSts } from "@brs/session/testing";
 *
 * function optionsFor(sts: LocalSts, pem: Record<string, string>): LocalIotCredentialsOptions {
 *   return {
 *     sts,
 *     serverCertificate: pem.serverCert!,
 *     serverKey: pem.serverKey!,
 *     clientCaCertificates: [pem.ca!],
 *     roleAliases: { "device-role": "arn:aws:iam::123456789012:role/device" },
 *   };
 * }
 * ```
 */
export interface LocalIotCredentialsOptions {
  /** The local STS that issues the role's credentials (with its base key, as IoT does with AssumeRole). */
  sts: LocalSts;
  /** The server's certificate (PEM) for `localhost` / `127.0.0.1`. */
  serverCertificate: string;
  /** The server certificate's private key (PEM). */
  serverKey: string;
  /** CAs (PEM) whose device certificates are accepted; other clients fail the TLS handshake. */
  clientCaCertificates: string[];
  /** Role aliases: alias name to role ARN. */
  roleAliases: Record<string, string>;
  /**
   * The TCP port on 127.0.0.1; `0` picks a free one.
   *
   * @default {0}
   */
  port?: number;
}

/**
 * A fault that {@linkcode LocalIotCredentials.injectFault} makes the endpoint
 * answer with:
 * - `"throttle"`: 429 `{"message":"Rate exceeded"}`
 * - `"server-error"`: 500 `{"message":"Internal Failure"}`
 * - `"access-denied"`: 403 `{"message":"Access Denied"}`
 * - `"missing-fields"`: 200 with credentials that lack `sessionToken` and `expiration`
 *
 * @example Usage
 * ```ts
 * import type { LocalIotFault } from "@brs/session/testing";
 *
 * const fault: LocalIotFault = { kind: "throttle", times: 2 };
 * ```
 */
export interface LocalIotFault {
  /** What happens. */
  kind: "throttle" | "server-error" | "access-denied" | "missing-fields";
  /**
   * How many requests it hits; when unset, every one until cleared.
   *
   * @default {undefined}
   */
  times?: number;
}

/**
 * A running local IoT credentials endpoint: see
 * {@linkcode startLocalIotCredentials}.
 *
 * @example Usage
 * ```ts
 * import type { LocalIotCredentials } from "@brs/session/testing";
 *
 * function describe(iot: LocalIotCredentials): string {
 *   return `${iot.url}: ${iot.calls} calls`;
 * }
 * ```
 */
export interface LocalIotCredentials extends AsyncDisposable {
  /** The endpoint, `https://localhost:PORT`: the session's `endpoint`. */
  readonly url: string;
  /** Requests that completed the TLS handshake. */
  readonly calls: number;
  /** Thing names of answered requests with their status, oldest first (no secret). */
  readonly requests: readonly { thingName: string; status: number }[];
  /**
   * Makes the endpoint answer the next requests with a fault.
   *
   * @param fault The kind and how many requests it hits.
   * @throws {TypeError} If the kind or count is invalid.
   */
  injectFault(fault: LocalIotFault): void;
  /** Removes every injected fault. */
  clearFaults(): void;
  /** Stops the endpoint and ends open connections. Idempotent. */
  close(): Promise<void>;
}

const _FAULTS: Record<LocalIotFault["kind"], [number, string]> = {
  "throttle": [429, "Rate exceeded"],
  "server-error": [500, "Internal Failure"],
  "access-denied": [403, "Access Denied"],
  "missing-fields": [200, ""],
};

/**
 * Starts a local AWS IoT Core credentials provider on 127.0.0.1 for tests:
 * HTTPS (Node's `https` server, which can require and verify client
 * certificates; `Deno.serve` cannot) answering
 * `GET /role-aliases/{alias}/credentials` like AWS. The client must present a
 * certificate issued by one of `clientCaCertificates` (else the handshake
 * fails), the `x-amzn-iot-thingname` header must equal the certificate's
 * subject CN (the local stand-in for "certificate attached to the thing"),
 * else 403; an unknown alias is 404. Credentials come from the local STS
 * (`AssumeRole` of the alias's role with the STS's base key, session name the
 * certificate's SHA-256 id), so they work against it like real ones.
 *
 * @param options The local STS, the PKI and the role aliases.
 * @returns The running endpoint; dispose of it with `await using` or `close()`.
 * @throws {TypeError} If an option is missing or invalid.
 *
 * @example Usage
 * ```ts
 * import { startLocalIotCredentials, startLocalSts } from "@brs/session/testing";
 * import { assertRejects } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * await assertRejects(
 *   () => startLocalIotCredentials({ sts, serverCertificate: "", serverKey: "", clientCaCertificates: [], roleAliases: {} }),
 *   TypeError,
 *   "'serverCertificate' must be PEM text",
 * );
 * ```
 */
export async function startLocalIotCredentials(
  options: LocalIotCredentialsOptions,
): Promise<LocalIotCredentials> {
  for (const name of ["serverCertificate", "serverKey"] as const) {
    if (
      typeof options?.[name] !== "string" ||
      !options[name].includes("-----BEGIN ")
    ) {
      throw new TypeError(
        `Cannot start local IoT credentials endpoint as '${name}' must be PEM text`,
      );
    }
  }
  if (
    !Array.isArray(options.clientCaCertificates) ||
    options.clientCaCertificates.length === 0
  ) {
    throw new TypeError(
      "Cannot start local IoT credentials endpoint as 'clientCaCertificates' must list at least one CA (PEM)",
    );
  }
  const server = new _LocalIot(options);
  await server.listen(options.port ?? 0);
  return server;
}

class _LocalIot implements LocalIotCredentials {
  url = "";
  calls = 0;
  readonly requests: { thingName: string; status: number }[] = [];
  readonly #server: Server;
  readonly #sts: STSClient;
  readonly #aliases: Map<string, string>;
  #faults: { kind: LocalIotFault["kind"]; remaining: number }[] = [];
  #closed: Promise<void> | undefined;

  constructor(options: LocalIotCredentialsOptions) {
    this.#aliases = new Map(Object.entries(options.roleAliases ?? {}));
    this.#sts = new STSClient({
      region: "us-east-1",
      endpoint: options.sts.url,
      credentials: options.sts.baseCredentials,
      maxAttempts: 1,
    });
    this.#server = createServer({
      cert: options.serverCertificate,
      key: options.serverKey,
      ca: options.clientCaCertificates,
      requestCert: true,
      rejectUnauthorized: true,
    }, (request, response) => {
      this.#handle(request, response).catch(() => {
        if (!response.headersSent) this.#json(response, 500, {});
      });
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, "127.0.0.1", () => {
        const address = this.#server.address() as { port: number };
        this.url = `https://localhost:${address.port}`;
        resolve();
      });
    });
  }

  injectFault(fault: LocalIotFault): void {
    if (!fault || !(fault.kind in _FAULTS)) {
      throw new TypeError(
        `Cannot inject fault as 'kind' must be one of ${
          Object.keys(_FAULTS).join(", ")
        }: got ${String(fault?.kind)}`,
      );
    }
    if (
      fault.times !== undefined &&
      (!Number.isInteger(fault.times) || fault.times < 1)
    ) {
      throw new TypeError(
        `Cannot inject fault as 'times' must be an integer >= 1 or undefined: got ${
          String(fault.times)
        }`,
      );
    }
    this.#faults.push({ kind: fault.kind, remaining: fault.times ?? Infinity });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  #json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, {
      "content-type": "application/json",
      "x-amzn-requestid": crypto.randomUUID(),
    });
    response.end(JSON.stringify(body));
  }

  async #handle(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    this.calls++;
    const thingHeader = request.headers["x-amzn-iot-thingname"];
    const thingName = typeof thingHeader === "string" ? thingHeader : "";
    const answer = (status: number, body: unknown): void => {
      this.requests.push({ thingName, status });
      if (this.requests.length > 10_000) this.requests.shift();
      this.#json(response, status, body);
    };
    const fault = this.#faults.find((f) => f.remaining > 0);
    if (fault) {
      fault.remaining--;
      this.#faults = this.#faults.filter((f) => f.remaining > 0);
      if (fault.kind !== "missing-fields") {
        const [status, message] = _FAULTS[fault.kind];
        return answer(status, { message });
      }
    }
    const match = /^\/role-aliases\/([^/?]+)\/credentials$/.exec(
      request.url ?? "",
    );
    if (request.method !== "GET" || !match) {
      return answer(404, { message: "Not Found" });
    }
    if (thingName === "") {
      return answer(400, { message: "Missing thing name" });
    }
    const peer = (request.socket as unknown as {
      getPeerCertificate(): {
        subject?: { CN?: string };
        fingerprint256?: string;
      };
    }).getPeerCertificate();
    if (peer.subject?.CN !== thingName) {
      return answer(403, { message: "Access Denied" });
    }
    const roleArn = this.#aliases.get(decodeURIComponent(match[1]!));
    if (roleArn === undefined) {
      return answer(404, { message: "Role alias does not exist" });
    }
    const id = (peer.fingerprint256 ?? "").replaceAll(":", "").toLowerCase();
    const reply = await this.#sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: id }),
    );
    const c = reply.Credentials!;
    const credentials: Record<string, string> = {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
      expiration: c.Expiration!.toISOString(),
    };
    if (fault?.kind === "missing-fields") {
      delete credentials.sessionToken;
      delete credentials.expiration;
    }
    answer(200, { credentials });
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#sts.destroy();
      this.#server.close(() => resolve());
      (this.#server as unknown as { closeAllConnections?(): void })
        .closeAllConnections?.();
    });
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
