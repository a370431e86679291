/**
 * Private helpers that keep secrets out of messages, `details`, events and
 * printed objects.
 *
 * @module
 */

/** The placeholder written instead of a secret value. */
export const _REDACTED = "[REDACTED]";

const _SECRET_KEY_NAMES = new Set([
  "secretaccesskey",
  "secretkey",
  "secret",
  "sessiontoken",
  "token",
  "tokencode",
  "code",
  "mfacode",
  "password",
  "privatekey",
  "webidentitytoken",
  "authorization",
  "credentials",
  "aws_secret_access_key",
  "aws_session_token",
  "aws_container_authorization_token",
]);

/**
 * Tells whether a property name holds a secret (secret key, session token,
 * MFA code, authorization header, credentials object).
 */
export function _isSecretKeyName(name: string): boolean {
  return _SECRET_KEY_NAMES.has(name.toLowerCase().replaceAll("-", "_")) ||
    _SECRET_KEY_NAMES.has(name.toLowerCase().replaceAll(/[-_]/g, ""));
}

/**
 * Returns a deep copy of `value` where every property whose name holds a
 * secret is replaced by `[REDACTED]`. Cycles, class instances and functions are
 * kept by reference; depth is bounded.
 */
export function _redactSecrets<T>(value: T, depth = 0): T {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    return value.map((v) => _redactSecrets(v, depth + 1)) as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = _isSecretKeyName(k) && v !== undefined
      ? _REDACTED
      : _redactSecrets(v, depth + 1);
  }
  return out as T;
}

/** The SDK's pointer to its hidden `$response` in a parse error's message. */
const _SDK_HIDDEN_HINT =
  /\s*Deserialization error: to see the raw response, inspect the hidden field \{error\}\.\$response on this object\.?/;

/** The fields of an AWS SDK error that say what failed and hold no secret. */
interface _SdkErrorFacts {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  cause?: unknown;
  Code?: unknown;
  Type?: unknown;
  $fault?: unknown;
  $metadata?: Record<string, unknown>;
}

/**
 * Tells whether `value` is an AWS SDK error that keeps the HTTP exchange:
 * `$response` (whose request headers hold the session token and whose body
 * may hold a web identity token or an MFA code) or the raw body. Other errors
 * the SDK only tags with `$metadata` (a refused connection, a missing Deno
 * permission) hold no request and keep their class.
 */
function _isSdkError(value: object): boolean {
  return "$response" in value || "$responseBodyText" in value ||
    "$request" in value;
}

/**
 * Returns an error safe to keep as a `cause`: an AWS SDK error that keeps
 * the HTTP exchange becomes a plain `Error` with its `name`, message, `Code`,
 * `Type`, `$fault` and `$metadata.httpStatusCode` / `requestId` / `attempts`
 * only (never `$response`, the request or the raw body), and so does its own
 * `cause`; anything else is returned as is.
 *
 * @param error What was thrown.
 * @returns The error, or a secret-free copy of it.
 */
export function _sanitizeError(error: unknown, depth = 0): unknown {
  if (
    depth > 8 || typeof error !== "object" || error === null ||
    !_isSdkError(error)
  ) return error;
  const e = error as _SdkErrorFacts;
  const message = (typeof e.message === "string" ? e.message : "")
    .replace(_SDK_HIDDEN_HINT, "");
  const copy = new Error(
    message,
    e.cause === undefined
      ? undefined
      : { cause: _sanitizeError(e.cause, depth + 1) },
  ) as Error & Record<string, unknown>;
  copy.name = typeof e.name === "string" ? e.name : "Error";
  const frames = typeof e.stack === "string"
    ? e.stack.indexOf("\n    at ")
    : -1;
  copy.stack = `${copy.name}: ${message}${
    frames < 0 ? "" : (e.stack as string).slice(frames)
  }`;
  for (const key of ["Code", "Type", "$fault"] as const) {
    if (typeof e[key] === "string") copy[key] = e[key];
  }
  const meta = e.$metadata;
  if (typeof meta === "object" && meta !== null) {
    const facts: Record<string, unknown> = {};
    for (const key of ["httpStatusCode", "requestId", "attempts"]) {
      const v = meta[key];
      if (typeof v === "number" || typeof v === "string") facts[key] = v;
    }
    copy.$metadata = facts;
  }
  return copy;
}

/**
 * Tells whether an AWS SDK error says the reply body could not be parsed
 * (not STS XML: a wrong endpoint, a proxy's HTML page, a broken server).
 *
 * @param error What was thrown.
 * @returns `true` for a parse error of the reply.
 */
export function _isMalformedReply(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === "string" &&
    (message.includes("XML parse error") ||
      message.includes("Deserialization error"));
}

/**
 * Control characters, and the characters that reorder or break lines when
 * printed (C0, DEL, C1, the line and paragraph separators, bidirectional
 * overrides and isolates).
 */
// deno-lint-ignore no-control-regex
const _CONTROL_RE = new RegExp(
  "[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]",
  "g",
);

/**
 * Escapes every control character of `text` as `\uXXXX` (a NUL becomes
 * `\u0000`), so that a key, a name or a path read from a file or the
 * environment cannot break, hide or rewrite a message or a terminal line.
 * Printable text, quotes and backslashes are kept as they are.
 *
 * @param text What goes into a message.
 * @returns The text with its control characters escaped.
 */
export function _controlEscape(text: string): string {
  return text.replace(
    _CONTROL_RE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
