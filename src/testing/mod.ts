/**
 * `@brs/session/testing`: a local STS endpoint for tests, benchmarks and
 * demos, with no AWS account and no network. It serves `AssumeRole`,
 * `GetCallerIdentity` and `GetSessionToken` on 127.0.0.1 to the unmodified
 * AWS SDK, checks SigV4 signatures and MFA codes, and can add latency, skew
 * its clock and inject faults. Beside it: a local IAM Identity Center (SSO)
 * portal (`startLocalSso`) whose role credentials the local STS accepts, and
 * `writeSsoTokenCache`, which writes a token where `aws sso login` does.
 *
 * @example Usage
 * ```ts
 * import { startLocalSts, totp } from "@brs/session/testing";
 * import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
 * import { assertEquals } from "@std/assert";
 *
 * const secret = "JBSWY3DPEHPK3PXP";
 * await using sts = await startLocalSts({
 *   mfaDevices: { "arn:aws:iam::123456789012:mfa/alice": secret },
 *   mfaRequiredRoles: ["*"],
 * });
 * const client = new STSClient({
 *   region: "us-east-1",
 *   endpoint: sts.url,
 *   credentials: sts.baseCredentials,
 * });
 * try {
 *   const reply = await client.send(
 *     new AssumeRoleCommand({
 *       RoleArn: "arn:aws:iam::123456789012:role/admin",
 *       RoleSessionName: "alice",
 *       SerialNumber: "arn:aws:iam::123456789012:mfa/alice",
 *       TokenCode: totp(secret),
 *     }),
 *   );
 *   assertEquals(
 *     reply.AssumedRoleUser?.Arn,
 *     "arn:aws:sts::123456789012:assumed-role/admin/alice",
 *   );
 * } finally {
 *   client.destroy();
 * }
 * ```
 *
 * @module
 */

export { startLocalSts } from "./local_sts.ts";
export type {
  LocalSts,
  LocalStsCalls,
  LocalStsFault,
  LocalStsOptions,
  LocalStsRequestRecord,
  LocalWebIdentityOptions,
} from "./local_sts.ts";
export { totp } from "./totp.ts";
export {
  LOCAL_WEB_IDENTITY_AUDIENCE,
  LOCAL_WEB_IDENTITY_ISSUER,
  LOCAL_WEB_IDENTITY_KEY,
  mintWebIdentityToken,
} from "./web_identity_token.ts";
export type { MintWebIdentityTokenOptions } from "./web_identity_token.ts";
export { startLocalIotCredentials } from "./local_iot.ts";
export type {
  LocalIotCredentials,
  LocalIotCredentialsOptions,
  LocalIotFault,
} from "./local_iot.ts";
export { startLocalSso } from "./local_sso.ts";
export type {
  LocalSso,
  LocalSsoCalls,
  LocalSsoFault,
  LocalSsoLogin,
  LocalSsoOptions,
  LocalSsoRequestRecord,
  LocalSsoToken,
} from "./local_sso.ts";
export { writeSsoTokenCache } from "./sso_token_cache.ts";
export type { WriteSsoTokenCacheOptions } from "./sso_token_cache.ts";
