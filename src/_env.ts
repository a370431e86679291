/**
 * Reads an environment variable only when Deno already grants it, so a
 * session never triggers a permission prompt or a `NotCapable` error.
 *
 * @module
 */

/**
 * The value of `name`, or `undefined` when it is unset, empty or the `env`
 * permission for it is not granted.
 *
 * @param name The variable's name.
 * @returns Its value, if readable and not empty.
 */
export function _readEnv(name: string): string | undefined {
  try {
    if (
      Deno.permissions.querySync({ name: "env", variable: name }).state !==
        "granted"
    ) {
      return undefined;
    }
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}
