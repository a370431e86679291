/**
 * A loopback HTTP endpoint in the AWS container-credentials format, for
 * `brs exec --server`: SDKs and the AWS CLI find it through
 * `AWS_CONTAINER_CREDENTIALS_FULL_URI` and send
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN` as the `Authorization` header.
 *
 * @module
 */

import type { TemporaryCredentials } from "../types.ts";
import { _scrub } from "./_output.ts";

/** A running credential server. */
export interface _CredentialServer extends AsyncDisposable {
  /** The full URI for `AWS_CONTAINER_CREDENTIALS_FULL_URI`. */
  readonly url: string;
  /** The token for `AWS_CONTAINER_AUTHORIZATION_TOKEN`. */
  readonly token: string;
  /** Stops the server. */
  close(): Promise<void>;
}

function _randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function _sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i % (x.length || 1)] ?? 0) ^ (y[i % (y.length || 1)] ?? 0);
  }
  return diff === 0;
}

/** The most connections open at once; a new one beyond it evicts the oldest. */
const _MAX_CONNECTIONS = 64;
/** A client must send its whole request head within this. */
const _HEAD_TIMEOUT_MS = 5_000;
/** The largest request head read (request line and headers). */
const _MAX_HEAD_BYTES = 16 * 1024;

const _REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
};

/** One HTTP/1.1 response with a JSON body; the connection then closes. */
function _json(status: number, body: unknown): Uint8Array {
  const text = JSON.stringify(body);
  const bytes = new TextEncoder().encode(text);
  const head = `HTTP/1.1 ${status} ${_REASONS[status] ?? ""}\r\n` +
    "content-type: application/json\r\n" +
    "cache-control: no-store\r\n" +
    `content-length: ${bytes.length}\r\n` +
    "connection: close\r\n\r\n";
  const out = new Uint8Array(head.length + bytes.length);
  out.set(new TextEncoder().encode(head));
  out.set(bytes, head.length);
  return out;
}

/** The request line and headers, or the status to answer a request that is not one (400, 431). */
async function _readHead(
  conn: Deno.Conn,
): Promise<{ method: string; target: string; authorization: string } | number> {
  const buffer = new Uint8Array(_MAX_HEAD_BYTES);
  let length = 0;
  while (true) {
    const n = await conn.read(buffer.subarray(length));
    if (n === null) return 400;
    length += n;
    const text = new TextDecoder().decode(buffer.subarray(0, length));
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const [requestLine = "", ...lines] = text.slice(0, end).split("\r\n");
      const [method = "", target = ""] = requestLine.split(" ");
      let authorization = "";
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (line.slice(0, colon).trim().toLowerCase() === "authorization") {
          authorization = line.slice(colon + 1).trim();
        }
      }
      return { method, target, authorization };
    }
    if (length === buffer.length) return 431;
  }
}

/**
 * Starts the server on 127.0.0.1, a random port, a random path and a random
 * 256-bit token. Every request with the right token gets `get()`'s current
 * credentials (so a child that runs for hours gets fresh ones); without it,
 * 401.
 */
// deno-lint-ignore require-await
export async function _startCredentialServer(
  get: () => Promise<TemporaryCredentials>,
): Promise<_CredentialServer> {
  const token = _randomToken();
  const path = `/brs/credentials/${_randomToken().slice(0, 16)}`;
  const answer = async (
    head: { method: string; target: string; authorization: string },
  ): Promise<Uint8Array> => {
    if (!_sameSecret(head.authorization, token)) {
      return _json(401, {
        Code: "Unauthorized",
        Message: "Missing or wrong Authorization header",
      });
    }
    if (head.target.split("?")[0] !== path) {
      return _json(404, { Code: "NotFound", Message: "No such path" });
    }
    if (head.method !== "GET") {
      return _json(405, { Code: "MethodNotAllowed", Message: "Use GET" });
    }
    try {
      const c = await get();
      return _json(200, {
        AccessKeyId: c.accessKey,
        SecretAccessKey: c.secretKey,
        Token: c.token,
        Expiration: c.expiryTime,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return _json(500, {
        Code: "RefreshFailed",
        Message: _scrub(message.split("\n")[0] ?? ""),
      });
    }
  };
  // A small server of our own rather than Deno.serve: any local user can
  // connect to the port, so open connections are capped (the oldest goes
  // when a new one comes), a client that is slow to send its request is
  // dropped, and a failed accept (no file descriptor left) waits and tries
  // again instead of ending brs.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.Conn>();
  const drop = (conn: Deno.Conn): void => {
    open.delete(conn);
    try {
      conn.close();
    } catch { /* closed already */ }
  };
  const serve = async (conn: Deno.Conn): Promise<void> => {
    const timer = setTimeout(() => drop(conn), _HEAD_TIMEOUT_MS);
    try {
      const head = await _readHead(conn);
      clearTimeout(timer);
      const reply = typeof head === "number"
        ? _json(head, { Code: "BadRequest", Message: "Bad request" })
        : await answer(head);
      let written = 0;
      while (written < reply.length) {
        written += await conn.write(reply.subarray(written));
      }
    } catch {
      /* the client went away, or was dropped */
    } finally {
      clearTimeout(timer);
      drop(conn);
    }
  };
  let closed = false;
  const accepting = (async () => {
    while (!closed) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        if (closed) return;
        // no file descriptor left (EMFILE) or a reset: breathe, go on
        await new Promise((done) => setTimeout(done, 50));
        continue;
      }
      if (open.size >= _MAX_CONNECTIONS) drop(open.values().next().value!);
      open.add(conn);
      serve(conn);
    }
  })();
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      listener.close();
    } catch { /* closed already */ }
    for (const conn of [...open]) drop(conn);
    await accepting;
  };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    token,
    close,
    [Symbol.asyncDispose]: close,
  };
}
