/**
 * Private: tells when an MFA command carries its TOTP seed (or another key)
 * as an argument. A process's arguments are public on most systems (`ps`,
 * `/proc/PID/cmdline`): any user of the machine can read them while the
 * command runs, and brs's own when the command is a flag of brs.
 *
 * @module
 */

import { _splitCommand } from "./_split_command.ts";

/** Base32 (RFC 4648), as OTP apps show seeds: 16 or more characters. */
const _BASE32 = /^[A-Za-z2-7]{16,}=*$/;
/** A hex key (`oathtool` without `-b`): 20 or more hex digits. */
const _HEX = /^[0-9A-Fa-f]{20,}$/;

/**
 * Tells whether an argument looks like a TOTP seed or key: a base32 string
 * of 16 or more characters that has a digit or is all upper case (so that
 * a long word is not taken for one), or 20 or more hex digits with a digit
 * (oathtool's default key form).
 *
 * @param arg One argument.
 * @returns `true` when it looks like a seed.
 */
export function _looksLikeSeed(arg: string): boolean {
  const bare = arg.replaceAll(" ", "");
  if (_BASE32.test(bare)) {
    const letters = bare.replace(/=+$/, "");
    return /[2-7]/.test(letters) || letters === letters.toUpperCase();
  }
  return _HEX.test(bare) && /[0-9]/.test(bare);
}

/**
 * The one-line warning for an MFA command whose arguments hold what looks
 * like a seed, or `undefined`. The argument itself is never part of it.
 *
 * @param command The command as given (`string[]` or a command string).
 * @param how How to give the seed on stdin instead (the option or flag).
 * @returns The warning, or `undefined`.
 */
export function _seedArgumentWarning(
  command: readonly string[] | string,
  how: string,
): string | undefined {
  let argv: readonly string[];
  try {
    argv = typeof command === "string" ? _splitCommand(command) : command;
  } catch {
    return undefined;
  }
  const index = argv.findIndex((arg, i) => i > 0 && _looksLikeSeed(arg));
  if (index === -1) return undefined;
  return `Argument ${index} of the MFA command looks like a TOTP seed or key, which any user of this machine can read in the process list while the command runs: keep the seed in a file (mode 0600) and feed it on standard input (${how})`;
}
