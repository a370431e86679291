/**
 * Running the real CLI against hostile local input, shared by the hostile
 * file and hostile local tests: every run has a watchdog that kills it, so
 * a hang fails the test instead of holding CI, and a refusal is checked to
 * be clean (exit 2, the expected message, no stack trace, nothing printed).
 */

import { assert, assertEquals, assertMatch } from "@std/assert";
import {
  CLI_FLAGS,
  CLI_PATH,
  type CliResult,
  ROOT,
} from "../fixtures/cli/helpers.ts";

/** `nobody`: the other user of the machine. */
export const NOBODY = 65534;
/** A CLI run is killed after this: a hang then fails the test. */
export const WATCHDOG_MS = 30_000;

/** What a CLI run under a watchdog gave. */
export interface BoundedResult extends CliResult {
  /** Milliseconds until it ended. */
  ms: number;
  /** Whether the watchdog killed it. */
  killed: boolean;
}

/**
 * Runs the real CLI with the narrow flags; killed by the watchdog if it hangs.
 *
 * @param args The CLI's arguments.
 * @param env The whole environment of the run (nothing else is inherited).
 * @returns Its exit code, output, duration and whether it was killed.
 */
export async function runBounded(
  args: string[],
  env: Record<string, string>,
): Promise<BoundedResult> {
  const start = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", ...CLI_FLAGS, CLI_PATH, ...args],
    env,
    clearEnv: true,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(WATCHDOG_MS),
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
    ms: performance.now() - start,
    killed: output.signal !== null,
  };
}

/** How strict {@linkcode assertRefused} is. */
export interface RefusedOptions {
  /** Also require that stderr is exactly one line. */
  oneLine?: boolean;
}

/**
 * Asserts a clean typed refusal: exit 2, a `brs:` message that matches,
 * no stack trace, nothing on stdout, no hang.
 *
 * @param r The run.
 * @param pattern What stderr must say.
 * @param options `oneLine: true` to require a single line on stderr.
 */
export function assertRefused(
  r: BoundedResult,
  pattern: RegExp,
  options: RefusedOptions = {},
): void {
  assert(!r.killed, `hung: killed after ${Math.round(r.ms)} ms`);
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, pattern);
  assert(!/\n\s+at /.test(r.stderr), `a stack trace: ${r.stderr}`);
  if (options.oneLine) {
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assertEquals(r.stdout, "");
}
