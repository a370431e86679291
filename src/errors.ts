/**
 * The error classes of `@brs/session`. Every error the module throws on
 * purpose is a {@linkcode BRSError}: callers branch on the subclass, read
 * `code`, `param` and `details`, and follow `cause`. No secret (secret key,
 * session token, MFA code) is ever part of a message, of `details`, of
 * `Deno.inspect(error)` or of `JSON.stringify(error)`.
 *
 * @module
 */

import { _redactSecrets } from "./_redact.ts";

/**
 * Options of every {@linkcode BRSError}.
 *
 * @example Usage
 * ```ts
 * import { type BRSErrorOptions, BRSValidationError } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * const options: BRSErrorOptions = {
 *   param: "region",
 *   details: { given: 42 },
 * };
 * assertEquals(
 *   new BRSValidationError("Bad region", options).param,
 *   "region",
 * );
 * ```
 */
export interface BRSErrorOptions {
  /** A stable, machine-readable code, e.g. `"ValidationError"` or an STS error code. */
  code?: string;
  /** The parameter, option or flag the error is about, e.g. `"assumeRole.RoleArn"`. */
  param?: string;
  /** Extra, secret-free facts about the error (values given, exit codes, ...). Secrets are redacted. */
  details?: Record<string, unknown>;
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * The base class of every error thrown by `@brs/session`.
 *
 * @example Usage
 * ```ts
 * import { BRSError } from "@brs/session";
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 *
 * const error = new BRSError("Cannot refresh: STS is down", {
 *   code: "Throttling",
 * });
 * assertInstanceOf(error, Error);
 * assertEquals(error.code, "Throttling");
 * ```
 */
export class BRSError extends Error {
  /** A stable, machine-readable code. */
  readonly code: string;
  /** The parameter, option or flag the error is about, if any. */
  readonly param: string | undefined;
  /** Extra, secret-free facts about the error. */
  readonly details: Readonly<Record<string, unknown>>;

  /**
   * Creates an error.
   *
   * @param message Sentence case, no final period: what was wrong, the value given, what to do.
   * @param options Code, parameter, details and cause.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = new.target.name;
    this.code = options.code ?? "BRSError";
    this.param = options.param;
    this.details = Object.freeze(_redactSecrets(options.details ?? {}));
  }

  /**
   * The JSON form: name, message, code, param and details; never a secret.
   *
   * @returns A plain object.
   */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      code: this.code,
      ...(this.param === undefined ? {} : { param: this.param }),
      details: this.details,
    };
  }
}

/**
 * A bad type or value of an argument, option, flag or config value.
 *
 * @example Usage
 * ```ts
 * import {
 *   BRSValidationError,
 *   STSRefreshableSession,
 * } from "@brs/session";
 * import { assertThrows } from "@std/assert";
 *
 * assertThrows(
 *   () =>
 *     new STSRefreshableSession({
 *       assumeRole: { RoleArn: "not-an-arn" },
 *     }),
 *   BRSValidationError,
 * );
 * ```
 */
export class BRSValidationError extends BRSError {
  /**
   * Creates a validation error.
   *
   * @param message What was wrong, the value given, what to do.
   * @param options Code (default `"ValidationError"`), parameter, details and cause.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(message, { code: "ValidationError", ...options });
  }
}

/**
 * Inconsistent settings, or an MFA command that is not allowed or failed.
 *
 * @example Usage
 * ```ts
 * import { BRSConfigurationError } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * const error = new BRSConfigurationError(
 *   "Cannot run MFA command 'sh': it is not in the allowlist",
 *   {
 *     param: "mfaTokenProvider",
 *   },
 * );
 * assertEquals(error.code, "ConfigurationError");
 * ```
 */
export class BRSConfigurationError extends BRSError {
  /**
   * Creates a configuration error.
   *
   * @param message What was wrong, the value given, what to do.
   * @param options Code (default `"ConfigurationError"`), parameter, details and cause.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(message, { code: "ConfigurationError", ...options });
  }
}

/**
 * Options of a {@linkcode BRSRefreshError}.
 *
 * @example Usage
 * ```ts
 * import {
 *   BRSRefreshError,
 *   type BRSRefreshErrorOptions,
 * } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * const options: BRSRefreshErrorOptions = {
 *   code: "Throttling",
 *   retryAt: new Date(0),
 * };
 * assertEquals(
 *   new BRSRefreshError("STS throttled", options).retryAt,
 *   new Date(0),
 * );
 * ```
 */
export interface BRSRefreshErrorOptions extends BRSErrorOptions {
  /** When the next refresh attempt may run; `undefined` when the error is not retried on its own. */
  retryAt?: Date;
}

/**
 * A refresh of credentials failed and no usable credentials are left. The
 * STS or provider error is in `cause`; `retryAt` says when the next attempt
 * may run.
 *
 * @example Usage
 * ```ts
 * import { BRSRefreshError } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * const retryAt = new Date(Date.now() + 1000);
 * const error = new BRSRefreshError(
 *   "Cannot refresh credentials: STS answered Throttling",
 *   {
 *     code: "Throttling",
 *     retryAt,
 *   },
 * );
 * assertEquals(error.retryAt, retryAt);
 * ```
 */
export class BRSRefreshError extends BRSError {
  /** When the next refresh attempt may run, if it is retried. */
  readonly retryAt: Date | undefined;

  /**
   * Creates a refresh error.
   *
   * @param message What failed and what to do.
   * @param options Code (default `"RefreshError"`), cause and `retryAt`.
   */
  constructor(message: string, options: BRSRefreshErrorOptions = {}) {
    super(message, { code: "RefreshError", ...options });
    this.retryAt = options.retryAt;
  }

  /**
   * The JSON form, with `retryAt` as an ISO 8601 string.
   *
   * @returns A plain object.
   */
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAt: this.retryAt?.toISOString() };
  }
}

/**
 * `getIdentity()` / `whoami()` failed: STS refused or failed the
 * `GetCallerIdentity` call, sent a reply that is not STS XML, or did not
 * answer within the session's `refreshTimeout`. `code` is STS's error code,
 * `MalformedReply`, `IdentityTimeout` or `InvalidReply`; `cause` holds STS's
 * error as a plain `Error` (name, message, `$metadata.httpStatusCode`), never
 * the SDK's request or response. A refresh that fails first is a
 * {@linkcode BRSRefreshError} instead.
 *
 * @example Usage
 * ```ts
 * import { BRSError, BRSIdentityError } from "@brs/session";
 * import { assertInstanceOf } from "@std/assert";
 *
 * const error = new BRSIdentityError(
 *   "Cannot get the identity as STS did not answer GetCallerIdentity within 60 s",
 *   { code: "IdentityTimeout" },
 * );
 * assertInstanceOf(error, BRSError);
 * ```
 */
export class BRSIdentityError extends BRSError {
  /**
   * Creates an identity error.
   *
   * @param message What failed, the endpoint if known, what to do.
   * @param options Code (default `"IdentityError"`), details and cause.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(message, { code: "IdentityError", ...options });
  }
}

/**
 * A bad key, value or eviction policy given to a {@linkcode ClientCache}.
 *
 * @example Usage
 * ```ts
 * import { ClientCacheError } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * assertEquals(new ClientCacheError("Bad key").code, "ClientCacheError");
 * ```
 */
export class ClientCacheError extends BRSError {
  /**
   * Creates a cache error.
   *
   * @param message What was wrong and the value given.
   * @param options Code (default `"ClientCacheError"`), parameter, details and cause.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(message, { code: "ClientCacheError", ...options });
  }
}

/**
 * A key inserted into a {@linkcode ClientCache} that is already there.
 *
 * @example Usage
 * ```ts
 * import { ClientCacheError, ClientCacheExistsError } from "@brs/session";
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(
 *   new ClientCacheExistsError("Key exists"),
 *   ClientCacheError,
 * );
 * ```
 */
export class ClientCacheExistsError extends ClientCacheError {
  /**
   * Creates the error.
   *
   * @param message Which key.
   * @param options Code (default `"ClientCacheExistsError"`), details.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(message, { code: "ClientCacheExistsError", ...options });
  }
}

/**
 * A key required from, or deleted from, a {@linkcode ClientCache} that is not there.
 *
 * @example Usage
 * ```ts
 * import {
 *   ClientCacheError,
 *   ClientCacheNotFoundError,
 * } from "@brs/session";
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(
 *   new ClientCacheNotFoundError("No such key"),
 *   ClientCacheError,
 * );
 * ```
 */
export class ClientCacheNotFoundError extends ClientCacheError {
  /**
   * Creates the error.
   *
   * @param message Which key.
   * @param options Code (default `"ClientCacheNotFoundError"`), details.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(message, { code: "ClientCacheNotFoundError", ...options });
  }
}

/**
 * The resource-cache counterpart of {@linkcode ClientCacheError}.
 *
 * @example Usage
 * ```ts
 * import { ClientCacheError, ResourceCacheError } from "@brs/session";
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(new ResourceCacheError("Bad key"), ClientCacheError);
 * ```
 */
export class ResourceCacheError extends ClientCacheError {
  /**
   * Creates the error.
   *
   * @param message What was wrong.
   * @param options Code (default `"ResourceCacheError"`), details.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(message, { code: "ResourceCacheError", ...options });
  }
}

/**
 * The resource-cache counterpart of {@linkcode ClientCacheExistsError}.
 *
 * @example Usage
 * ```ts
 * import {
 *   ClientCacheExistsError,
 *   ResourceCacheExistsError,
 * } from "@brs/session";
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(
 *   new ResourceCacheExistsError("Key exists"),
 *   ClientCacheExistsError,
 * );
 * ```
 */
export class ResourceCacheExistsError extends ClientCacheExistsError {
  /**
   * Creates the error.
   *
   * @param message Which key.
   * @param options Code (default `"ResourceCacheExistsError"`), details.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(message, { code: "ResourceCacheExistsError", ...options });
  }
}

/**
 * The resource-cache counterpart of {@linkcode ClientCacheNotFoundError}.
 *
 * @example Usage
 * ```ts
 * import {
 *   ClientCacheNotFoundError,
 *   ResourceCacheNotFoundError,
 * } from "@brs/session";
 * import { assertInstanceOf } from "@std/assert";
 *
 * assertInstanceOf(
 *   new ResourceCacheNotFoundError("No such key"),
 *   ClientCacheNotFoundError,
 * );
 * ```
 */
export class ResourceCacheNotFoundError extends ClientCacheNotFoundError {
  /**
   * Creates the error.
   *
   * @param message Which key.
   * @param options Code (default `"ResourceCacheNotFoundError"`), details.
   */
  constructor(message: string, options: BRSErrorOptions = {}) {
    super(message, { code: "ResourceCacheNotFoundError", ...options });
  }
}
