/**
 * `@brs/session`: an AWS session for Deno whose temporary STS credentials
 * refresh themselves. One refresh however many callers ask, a background
 * refresh before expiry, failures that never take away working credentials,
 * MFA codes from a function or an allowlisted command, typed cached AWS SDK
 * v3 clients that always sign with fresh credentials, and `whoami()` that
 * names the assumed role.
 *
 * Where to start:
 *
 * - {@linkcode STSRefreshableSession}: the session for STS AssumeRole (MFA
 *   included); its members `client()`, `resource()`, `whoami()`,
 *   `credentialProvider`, `refreshableCredentials()`, `refresh()` and
 *   `close()` come from {@linkcode RefreshableSession}.
 * - {@linkcode CustomRefreshableSession}: the same session over your own
 *   credential function; {@linkcode createRefreshableSession} builds any
 *   of them by `method`.
 * - {@linkcode WebIdentityRefreshableSession} (EKS, GitHub Actions, any OIDC
 *   token) and {@linkcode IoTRefreshableSession} (an IoT device's X.509
 *   certificate): the same engine over other credential sources.
 * - {@linkcode getSelfHealingPlugin}: clients you build yourself retry once
 *   with fresh credentials after an `ExpiredToken` reply, as the session's
 *   own clients do.
 * - {@linkcode STSRefreshableSessionOptions}: every option, with defaults.
 * - {@linkcode client} and {@linkcode resource}: module-level cached clients
 *   on a default session ({@linkcode setDefaultSession}).
 * - {@linkcode ClientCache}: the LRU / LFU cache, usable on its own.
 * - {@linkcode BRSError} and its subclasses: what can go wrong.
 * - `@brs/session/testing`: `startLocalSts()`, the local STS endpoint.
 * - `@brs/session/cli`: `brs`, the companion CLI (`whoami`, `credentials`,
 *   `credential_process`, `exec --server`).
 *
 * Against AWS (the base credentials come from the AWS SDK's default chain:
 * environment, `~/.aws`, SSO, instance role):
 *
 * ```ts ignore
 * import { STSRefreshableSession } from "@brs/session";
 * import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
 *
 * await using session = new STSRefreshableSession({
 *   assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
 *   region: "eu-west-1",
 * });
 * const s3 = session.client(S3Client); // cached, typed, always fresh
 * console.log(await s3.send(new ListBucketsCommand({})));
 * console.log(await session.whoami()); // the assumed role
 * ```
 *
 * The same against the local STS endpoint of `@brs/session/testing`, as in
 * tests (no AWS account, no network):
 *
 * @example Usage
 * ```ts
 * import { STSRefreshableSession } from "@brs/session";
 * import { startLocalSts } from "@brs/session/testing";
 * import { STSClient } from "@aws-sdk/client-sts";
 * import { assertEquals, assertMatch } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * await using session = new STSRefreshableSession({
 *   assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
 *   stsClientConfig: {
 *     endpoint: sts.url,
 *     credentials: sts.baseCredentials,
 *   },
 *   region: "us-east-1",
 * });
 * const client = session.client(STSClient, { endpoint: sts.url });
 * assertEquals(session.client(STSClient, { endpoint: sts.url }), client);
 * const me = await session.whoami();
 * assertMatch(me.Arn, /:assumed-role\/app\/brs-session$/);
 * await Promise.all(
 *   Array.from({ length: 1000 }, () => session.refreshableCredentials()),
 * );
 * assertEquals(sts.calls.AssumeRole, 1);
 * ```
 *
 * @module
 */

export * from "./src/errors.ts";
export type * from "./src/types.ts";
export * from "./src/mfa/mfa.ts";
export { ClientCache } from "./src/cache/client_cache.ts";
export type {
  ClientCacheOptions,
  ClientCacheRemoveOptions,
  EvictionPolicy,
} from "./src/cache/client_cache.ts";
export {
  client,
  getDefaultSession,
  resource,
  setDefaultSession,
} from "./src/default_session.ts";
export type { SessionLike } from "./src/default_session.ts";
export { RefreshableSession } from "./src/engine/refreshable_session.ts";
export type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  RefreshableSessionEventListener,
  RefreshableSessionEventMap,
  RefreshableSessionOptions,
  RefreshErrorEventDetail,
  RefreshEventDetail,
  RefreshOptions,
  WarningEventDetail,
} from "./src/engine/refreshable_session.ts";
export { getSelfHealingPlugin } from "./src/engine/self_healing_plugin.ts";
export type { SelfHealingPlugin } from "./src/engine/self_healing_plugin.ts";
export { STSRefreshableSession } from "./src/sources/sts_session.ts";
export type { STSRefreshableSessionOptions } from "./src/sources/sts_session.ts";
export { CustomRefreshableSession } from "./src/sources/custom_session.ts";
export type {
  CustomCredentialProvider,
  CustomRefreshableSessionOptions,
} from "./src/sources/custom_session.ts";
export { createRefreshableSession } from "./src/create_session.ts";
export type { CreateRefreshableSessionOptions } from "./src/create_session.ts";
export { WebIdentityRefreshableSession } from "./src/sources/web_identity_session.ts";
export type {
  WebIdentityConfig,
  WebIdentityRefreshableSessionOptions,
  WebIdentityTokenProvider,
} from "./src/sources/web_identity_session.ts";
export { IoTRefreshableSession } from "./src/sources/iot_session.ts";
export type { IoTRefreshableSessionOptions } from "./src/sources/iot_session.ts";
