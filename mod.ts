/**
 * `@brs/session`: an AWS session whose temporary STS credentials refresh
 * themselves.
 *
 * @module
 */

export * from "./src/errors.ts";
export type * from "./src/types.ts";
export * from "./src/mfa.ts";
export { ClientCache } from "./src/client_cache.ts";
export type {
  ClientCacheOptions,
  ClientCacheRemoveOptions,
  EvictionPolicy,
} from "./src/client_cache.ts";
export {
  client,
  getDefaultSession,
  resource,
  setDefaultSession,
} from "./src/default_session.ts";
export type { SessionLike } from "./src/default_session.ts";
export { RefreshableSession } from "./src/refreshable_session.ts";
export type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  RefreshableSessionOptions,
  RefreshErrorEventDetail,
  RefreshEventDetail,
  RefreshOptions,
  WarningEventDetail,
} from "./src/refreshable_session.ts";
export { getSelfHealingPlugin } from "./src/self_healing_plugin.ts";
export type { SelfHealingPlugin } from "./src/self_healing_plugin.ts";
export { STSRefreshableSession } from "./src/sts_session.ts";
export type { STSRefreshableSessionOptions } from "./src/sts_session.ts";
export { CustomRefreshableSession } from "./src/custom_session.ts";
export type {
  CustomCredentialProvider,
  CustomRefreshableSessionOptions,
} from "./src/custom_session.ts";
export { createRefreshableSession } from "./src/create_session.ts";
export type { CreateRefreshableSessionOptions } from "./src/create_session.ts";
export { WebIdentityRefreshableSession } from "./src/web_identity_session.ts";
export type {
  WebIdentityConfig,
  WebIdentityRefreshableSessionOptions,
  WebIdentityTokenProvider,
} from "./src/web_identity_session.ts";
export { IoTRefreshableSession } from "./src/iot_session.ts";
export type { IoTRefreshableSessionOptions } from "./src/iot_session.ts";
