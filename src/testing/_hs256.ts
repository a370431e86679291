/**
 * Private: the HS256 signature of the local endpoint's web identity tokens,
 * shared by the minting function and the endpoint's check.
 *
 * @module
 */

import { createHmac } from "node:crypto";

/** Base64url without padding. */
export function _base64Url(bytes: Uint8Array | string): string {
  const data = typeof bytes === "string"
    ? new TextEncoder().encode(bytes)
    : bytes;
  let binary = "";
  for (const b of data) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/**
 * Signs `header.payload` with HS256.
 *
 * @param signingInput The first two parts of the JWT.
 * @param key The key.
 * @returns The base64url signature.
 */
export function _hs256(signingInput: string, key: string): string {
  return _base64Url(
    new Uint8Array(createHmac("sha256", key).update(signingInput).digest()),
  );
}
