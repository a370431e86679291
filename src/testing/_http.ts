/**
 * Private helper of the local STS endpoint: a tiny HTTP/1.1 server on a raw
 * TCP listener. Written by hand (rather than `Deno.serve`) so that a fault can
 * really drop a connection without a reply, or hold it open, and so that
 * `close()` can end every connection at once.
 *
 * @module
 */

/** The largest request head (request line + headers) read, in bytes. */
export const _MAX_HEAD_BYTES = 16 * 1024;
/** The largest request body read, in bytes. */
export const _MAX_BODY_BYTES = 64 * 1024;

/** A parsed HTTP request. */
export interface _RawRequest {
  method: string;
  /** The request target as sent, e.g. `/?Action=GetCallerIdentity`. */
  target: string;
  /** Header names in lower case; repeated headers joined with `,`. */
  headers: Map<string, string>;
  body: Uint8Array;
}

/** What to do with a request. */
export type _Reply =
  | {
    kind: "reply";
    status: number;
    headers: [string, string][];
    body: string;
    /** Close the connection after this reply. */
    close?: boolean;
  }
  | { kind: "drop" }
  | { kind: "hang" };

/** A problem with the request itself, found before the handler ran. */
export interface _ProtocolProblem {
  status: number;
  reason: "head-too-large" | "body-too-large" | "bad-request" | "chunked";
}

/** The callbacks of {@linkcode _HttpServer}. */
export interface _HttpHandlers {
  /** Answers one parsed request. */
  handle(request: _RawRequest): Promise<_Reply>;
  /** Answers a request that could not be read (the connection closes after it). */
  problem(problem: _ProtocolProblem): _Reply & { kind: "reply" };
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  411: "Length Required",
  413: "Payload Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function indexOfHeadEnd(buffer: Uint8Array): number {
  for (let i = 0; i + 3 < buffer.length; i++) {
    if (
      buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 &&
      buffer[i + 3] === 10
    ) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) {
    written += await conn.write(data.subarray(written));
  }
}

/** Serializes a reply with `Content-Length`. */
function serializeReply(
  reply: _Reply & { kind: "reply" },
  close: boolean,
): Uint8Array {
  const body = encoder.encode(reply.body);
  let head = `HTTP/1.1 ${reply.status} ${
    STATUS_TEXT[reply.status] ?? "Unknown"
  }\r\n`;
  for (const [name, value] of reply.headers) head += `${name}: ${value}\r\n`;
  head += `Content-Length: ${body.length}\r\n`;
  head += `Connection: ${close ? "close" : "keep-alive"}\r\n\r\n`;
  return concat(encoder.encode(head), body);
}

/** A small HTTP/1.1 server (keep-alive, `Content-Length` bodies only). */
export class _HttpServer {
  #listener: Deno.Listener;
  #handlers: _HttpHandlers;
  #conns = new Set<Deno.Conn>();
  #idle = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #closing = new AbortController();
  #closed: Promise<void> | undefined;
  #acceptLoop: Promise<void>;

  constructor(listener: Deno.Listener, handlers: _HttpHandlers) {
    this.#listener = listener;
    this.#handlers = handlers;
    this.#acceptLoop = this.#accept();
  }

  /** Aborted when the server starts closing. */
  get signal(): AbortSignal {
    return this.#closing.signal;
  }

  /** Stops listening, ends every connection, and waits for all of it. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      try {
        this.#listener.close();
      } catch { /* already closed */ }
      for (const conn of [...this.#conns]) this.#closeConn(conn);
      await this.#acceptLoop;
      while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    })();
    return this.#closed;
  }

  /**
   * Closes keep-alive connections that wait for their next request, so that
   * the next request comes on a fresh connection (a client may silently
   * retry a request whose reused connection was dropped).
   */
  closeIdle(): void {
    for (const conn of [...this.#idle]) this.#closeConn(conn);
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if (this.#closing.signal.aborted) {
          conn.close();
          break;
        }
        this.#conns.add(conn);
        const task = this.#serve(conn).finally(() => {
          this.#closeConn(conn);
          this.#tasks.delete(task);
        });
        this.#tasks.add(task);
      }
    } catch {
      // The listener was closed.
    }
  }

  #closeConn(conn: Deno.Conn): void {
    this.#idle.delete(conn);
    if (!this.#conns.delete(conn)) return;
    try {
      conn.close();
    } catch { /* already closed */ }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    let buffer: Uint8Array<ArrayBuffer> = new Uint8Array(0);
    const chunk = new Uint8Array(16 * 1024);
    const idle = this.#idle;
    let served = false;
    async function fill(): Promise<boolean> {
      // Idle: kept alive after a reply, waiting for the next request.
      if (served && buffer.length === 0) idle.add(conn);
      const n = await conn.read(chunk).finally(() => idle.delete(conn));
      if (n === null) return false;
      buffer = concat(buffer, chunk.subarray(0, n));
      return true;
    }
    const handlers = this.#handlers;
    async function answerProblem(
      status: number,
      reason: _ProtocolProblem["reason"],
    ): Promise<void> {
      await writeAll(
        conn,
        serializeReply(handlers.problem({ status, reason }), true),
      );
    }
    try {
      while (!this.#closing.signal.aborted) {
        let headEnd: number;
        while ((headEnd = indexOfHeadEnd(buffer)) < 0) {
          if (buffer.length > _MAX_HEAD_BYTES) {
            return await answerProblem(431, "head-too-large");
          }
          if (!await fill()) return;
        }
        if (headEnd > _MAX_HEAD_BYTES) {
          return await answerProblem(431, "head-too-large");
        }
        const lines = decoder.decode(buffer.subarray(0, headEnd)).split(
          "\r\n",
        );
        const [method, target, version] = (lines[0] ?? "").split(" ");
        if (
          !method || !target || !version?.startsWith("HTTP/1.") ||
          lines[0]!.split(" ").length !== 3
        ) {
          return await answerProblem(400, "bad-request");
        }
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          if (colon <= 0) return await answerProblem(400, "bad-request");
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          const previous = headers.get(name);
          headers.set(
            name,
            previous === undefined ? value : `${previous},${value}`,
          );
        }
        if (headers.has("transfer-encoding")) {
          return await answerProblem(411, "chunked");
        }
        const lengthHeader = headers.get("content-length") ?? "0";
        if (!/^\d+$/.test(lengthHeader)) {
          return await answerProblem(400, "bad-request");
        }
        const length = Number(lengthHeader);
        if (length > _MAX_BODY_BYTES) {
          return await answerProblem(413, "body-too-large");
        }
        const bodyStart = headEnd + 4;
        while (buffer.length < bodyStart + length) {
          if (!await fill()) return;
        }
        const body = buffer.slice(bodyStart, bodyStart + length);
        buffer = buffer.slice(bodyStart + length);
        let close = version === "HTTP/1.0" ||
          (headers.get("connection") ?? "").toLowerCase() === "close";

        const reply = await handlers.handle({ method, target, headers, body });
        if (this.#closing.signal.aborted || reply.kind === "drop") return;
        if (reply.kind === "hang") {
          await this.#hang(conn);
          return;
        }
        close ||= reply.close === true;
        await writeAll(conn, serializeReply(reply, close));
        served = true;
        if (close) return;
      }
    } catch {
      // The client went away or the server is closing: nothing to answer.
    }
  }

  /** Holds the connection without answering until the client leaves or the server closes. */
  async #hang(conn: Deno.Conn): Promise<void> {
    const sink = new Uint8Array(1024);
    try {
      while (!this.#closing.signal.aborted) {
        if (await conn.read(sink) === null) break;
      }
    } catch {
      // Closed by close().
    }
  }
}
