/**
 * `brs exec`: runs a command with the assumed-role credentials, either as
 * static environment variables or, with `--server`, through a loopback
 * container-credentials endpoint that always serves fresh credentials.
 *
 * @module
 */

import { _spawnExecChild } from "./_exec_child.ts";
import { BRSError } from "../errors.ts";
import { _parseExecArgs, _SESSION_FLAGS_HELP } from "./_args.ts";
import { _startCredentialServer } from "./_credential_server.ts";
import { EXIT_OK } from "./_exit_codes.ts";
import { _out } from "./_output.ts";
import {
  _finalRole,
  _knownRegion,
  _openCredentialSource,
} from "./_resolve_session.ts";
import { _childEnvironment } from "./_child_env.ts";
import { FileCache } from "../cache/file_cache.ts";

const _HELP = `Usage: brs exec [--server] [session flags] -- COMMAND [ARGS...]

Runs COMMAND with the assumed role's credentials; its exit code is passed
through and SIGINT/SIGTERM/SIGHUP are forwarded to it.

Without --server the child gets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION (and AWS_REGION when known); they
do not change while it runs.

  --server   serve the credentials on http://127.0.0.1:RANDOM in the AWS
             container-credentials format instead: the child gets
             AWS_CONTAINER_CREDENTIALS_FULL_URI and a random
             AWS_CONTAINER_AUTHORIZATION_TOKEN (no static keys), and every
             AWS SDK / the AWS CLI fetches fresh credentials from it, so a
             child that runs for hours keeps working.

${_SESSION_FLAGS_HELP}

Examples:
  brs exec --profile dev -- aws s3 ls
  brs exec --server --profile dev -- terraform apply
`;

const _SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * Runs `exec`.
 *
 * @param args The arguments after `exec`.
 * @returns The child's exit code (128 + signal number if it was killed).
 * @throws {BRSValidationError} Bad flags or values (exit code 2).
 * @throws {BRSError} `ProgramNotFound` (exit code 127) or `ProgramNotRunnable` (126).
 * @throws {BRSRefreshError} STS failed (exit code 1).
 */
export async function runExec(args: string[]): Promise<number> {
  const flags = _parseExecArgs(args);
  if (flags.help) {
    await _out(_HELP);
    return EXIT_OK;
  }
  // the parent's environment as it was, before the base-credential lookup
  // consumes the profile variables
  const parentEnv = Deno.env.toObject();
  const { plan, source } = await _openCredentialSource(flags);
  await using stack = new AsyncDisposableStack();
  stack.defer(() => source.close());
  const { env } = stack.use(
    await _childEnvironment(parentEnv, {
      directory: FileCache.defaultDirectory(),
      region: _knownRegion(plan),
      marker: plan.profileName ?? _finalRole(plan) ?? "brs",
    }),
  );
  // Fetch once before starting the child: a failure is reported as ours.
  const credentials = await source.get();
  if (flags.server) {
    const server = stack.use(await _startCredentialServer(() => source.get()));
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url;
    env.AWS_CONTAINER_AUTHORIZATION_TOKEN = server.token;
  } else {
    env.AWS_ACCESS_KEY_ID = credentials.accessKey;
    env.AWS_SECRET_ACCESS_KEY = credentials.secretKey;
    env.AWS_SESSION_TOKEN = credentials.token;
    env.AWS_CREDENTIAL_EXPIRATION = credentials.expiryTime;
  }
  const [program, ...programArgs] = flags.command as [string, ...string[]];
  // Listen before the child starts, so a signal that arrives in between is
  // forwarded too (and does not kill us, leaving the child behind).
  let child: Deno.ChildProcess | undefined;
  const pending: Deno.Signal[] = [];
  const forward = new Map<Deno.Signal, () => void>();
  const send = (signal: Deno.Signal): void => {
    try {
      child?.kill(signal);
    } catch {
      // already gone
    }
  };
  for (const signal of _SIGNALS) {
    const handler = (): void => {
      if (child === undefined) pending.push(signal);
      else send(signal);
    };
    try {
      Deno.addSignalListener(signal, handler);
      forward.set(signal, handler);
    } catch {
      // signal not supported on this platform
    }
  }
  const removeListeners = (): void => {
    for (const [signal, handler] of forward) {
      Deno.removeSignalListener(signal, handler);
    }
  };
  try {
    child = _spawnExecChild(program, programArgs, { env, clearEnv: true });
  } catch (error) {
    removeListeners();
    if (error instanceof Deno.errors.NotFound) {
      throw new BRSError(
        `Cannot run '${program}': no such program on PATH; check the command after '--'`,
        { param: "command", code: "ProgramNotFound", cause: error },
      );
    }
    if (
      error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.IsADirectory
    ) {
      throw new BRSError(
        `Cannot run '${program}': the operating system refused it (${
          error.message.split(":")[0]
        }); check that it is an executable file`,
        { param: "command", code: "ProgramNotRunnable", cause: error },
      );
    }
    throw error;
  }
  for (const signal of pending) send(signal);
  try {
    const status = await child.status;
    return status.code;
  } finally {
    removeListeners();
  }
}
