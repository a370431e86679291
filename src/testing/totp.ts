/**
 * RFC 6238 TOTP codes for tests, so that MFA can be exercised without
 * `oathtool`.
 *
 * @module
 */

import { _base32Decode, _hotp, _totpCounter } from "./_totp.ts";

/**
 * Computes the RFC 6238 TOTP code (30 s steps, 6 digits, HMAC-SHA1) of a
 * base32 secret, as an authenticator app or `oathtool --totp -b` would. The
 * local STS endpoint accepts the code of the current step and of the steps
 * just before and after it, each once per device.
 *
 * @param base32Secret The device's secret in RFC 4648 base32 (case, spaces and `=` padding ignored).
 * @param timeMs The time to compute the code for, in ms since the epoch.
 * @default {Date.now()} for `timeMs`
 * @returns The 6-digit code, with leading zeros.
 * @throws {TypeError} If `base32Secret` is not valid base32 or `timeMs` is not a finite number >= 0.
 *
 * @example Usage
 * ```ts
 * import { totp } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * // RFC 6238 test vector (SHA-1 secret "12345678901234567890"),
 * // last 6 digits.
 * const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
 * assertEquals(totp(secret, 59_000), "287082");
 * assertEquals(totp(secret).length, 6);
 * ```
 */
export function totp(
  base32Secret: string,
  timeMs: number = Date.now(),
): string {
  if (typeof timeMs !== "number" || !Number.isFinite(timeMs) || timeMs < 0) {
    throw new TypeError(
      `Cannot compute TOTP code as 'timeMs' must be a finite number >= 0: got ${
        String(timeMs)
      }`,
    );
  }
  const key = typeof base32Secret === "string"
    ? _base32Decode(base32Secret)
    : undefined;
  if (key === undefined) {
    throw new TypeError(
      "Cannot compute TOTP code as 'base32Secret' is not valid RFC 4648 base32: use the letters A-Z and digits 2-7",
    );
  }
  return _hotp(key, _totpCounter(timeMs));
}
