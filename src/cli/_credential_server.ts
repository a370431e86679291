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

function _json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
    },
  });
}

/**
 * Starts the server on 127.0.0.1, a random port, a random path and a random
 * 256-bit token. Every request with the right token gets `get()`'s current
 * credentials (so a child that runs for hours gets fresh ones); without it,
 * 401.
 */
export async function _startCredentialServer(
  get: () => Promise<TemporaryCredentials>,
): Promise<_CredentialServer> {
  const token = _randomToken();
  const path = `/brs/credentials/${_randomToken().slice(0, 16)}`;
  const { promise: listening, resolve } = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => resolve(port),
    onError: () =>
      _json(500, { Code: "InternalError", Message: "Internal error" }),
  }, async (request) => {
    const url = new URL(request.url);
    if (!_sameSecret(request.headers.get("authorization") ?? "", token)) {
      return _json(401, {
        Code: "Unauthorized",
        Message: "Missing or wrong Authorization header",
      });
    }
    if (url.pathname !== path) {
      return _json(404, { Code: "NotFound", Message: "No such path" });
    }
    if (request.method !== "GET") {
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
  });
  const port = await listening;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await server.shutdown();
  };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    token,
    close,
    [Symbol.asyncDispose]: close,
  };
}
