/**
 * Private helpers shared by the sessions that call STS: send a command and
 * keep the reply's `Date` header (rule 7: lifetime is measured against the
 * server's clock), then check and map the `Credentials` of the reply.
 *
 * @module
 */

import type { _FetchResult } from "./_refresher.ts";
import { BRSRefreshError } from "./errors.ts";

/** How far an Expiration may lie beyond the requested duration before it is capped. */
const _EXPIRATION_SLACK_MS = 300_000;

/** The `Date` header of an HTTP response from the SDK, if it has a valid one. */
export function _headerDate(response: unknown): Date | undefined {
  const headers =
    (response as { headers?: Record<string, unknown> } | undefined)
      ?.headers;
  if (headers === undefined || headers === null) return undefined;
  const raw = headers["date"] ?? headers["Date"];
  if (typeof raw !== "string") return undefined;
  const date = new Date(raw);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The parts of an SDK command and client this module uses. */
interface _Command {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<{ response: unknown }>,
      ) => (args: unknown) => Promise<{ response: unknown }>,
      options: { step: "deserialize"; name: string; priority: "low" },
    ): void;
  };
}

/**
 * Sends `command` with `client` and returns the reply with the `Date` header
 * of the HTTP response.
 *
 * @typeParam R The command's output type.
 * @param client An SDK client (`STSClient`).
 * @param command An SDK command.
 * @param signal Aborts the call.
 * @returns The reply and the server's date, if the reply had one.
 */
export async function _sendWithServerDate<R>(
  client: { send(command: never, options: never): Promise<unknown> },
  command: object,
  signal: AbortSignal,
): Promise<{ reply: R; serverDate: Date | undefined }> {
  let serverDate: Date | undefined;
  (command as _Command).middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      serverDate = _headerDate(out.response);
      return out;
    },
    { step: "deserialize", name: "brsCaptureDateHeader", priority: "low" },
  );
  const reply = await client.send(
    command as never,
    { abortSignal: signal } as never,
  ) as R;
  return { reply, serverDate };
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
 * @param serverDate The reply's `Date`, if known.
 * @param requestedSeconds The lifetime asked for.
 * @param warn Emits a `warning` event.
 * @returns The credentials and the server's date.
 * @throws {BRSRefreshError} If a field is missing.
 */
export function _mapStsCredentials(
  action: string,
  c: _StsCredentials | undefined,
  serverDate: Date | undefined,
  requestedSeconds: number,
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
  const base = serverDate?.getTime() ?? Date.now();
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
    ...(serverDate === undefined ? {} : { serverDate }),
  };
}
