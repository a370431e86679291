/**
 * Private helper of the local STS endpoint: checks the AWS Signature Version 4
 * of a request by signing it again with the AWS SDK's own signer
 * (`@smithy/signature-v4`) and comparing.
 *
 * @module
 */

import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import type { _RawRequest } from "./_http.ts";

/** The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header. */
export interface _ParsedAuthorization {
  accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/**
 * Parses an `Authorization` header. Returns a message (AWS's wording) when it
 * is incomplete.
 */
export function _parseAuthorization(
  header: string,
): _ParsedAuthorization | { problem: string } {
  const match = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(header.trim());
  if (!match) {
    return {
      problem:
        `Authorization header requires the 'AWS4-HMAC-SHA256' algorithm. Authorization=${
          header.split(/\s/)[0] ?? ""
        }`,
    };
  }
  const fields = new Map<string, string>();
  for (const part of match[1]!.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const name of ["Credential", "SignedHeaders", "Signature"]) {
    if (!fields.get(name)) {
      return {
        problem:
          `Authorization header requires '${name}' parameter. Authorization=AWS4-HMAC-SHA256`,
      };
    }
  }
  const scope = fields.get("Credential")!.split("/");
  if (scope.length !== 5 || scope[4] !== "aws4_request" || !scope[0]) {
    return {
      problem:
        "Credential should be scoped to a valid region, service and 'aws4_request'",
    };
  }
  return {
    accessKeyId: scope[0],
    scopeDate: scope[1]!,
    region: scope[2]!,
    service: scope[3]!,
    signedHeaders: fields.get("SignedHeaders")!.split(";"),
    signature: fields.get("Signature")!,
  };
}

/** Parses an `X-Amz-Date` value (`YYYYMMDDTHHMMSSZ`). */
export function _parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const date = new Date(
    Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!),
  );
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** SHA-256 as the AWS SDK's Node runtime configures it (`Hash.bind(null, "sha256")`). */
class Sha256 extends Hash {
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    super("sha256", secret as ConstructorParameters<typeof Hash>[1]);
  }
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Signs the request again with `secretAccessKey` (same date, scope, signed
 * headers and session token) and tells whether the signatures match.
 */
export async function _verifySignature(
  request: _RawRequest,
  auth: _ParsedAuthorization,
  signingDate: Date,
  secretAccessKey: string,
): Promise<boolean> {
  const url = new URL(request.target, "http://localhost");
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const previous = query[key];
    query[key] = previous === undefined
      ? value
      : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = request.headers.get(name);
    if (value !== undefined) headers[name] = value;
  }
  const sessionToken = auth.signedHeaders.includes("x-amz-security-token")
    ? request.headers.get("x-amz-security-token")
    : undefined;
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch { /* keep it raw */ }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: auth.accessKeyId,
      secretAccessKey,
      sessionToken,
    },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    applyChecksum: false,
    uriEscapePath: true,
  });
  const signed = await signer.sign({
    method: request.method,
    protocol: "http:",
    hostname: (request.headers.get("host") ?? "").replace(/:\d+$/, ""),
    path,
    query,
    headers,
    body: request.body,
  }, {
    signingDate,
    signingRegion: auth.region,
    signingService: auth.service,
    signableHeaders: new Set(auth.signedHeaders),
  });
  const parsed = _parseAuthorization(signed.headers["authorization"] ?? "");
  if ("problem" in parsed) return false;
  return parsed.signedHeaders.join(";") === auth.signedHeaders.join(";") &&
    timingSafeEqual(parsed.signature, auth.signature);
}
