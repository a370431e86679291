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
