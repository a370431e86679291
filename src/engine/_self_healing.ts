/**
 * Self-healing clients: the AWS SDK middleware that, when a service answers
 * ExpiredToken for a request signed with one of a session's keys,
 * invalidates that key (compare-and-swap: only the current key starts a
 * refresh) and sends the request once more, signed with fresh credentials.
 *
 * It sits at the `initialize` step, outside serialization, the SDK's retries
 * and signing: the retry serializes the original input again, resolves the
 * identity again (which waits for the one refresh) and signs again.
 *
 * @module
 */

import { BRSError } from "../errors.ts";
import { _keyIdHint } from "./_key_id.ts";
import { _sanitizeError } from "../_redact.ts";

/** What the middleware needs from a session. */
export interface _Healer {
  /** Whether the key is one the session handed out. */
  owns(accessKeyId: string): boolean;
  /** Invalidates the key if it is still the current one. */
  invalidate(accessKeyId: string): boolean;
}

/** The error codes and message of an expired or revoked session token. */
const _EXPIRED_CODES: ReadonlySet<string> = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
]);
const _EXPIRED_MESSAGE =
  "The security token included in the request is expired";

/** The name of the middleware in a client's stack. */
export const _MIDDLEWARE_NAME = "brsSelfHealingMiddleware";

const _healers = new WeakMap<object, _Healer>();

/**
 * Registers the healer of a session (done by the session's constructor).
 *
 * @param session The session.
 * @param healer Its key check and invalidation.
 */
export function _registerHealer(session: object, healer: _Healer): void {
  _healers.set(session, healer);
}

/**
 * The healer of a session, if it is one.
 *
 * @param session Any value.
 * @returns The healer, or `undefined`.
 */
export function _healerOf(session: unknown): _Healer | undefined {
  return typeof session === "object" && session !== null
    ? _healers.get(session)
    : undefined;
}

/** Whether an SDK error says the request's session token is expired (or revoked). */
export function _isExpiredToken(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  for (const code of [e.name, e.Code, e.code]) {
    if (typeof code === "string" && _EXPIRED_CODES.has(code)) return true;
  }
  const message = (error as { message?: unknown }).message;
  return typeof message === "string" && message.includes(_EXPIRED_MESSAGE);
}

/** The access key id the failed request was signed with, from the SDK's context. */
function _signingKey(context: unknown): string | undefined {
  const smithy = (context as Record<string, unknown> | undefined)
    ?.["__smithy_context"] as
      | { selectedHttpAuthScheme?: { identity?: { accessKeyId?: unknown } } }
      | undefined;
  const key = smithy?.selectedHttpAuthScheme?.identity?.accessKeyId;
  return typeof key === "string" ? key : undefined;
}

/** The name of a top-level input member that is a one-shot stream, if any. */
function _oneShotStream(input: unknown): string | undefined {
  if (typeof input !== "object" || input === null) return undefined;
  for (const [name, value] of Object.entries(input)) {
    if (typeof value !== "object" || value === null) continue;
    if (
      value instanceof ReadableStream ||
      typeof (value as { pipe?: unknown }).pipe === "function" ||
      (typeof (value as { [Symbol.asyncIterator]?: unknown })[
            Symbol.asyncIterator
          ] === "function" && !(value instanceof Blob))
    ) return name;
  }
  return undefined;
}

/** The SDK's middleware shape, as far as this module uses it. */
export type _Middleware = (
  next: (args: { input: unknown }) => Promise<unknown>,
  context: unknown,
) => (args: { input: unknown }) => Promise<unknown>;

/**
 * The self-healing middleware of one session.
 *
 * @param healer The session's key check and invalidation.
 * @returns An `initialize`-step middleware.
 */
export function _selfHealingMiddleware(healer: _Healer): _Middleware {
  return (next, context) => async (args) => {
    // Serialization may replace args.input (lib-dynamodb's marshalling
    // does): keep the caller's input for the retry.
    const input = args.input;
    try {
      return await next(args);
    } catch (error) {
      if (!_isExpiredToken(error)) throw error;
      const key = _signingKey(context);
      if (key === undefined || !healer.owns(key)) throw error;
      healer.invalidate(key);
      const stream = _oneShotStream(input);
      if (stream !== undefined) {
        throw new BRSError(
          `Cannot retry the request after ExpiredToken for key '${
            _keyIdHint(key)
          }' as its '${stream}' was a one-shot stream that is already read: the key was dropped, send the request again with a new '${stream}'`,
          { code: "ExpiredToken", param: stream, cause: _sanitizeError(error) },
        );
      }
      // Once: a second failure reaches the caller.
      return await next({ ...args, input });
    }
  };
}

/** Options of the middleware in a client's stack. */
export const _MIDDLEWARE_OPTIONS = {
  step: "initialize",
  priority: "low",
  name: _MIDDLEWARE_NAME,
  override: true,
  tags: ["SELF_HEALING"],
} as const;

/**
 * Adds the self-healing middleware to an AWS SDK v3 client (anything with a
 * `middlewareStack.add`); other values are left alone.
 *
 * @param client The client.
 * @param healer The session's key check and invalidation.
 * @returns The client.
 */
export function _applySelfHealing<C>(client: C, healer: _Healer): C {
  const stack = (client as { middlewareStack?: { add?: unknown } } | null)
    ?.middlewareStack;
  if (typeof stack?.add === "function") {
    const add = stack.add as (
      middleware: _Middleware,
      options: typeof _MIDDLEWARE_OPTIONS,
    ) => void;
    add.call(stack, _selfHealingMiddleware(healer), _MIDDLEWARE_OPTIONS);
  }
  return client;
}
