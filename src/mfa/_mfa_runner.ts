/**
 * Private: the MFA command runner, the only module of the library that starts
 * processes (the CLI's `exec` child is started by `src/cli/_exec_child.ts`).
 * It checks MFA commands against an allowlist by their real file,
 * queries (never requests) the `run` permission, runs the program without a
 * shell with bounded output and a hard timeout, and maps every failure to a
 * {@linkcode BRSConfigurationError} that never carries the command's stdout
 * (which may hold the MFA code).
 *
 * @module
 */

import { _controlEscape } from "../_redact.ts";
import {
  _checkAllowedName,
  _resolveCommand,
  type _ResolvedCommand,
} from "./_resolve_command.ts";
import { _readSecretFile } from "./_secret_file.ts";
import { _typeName } from "../_validate.ts";
import { BRSConfigurationError, BRSValidationError } from "../errors.ts";

export { _BUILTIN_ALLOWED_COMMANDS } from "./_resolve_command.ts";

/** Default timeout of an MFA command, in milliseconds. */
export const _DEFAULT_TIMEOUT_MS = 30_000;
/** Bytes of stdout read at most; more is an error and the process is killed. */
export const _STDOUT_LIMIT = 4096;
/** Bytes of stderr kept (the rest is read and dropped). */
export const _STDERR_LIMIT = 4096;
/** Time between SIGTERM and SIGKILL when a command is stopped. */
const _KILL_GRACE_MS = 500;

/** The options of an MFA command, validated. */
export interface _CommandOptions {
  /** Milliseconds before the command is killed. */
  timeoutMs: number;
  /** Working directory of the command. */
  cwd: string | undefined;
  /** Extra environment variables. */
  env: Record<string, string> | undefined;
  /** Start from an empty environment. */
  clearEnv: boolean;
  /** Commands allowed in addition to the built-in list. */
  allowedCommands: readonly string[];
  /** A file (checked like a secret) whose content the command reads on stdin. */
  stdinFile?: string | undefined;
  /** Told which file runs, once it is found and checked (the CLI's `--debug`). */
  onResolved?: (resolved: _ResolvedCommand & { run: string }) => void;
  /** How messages name `stdinFile` (the CLI: its flag and key). */
  stdinFileName?: string;
}

const _FORBIDDEN_OPTION_KEYS = new Set([
  "stdout",
  "stderr",
  "stdin",
  "shell",
  "detached",
  "uid",
  "gid",
  "windowsRawArguments",
  "args",
  "signal",
]);
const _KNOWN_OPTION_KEYS = new Set([
  "timeoutMs",
  "cwd",
  "env",
  "clearEnv",
  "allowedCommands",
  "stdinFile",
]);

function _isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return false;
  }
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Validates `mfaTokenProviderOptions` for a command provider.
 *
 * @param options The options given (may be `undefined`).
 * @returns The validated options with defaults.
 * @throws {BRSValidationError} If a key is unknown or forbidden, or a value has the wrong type.
 */
export function _validateCommandOptions(options: unknown): _CommandOptions {
  if (options === undefined) {
    return {
      timeoutMs: _DEFAULT_TIMEOUT_MS,
      cwd: undefined,
      env: undefined,
      clearEnv: false,
      allowedCommands: [],
    };
  }
  if (!_isPlainObject(options)) {
    throw new BRSValidationError(
      `Cannot use 'mfaTokenProviderOptions' as it must be an object: got ${
        _typeName(options)
      }`,
      { param: "mfaTokenProviderOptions" },
    );
  }
  for (const rawKey of Object.keys(options)) {
    const key = _controlEscape(rawKey);
    if (_FORBIDDEN_OPTION_KEYS.has(rawKey)) {
      throw new BRSValidationError(
        `Cannot use 'mfaTokenProviderOptions.${key}' as MFA commands always run without a shell, with stdin closed (or fed from stdinFile) and stdout/stderr captured: remove '${key}' (allowed: timeoutMs, cwd, env, clearEnv, allowedCommands, stdinFile)`,
        { param: `mfaTokenProviderOptions.${key}` },
      );
    }
    if (!_KNOWN_OPTION_KEYS.has(rawKey)) {
      throw new BRSValidationError(
        `Cannot use 'mfaTokenProviderOptions.${key}' as it is not a known option: use timeoutMs, cwd, env, clearEnv, allowedCommands or stdinFile`,
        { param: `mfaTokenProviderOptions.${key}` },
      );
    }
  }
  const { timeoutMs, cwd, env, clearEnv, allowedCommands, stdinFile } = options;
  if (
    timeoutMs !== undefined &&
    !(typeof timeoutMs === "number" && Number.isInteger(timeoutMs) &&
      timeoutMs > 0 && timeoutMs <= 2_147_483_647)
  ) {
    throw new BRSValidationError(
      `Cannot use 'mfaTokenProviderOptions.timeoutMs' as it must be a positive integer number of milliseconds: got ${
        typeof timeoutMs === "number" ? timeoutMs : _typeName(timeoutMs)
      }`,
      { param: "mfaTokenProviderOptions.timeoutMs" },
    );
  }
  if (cwd !== undefined && (typeof cwd !== "string" || cwd === "")) {
    throw new BRSValidationError(
      `Cannot use 'mfaTokenProviderOptions.cwd' as it must be a non-empty string: got ${
        cwd === "" ? "an empty string" : _typeName(cwd)
      }`,
      { param: "mfaTokenProviderOptions.cwd" },
    );
  }
  if (env !== undefined) {
    if (!_isPlainObject(env)) {
      throw new BRSValidationError(
        `Cannot use 'mfaTokenProviderOptions.env' as it must be an object of strings: got ${
          _typeName(env)
        }`,
        { param: "mfaTokenProviderOptions.env" },
      );
    }
    for (const [rawName, value] of Object.entries(env)) {
      const name = _controlEscape(rawName);
      // Never echo the value: environment variables often hold secrets.
      if (typeof value !== "string") {
        throw new BRSValidationError(
          `Cannot use 'mfaTokenProviderOptions.env.${name}' as it must be a string: got ${
            _typeName(value)
          }`,
          { param: `mfaTokenProviderOptions.env.${name}` },
        );
      }
      if (
        rawName === "" || rawName.includes("=") || rawName.includes("\0")
      ) {
        throw new BRSValidationError(
          `Cannot use 'mfaTokenProviderOptions.env' as the variable name '${name}' is not valid: names must be non-empty and contain no '=' or NUL`,
          { param: "mfaTokenProviderOptions.env" },
        );
      }
    }
  }
  if (
    stdinFile !== undefined &&
    (typeof stdinFile !== "string" || stdinFile === "" ||
      stdinFile.includes("\0"))
  ) {
    throw new BRSValidationError(
      `Cannot use 'mfaTokenProviderOptions.stdinFile' as it must be the path of a file: got ${
        stdinFile === ""
          ? "an empty string"
          : typeof stdinFile === "string"
          ? "a string with a NUL character"
          : _typeName(stdinFile)
      }`,
      { param: "mfaTokenProviderOptions.stdinFile" },
    );
  }
  if (clearEnv !== undefined && typeof clearEnv !== "boolean") {
    throw new BRSValidationError(
      `Cannot use 'mfaTokenProviderOptions.clearEnv' as it must be a boolean: got ${
        _typeName(clearEnv)
      }`,
      { param: "mfaTokenProviderOptions.clearEnv" },
    );
  }
  if (allowedCommands !== undefined) {
    if (
      !Array.isArray(allowedCommands) ||
      !allowedCommands.every((c) => typeof c === "string" && c !== "")
    ) {
      throw new BRSValidationError(
        `Cannot use 'mfaTokenProviderOptions.allowedCommands' as it must be an array of non-empty strings (command names or paths): got ${
          Array.isArray(allowedCommands)
            ? "an array with a non-string or empty item"
            : _typeName(allowedCommands)
        }`,
        { param: "mfaTokenProviderOptions.allowedCommands" },
      );
    }
  }
  return {
    timeoutMs: timeoutMs ?? _DEFAULT_TIMEOUT_MS,
    cwd,
    env: env === undefined ? undefined : { ...(env as Record<string, string>) },
    clearEnv: clearEnv ?? false,
    allowedCommands: Object.freeze([
      ...(allowedCommands as string[] | undefined ?? []),
    ]),
    ...(stdinFile === undefined ? {} : { stdinFile: stdinFile as string }),
  };
}

const _IS_WINDOWS = Deno.build.os === "windows";

/**
 * Checks a program against the allowlist as given, before anything is looked
 * up (see `src/mfa/_resolve_command.ts` for the rules): what could never be
 * allowed is refused at once. {@linkcode _runTokenCommand} checks the real
 * file again before it runs.
 *
 * @param command The program (first element of the command).
 * @param allowedCommands Extra allowed names or paths.
 * @throws {BRSConfigurationError} If the program is not allowed.
 */
export function _checkAllowedCommand(
  command: string,
  allowedCommands: readonly string[],
): void {
  _checkAllowedName(command, allowedCommands);
}

/**
 * Picks the path to run and checks that the `run` permission covers it.
 * Only queries: never prompts, never hangs. The real file (after links) runs
 * when the permission covers it; otherwise the file found, when the
 * permission covers that (`--allow-run=NAME` grants the file Deno itself
 * found on `PATH` at start, without following links).
 *
 * @param resolved The program, found and checked.
 * @returns The absolute path to run.
 * @throws {BRSConfigurationError} If the permission is not granted.
 */
export async function _checkRunPermission(
  resolved: _ResolvedCommand,
): Promise<string> {
  let denied = false;
  for (const path of new Set([resolved.real, resolved.path])) {
    const status = await Deno.permissions.query({
      name: "run",
      command: path,
    });
    if (status.state === "granted") return path;
    if (status.state === "denied") denied = true;
  }
  const command = _controlEscape(resolved.given);
  const real = _controlEscape(resolved.real);
  const shown = command === real ? `'${command}'` : `'${command}' (${real})`;
  throw new BRSConfigurationError(
    `Cannot run MFA command ${shown} as Deno's run permission for it is ${
      denied ? "denied" : "not granted"
    }: add --allow-run=${real} to the deno command`,
    {
      code: "PermissionDenied",
      param: "mfaTokenProvider",
      details: { command, real, permission: `--allow-run=${real}` },
    },
  );
}

/** Standalone 6-digit groups (not part of a longer run of letters or digits). */
const _TOKEN_RE = /(?<![0-9A-Za-z_])[0-9]{6}(?![0-9A-Za-z_])/g;

/**
 * The first lines of stderr, for error messages: at most 3 lines and 300
 * characters, with anything that looks like a 6-digit code redacted.
 */
function _stderrHead(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  const head = text.split(/\r?\n/).filter((l) => l.trim() !== "").slice(0, 3)
    .join("\n").slice(0, 300);
  return head.replace(_TOKEN_RE, "[REDACTED]");
}

/** Reads a stream into at most `limit` bytes; calls `onOverflow` (once) when more arrives. */
async function _readCapped(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  onOverflow: (() => void) | undefined,
  readers: ReadableStreamDefaultReader<Uint8Array>[],
): Promise<{ bytes: Uint8Array; total: number }> {
  const reader = stream.getReader();
  readers.push(reader);
  const buffer = new Uint8Array(limit);
  let kept = 0;
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = limit - kept;
      if (room > 0) {
        const part = value.subarray(0, room);
        buffer.set(part, kept);
        kept += part.length;
      }
      total += value.length;
      if (total > limit && onOverflow !== undefined) {
        onOverflow();
        await reader.cancel().catch(() => {});
        break;
      }
    }
  } catch {
    // Cancelled or broken pipe: keep what was read.
  } finally {
    reader.releaseLock();
  }
  return { bytes: buffer.subarray(0, kept), total };
}

/**
 * Whether the command can run in a process group of its own that is killed as
 * a whole: POSIX only, and `Deno.kill` of a group needs the `run` permission
 * without a list. Otherwise only the command itself is signalled.
 */
function _canKillGroups(): boolean {
  if (_IS_WINDOWS) return false;
  try {
    return Deno.permissions.querySync({ name: "run" }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Runs an MFA command and returns the last standalone 6-digit group of its
 * stdout. No shell, stdin closed, stdout capped at 4 KiB (more is an error
 * and the process is killed), stderr kept up to 4 KiB, SIGTERM at the timeout
 * and SIGKILL after a short grace; the process is always awaited. With the
 * `run` permission granted without a list, the command runs in a process
 * group of its own: the signals reach every child it forked, and children
 * left behind when it exits are killed.
 *
 * @param argv The program and its arguments (already allowlisted).
 * @param options Validated options.
 * @param signal Aborts the run: the process is killed and the promise rejects with `signal.reason`.
 * @returns The 6-digit code.
 * @throws {BRSConfigurationError} If the permission is missing, the program is
 * missing or not executable, it exits non-zero or by a signal, it times out,
 * prints too much, or prints no 6-digit code.
 */
export async function _runTokenCommand(
  argv: readonly string[],
  options: _CommandOptions,
  signal?: AbortSignal,
): Promise<string> {
  const [command, ...args] = argv;
  if (command === undefined) {
    throw new BRSValidationError("Cannot run MFA command as it is empty", {
      param: "mfaTokenProvider",
    });
  }
  signal?.throwIfAborted();
  // The program runs by the absolute path of the file checked, never by a
  // name looked up again: a later change of PATH cannot swap it.
  const resolved = await _resolveCommand(command, options.allowedCommands);
  const runPath = await _checkRunPermission(resolved);
  options.onResolved?.({ ...resolved, run: runPath });
  const input = options.stdinFile === undefined
    ? undefined
    : await _readSecretFile(
      options.stdinFile,
      options.stdinFileName ?? "mfaTokenProviderOptions.stdinFile",
    );
  signal?.throwIfAborted();
  const shown = _controlEscape(command);
  const label = shown === runPath
    ? `'${shown}'`
    : `'${shown}' (${_controlEscape(runPath)})`;
  const baseDetails = {
    command: shown,
    path: _controlEscape(runPath),
    timeoutMs: options.timeoutMs,
  };

  // In a process group of its own, the command and every child it forks can
  // be killed together (Deno.kill(-pgid) needs --allow-run without a list).
  const groupKill = _canKillGroups();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(runPath, {
      args,
      detached: groupKill,
      stdin: input === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
      clearEnv: options.clearEnv,
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new BRSConfigurationError(
        `Cannot run MFA command ${label} as it was not found${
          options.cwd === undefined ? "" : " (or the cwd does not exist)"
        }: install it, check PATH, or give its absolute path`,
        {
          code: "CommandNotFound",
          param: "mfaTokenProvider",
          details: baseDetails,
          cause: error,
        },
      );
    }
    if (
      error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.NotCapable
    ) {
      const flag = `--allow-run=${_controlEscape(runPath)}`;
      throw new BRSConfigurationError(
        `Cannot run MFA command ${label} as permission was denied: make it executable and add ${flag} to the deno command`,
        {
          code: "PermissionDenied",
          param: "mfaTokenProvider",
          details: { ...baseDetails, permission: flag },
          cause: error,
        },
      );
    }
    throw new BRSConfigurationError(
      `Cannot run MFA command ${label}: ${
        _controlEscape(error instanceof Error ? error.message : String(error))
      }`,
      {
        code: "CommandFailed",
        param: "mfaTokenProvider",
        details: baseDetails,
        cause: error,
      },
    );
  }
  if (input !== undefined) {
    // Written while the command runs; a command that exits without reading
    // it closes the pipe, which is not an error of ours.
    const writer = child.stdin.getWriter();
    writer.write(input).then(() => writer.close()).catch(() => {})
      .finally(() => input.fill(0));
  }

  let exited = false;
  let stopReason: "timeout" | "too-large" | "aborted" | undefined;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];

  /** Signals the command's process group (or, without it, the command). */
  function kill(sig: Deno.Signal): void {
    if (groupKill) {
      try {
        Deno.kill(-child.pid, sig);
        return;
      } catch { /* the group is gone */ }
    }
    if (!exited) {
      try {
        child.kill(sig);
      } catch { /* already gone */ }
    }
  }

  function stop(reason: "timeout" | "too-large" | "aborted"): void {
    if (stopReason !== undefined) return;
    stopReason = reason;
    if (!exited || groupKill) {
      kill("SIGTERM");
      graceTimer = setTimeout(() => {
        graceTimer = undefined;
        kill("SIGKILL");
      }, _KILL_GRACE_MS);
    }
    // A grandchild may hold the pipes open: stop reading now.
    for (const reader of readers) reader.cancel().catch(() => {});
  }

  const timer = setTimeout(() => stop("timeout"), options.timeoutMs);
  const onAbort = (): void => stop("aborted");
  signal?.addEventListener("abort", onAbort, { once: true });

  const statusPromise = child.status.then((status) => {
    exited = true;
    // Children it left behind (holding the pipes open or not) go with it.
    if (groupKill) kill("SIGKILL");
    return status;
  });
  let stdout: { bytes: Uint8Array; total: number };
  let stderr: { bytes: Uint8Array; total: number };
  let status: Deno.CommandStatus;
  try {
    [stdout, stderr, status] = await Promise.all([
      _readCapped(
        child.stdout,
        _STDOUT_LIMIT,
        () => stop("too-large"),
        readers,
      ),
      _readCapped(child.stderr, _STDERR_LIMIT, undefined, readers),
      statusPromise,
    ]);
  } finally {
    clearTimeout(timer);
    if (graceTimer !== undefined) clearTimeout(graceTimer);
    signal?.removeEventListener("abort", onAbort);
  }

  const details = {
    ...baseDetails,
    exitCode: status.code,
    signal: status.signal ?? undefined,
    stderrHead: _stderrHead(stderr.bytes),
  };
  const stderrNote = details.stderrHead === ""
    ? ""
    : `; stderr: ${details.stderrHead}`;

  if (stopReason === "aborted") {
    throw signal?.reason ??
      new DOMException("The MFA command was aborted", "AbortError");
  }
  if (stopReason === "timeout") {
    throw new BRSConfigurationError(
      `Cannot get an MFA code as command ${label} did not finish within ${options.timeoutMs} ms and was killed: check that it does not wait for input (stdin is closed) or raise mfaTokenProviderOptions.timeoutMs${stderrNote}`,
      { code: "CommandTimeout", param: "mfaTokenProvider", details },
    );
  }
  if (stopReason === "too-large") {
    throw new BRSConfigurationError(
      `Cannot get an MFA code as command ${label} printed output too large (more than ${_STDOUT_LIMIT} bytes on stdout) and was killed: make it print only the code`,
      { code: "CommandOutputTooLarge", param: "mfaTokenProvider", details },
    );
  }
  if (!status.success) {
    const how = status.signal !== null
      ? `was killed by ${status.signal}`
      : `exited with code ${status.code}`;
    throw new BRSConfigurationError(
      `Cannot get an MFA code as command ${label} ${how}${stderrNote}`,
      { code: "CommandFailed", param: "mfaTokenProvider", details },
    );
  }
  const text = new TextDecoder().decode(stdout.bytes);
  const matches = text.match(_TOKEN_RE);
  const token = matches?.[matches.length - 1];
  if (token === undefined) {
    throw new BRSConfigurationError(
      `Cannot get an MFA code as command ${label} printed no standalone 6-digit code on stdout (${stdout.total} bytes): check its arguments${stderrNote}`,
      {
        code: "NoTokenInOutput",
        param: "mfaTokenProvider",
        details: { ...details, stdoutBytes: stdout.total },
      },
    );
  }
  return token;
}
