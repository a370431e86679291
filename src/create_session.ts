/**
 * {@linkcode createRefreshableSession}: one factory for every session kind,
 * the counterpart of boto3-refresh-session's `RefreshableSession(method=...)`.
 *
 * @module
 */

import { _describeValue } from "./_validate.ts";
import {
  CustomRefreshableSession,
  type CustomRefreshableSessionOptions,
} from "./sources/custom_session.ts";
import { BRSValidationError } from "./errors.ts";
import type { RefreshableSession } from "./engine/refreshable_session.ts";
import {
  STSRefreshableSession,
  type STSRefreshableSessionOptions,
} from "./sources/sts_session.ts";
import {
  IoTRefreshableSession,
  type IoTRefreshableSessionOptions,
} from "./sources/iot_session.ts";
import {
  WebIdentityRefreshableSession,
  type WebIdentityRefreshableSessionOptions,
} from "./sources/web_identity_session.ts";

/**
 * Options of {@linkcode createRefreshableSession}: a `method` and the options
 * of the session it names.
 *
 * @example Usage
 * ```ts
 * import type { CreateRefreshableSessionOptions } from "@brs/session";
 *
 * const options: CreateRefreshableSessionOptions = {
 *   method: "sts",
 *   assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
 * };
 * ```
 */
export type CreateRefreshableSessionOptions =
  | ({ method: "sts" } & STSRefreshableSessionOptions)
  | ({ method: "custom" } & CustomRefreshableSessionOptions)
  | ({ method: "web-identity" } & WebIdentityRefreshableSessionOptions)
  | ({ method: "iot" } & IoTRefreshableSessionOptions);

/** The methods {@linkcode createRefreshableSession} knows. */
const _METHODS = ["sts", "custom", "web-identity", "iot"] as const;

/**
 * Creates a session by method: `"sts"` gives an `STSRefreshableSession`,
 * `"custom"` a `CustomRefreshableSession`, `"web-identity"` a
 * `WebIdentityRefreshableSession`, `"iot"` an `IoTRefreshableSession`;
 * with a literal `method` the return type is that class, so its own members
 * (e.g. `assumeRole`) need no cast.
 *
 * @typeParam M The method, inferred from `options.method`.
 * @param options `method` plus the options of that session.
 * @returns The session.
 * @throws {BRSValidationError} If `method` is unknown (the message lists the
 * methods) or an option is bad.
 * @throws {BRSConfigurationError} If MFA settings do not fit together.
 *
 * @example Usage
 * ```ts
 * import {
 *   BRSValidationError,
 *   createRefreshableSession,
 *   CustomRefreshableSession,
 * } from "@brs/session";
 * import { assertInstanceOf, assertThrows } from "@std/assert";
 *
 * await using session = createRefreshableSession({
 *   method: "custom",
 *   provider: () => ({
 *     accessKey: "A",
 *     secretKey: "S",
 *     token: "T",
 *     expiryTime: "2099-01-01T00:00:00Z",
 *   }),
 * });
 * assertInstanceOf(session, CustomRefreshableSession);
 * assertThrows(
 *   () => createRefreshableSession({ method: "ecs" } as never),
 *   BRSValidationError,
 *   'use one of "sts", "custom", "web-identity", "iot"',
 * );
 * ```
 */
export function createRefreshableSession<
  M extends CreateRefreshableSessionOptions["method"],
>(
  options: Extract<CreateRefreshableSessionOptions, { method: M }>,
): M extends "sts" ? STSRefreshableSession
  : M extends "custom" ? CustomRefreshableSession
  : M extends "web-identity" ? WebIdentityRefreshableSession
  : M extends "iot" ? IoTRefreshableSession
  : RefreshableSession {
  // The conditional return type is the class of the method checked in _create.
  return _create(options) as never;
}

/** Builds the session `options.method` names; see createRefreshableSession. */
function _create(options: CreateRefreshableSessionOptions): RefreshableSession {
  if (
    options === null || typeof options !== "object" || Array.isArray(options)
  ) {
    throw new BRSValidationError(
      `Cannot create session as its options must be an object with a 'method' of ${
        _METHODS.map((m) => JSON.stringify(m)).join(", ")
      }: got ${_describeValue(options)}`,
      { param: "options" },
    );
  }
  const { method, ...rest } = options as unknown as
    & { method: unknown }
    & Record<string, unknown>;
  switch (method) {
    case "sts":
      return new STSRefreshableSession(
        rest as unknown as STSRefreshableSessionOptions,
      );
    case "custom":
      return new CustomRefreshableSession(
        rest as unknown as CustomRefreshableSessionOptions,
      );
    case "web-identity":
      return new WebIdentityRefreshableSession(
        rest as unknown as WebIdentityRefreshableSessionOptions,
      );
    case "iot":
      return new IoTRefreshableSession(
        rest as unknown as IoTRefreshableSessionOptions,
      );
    default:
      throw new BRSValidationError(
        `Cannot create session as 'method' is unknown: use one of ${
          _METHODS.map((m) => JSON.stringify(m)).join(", ")
        }: got ${_describeValue(method)}`,
        { param: "method", details: { methods: [..._METHODS] } },
      );
  }
}
