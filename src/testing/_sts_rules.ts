/**
 * Private helpers of the local STS endpoint: request parameter parsing,
 * AWS-style validation messages, and the shapes of keys and identities.
 *
 * @module
 */

import { _sha1 } from "./_totp.ts";

/** The STS API version the endpoint serves. */
export const _STS_VERSION = "2011-06-15";

/** The actions the endpoint answers. */
export const _STS_ACTIONS = [
  "AssumeRole",
  "GetCallerIdentity",
  "GetSessionToken",
  "AssumeRoleWithWebIdentity",
] as const;

/** One of {@linkcode _STS_ACTIONS}. */
export type _StsAction = typeof _STS_ACTIONS[number];

/** Real STS actions this endpoint does not implement. */
export const _UNSUPPORTED_STS_ACTIONS: ReadonlySet<string> = new Set([
  "AssumeRoleWithSAML",
  "AssumeRoot",
  "DecodeAuthorizationMessage",
  "GetAccessKeyInfo",
  "GetDelegatedAccessToken",
  "GetFederationToken",
  "GetWebIdentityToken",
]);

/** A parsed role ARN. */
export interface _RoleArn {
  partition: string;
  account: string;
  /** The role's name (the last path segment). */
  name: string;
}

const ROLE_ARN_PATTERN =
  /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

/** Parses `arn:PARTITION:iam::123456789012:role/path/name`. */
export function _parseRoleArn(value: string): _RoleArn | undefined {
  const m = ROLE_ARN_PATTERN.exec(value);
  if (!m) return undefined;
  return { partition: m[1]!, account: m[2]!, name: m[3]! };
}

/**
 * Decodes `application/x-www-form-urlencoded` text strictly (bad percent
 * escapes are an error, unlike `URLSearchParams`). The first value of a
 * repeated name wins.
 */
export function _parseForm(
  text: string,
  into: Map<string, string>,
): void {
  if (text === "") return;
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? "" : pair.slice(eq + 1);
    const name = decodeURIComponent(rawName.replace(/\+/g, " "));
    const value = decodeURIComponent(rawValue.replace(/\+/g, " "));
    if (!into.has(name)) into.set(name, value);
  }
}

/** Collects AWS-style constraint failures: `Value 'x' at 'roleArn' failed to satisfy constraint: ...`. */
export class _Violations {
  readonly #messages: string[] = [];

  /** Adds one failure. */
  add(value: string | undefined, member: string, constraint: string): void {
    const shown = value === undefined ? "null" : `'${value}'`;
    this.#messages.push(
      `Value ${shown} at '${member}' failed to satisfy constraint: ${constraint}`,
    );
  }

  /** Checks a string's presence, length and pattern. */
  string(
    value: string | undefined,
    member: string,
    rule: {
      required?: boolean;
      min?: number;
      max?: number;
      pattern?: RegExp;
      patternText?: string;
    },
  ): void {
    if (value === undefined) {
      if (rule.required) this.add(value, member, "Member must not be null");
      return;
    }
    if (rule.min !== undefined && value.length < rule.min) {
      this.add(
        value,
        member,
        `Member must have length greater than or equal to ${rule.min}`,
      );
    } else if (rule.max !== undefined && value.length > rule.max) {
      this.add(
        value,
        member,
        `Member must have length less than or equal to ${rule.max}`,
      );
    } else if (rule.pattern && !rule.pattern.test(value)) {
      this.add(
        value,
        member,
        `Member must satisfy regular expression pattern: ${rule.patternText}`,
      );
    }
  }

  /** Checks an integer's range; returns the number when it is one. */
  integer(
    value: string | undefined,
    member: string,
    range: { min?: number; max?: number },
  ): number | undefined {
    if (value === undefined) return undefined;
    if (!/^-?\d{1,15}$/.test(value)) {
      this.add(value, member, "Member must be an integer");
      return undefined;
    }
    const n = Number(value);
    if (range.min !== undefined && n < range.min) {
      this.add(
        value,
        member,
        `Member must have value greater than or equal to ${range.min}`,
      );
    } else if (range.max !== undefined && n > range.max) {
      this.add(
        value,
        member,
        `Member must have value less than or equal to ${range.max}`,
      );
    }
    return n;
  }

  /** The `ValidationError` message, or `undefined` when nothing failed. */
  message(): string | undefined {
    const n = this.#messages.length;
    if (n === 0) return undefined;
    return `${n} validation error${n === 1 ? "" : "s"} detected: ${
      this.#messages.join("; ")
    }`;
  }
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * Checks the `RoleArn` and `RoleSessionName` of an AssumeRole-like request
 * as STS does (length, ARN shape, session name characters).
 */
export function _checkRoleAndSessionName(
  v: _Violations,
  roleArn: string | undefined,
  sessionName: string | undefined,
): void {
  v.string(roleArn, "roleArn", { required: true, min: 20, max: 2048 });
  if (
    roleArn !== undefined && roleArn.length >= 20 && roleArn.length <= 2048 &&
    !_parseRoleArn(roleArn)
  ) {
    v.add(
      roleArn,
      "roleArn",
      "Member must satisfy regular expression pattern: arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+",
    );
  }
  v.string(sessionName, "roleSessionName", {
    required: true,
    min: 2,
    max: 64,
    pattern: /^[\w+=,.@-]*$/,
    patternText: "[\\w+=,.@-]*",
  });
}

/** `count` random characters of `[A-Z2-7]`. */
export function _randomId(count: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(count));
  return [...bytes].map((b) => ID_ALPHABET[b & 31]).join("");
}

/** A stable 17-character `[A-Z2-7]` id derived from `seed` (for `AIDA...`/`AROA...` ids). */
export function _stableId(seed: string): string {
  const digest = _sha1(new TextEncoder().encode(seed));
  return [...digest.subarray(0, 17)].map((b) => ID_ALPHABET[b & 31]).join("");
}

/** A random secret access key: 40 characters of base64. */
export function _randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(30));
  return btoa(String.fromCharCode(...bytes));
}

/** A random session token that looks like AWS's (long base64). */
export function _randomSessionToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(240));
  return "IQoJb3JpZ2luX2VjE" + btoa(String.fromCharCode(...bytes));
}

/** `2024-01-02T03:04:05Z`: ISO 8601 without milliseconds, as STS writes it. */
export function _isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
