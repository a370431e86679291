/**
 * Private part of the local STS endpoint: `AssumeRoleWithWebIdentity`, with
 * tokens checked for signature (HS256), issuer, audience and expiry, and
 * AWS's error codes.
 *
 * @module
 */

import { _hs256 } from "./_hs256.ts";
import {
  LOCAL_WEB_IDENTITY_AUDIENCE,
  LOCAL_WEB_IDENTITY_ISSUER,
  LOCAL_WEB_IDENTITY_KEY,
} from "./web_identity_token.ts";
import type { _XmlElements } from "./_xml.ts";
import {
  _checkRoleAndSessionName,
  _parseRoleArn,
  _stableId,
  _Violations,
} from "./_sts_rules.ts";

/**
 * The web identity settings of the local STS endpoint.
 *
 * @example Usage
 * ```ts
 * import { type LocalWebIdentityOptions, startLocalSts } from "@brs/session/testing";
 *
 * const webIdentity: LocalWebIdentityOptions = { audiences: ["my-app"], key: "test-key" };
 * await using _sts = await startLocalSts({ webIdentity });
 * ```
 */
export interface LocalWebIdentityOptions {
  /**
   * The issuers (`iss`) trusted, as OIDC providers of the account.
   *
   * @default {[LOCAL_WEB_IDENTITY_ISSUER]}
   */
  issuers?: string[];
  /**
   * The audiences (`aud`) accepted.
   *
   * @default {[LOCAL_WEB_IDENTITY_AUDIENCE]}
   */
  audiences?: string[];
  /**
   * The HS256 key tokens must be signed with.
   *
   * @default {LOCAL_WEB_IDENTITY_KEY}
   */
  key?: string;
}

/** An STS error: HTTP status, code and message. */
export type _WebIdentityError = [status: number, code: string, message: string];

/** The principal of the issued credentials (the local endpoint's role shape). */
export interface _WebIdentityPrincipal {
  kind: "role";
  roleArn: string;
  partition: string;
  account: string;
  roleName: string;
  roleId: string;
  sessionName: string;
}

/** The faults of `AssumeRoleWithWebIdentity`, by kind. */
export const _WEB_IDENTITY_FAULTS: Readonly<Record<string, _WebIdentityError>> =
  {
    "invalid-identity-token": [
      400,
      "InvalidIdentityToken",
      "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
    ],
    "idp-communication-error": [
      400,
      "IDPCommunicationError",
      "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached.",
    ],
    "idp-rejected-claim": [
      403,
      "IDPRejectedClaim",
      "The identity provider (IdP) reported that authentication failed.",
    ],
  };

function _decodePart(part: string): Record<string, unknown> | undefined {
  try {
    const text = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    const value = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes),
    );
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

function _constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Checks a token; returns its claims or the error STS would answer.
 *
 * @param token The `WebIdentityToken` parameter.
 * @param options The endpoint's settings.
 * @param nowMs The server's time.
 * @returns The subject, audience and issuer, or an error.
 */
export function _verifyWebIdentityToken(
  token: string,
  options: LocalWebIdentityOptions,
  nowMs: number,
):
  | { subject: string; audience: string; issuer: string }
  | { error: _WebIdentityError } {
  const invalid = (message: string): { error: _WebIdentityError } => ({
    error: [400, "InvalidIdentityToken", message],
  });
  const parts = token.split(".");
  const header = parts.length === 3 ? _decodePart(parts[0]!) : undefined;
  const claims = parts.length === 3 ? _decodePart(parts[1]!) : undefined;
  if (header === undefined || claims === undefined) {
    return invalid("The web identity token is not a valid JWT");
  }
  const issuer = claims.iss;
  if (
    typeof issuer !== "string" ||
    !(options.issuers ?? [LOCAL_WEB_IDENTITY_ISSUER]).includes(issuer)
  ) {
    return invalid(
      `No OpenIDConnect provider found in your account for ${
        typeof issuer === "string" ? issuer : "the token's issuer"
      }`,
    );
  }
  const expected = _hs256(
    `${parts[0]}.${parts[1]}`,
    options.key ?? LOCAL_WEB_IDENTITY_KEY,
  );
  if (header.alg !== "HS256" || !_constantTimeEqual(expected, parts[2]!)) {
    return invalid("The signature of the web identity token is not valid");
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const accepted = options.audiences ?? [LOCAL_WEB_IDENTITY_AUDIENCE];
  const audience = audiences.find((a) =>
    typeof a === "string" && accepted.includes(a)
  );
  if (audience === undefined) return invalid("Incorrect token audience");
  const now = Math.floor(nowMs / 1000);
  if (typeof claims.exp !== "number" || now >= claims.exp) {
    return {
      error: [
        400,
        "ExpiredTokenException",
        `Token expired: current date/time ${now} must be before the expiration date/time${
          typeof claims.exp === "number" ? claims.exp : 0
        }`,
      ],
    };
  }
  if (typeof claims.nbf === "number" && now + 300 < claims.nbf) {
    return invalid("The web identity token is not valid yet (nbf)");
  }
  return {
    subject: typeof claims.sub === "string" ? claims.sub : "",
    audience,
    issuer,
  };
}

/**
 * Answers `AssumeRoleWithWebIdentity` (an unsigned call).
 *
 * @param params The request's parameters.
 * @param options The endpoint's web identity settings.
 * @param lenient Whether any positive `DurationSeconds` is accepted.
 * @param issue Issues credentials for a principal with the requested lifetime.
 * @returns The result elements, or the error STS would answer.
 */
export function _assumeRoleWithWebIdentity(
  params: Map<string, string>,
  options: LocalWebIdentityOptions,
  lenient: boolean,
  issue: (
    principal: _WebIdentityPrincipal,
    duration: number | undefined,
  ) => _XmlElements,
): { result: _XmlElements } | { error: _WebIdentityError } {
  const v = new _Violations();
  const roleArn = params.get("RoleArn");
  const sessionName = params.get("RoleSessionName");
  const token = params.get("WebIdentityToken");
  _checkRoleAndSessionName(v, roleArn, sessionName);
  // The token itself is never echoed in a message.
  if (token === undefined) {
    v.add(undefined, "webIdentityToken", "Member must not be null");
  } else if (token.length < 4 || token.length > 20000) {
    v.add(
      "***",
      "webIdentityToken",
      "Member must have length between 4 and 20000",
    );
  }
  const duration = v.integer(
    params.get("DurationSeconds"),
    "durationSeconds",
    lenient ? { min: 1 } : { min: 900, max: 43200 },
  );
  const message = v.message();
  if (message) return { error: [400, "ValidationError", message] };
  const verified = _verifyWebIdentityToken(token!, options, Date.now());
  if ("error" in verified) return verified;
  const role = _parseRoleArn(roleArn!)!;
  const principal: _WebIdentityPrincipal = {
    kind: "role",
    roleArn: roleArn!,
    partition: role.partition,
    account: role.account,
    roleName: role.name,
    roleId: `AROA${_stableId(`role:${roleArn}`)}`,
    sessionName: sessionName!,
  };
  return {
    result: {
      Credentials: issue(principal, duration),
      SubjectFromWebIdentityToken: verified.subject,
      AssumedRoleUser: {
        AssumedRoleId: `${principal.roleId}:${principal.sessionName}`,
        Arn:
          `arn:${principal.partition}:sts::${principal.account}:assumed-role/${principal.roleName}/${principal.sessionName}`,
      },
      Provider: verified.issuer.replace(/^https:\/\//, ""),
      Audience: verified.audience,
    },
  };
}
