/**
 * The companion CLI's entry: dispatches to a subcommand and maps errors to
 * exit codes. Imports nothing from the AWS SDK statically: the SDK is loaded
 * with `import()` only when credentials must be refreshed. Each subcommand's
 * module, and `deno.json` (the version), are loaded with `import()` only when
 * that command (or `--version`, help) runs, so a warm `credentials` loads
 * only what it uses.
 *
 * @module
 */

import {
  _COMMANDS,
  _didYouMean,
  _hasVersionFlag,
  _splitCommand,
} from "./_args.ts";
import { _checkPermissions } from "./_permissions.ts";
import {
  _exitCodeFor,
  _formatError,
  EXIT_OK,
  EXIT_USAGE,
} from "./_exit_codes.ts";
import { _err, _out, _sinks } from "./_output.ts";

/** The package version, from `deno.json` (loaded on demand). */
async function _version(): Promise<string> {
  const { default: denoJson } = await import("../../deno.json", {
    with: { type: "json" },
  });
  return denoJson.version;
}

async function _help(): Promise<string> {
  return `brs ${await _version()}: AWS credentials of an assumed role that refresh themselves

Usage: brs <command> [flags]

Commands:
  whoami        print the assumed role's identity (--format json for JSON)
  credentials   print credentials: --format json | env | credential-process
  exec          run a command with credentials: brs exec [--server] -- CMD ARGS...
  profiles      list the profiles of the TOML file and of ~/.aws/config
  clear         remove cached credentials (all, or --profile NAME)
  help          this help, or a command's: brs help whoami

Flags:
  --help, -h    help of the CLI, or of a command: brs <command> --help
  --version     print the version

Profiles: --profile, else $BRS_PROFILE, $AWS_PROFILE, $AWS_DEFAULT_PROFILE;
the TOML file is searched first, then ~/.aws/config.

Exit codes: 0 success, 1 runtime failure (STS, network, refresh),
            2 usage, configuration or missing Deno permission,
            126 / 127 exec: program cannot run / not found, 130 Ctrl-C.

Deno permissions:
  deno run --allow-net --allow-env --allow-read --allow-write --allow-run \\
    --allow-sys=osRelease,homedir cli.ts <command>
  (--allow-sys instead when NODE_EXTRA_CA_CERTS is set)
`;
}

/**
 * Each command's runner, its module loaded when the command runs (a `Map`:
 * a name such as `constructor` is no command).
 */
const _RUNNERS = new Map<
  string,
  () => Promise<(args: string[]) => Promise<number>>
>([
  ["whoami", async () => (await import("./whoami.ts")).runWhoami],
  [
    "credentials",
    async () => (await import("./credentials.ts")).runCredentials,
  ],
  ["exec", async () => (await import("./exec.ts")).runExec],
  ["profiles", async () => (await import("./profiles.ts")).runProfiles],
  ["clear", async () => (await import("./clear.ts")).runClear],
]);

function _unknownCommand(command: string): string {
  return `brs: error: Unknown command '${command}'${
    _didYouMean(command, _COMMANDS)
  }: use one of ${_COMMANDS.join(", ")} (brs --help)`;
}

/** Options of {@linkcode main}. */
export interface MainOptions {
  /**
   * Receives what the CLI writes to stdout; `Deno.stdout` when unset.
   *
   * @default {undefined}
   */
  stdout?: (bytes: Uint8Array) => void | Promise<void>;
  /**
   * Receives what the CLI writes to stderr (secrets already scrubbed); `Deno.stderr` when unset.
   *
   * @default {undefined}
   */
  stderr?: (bytes: Uint8Array) => void | Promise<void>;
}

/**
 * Runs the CLI with the given arguments and returns its exit code. Never
 * calls `Deno.exit`; errors become one line on stderr (`--debug` adds the
 * cause chain), never a stack trace.
 *
 * @param args The command line, e.g. `Deno.args`.
 * @param options Where the output goes (tests, embedding).
 * @returns 0 on success, 1 on a runtime failure, 2 on a usage or configuration
 * error (or the child's exit code for `exec`).
 *
 * @example Usage
 * ```ts
 * import { main } from "@brs/session/cli";
 * import { assertEquals, assertMatch } from "@std/assert";
 *
 * let out = "";
 * let err = "";
 * const decoder = new TextDecoder();
 * const options = {
 *   stdout: (bytes: Uint8Array) => void (out += decoder.decode(bytes)),
 *   stderr: (bytes: Uint8Array) => void (err += decoder.decode(bytes)),
 * };
 * assertEquals(await main(["--version"], options), 0);
 * assertMatch(out, /^brs \d+\.\d+\.\d+/);
 * assertEquals(await main(["no-such-command"], options), 2);
 * assertMatch(err, /^brs: error: Unknown command 'no-such-command'/);
 * ```
 */
export async function main(
  args: string[],
  options: MainOptions = {},
): Promise<number> {
  const saved = { ..._sinks };
  const { stdout, stderr } = options;
  if (stdout) _sinks.stdout = { write: async (b) => await stdout(b) };
  if (stderr) _sinks.stderr = { write: async (b) => await stderr(b) };
  try {
    return await _main(args);
  } finally {
    Object.assign(_sinks, saved);
  }
}

async function _main(args: string[]): Promise<number> {
  const debug = args.includes("--debug");
  try {
    const split = _splitCommand(args);
    if (split === undefined) {
      if (args.includes("--version")) {
        await _out(`brs ${await _version()}\n`);
        return EXIT_OK;
      }
      if (args.length === 0) {
        await _err(await _help()); // a usage error: help on stderr, exit code 2
        return EXIT_USAGE;
      }
      if (args.includes("--help") || args.includes("-h")) {
        await _out(await _help());
        return EXIT_OK;
      }
      await _err(
        `brs: error: No command given: use one of ${
          _COMMANDS.join(", ")
        } (brs --help)`,
      );
      return EXIT_USAGE;
    }
    const { command, rest } = split;
    if (
      (_COMMANDS as readonly string[]).includes(command) &&
      _hasVersionFlag(rest)
    ) {
      await _out(`brs ${await _version()}\n`);
      return EXIT_OK;
    }
    if (command === "help") {
      const topic = rest.find((a) => !a.startsWith("-"));
      if (topic === undefined || topic === "help") {
        await _out(await _help());
        return EXIT_OK;
      }
      const runner = _RUNNERS.get(topic);
      if (runner === undefined) {
        await _err(_unknownCommand(topic));
        return EXIT_USAGE;
      }
      return await (await runner())(["--help"]);
    }
    const runner = _RUNNERS.get(command);
    if (runner === undefined) {
      await _err(_unknownCommand(command));
      return EXIT_USAGE;
    }
    if (!rest.includes("--help") && !rest.includes("-h")) {
      _checkPermissions(command, rest);
    }
    return await (await runner())(rest);
  } catch (error) {
    await _err(_formatError(error, debug));
    return _exitCodeFor(error);
  }
}
