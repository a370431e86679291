/**
 * The CLI's MFA command: runs it as the library does (allowlist by the real
 * binary, no shell, bounded output, timeout, the seed on stdin from
 * `--mfa-stdin-file`), says with `--debug` which file runs, warns when an
 * argument looks like a TOTP seed, and says on stderr when the library will
 * wait for the next 30 s TOTP step because the command printed a code that
 * was already used (e.g. after STS rejected it), instead of waiting silently.
 *
 * @module
 */

import {
  _checkAllowedCommand,
  _runTokenCommand,
  _validateCommandOptions,
} from "../mfa/_mfa_runner.ts";
import { _STEP_MS } from "../mfa/_mfa_registry.ts";
import { _readSecretFile } from "../mfa/_secret_file.ts";
import { _controlEscape } from "../_redact.ts";
import { _seedArgumentWarning } from "../mfa/_seed_argument.ts";
import { _splitCommand } from "../mfa/_split_command.ts";
import type { MfaTokenFunction } from "../mfa/mfa.ts";
import { _err } from "./_output.ts";

/** Options of {@linkcode _mfaCommandProvider}. */
export interface _MfaCommandOptions {
  /** `--debug`: print the file that runs. */
  debug?: boolean;
  /** `--mfa-stdin-file`, `mfa_stdin_file`: fed to the command's stdin. */
  stdinFile?: string | undefined;
}

/**
 * Warns on stderr (one line, never the value) when an argument of the MFA
 * command looks like a TOTP seed: it is then in the process list of the
 * machine, and in brs's own when it came from `--mfa-command`.
 *
 * @param command The command (`--mfa-command`, `mfa_command`, `mfa_process`).
 */
export async function _warnSeedArgument(
  command: string[] | string,
): Promise<void> {
  const warning = _seedArgumentWarning(
    command,
    "--mfa-stdin-file FILE or mfa_stdin_file, with 'oathtool --totp -b -'",
  );
  if (warning !== undefined) await _err(`brs: warning: ${warning}`);
}

/**
 * An MFA provider function that runs `command` and announces the wait for
 * the next TOTP step when it prints a code it printed before in this step.
 *
 * @param command The command (`--mfa-command`, `mfa_command`, `mfa_process`).
 * @param allowedCommands Names or paths allowed besides the built-in OTP tools.
 * @param options `--debug` and the stdin file.
 * @returns The provider for `mfaTokenProvider`.
 * @throws {BRSValidationError} Shell syntax in a command string.
 * @throws {BRSConfigurationError} A command that is not allowed.
 */
export function _mfaCommandProvider(
  command: string[] | string,
  allowedCommands: string[],
  options: _MfaCommandOptions = {},
): MfaTokenFunction {
  const argv = typeof command === "string" ? _splitCommand(command) : command;
  _checkAllowedCommand(argv[0] ?? "", allowedCommands);
  let announce: Promise<void> = Promise.resolve();
  const validated = {
    ..._validateCommandOptions({
      allowedCommands,
      ...(options.stdinFile === undefined
        ? {}
        : { stdinFile: options.stdinFile }),
    }),
    stdinFileName: "mfa_stdin_file (--mfa-stdin-file)",
    ...(options.debug
      ? {
        onResolved: (
          r: { given: string; path: string; real: string; run: string },
        ) => {
          const link = r.real === r.path
            ? ""
            : ` (a link to ${_controlEscape(r.real)})`;
          announce = _err(
            `brs: debug: MFA command '${_controlEscape(r.given)}' runs ${
              _controlEscape(r.run)
            }${
              r.run === r.path ? link : ` (found as ${_controlEscape(r.path)})`
            }${
              options.stdinFile === undefined
                ? ""
                : `, stdin from ${_controlEscape(options.stdinFile)}`
            }`,
          );
        },
      }
      : {}),
  };
  let last: { step: number; code: string } | undefined;
  return async function mfaCommand(): Promise<string> {
    let code: string;
    try {
      code = await _runTokenCommand(argv, validated);
    } finally {
      await announce;
    }
    const now = Date.now();
    const step = Math.floor(now / _STEP_MS);
    if (last?.step === step && last.code === code) {
      // A stdin file that went bad is said now, not after the wait.
      if (validated.stdinFile !== undefined) {
        await _readSecretFile(validated.stdinFile, validated.stdinFileName);
      }
      const seconds = Math.ceil(((step + 1) * _STEP_MS - now) / 1000);
      await _err(
        `brs: waiting ${seconds} s for the next MFA code (the last one was used)`,
      );
    }
    last = { step, code };
    return code;
  };
}
