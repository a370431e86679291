/**
 * Private validation of an `AssumeRoleConfig` and of the MFA settings of an
 * `STSRefreshableSession`. Every error names the parameter and the value
 * given, except secrets (`TokenCode` is never echoed).
 *
 * @module
 */

import { _controlEscape } from "../_redact.ts";
import { _describeValue } from "../_validate.ts";
import { BRSConfigurationError, BRSValidationError } from "../errors.ts";
import type { AssumeRoleConfig } from "../types.ts";

/** The keys an `AssumeRoleConfig` may have. */
export const _ASSUME_ROLE_KEYS: readonly string[] = Object.freeze([
  "RoleArn",
  "RoleSessionName",
  "DurationSeconds",
  "ExternalId",
  "Policy",
  "PolicyArns",
  "Tags",
  "TransitiveTagKeys",
  "SourceIdentity",
  "SerialNumber",
  "TokenCode",
  "ProvidedContexts",
]);

/** The default `RoleSessionName`. */
export const _DEFAULT_ROLE_SESSION_NAME = "brs-session";

/** An IAM role ARN in any partition (aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, ...). */
const _ROLE_ARN =
  /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\x21-\x7e]*\/)?[\w+=,.@-]{1,64}$/;
const _SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const _SERIAL = /^[\w+=/:,.@-]{9,256}$/;
const _TOKEN_CODE = /^\d{6}$/;
const _PREFIX = "Cannot create session as";

function _isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Keys whose wrong value is not quoted in a message: a secret pasted into
 * the wrong key would otherwise reach logs (an external id, a policy and tag
 * values may be sensitive too).
 */
const _UNQUOTED_KEYS = new Set(["ExternalId", "Policy", "Tags"]);

/** A wrong value's type and size, without the value. */
function _shapeOf(value: unknown): string {
  if (typeof value === "string") {
    return `a string of ${value.length} characters`;
  }
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  return _describeValue(value);
}

function _fail(param: string, rule: string, value: unknown): never {
  const quoted = !_UNQUOTED_KEYS.has(param.slice(param.lastIndexOf(".") + 1));
  const shown = quoted
    ? _controlEscape(_describeValue(value))
    : _shapeOf(value);
  throw new BRSValidationError(
    `${_PREFIX} '${param}' ${rule}: got ${shown}`,
    {
      param,
      details: {
        value: quoted && typeof value === "string"
          ? _controlEscape(value.slice(0, 200))
          : shown,
      },
    },
  );
}

function _string(
  config: Record<string, unknown>,
  key: string,
  rule: string,
  test: (v: string) => boolean,
  path = "assumeRole",
): void {
  const v = config[key];
  if (v === undefined) return;
  if (typeof v !== "string" || !test(v)) _fail(`${path}.${key}`, rule, v);
}

function _arrayOf(
  config: Record<string, unknown>,
  key: string,
  rule: string,
  test: (item: unknown) => boolean,
  max: number,
  path = "assumeRole",
): void {
  const v = config[key];
  if (v === undefined) return;
  if (!Array.isArray(v) || v.length > max || !v.every(test)) {
    _fail(`${path}.${key}`, rule, v);
  }
}

/**
 * Validates an `AssumeRoleConfig` and returns a copy with
 * `RoleSessionName` defaulted. Unknown keys are an error.
 *
 * @param value What the user gave as `assumeRole`.
 * @param path The option's name in messages. @default {"assumeRole"}
 * @param keys The keys allowed (a subset of {@linkcode _ASSUME_ROLE_KEYS},
 * e.g. those of AssumeRoleWithWebIdentity). @default {_ASSUME_ROLE_KEYS}
 * @returns A validated copy.
 * @throws {BRSValidationError} If a key is unknown or a value is bad.
 */
export function _validateAssumeRoleConfig(
  value: unknown,
  path = "assumeRole",
  keys: readonly string[] = _ASSUME_ROLE_KEYS,
): AssumeRoleConfig {
  if (!_isPlainObject(value)) {
    throw new BRSValidationError(
      `${_PREFIX} '${path}' must be an object with at least RoleArn, e.g. { RoleArn: "arn:aws:iam::123456789012:role/app" }: got ${
        _describeValue(value)
      }`,
      { param: path },
    );
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new BRSValidationError(
        `${_PREFIX} '${path}.${key}' is not an ${
          path[0]!.toUpperCase() + path.slice(1)
        } parameter: use one of ${keys.join(", ")}`,
        { param: `${path}.${key}`, details: { allowed: keys } },
      );
    }
  }
  const roleArn = value.RoleArn;
  if (typeof roleArn !== "string" || !_ROLE_ARN.test(roleArn)) {
    _fail(
      `${path}.RoleArn`,
      "must be an IAM role ARN such as arn:aws:iam::123456789012:role/app",
      roleArn,
    );
  }
  _string(
    value,
    "RoleSessionName",
    "must be 2-64 characters of letters, digits and +=,.@_-",
    (v) => _SESSION_NAME.test(v),
    path,
  );
  const duration = value.DurationSeconds;
  if (
    duration !== undefined &&
    (typeof duration !== "number" || !Number.isInteger(duration) ||
      duration < 900 || duration > 43200)
  ) {
    _fail(
      `${path}.DurationSeconds`,
      "must be an integer from 900 to 43200",
      duration,
    );
  }
  _string(
    value,
    "ExternalId",
    "must be 2-1224 characters of letters, digits and +=,.@:/_-",
    (v) => /^[\w+=,.@:/-]{2,1224}$/.test(v),
  );
  const policy = value.Policy;
  if (policy !== undefined) {
    let ok = typeof policy === "string" && policy.length > 0;
    if (ok) {
      try {
        ok = _isPlainObject(JSON.parse(policy as string));
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      _fail(
        `${path}.Policy`,
        "must be a JSON policy document (a string)",
        policy,
      );
    }
  }
  _arrayOf(
    value,
    "PolicyArns",
    "must be an array of at most 10 { arn } objects with IAM policy ARNs",
    (p) =>
      _isPlainObject(p) && Object.keys(p).every((k) => k === "arn") &&
      typeof p.arn === "string" &&
      /^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy\//.test(p.arn),
    10,
    path,
  );
  _arrayOf(
    value,
    "Tags",
    "must be an array of at most 50 { Key, Value } objects of strings",
    (t) =>
      _isPlainObject(t) && Object.keys(t).every((k) =>
        k === "Key" || k === "Value"
      ) &&
      typeof t.Key === "string" && t.Key.length >= 1 && t.Key.length <= 128 &&
      typeof t.Value === "string" && t.Value.length <= 256,
    50,
  );
  _arrayOf(
    value,
    "TransitiveTagKeys",
    "must be an array of at most 50 tag keys (strings)",
    (k) => typeof k === "string" && k.length >= 1 && k.length <= 128,
    50,
  );
  _string(
    value,
    "SourceIdentity",
    "must be 2-64 characters of letters, digits and +=,.@_-",
    (v) => _SESSION_NAME.test(v),
  );
  _string(
    value,
    "SerialNumber",
    "must be an MFA device serial number or ARN (9-256 characters of letters, digits and +=/:,.@_-)",
    (v) => _SERIAL.test(v),
  );
  const tokenCode = value.TokenCode;
  if (
    tokenCode !== undefined &&
    (typeof tokenCode !== "string" || !_TOKEN_CODE.test(tokenCode))
  ) {
    throw new BRSValidationError(
      `${_PREFIX} 'assumeRole.TokenCode' must be a string of 6 digits: got ${
        typeof tokenCode === "string"
          ? `a string of ${tokenCode.length} characters`
          : `a value of type ${tokenCode === null ? "null" : typeof tokenCode}`
      }`,
      { param: "assumeRole.TokenCode" },
    );
  }
  _arrayOf(
    value,
    "ProvidedContexts",
    "must be an array of at most 5 { ProviderArn, ContextAssertion } objects of strings",
    (c) =>
      _isPlainObject(c) &&
      Object.keys(c).every((k) =>
        k === "ProviderArn" || k === "ContextAssertion"
      ) &&
      (c.ProviderArn === undefined || typeof c.ProviderArn === "string") &&
      (c.ContextAssertion === undefined ||
        typeof c.ContextAssertion === "string"),
    5,
  );
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    if (value[key] !== undefined) copy[key] = structuredClone(value[key]);
  }
  copy.RoleSessionName ??= _DEFAULT_ROLE_SESSION_NAME;
  return copy as unknown as AssumeRoleConfig;
}

/**
 * Checks the MFA settings against each other.
 *
 * @param assumeRole The validated AssumeRole config.
 * @param hasProvider Whether `mfaTokenProvider` is set.
 * @param hasProviderOptions Whether `mfaTokenProviderOptions` is set.
 * @returns `true` if a warning is due: provider and `TokenCode` together (the provider wins).
 * @throws {BRSConfigurationError} If a provider or a `TokenCode` is set without `SerialNumber`,
 * or provider options without a provider.
 */
export function _checkMfaSettings(
  assumeRole: AssumeRoleConfig,
  hasProvider: boolean,
  hasProviderOptions: boolean,
): boolean {
  if (hasProvider && assumeRole.SerialNumber === undefined) {
    throw new BRSConfigurationError(
      `${_PREFIX} 'mfaTokenProvider' is set but 'assumeRole.SerialNumber' is not: add the MFA device's serial number or ARN`,
      { param: "assumeRole.SerialNumber" },
    );
  }
  if (
    assumeRole.TokenCode !== undefined && assumeRole.SerialNumber === undefined
  ) {
    throw new BRSConfigurationError(
      `${_PREFIX} 'assumeRole.TokenCode' is set but 'assumeRole.SerialNumber' is not: add the MFA device's serial number or ARN`,
      { param: "assumeRole.SerialNumber" },
    );
  }
  if (hasProviderOptions && !hasProvider) {
    throw new BRSConfigurationError(
      `${_PREFIX} 'mfaTokenProviderOptions' is set but 'mfaTokenProvider' is not: set a provider or remove the options`,
      { param: "mfaTokenProviderOptions" },
    );
  }
  return hasProvider && assumeRole.TokenCode !== undefined;
}
