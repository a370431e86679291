/**
 * Runs code with environment variables set, then restores them. `Deno.env`
 * is the whole process's: `deno test --parallel` runs test files side by
 * side in one process, so only files under `tests/serial/` (run one at a
 * time, after the others) may use this.
 *
 * @module
 */

/**
 * Sets `vars` (`undefined` deletes one), runs `fn`, then puts every variable
 * back as it was, also when `fn` throws.
 *
 * @param vars The variables to set or delete.
 * @param fn The code to run with them.
 * @returns What `fn` returns.
 */
export async function withEnv<T>(
  vars: Record<string, string | undefined>,
  fn: () => T | Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(
    Object.keys(vars).map((k) => [k, Deno.env.get(k)]),
  );
  const apply = (v: Record<string, string | undefined>): void => {
    for (const [k, value] of Object.entries(v)) {
      if (value === undefined) Deno.env.delete(k);
      else Deno.env.set(k, value);
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}
