/**
 * Private: starts the CLI `exec` child, the one place besides the MFA runner
 * (`src/mfa/_mfa_runner.ts`) that calls `Deno.Command`. Kept apart from the
 * MFA runner on purpose: no allowlist (the user names the command to run), no
 * output capture, stdio inherited.
 *
 * @module
 */

/** Options of {@linkcode _spawnExecChild}. */
export interface _ExecChildOptions {
  /** The child's environment. */
  env: Record<string, string>;
  /** Start from an empty environment instead of the parent's (so variables can be removed). */
  clearEnv?: boolean;
}

/**
 * Starts the CLI `exec` child without a shell, stdin/stdout/stderr inherited.
 *
 * @param command The program (looked up on PATH).
 * @param args Its arguments.
 * @param options Environment.
 * @returns The running child.
 * @throws {Deno.errors.NotFound} The program does not exist.
 * @throws {Deno.errors.NotCapable} Without `--allow-run`.
 */
export function _spawnExecChild(
  command: string,
  args: string[],
  options: _ExecChildOptions,
): Deno.ChildProcess {
  return new Deno.Command(command, {
    args,
    env: options.env,
    clearEnv: options.clearEnv ?? false,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
}
