/**
 * Private: the types of `parseArgs` from Deno std's `@std/cli/parse-args`,
 * for exactly what this project calls, as that module is typed on JSR (a
 * subset: no literal-type inference of flag names). The npm copy it runs
 * from (`deno-std@1.4.0/cli/parse_args.js`) ships JavaScript only.
 *
 * @module
 */

/** Options of {@linkcode parseArgs}. */
export interface ParseOptions {
  /** Put everything after `--` into `"--"` instead of `_`. */
  "--"?: boolean;
  /** Other names of a flag. */
  alias?: Record<string, string | readonly string[]>;
  /** Flags that are booleans (`true`: every flag without a value). */
  boolean?: boolean | string | readonly string[];
  /** Default values of flags. */
  default?: Record<string, unknown>;
  /** Stop at the first argument that is not a flag; the rest go to `_`. */
  stopEarly?: boolean;
  /** Flags whose values are strings. */
  string?: string | readonly string[];
  /** Flags that collect every value given into an array. */
  collect?: string | readonly string[];
  /** Flags that `--no-NAME` sets to `false`. */
  negatable?: string | readonly string[];
  /**
   * Called with each argument that is not a declared flag (and `key` and
   * `value` for a flag); returning `false` leaves it out.
   */
  unknown?: (arg: string, key?: string, value?: unknown) => unknown;
}

/** What {@linkcode parseArgs} returns. */
export interface Args {
  /** Flag values by name: strings, booleans, numbers or arrays of them. */
  [key: string]: unknown;
  /** Arguments that are not flags; numeric ones are numbers unless `_` is a string flag. */
  _: Array<string | number>;
  /** Arguments after `--`, when the `"--"` option is set. */
  "--"?: string[];
}

/**
 * Parses command-line arguments.
 *
 * @param args The arguments, e.g. `Deno.args`.
 * @param options How to read them.
 * @returns The flags by name, `_` and `"--"`.
 */
export function parseArgs(args: string[], options?: ParseOptions): Args;
