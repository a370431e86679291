/**
 * Private helpers shared by the option validators: how a wrong value is
 * named in an error message, and the check of an optional object option.
 *
 * @module
 */

import { BRSValidationError } from "./errors.ts";

/**
 * Names the type of a wrong value for an error message without printing the
 * value (it may be a secret): `null`, `an array`, or its `typeof`.
 */
export function _typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

/**
 * Throws a `BRSValidationError` unless `value` is `undefined` or an object
 * (not `null`, not an array).
 *
 * @param owner What is being created, e.g. `STSRefreshableSession`.
 * @param name The option's name, e.g. `stsClientConfig`.
 * @param value The value given.
 * @param example An example of a right value, e.g. `{ region: "eu-west-1" }`.
 */
export function _checkOptionalObject(
  owner: string,
  name: string,
  value: unknown,
  example: string,
): void {
  if (
    value === undefined ||
    (value !== null && typeof value === "object" && !Array.isArray(value))
  ) return;
  throw new BRSValidationError(
    `Cannot create ${owner} as '${name}' must be an object such as ${example}: got ${
      _typeName(value)
    }`,
    { param: name },
  );
}
