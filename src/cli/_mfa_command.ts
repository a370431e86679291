/**
 * The CLI's MFA command: runs it as the library does (allowlist, no shell,
 * bounded output, timeout) and says on stderr when the library will wait
 * for the next 30 s TOTP step because the command printed a code that was
 * already used (e.g. after STS rejected it), instead of waiting silently.
 *
 * @module
 */

import {
  _checkAllowedCommand,
  _runTokenCommand,
  _validateCommandOptions,
} from "../_command.ts";
import { _STEP_MS } from "../_mfa_registry.ts";
import { _splitCommand } from "../_split_command.ts";
import type { MfaTokenFunction } from "../mfa.ts";
import { _err } from "./_output.ts";

/**
 * An MFA provider function that runs `command` and announces the wait for
 * the next TOTP step when it prints a code it printed before in this step.
 *
 * @param command The command (`--mfa-command`, `mfa_command`, `mfa_process`).
 * @param allowedCommands Names or paths allowed besides the built-in OTP tools.
 * @returns The provider for `mfaTokenProvider`.
 * @throws {BRSValidationError} Shell syntax in a command string.
 * @throws {BRSConfigurationError} A command that is not allowed.
 */
export function _mfaCommandProvider(
  command: string[] | string,
  allowedCommands: string[],
): MfaTokenFunction {
  const argv = typeof command === "string" ? _splitCommand(command) : command;
  _checkAllowedCommand(argv[0] ?? "", allowedCommands);
  const options = _validateCommandOptions({ allowedCommands });
  let last: { step: number; code: string } | undefined;
  return async function mfaCommand(): Promise<string> {
    const code = await _runTokenCommand(argv, options);
    const now = Date.now();
    const step = Math.floor(now / _STEP_MS);
    if (last?.step === step && last.code === code) {
      const seconds = Math.ceil(((step + 1) * _STEP_MS - now) / 1000);
      await _err(
        `brs: waiting ${seconds} s for the next MFA code (the last one was used)`,
      );
    }
    last = { step, code };
    return code;
  };
}
