/**
 * MFA token sources: turn an `mfaTokenProvider` (a function or a command) into
 * a function that hands out fresh 6-digit TOTP codes, never the same code
 * twice in one 30 s step for the same device.
 *
 * @module
 */

import { _controlEscape } from "../_redact.ts";
import { _typeName } from "../_validate.ts";
import {
  _checkAllowedCommand,
  _runTokenCommand,
  _validateCommandOptions,
} from "./_mfa_runner.ts";
import { _obtainMfaCode } from "./_mfa_registry.ts";
import { _splitCommand } from "./_split_command.ts";
import {
  BRSConfigurationError,
  BRSError,
  BRSValidationError,
} from "../errors.ts";

/**
 * A function that returns the current MFA code of the device `serial`. It
 * gets the `mfaTokenProviderOptions` object as given. The result is trimmed
 * and must be exactly 6 digits.
 *
 * @example Usage
 * ```ts
 * import type { MfaTokenFunction } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * const fromEnv: MfaTokenFunction = (_serial, options) =>
 *   String(options.code ?? "000000");
 * assertEquals(
 *   await fromEnv("arn:aws:iam::123456789012:mfa/me", { code: "123456" }),
 *   "123456",
 * );
 * ```
 */
export type MfaTokenFunction = (
  serial: string,
  options: Record<string, unknown>,
) => string | Promise<string>;

/**
 * Where MFA codes come from: a {@linkcode MfaTokenFunction}, a command as a
 * `string[]` (preferred: no parsing at all), or a command string that is
 * split into arguments without a shell (`'...'`, `"..."` and backslash
 * escapes are honoured; shell operators such as `|`, `;`, `&&`, `>`, `$(` are
 * refused). A command's stdout must contain the code as a standalone 6-digit
 * group; the last one wins. Never put a TOTP seed in a command: a process's
 * arguments are visible to every user of the machine (give it on stdin with
 * {@linkcode MfaTokenProviderOptions.stdinFile}); a session warns
 * (`MfaSeedInArguments`) when an argument looks like one.
 *
 * @example Usage
 * ```ts
 * import type { MfaTokenProvider } from "@brs/session";
 * import { assert } from "@std/assert";
 *
 * const yubikey: MfaTokenProvider = [
 *   "ykman",
 *   "oath",
 *   "accounts",
 *   "code",
 *   "--single",
 *   "aws",
 * ];
 * // The seed on stdin (mfaTokenProviderOptions.stdinFile), never in argv:
 * const totp: MfaTokenProvider = "oathtool --totp -b -";
 * const fn: MfaTokenProvider = () => "123456";
 * assert(
 *   Array.isArray(yubikey) && typeof totp === "string" &&
 *     typeof fn === "function",
 * );
 * ```
 */
export type MfaTokenProvider = MfaTokenFunction | string[] | string;

/**
 * Options of a command {@linkcode MfaTokenProvider}. Any other key (and
 * `stdout`, `stderr`, `stdin`, `shell`, `detached`, `uid`, `gid`,
 * `windowsRawArguments`) is refused with `BRSValidationError`. For a function
 * provider the options object is passed to the function as it is.
 *
 * @example Usage
 * ```ts
 * import type { MfaTokenProviderOptions } from "@brs/session";
 * import { assertEquals } from "@std/assert";
 *
 * const options: MfaTokenProviderOptions = {
 *   timeoutMs: 10_000,
 *   allowedCommands: ["/opt/bin/my-otp"],
 *   stdinFile: "/home/me/.config/brs/aws.seed",
 * };
 * assertEquals(options.timeoutMs, 10_000);
 * ```
 */
export interface MfaTokenProviderOptions {
  /**
   * Milliseconds before the command is stopped (SIGTERM, then SIGKILL).
   *
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * Working directory of the command.
   *
   * @default {undefined} the current directory
   */
  cwd?: string;
  /**
   * Environment variables added to the command's environment.
   *
   * @default {undefined}
   */
  env?: Record<string, string>;
  /**
   * Start the command with only `env`, not the process environment.
   *
   * @default {false}
   */
  clearEnv?: boolean;
  /**
   * Commands allowed in addition to the built-in OTP tools (`ykman`,
   * `oathtool`, `op`, `bw`, `gopass`, `pass`, `keepassxc-cli`): bare names
   * or exact paths. The check is on the real file: a bare name is looked up
   * in the absolute directories of `PATH`, links are followed, and the real
   * file's name must be listed (or the path given, or the real file's own
   * path, listed exactly). Shells and interpreters (`sh`, `bash`, `env`,
   * `python3`, `node`, `deno`, ...) are refused by their real file, also
   * when listed by name: list and give the interpreter's real absolute path
   * to run one. A file that another user could have put there (it, or a
   * directory above it, owned by someone other than you or root, or writable
   * by group or others) is refused.
   *
   * @default {[]}
   */
  allowedCommands?: string[];
  /**
   * A file whose content is written to the command's stdin, e.g. a TOTP
   * seed for `["oathtool", "--totp", "-b", "-"]`, so that the seed is on no
   * command line. Checked like a secret before each run: a regular file
   * (never a FIFO or a device), with no group or other permission bits,
   * of the user running the session when that is known, at most 4096 bytes,
   * in directories only root or the user can write.
   *
   * @default {undefined} stdin is closed
   */
  stdinFile?: string;
}

/**
 * Hands out a fresh MFA code for the device `serial`. Rejects with
 * `signal.reason` when `signal` aborts.
 *
 * @example Usage
 * ```ts
 * import {
 *   createMfaTokenSource,
 *   type MfaTokenSource,
 * } from "@brs/session";
 * import { assertMatch } from "@std/assert";
 *
 * const source: MfaTokenSource = createMfaTokenSource(() => "246810");
 * assertMatch(
 *   await source("arn:aws:iam::123456789012:mfa/doc-type"),
 *   /^\d{6}$/,
 * );
 * ```
 */
export type MfaTokenSource = (
  serial: string,
  signal?: AbortSignal,
) => Promise<string>;

function _checkCode(value: unknown, serial: string): string {
  const prefix = `Cannot get an MFA code for '${
    _controlEscape(serial)
  }' as mfaTokenProvider returned`;
  if (typeof value !== "string") {
    throw new BRSConfigurationError(
      `${prefix} ${
        _typeName(value)
      }, expected a string of 6 digits: return the code as a string (a number loses leading zeros)`,
      {
        code: "InvalidMfaCode",
        param: "mfaTokenProvider",
        details: { serial },
      },
    );
  }
  const code = value.trim();
  // Never echo the value: it may be a (wrong) code or another secret.
  if (code.length !== 6) {
    throw new BRSConfigurationError(
      `${prefix} ${code.length} characters, expected 6 digits`,
      {
        code: "InvalidMfaCode",
        param: "mfaTokenProvider",
        details: { serial, length: code.length },
      },
    );
  }
  if (!/^[0-9]{6}$/.test(code)) {
    throw new BRSConfigurationError(
      `${prefix} 6 characters that are not all digits, expected 6 digits`,
      {
        code: "InvalidMfaCode",
        param: "mfaTokenProvider",
        details: { serial, length: 6 },
      },
    );
  }
  return code;
}

function _checkSerial(serial: unknown): asserts serial is string {
  if (typeof serial !== "string" || serial.trim() === "") {
    throw new BRSValidationError(
      `Cannot get an MFA code as the serial number must be a non-empty string: got ${
        typeof serial === "string" ? "an empty string" : _typeName(serial)
      }`,
      { param: "assumeRole.SerialNumber" },
    );
  }
}

async function _callFunction(
  fn: MfaTokenFunction,
  serial: string,
  options: Record<string, unknown>,
): Promise<string> {
  let value: unknown;
  try {
    value = await fn(serial, options);
  } catch (error) {
    if (error instanceof BRSError) throw error;
    const name = error instanceof Error ? error.name : _typeName(error);
    const message = error instanceof Error ? error.message : "";
    // The user's message may mention a code: redact 6-digit groups, keep it short.
    const safe = message.replace(/\d{6}/g, "[REDACTED]").slice(0, 200);
    throw new BRSConfigurationError(
      `Cannot get an MFA code for '${
        _controlEscape(serial)
      }' as mfaTokenProvider threw ${_controlEscape(name)}${
        safe === "" ? "" : `: ${_controlEscape(safe)}`
      }`,
      {
        code: "MfaProviderFailed",
        param: "mfaTokenProvider",
        details: { serial },
        cause: error,
      },
    );
  }
  return _checkCode(value, serial);
}

/**
 * Creates an {@linkcode MfaTokenSource} from an `mfaTokenProvider` and its
 * options. Everything that can be checked without the file system is
 * checked now, synchronously: the provider's form, a command string's syntax
 * (no shell operators, balanced quotes), the command's name against the
 * allowlist, and the options. Before each run the program is found
 * (absolute `PATH` directories only), followed through links and checked
 * again by its real file, and that absolute path runs; Deno's `run`
 * permission for it is queried (never requested).
 *
 * The source is backed by a process-wide registry per serial number: one
 * provider call in flight at a time, and never a code already handed out for
 * that serial in the current 30 s step (the caller waits for the next step,
 * abortable with `signal`, and asks again). So after STS rejects a code,
 * calling the source again yields a different one.
 *
 * A command runs without a shell, with stdin closed, stdout capped at 4 KiB,
 * killed at `timeoutMs`; the code is the last standalone 6-digit group of its
 * stdout. Failures (not allowed, not trusted, not found, no permission,
 * non-zero exit, timeout, no code, output too large, an unsafe `stdinFile`)
 * are `BRSConfigurationError`s with `details` (`command`, `path`, `exitCode`,
 * `signal`, `stderrHead`, `timeoutMs`) and never the code, stdout or the
 * stdin file's content.
 *
 * @param provider A function, a command as `string[]`, or a command string.
 * @param options For a command: {@linkcode MfaTokenProviderOptions}; for a function: passed to it as is.
 * @returns The source: `(serial, signal?) => Promise<string>`.
 * @throws {BRSValidationError} If the provider has the wrong type, the command
 * is empty or contains a shell operator or an unbalanced quote, or an option
 * is unknown, forbidden or of the wrong type.
 * @throws {BRSConfigurationError} If the command is not in the allowlist.
 *
 * @example Usage
 * ```ts
 * import {
 *   BRSConfigurationError,
 *   BRSValidationError,
 *   createMfaTokenSource,
 * } from "@brs/session";
 * import {
 *   assertEquals,
 *   assertNotEquals,
 *   assertThrows,
 * } from "@std/assert";
 *
 * let n = 0;
 * const source = createMfaTokenSource(() =>
 *   ["111111", "222222"][n++ % 2]!
 * );
 * const serial = "arn:aws:iam::123456789012:mfa/doc-example";
 * const first = await source(serial);
 * // Never the same code twice in a 30 s step:
 * const second = await source(serial);
 * assertNotEquals(first, second);
 * assertEquals([first, second].sort(), ["111111", "222222"]);
 *
 * assertThrows(
 *   () => createMfaTokenSource("oathtool -b X | tee log"),
 *   BRSValidationError,
 * );
 * assertThrows(
 *   () => createMfaTokenSource(["sh", "-c", "echo 123456"]),
 *   BRSConfigurationError,
 * );
 * ```
 */
export function createMfaTokenSource(
  provider: MfaTokenProvider,
  options?: MfaTokenProviderOptions | Record<string, unknown>,
): MfaTokenSource {
  if (typeof provider === "function") {
    if (
      options !== undefined &&
      (options === null || typeof options !== "object" ||
        Array.isArray(options))
    ) {
      throw new BRSValidationError(
        `Cannot use 'mfaTokenProviderOptions' as it must be an object: got ${
          _typeName(options)
        }`,
        { param: "mfaTokenProviderOptions" },
      );
    }
    const fnOptions = (options ?? {}) as Record<string, unknown>;
    return async function mfaTokenSource(serial, signal): Promise<string> {
      _checkSerial(serial);
      return await _obtainMfaCode(
        serial,
        () => _callFunction(provider, serial, fnOptions),
        signal,
      );
    };
  }
  let argv: string[];
  if (typeof provider === "string") {
    argv = _splitCommand(provider);
  } else if (Array.isArray(provider)) {
    if (provider.length === 0) {
      throw new BRSValidationError(
        'Cannot use \'mfaTokenProvider\' as the command array is empty: give the program and its arguments, e.g. ["ykman", "oath", "accounts", "code", "--single", "ACCOUNT"]',
        { param: "mfaTokenProvider" },
      );
    }
    const bad = provider.findIndex((a) => typeof a !== "string");
    if (bad !== -1) {
      throw new BRSValidationError(
        `Cannot use 'mfaTokenProvider' as every item of the command array must be a string: item ${bad} is ${
          _typeName(provider[bad])
        }`,
        { param: "mfaTokenProvider" },
      );
    }
    argv = [...provider];
  } else {
    throw new BRSValidationError(
      `Cannot use 'mfaTokenProvider' as it must be a function, a command as string[] or a command string: got ${
        _typeName(provider)
      }`,
      { param: "mfaTokenProvider" },
    );
  }
  const commandOptions = _validateCommandOptions(options);
  _checkAllowedCommand(argv[0]!, commandOptions.allowedCommands);
  Object.freeze(argv);
  return async function mfaTokenSource(serial, signal): Promise<string> {
    _checkSerial(serial);
    return await _obtainMfaCode(
      serial,
      (s) => _runTokenCommand(argv, commandOptions, s),
      signal,
    );
  };
}
