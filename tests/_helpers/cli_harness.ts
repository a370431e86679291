/**
 * Runs the CLI's `main(args)` in-process with its output captured, in a
 * sandbox environment (temporary HOME, XDG dirs, AWS files, fake base
 * credentials, IMDS off). Network use outside 127.0.0.1 is refused by the
 * test's `--allow-net=127.0.0.1,localhost`. It changes `Deno.env`, which
 * test files running in parallel share: only files under `tests/serial/` use it.
 *
 * @module
 */

import { main } from "../../src/cli/main.ts";
import { _sinks } from "../../src/cli/_output.ts";

/** Fake base credentials the sandbox puts in the environment. */
export const SANDBOX_BASE = {
  accessKeyId: "AKIASANDBOXFUZZ00001",
  secretAccessKey: "sandboxBaseSecret/fuzz0123456789abcdef",
};

/** The outcome of one CLI run. */
export interface CliRun {
  /** Exit code. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything written to stderr. */
  stderr: string;
}

/** A sandbox: directories and files of one test. */
export interface CliSandbox extends AsyncDisposable {
  /** The temporary root. */
  readonly root: string;
  /** `$XDG_CONFIG_HOME/brs/config.toml`. */
  readonly tomlPath: string;
  /** `AWS_CONFIG_FILE`. */
  readonly awsConfigPath: string;
  /** Runs `main(args)` with output captured. */
  run(args: string[]): Promise<CliRun>;
  /** Restores the environment and removes the directory. */
  close(): Promise<void>;
}

const _VARS = [
  "HOME",
  "XDG_CACHE_HOME",
  "XDG_CONFIG_HOME",
  "BRS_CONFIG_FILE",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_EC2_METADATA_DISABLED",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_MAX_ATTEMPTS",
];

/**
 * Creates a sandbox and points the environment at it.
 *
 * @returns The sandbox.
 */
export async function cliSandbox(): Promise<CliSandbox> {
  const root = await Deno.makeTempDir({ prefix: "brs_sandbox_" });
  const saved = new Map(_VARS.map((v) => [v, Deno.env.get(v)]));
  await Deno.mkdir(`${root}/config/brs`, { recursive: true });
  await Deno.mkdir(`${root}/.aws`, { recursive: true });
  const env: Record<string, string> = {
    HOME: root,
    XDG_CACHE_HOME: `${root}/cache`,
    XDG_CONFIG_HOME: `${root}/config`,
    AWS_CONFIG_FILE: `${root}/.aws/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${root}/.aws/credentials`,
    AWS_ACCESS_KEY_ID: SANDBOX_BASE.accessKeyId,
    AWS_SECRET_ACCESS_KEY: SANDBOX_BASE.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_REGION: "us-east-1",
    AWS_MAX_ATTEMPTS: "1",
  };
  for (const v of _VARS) Deno.env.delete(v);
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  const savedSinks = { ..._sinks };
  const decoder = new TextDecoder();
  let out = "";
  let err = "";
  _sinks.stdout = {
    write: (bytes) => {
      out += decoder.decode(bytes);
      return Promise.resolve();
    },
  };
  _sinks.stderr = {
    write: (bytes) => {
      err += decoder.decode(bytes);
      return Promise.resolve();
    },
  };
  async function close(): Promise<void> {
    _sinks.stdout = savedSinks.stdout;
    _sinks.stderr = savedSinks.stderr;
    for (const [k, v] of saved) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  return {
    root,
    tomlPath: `${root}/config/brs/config.toml`,
    awsConfigPath: `${root}/.aws/config`,
    async run(args: string[]): Promise<CliRun> {
      out = "";
      err = "";
      const code = await main(args);
      return { code, stdout: out, stderr: err };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A line that looks like a JavaScript stack frame. */
export const STACK_FRAME = /^\s+at .*(?:\(|\s)[\w:/.-]+:\d+:\d+\)?\s*$/m;
