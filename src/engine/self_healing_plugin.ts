/**
 * {@linkcode getSelfHealingPlugin}: self-healing for AWS SDK clients you
 * build yourself.
 *
 * @module
 */

import { BRSValidationError } from "../errors.ts";
import { _describeValue } from "../_validate.ts";
import {
  _healerOf,
  type _Middleware,
  _MIDDLEWARE_OPTIONS,
  _selfHealingMiddleware,
} from "./_self_healing.ts";

/**
 * An AWS SDK v3 plugin (the SDK's `Pluggable`): give it to
 * `client.middlewareStack.use(plugin)`.
 *
 * @example Usage
 * ```ts
 * import { CustomRefreshableSession, getSelfHealingPlugin, type SelfHealingPlugin } from "@brs/session";
 *
 * await using session = new CustomRefreshableSession({
 *   provider: () => ({ accessKey: "A", secretKey: "S", token: "T", expiryTime: "2099-01-01T00:00:00Z" }),
 * });
 * const plugin: SelfHealingPlugin = getSelfHealingPlugin(session);
 * ```
 */
export interface SelfHealingPlugin {
  /**
   * Adds the middleware (named `brsSelfHealingMiddleware`, `initialize`
   * step) to a client's middleware stack; adding it twice keeps one.
   *
   * @param stack The client's `middlewareStack`.
   */
  applyToStack(stack: { add(middleware: never, options: never): void }): void;
}

/**
 * A plugin that makes an AWS SDK v3 client you build yourself heal itself
 * the way every client from `session.client()` and `session.resource()`
 * already does: when a service answers `ExpiredToken` /
 * `ExpiredTokenException` / "The security token included in the request is
 * expired" for a request signed with one of the session's keys (a key
 * revoked in IAM, a machine that slept, a clock gone wrong), the plugin
 * invalidates that key with `session.invalidate()` (so a storm of such
 * replies makes one refresh) and sends the request **once** more, signed
 * with fresh credentials.
 *
 * It never retries another error, never retries twice, never retries a
 * request signed with a key that is not the session's, and never retries a
 * request with a one-shot stream member (e.g. a `ReadableStream` `Body`):
 * that request fails with a `BRSError` of code `ExpiredToken` (its `cause`
 * is the service's error) and the next one uses fresh credentials. A
 * `Uint8Array`, string or `Blob` body is retried.
 *
 * The client must sign with the session's credentials (`credentials:
 * session.credentialProvider`). Named as the AWS SDK names its plugins
 * (`getRetryPlugin`, `getLoggerPlugin`, ...).
 *
 * @param session A session of this module.
 * @returns The plugin, for `client.middlewareStack.use(plugin)`.
 * @throws {BRSValidationError} If `session` is not a session of this module.
 *
 * @example Usage
 * ```ts
 * import { getSelfHealingPlugin, STSRefreshableSession } from "@brs/session";
 * import { startLocalSts } from "@brs/session/testing";
 * import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
 * import { assertEquals } from "@std/assert";
 *
 * await using sts = await startLocalSts();
 * await using session = new STSRefreshableSession({
 *   assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
 *   stsClientConfig: { endpoint: sts.url, credentials: sts.baseCredentials },
 *   region: "us-east-1",
 * });
 * const client = new STSClient({
 *   region: "us-east-1",
 *   endpoint: sts.url,
 *   credentials: session.credentialProvider,
 * });
 * client.middlewareStack.use(getSelfHealingPlugin(session));
 *
 * const { accessKey } = await session.refreshableCredentials();
 * sts.revoke(accessKey); // revoked before it expires
 * const identity = await client.send(new GetCallerIdentityCommand({}));
 * assertEquals(identity.Account, "123456789012"); // healed: a new key, one retry
 * assertEquals(sts.calls.AssumeRole, 2);
 * client.destroy();
 * ```
 */
export function getSelfHealingPlugin(session: object): SelfHealingPlugin {
  const healer = _healerOf(session);
  if (healer === undefined) {
    throw new BRSValidationError(
      `Cannot make a self-healing plugin as 'session' must be a session of this module such as STSRefreshableSession: got ${
        _describeValue(session)
      }`,
      { param: "session" },
    );
  }
  const middleware: _Middleware = _selfHealingMiddleware(healer);
  return {
    applyToStack(stack): void {
      const add = stack.add as (
        middleware: _Middleware,
        options: typeof _MIDDLEWARE_OPTIONS,
      ) => void;
      add.call(stack, middleware, _MIDDLEWARE_OPTIONS);
    },
  };
}
