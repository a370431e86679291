/**
 * {@linkcode mintWebIdentityToken}: OIDC tokens (JWTs) for the local STS
 * endpoint's `AssumeRoleWithWebIdentity`.
 *
 * @module
 */

import { _base64Url, _hs256 } from "./_hs256.ts";

/** The issuer (`iss`) the local STS endpoint trusts by default. */
export const LOCAL_WEB_IDENTITY_ISSUER = "https://oidc.brs.localhost";
/** The audience (`aud`) the local STS endpoint accepts by default (as AWS for EKS and GitHub Actions). */
export const LOCAL_WEB_IDENTITY_AUDIENCE = "sts.amazonaws.com";
/** The HS256 key the local STS endpoint verifies tokens with by default. Test-only: it is public. */
export const LOCAL_WEB_IDENTITY_KEY = "brs-local-oidc-signing-key";

/**
 * Options of {@linkcode mintWebIdentityToken}.
 *
 * @example Usage
 * ```ts
 * import type { MintWebIdentityTokenOptions } from "@brs/session/testing";
 *
 * const options: MintWebIdentityTokenOptions = { audience: "sts.amazonaws.com", expiresIn: 60 };
 * ```
 */
export interface MintWebIdentityTokenOptions {
  /**
   * The `aud` claim.
   *
   * @default {"sts.amazonaws.com"}
   */
  audience?: string;
  /**
   * The `sub` claim.
   *
   * @default {"system:serviceaccount:default:app"}
   */
  subject?: string;
  /**
   * Seconds from `issuedAt` to `exp`; negative for an already expired token.
   *
   * @default {3600}
   */
  expiresIn?: number;
  /**
   * The `iss` claim.
   *
   * @default {LOCAL_WEB_IDENTITY_ISSUER}
   */
  issuer?: string;
  /**
   * The HS256 signing key (another key makes a token with a bad signature).
   *
   * @default {LOCAL_WEB_IDENTITY_KEY}
   */
  key?: string;
  /**
   * The `iat` claim.
   *
   * @default {new Date()}
   */
  issuedAt?: Date;
}

/**
 * Mints an OIDC token (a JWT signed with HS256) that the local STS endpoint
 * of {@linkcode startLocalSts} accepts for `AssumeRoleWithWebIdentity`, or,
 * with another `key`, `audience`, `issuer` or a negative `expiresIn`, one it
 * refuses the way AWS does (`InvalidIdentityToken`,
 * `ExpiredTokenException`). Test-only: the default key is public.
 *
 * @param options Claims, lifetime and key.
 * @returns The token: `header.payload.signature`.
 * @throws {TypeError} If an option has a bad type.
 *
 * @example Usage
 * ```ts
 * import { mintWebIdentityToken } from "@brs/session/testing";
 * import { assertEquals } from "@std/assert";
 *
 * const token = mintWebIdentityToken({ subject: "repo:octo/app:ref:refs/heads/main", expiresIn: 300 });
 * const claims = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
 * assertEquals(claims.sub, "repo:octo/app:ref:refs/heads/main");
 * assertEquals(claims.exp - claims.iat, 300);
 * ```
 */
export function mintWebIdentityToken(
  options: MintWebIdentityTokenOptions = {},
): string {
  const {
    audience = LOCAL_WEB_IDENTITY_AUDIENCE,
    subject = "system:serviceaccount:default:app",
    expiresIn = 3600,
    issuer = LOCAL_WEB_IDENTITY_ISSUER,
    key = LOCAL_WEB_IDENTITY_KEY,
    issuedAt = new Date(),
  } = options;
  for (
    const [name, value] of Object.entries({ audience, subject, issuer, key })
  ) {
    if (typeof value !== "string" || value === "") {
      throw new TypeError(
        `Cannot mint token as '${name}' must be a non-empty string: got ${typeof value}`,
      );
    }
  }
  if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn)) {
    throw new TypeError(
      `Cannot mint token as 'expiresIn' must be a finite number of seconds: got ${
        String(expiresIn)
      }`,
    );
  }
  if (!(issuedAt instanceof Date) || Number.isNaN(issuedAt.getTime())) {
    throw new TypeError("Cannot mint token as 'issuedAt' must be a valid Date");
  }
  const iat = Math.floor(issuedAt.getTime() / 1000);
  const header = _base64Url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = _base64Url(JSON.stringify({
    iss: issuer,
    sub: subject,
    aud: audience,
    iat,
    nbf: iat,
    exp: iat + Math.round(expiresIn),
    jti: crypto.randomUUID(),
  }));
  return `${header}.${payload}.${_hs256(`${header}.${payload}`, key)}`;
}
