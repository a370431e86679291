/**
 * The MFA prompt of the CLI: when stderr is a terminal, it shows the prompt
 * there and reads the code from the terminal (`/dev/tty`, so it works when
 * stdin or stdout is redirected). Deno lets a program read `/dev/tty` with
 * `--allow-read` but write to it only with `--allow-all`, so a process whose
 * stderr is captured (a `credential_process` of the AWS CLI or an SDK)
 * cannot show a prompt: it gets the "no terminal" error, which names
 * `--mfa-command` and `mfa_process`. Ctrl-C ends the prompt with an
 * `Interrupted` error (exit code 130, `brs: interrupted`) so that the cache
 * lock is released on the way out. A second prompt for the same device in one
 * run follows a code STS rejected, and says so.
 *
 * @module
 */

import { BRSConfigurationError, BRSError } from "../errors.ts";
import { _prompt } from "./_output.ts";

/** The terminal device. */
export const _TTY_PATH = "/dev/tty";

/** The codes typed per serial in this process: a second prompt follows a rejected code. */
const _typed = new Map<string, Set<string>>();

/** How often a code already typed is refused at the prompt before giving up. */
const _MAX_REPEATS = 3;

/**
 * Asks for the MFA code of `serial` on the terminal and returns it.
 *
 * @param serial The MFA device.
 * @returns The six digits typed.
 * @throws {BRSConfigurationError} No terminal (names --mfa-command and
 * mfa_process), or what was typed is not six digits.
 * @throws {BRSError} `Interrupted` on Ctrl-C.
 */
export async function _promptMfaCode(serial: string): Promise<string> {
  let tty: Deno.FsFile;
  try {
    if (!Deno.stderr.isTerminal()) {
      throw new Deno.errors.NotFound("stderr is not a terminal");
    }
    tty = await Deno.open(_TTY_PATH, { read: true });
  } catch (error) {
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied &&
        !error.message.includes("os error")
    ) throw error;
    throw new BRSConfigurationError(
      `Cannot ask for the MFA code of '${serial}' as there is no terminal: give an MFA command with --mfa-command "CMD ARGS", mfa_command (TOML) or mfa_process (~/.aws/config)`,
      { param: "--mfa-command", code: "NoTerminal", cause: error },
    );
  }
  const { promise: interrupted, reject } = Promise.withResolvers<never>();
  const onSignal = (): void =>
    reject(
      new BRSError("Interrupted while asking for the MFA code", {
        code: "Interrupted",
      }),
    );
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const typed = _typed.get(serial) ?? new Set<string>();
    _typed.set(serial, typed);
    // The library asks once more only after STS rejected the code.
    let label = typed.size > 0
      ? `STS rejected that code; wait for a new one. MFA code for ${serial}: `
      : `MFA code for ${serial}: `;
    for (let attempt = 1;; attempt++) {
      await _prompt(label);
      const line = await Promise.race([_readLine(tty), interrupted]);
      const code = line.trim();
      if (!/^\d{6}$/.test(code)) {
        throw new BRSConfigurationError(
          `Cannot use the MFA code typed for '${serial}' as it must be 6 digits: got ${code.length} characters`,
          { param: "MFA code", code: "BadMfaCode" },
        );
      }
      if (!typed.has(code)) {
        typed.add(code);
        return code;
      }
      if (attempt >= _MAX_REPEATS) {
        throw new BRSConfigurationError(
          `Cannot use the MFA code typed for '${serial}' as it was already used: run the command again when the device shows a new code`,
          { param: "MFA code", code: "MfaCodeReused" },
        );
      }
      label =
        `That code was already used; wait for a new one. MFA code for ${serial}: `;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    try {
      tty.close();
    } catch {
      // already closed
    }
  }
}

async function _readLine(tty: Deno.FsFile): Promise<string> {
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64);
  let text = "";
  while (text.length < 256) {
    const n = await tty.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
    if (text.includes("\n")) return text.slice(0, text.indexOf("\n"));
  }
  return text;
}
