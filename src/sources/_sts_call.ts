/**
 * Private helpers shared by the sessions that call STS: send a command and
 * keep the reply's `Date` header (a lifetime is measured against the
 * server's clock: guide/refresh.md, "The Date header"), then check and map the `Credentials` of the reply.
 *
 * @module
 */

import { type _FetchResult, _MAX_DATE_SKEW_MS } from "../engine/_refresher.ts";
import { _isMalformedReply, _sanitizeError } from "../_redact.ts";
import { BRSError, BRSRefreshError } from "../errors.ts";

/** How far an Expiration may lie beyond the requested duration before it is capped. */
const _EXPIRATION_SLACK_MS = 300_000;

/** The raw `Date` header of an HTTP response from the SDK, `null` when absent. */
export function _rawHeaderDate(response: unknown): string | null {
  const headers =
    (response as { headers?: Record<string, unknown> } | undefined)
      ?.headers;
  if (headers === undefined || headers === null) return null;
  const raw = headers["date"] ?? headers["Date"];
  return typeof raw === "string" ? raw : null;
}

/** The parts of an SDK command and client this module uses. */
interface _Command {
  middlewareStack: {
    add(
      middleware: (
        next: (args: { request?: unknown }) => Promise<{ response: unknown }>,
        context: { commandName?: unknown },
      ) => (args: { request?: unknown }) => Promise<{ response: unknown }>,
      options: { step: "deserialize"; name: string; priority: "low" },
    ): void;
  };
}

/** What is known about a failed STS call, for messages. */
export interface _StsCallFacts {
  /** The STS action, e.g. `AssumeRole`. */
  action: string;
  /** The endpoint the request went to (`http://host:port`), if it was built. */
  endpoint: string | undefined;
}

/** The endpoint of a built SDK `HttpRequest`, without its path when `/`. */
function _endpointOf(request: unknown): string | undefined {
  const r = request as
    | { protocol?: unknown; hostname?: unknown; port?: unknown; path?: unknown }
    | undefined;
  if (typeof r?.hostname !== "string") return undefined;
  const protocol = typeof r.protocol === "string" ? r.protocol : "https:";
  const port = typeof r.port === "number" ? `:${r.port}` : "";
  const path = typeof r.path === "string" && r.path !== "/" ? r.path : "";
  return `${protocol}//${r.hostname}${port}${path}`;
}

/**
 * Maps a failed STS call of a refresh to what the engine gets: errors of
 * the module as they are, a reply that is not STS XML as a
 * `BRSRefreshError` with code `MalformedReply`, any other SDK error as a
 * secret-free copy (no request, response or body).
 *
 * @param error What the SDK threw.
 * @param facts The action and endpoint.
 * @returns The error to throw.
 */
export function _refreshCallError(
  error: unknown,
  facts: _StsCallFacts,
): unknown {
  if (error instanceof BRSError || !_isMalformedReply(error)) {
    return _sanitizeError(error);
  }
  return new BRSRefreshError(
    `Cannot refresh credentials as the STS endpoint${
      facts.endpoint === undefined ? "" : ` '${facts.endpoint}'`
    } sent a reply to ${facts.action} that is not STS XML: check the endpoint URL ('stsClientConfig.endpoint', or --endpoint-url of the CLI)`,
    {
      code: "MalformedReply",
      cause: _sanitizeError(error),
      ...(facts.endpoint === undefined
        ? {}
        : { details: { endpoint: facts.endpoint } }),
    },
  );
}

/**
 * Sends `command` with `client` and returns the reply with the raw `Date`
 * header of the HTTP response (the engine checks it). A failure is thrown
 * as `onError` maps it (by default {@linkcode _refreshCallError}): never the
 * SDK's error itself, whose hidden `$response` keeps the request headers.
 *
 * @typeParam R The command's output type.
 * @param client An SDK client (`STSClient`).
 * @param command An SDK command.
 * @param signal Aborts the call.
 * @param onError Maps a failure, given the action and endpoint.
 * @param facts Filled with the action and, once the request is built, the endpoint.
 * @returns The reply and its `Date` header, `null` when absent.
 */
export async function _sendWithDateHeader<R>(
  client: { send(command: never, options: never): Promise<unknown> },
  command: object,
  signal: AbortSignal,
  onError: (error: unknown, facts: _StsCallFacts) => unknown =
    _refreshCallError,
  facts: _StsCallFacts = { action: "", endpoint: undefined },
): Promise<{ reply: R; dateHeader: string | null }> {
  let dateHeader: string | null = null;
  facts.action = command.constructor.name.replace(/Command$/, "");
  (command as _Command).middlewareStack.add(
    (next, context) => async (args) => {
      if (typeof context.commandName === "string") {
        facts.action = context.commandName.replace(/Command$/, "");
      }
      facts.endpoint = _endpointOf(args.request);
      const out = await next(args);
      dateHeader = _rawHeaderDate(out.response);
      return out;
    },
    { step: "deserialize", name: "brsCaptureDateHeader", priority: "low" },
  );
  try {
    const reply = await client.send(
      command as never,
      { abortSignal: signal } as never,
    ) as R;
    return { reply, dateHeader };
  } catch (error) {
    throw onError(error, facts);
  }
}

/** The `Credentials` member of an STS reply. */
export interface _StsCredentials {
  AccessKeyId?: string | undefined;
  SecretAccessKey?: string | undefined;
  SessionToken?: string | undefined;
  Expiration?: Date | undefined;
}

/**
 * Checks the `Credentials` of an STS reply and maps them to the engine's
 * shape. STS never grants more than was asked: an `Expiration` far beyond the
 * requested duration (a broken or hostile endpoint) would stop refreshes, so
 * it is capped, and `warn` says so.
 *
 * @param action The STS action, for messages (e.g. `AssumeRole`).
 * @param c The reply's `Credentials`.
 * @param dateHeader The reply's raw `Date` header, `null` when absent.
 * @param requestedSeconds The lifetime asked for.
 * @param now The session's wall-clock time in milliseconds (an injected clock in tests).
 * @param warn Emits a `warning` event.
 * @returns The credentials and the raw `Date` header.
 * @throws {BRSRefreshError} If a field is missing.
 */
export function _mapStsCredentials(
  action: string,
  c: _StsCredentials | undefined,
  dateHeader: string | null,
  requestedSeconds: number,
  now: number,
  warn: (code: string, message: string) => void,
): _FetchResult {
  if (
    !c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken ||
    !(c.Expiration instanceof Date)
  ) {
    throw new BRSRefreshError(
      `Cannot refresh credentials as the ${action} reply lacks AccessKeyId, SecretAccessKey, SessionToken or Expiration: check the STS endpoint`,
      { code: "InvalidReply" },
    );
  }
  // The engine checks the header (absent, unparseable, a day off: local time
  // and a warning); here it only bounds the Expiration.
  const local = now;
  const parsed = dateHeader === null ? NaN : new Date(dateHeader).getTime();
  const base =
    Number.isNaN(parsed) || Math.abs(parsed - local) > _MAX_DATE_SKEW_MS
      ? local
      : parsed;
  const requested = requestedSeconds * 1000;
  let expiration = c.Expiration;
  if (expiration.getTime() > base + requested + _EXPIRATION_SLACK_MS) {
    expiration = new Date(base + requested);
    warn(
      "ExpirationCapped",
      `The ${action} reply's Expiration is beyond the requested ${
        requested / 1000
      } s: the credentials are treated as expiring at ${expiration.toISOString()}; check the STS endpoint`,
    );
  }
  return {
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration,
    },
    dateHeader,
  };
}
