/**
 * Private: which file an MFA command really runs, and whether the allowlist
 * admits it. A name is not a binary: a bare name is looked up on `PATH` here
 * (absolute entries only), links are followed with `Deno.realPath`, and the
 * real file is what the allowlist is checked against. The caller then runs
 * that absolute path, so a later change of `PATH` or of a link cannot swap
 * the program.
 *
 * The rules:
 *
 * - Allowed by name: the real file's name is a built-in OTP tool or a bare
 *   name of `allowedCommands`, and is not a shell, an interpreter or a
 *   command runner ({@linkcode _isInterpreter}).
 * - Allowed by path: the command as given is listed exactly in
 *   `allowedCommands` and its real file is not a shell or interpreter; or the
 *   real file's own absolute path is listed exactly (the one way to allow an
 *   interpreter: a link to it, whatever its name, is refused).
 *
 * @module
 */

import { _controlEscape } from "../_redact.ts";
import {
  _ownUid,
  _parentDirectories,
  _untrustedEntry,
} from "./_secret_file.ts";
import { BRSConfigurationError, BRSValidationError } from "../errors.ts";

/**
 * The OTP tools allowed without configuration.
 *
 * - `ykman`: YubiKey Manager (`ykman oath accounts code --single ACCOUNT`)
 * - `oathtool`: OATH Toolkit (`oathtool --totp -b -`, the seed on stdin)
 * - `op`: 1Password CLI (`op item get ITEM --otp`)
 * - `bw`: Bitwarden CLI (`bw get totp ITEM`)
 * - `gopass`: gopass (`gopass otp -o PATH`)
 * - `pass`: pass with pass-otp (`pass otp PATH`)
 * - `keepassxc-cli`: KeePassXC (`keepassxc-cli show -t DB ENTRY`)
 *
 * `2fa` and `totp-cli` are left out on purpose: they are generic names that
 * different, unrelated packages install, so a name alone says little about
 * what runs. Add them with `allowedCommands` if you use them.
 */
export const _BUILTIN_ALLOWED_COMMANDS: readonly string[] = Object.freeze([
  "ykman",
  "oathtool",
  "op",
  "bw",
  "gopass",
  "pass",
  "keepassxc-cli",
]);

const _IS_WINDOWS = Deno.build.os === "windows";

/**
 * Shells, interpreters and programs that run another program given as an
 * argument: such a file runs whatever it is handed, so its name proves
 * nothing about what an MFA command does.
 */
const _INTERPRETERS = new Set([
  "sh",
  "bash",
  "dash",
  "ash",
  "zsh",
  "fish",
  "ksh",
  "mksh",
  "pdksh",
  "oksh",
  "ksh93",
  "csh",
  "tcsh",
  "yash",
  "rbash",
  "elvish",
  "nu",
  "xonsh",
  "busybox",
  "toybox",
  "env",
  "sudo",
  "doas",
  "su",
  "pkexec",
  "runuser",
  "setpriv",
  "setsid",
  "nohup",
  "nice",
  "ionice",
  "chroot",
  "unshare",
  "nsenter",
  "stdbuf",
  "timeout",
  "xargs",
  "find",
  "script",
  "strace",
  "ltrace",
  "gdb",
  "watch",
  "flock",
  "time",
  "exec",
  "command",
  "eval",
  "awk",
  "gawk",
  "mawk",
  "nawk",
  "sed",
  "expect",
  "deno",
  "bun",
  "osascript",
  "pwsh",
  "powershell",
  "cmd",
  "wscript",
  "cscript",
  "mshta",
  "rundll32",
  "java",
  "jshell",
  "groovy",
  "scala",
  "kotlin",
  "Rscript",
  "R",
  "julia",
  "guile",
  "racket",
  "sbcl",
  "clisp",
  "emacs",
  "vim",
  "vi",
  "nvim",
]);

/** Interpreters with a version in their name: `python3.12`, `perl5.36`, `node18`. */
const _VERSIONED_INTERPRETER =
  /^(python|pypy|perl|ruby|irb|php|lua|luajit|tclsh|wish|node|nodejs|ts-node|tsx)[0-9.]*$/;

/**
 * Tells whether a program name is a shell, an interpreter or a program that
 * runs another program it is given.
 *
 * @param name A file name (no directory).
 * @returns `true` for `sh`, `bash`, `env`, `python3.12`, `node`, `deno`, ...
 */
export function _isInterpreter(name: string): boolean {
  const bare = _IS_WINDOWS ? name.toLowerCase() : name;
  return _INTERPRETERS.has(bare) || _VERSIONED_INTERPRETER.test(bare);
}

/** Whether a command names a path (has a directory separator). */
export function _hasSeparator(path: string): boolean {
  return path.includes("/") || (_IS_WINDOWS && path.includes("\\"));
}

/** Whether a path is absolute. */
export function _isAbsolute(path: string): boolean {
  return path.startsWith("/") ||
    (_IS_WINDOWS && (/^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\")));
}

/** The last component of a path (without `.exe` and the like on Windows). */
export function _basename(path: string): string {
  const parts = path.split(_IS_WINDOWS ? /[\\/]/ : "/");
  let base = parts[parts.length - 1] ?? "";
  if (_IS_WINDOWS) base = base.replace(/\.(exe|cmd|bat|com)$/i, "");
  return base;
}

/** The bare names admitted: the built-in tools and the bare names listed. */
function _allowedNames(allowedCommands: readonly string[]): Set<string> {
  return new Set([
    ..._BUILTIN_ALLOWED_COMMANDS,
    ...allowedCommands.filter((c) => !_hasSeparator(c)),
  ]);
}

/** What a message says about the allowlist and how to extend it. */
function _howToAllow(what: string): string {
  return `add ${what} to mfaTokenProviderOptions.allowedCommands (CLI: allowed_commands in the profile, or BRS_ALLOWED_COMMANDS) if you trust it`;
}

/**
 * Checks the command as given, before anything is looked up: what the
 * allowlist could never admit is refused at once, synchronously. The real
 * file is checked again by {@linkcode _resolveCommand} before it runs.
 *
 * @param command The program (first element of the command).
 * @param allowedCommands Extra allowed names or paths.
 * @throws {BRSValidationError} If the program name is empty.
 * @throws {BRSConfigurationError} If the program is not allowed.
 */
export function _checkAllowedName(
  command: string,
  allowedCommands: readonly string[],
): void {
  if (command === "") {
    throw new BRSValidationError(
      'Cannot use \'mfaTokenProvider\' as the program name is empty: give a command such as ["ykman", "oath", "accounts", "code", "--single", "ACCOUNT"]',
      { param: "mfaTokenProvider" },
    );
  }
  const shown = _controlEscape(command);
  const name = _basename(command);
  if (allowedCommands.includes(command)) {
    // Listed exactly. A bare interpreter name is still refused: only its
    // real absolute path may allow it.
    if (_hasSeparator(command) || !_isInterpreter(name)) return;
  } else if (!_hasSeparator(command) || _isAbsolute(command)) {
    if (_allowedNames(allowedCommands).has(name) && !_isInterpreter(name)) {
      return;
    }
  }
  if (_isInterpreter(name)) {
    throw new BRSConfigurationError(
      `Cannot run MFA command '${shown}' as it is a shell or interpreter, which runs whatever it is given and which the allowlist never admits by name: use an OTP tool (built in: ${
        _BUILTIN_ALLOWED_COMMANDS.join(", ")
      }) or a script of your own listed in mfaTokenProviderOptions.allowedCommands (CLI: allowed_commands in the profile, or BRS_ALLOWED_COMMANDS)`,
      {
        code: "CommandNotAllowed",
        param: "mfaTokenProvider",
        details: { command: shown },
      },
    );
  }
  const why = _hasSeparator(command) && !_isAbsolute(command)
    ? "relative paths are allowed only when listed exactly"
    : "it is not in the allowlist of MFA tools";
  throw new BRSConfigurationError(
    `Cannot run MFA command '${shown}' as ${why} (built in: ${
      _BUILTIN_ALLOWED_COMMANDS.join(", ")
    }): ${_howToAllow(`'${shown}'`)}`,
    {
      code: "CommandNotAllowed",
      param: "mfaTokenProvider",
      details: { command: shown },
    },
  );
}

/** The program an MFA command runs, found and checked. */
export interface _ResolvedCommand {
  /** The command as given. */
  given: string;
  /** The file found: the absolute path given, or the first match on `PATH`. */
  path: string;
  /** That file after every link (`Deno.realPath`). */
  real: string;
}

/** Whether a stat result is an executable regular file. */
function _isExecutableFile(info: Deno.FileInfo): boolean {
  if (!info.isFile) return false;
  return _IS_WINDOWS || ((info.mode ?? 0o111) & 0o111) !== 0;
}

/** The read permission error for `path`, naming the flag. */
function _readPermissionError(
  command: string,
  path: string,
  cause: unknown,
): BRSConfigurationError {
  return new BRSConfigurationError(
    `Cannot check MFA command '${command}' as Deno's read permission does not cover '${path}': add --allow-read without a list to the deno command (the command's real file and every directory above it, up to /, are checked)`,
    {
      code: "PermissionDenied",
      param: "mfaTokenProvider",
      details: { command, path, permission: "--allow-read" },
      cause,
    },
  );
}

/** `Deno.stat`, with `undefined` for a missing file. */
async function _statOrUndefined(
  command: string,
  path: string,
): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw _readPermissionError(command, path, error);
    }
    // Missing, not a directory, no access: not here.
    return undefined;
  }
}

/**
 * Looks a bare name up on `PATH` as a shell would, but only in absolute
 * directories: an empty entry or `.` (the current directory, which a shell
 * would search) and other relative entries are skipped, so a program planted
 * in whatever directory brs runs from is never found.
 */
async function _lookUp(name: string, shown: string): Promise<string> {
  let pathVariable: string | undefined;
  try {
    pathVariable = Deno.env.get("PATH");
  } catch (error) {
    throw new BRSConfigurationError(
      `Cannot find MFA command '${shown}' as Deno's env permission does not cover PATH: add --allow-env=PATH to the deno command, or give the command's absolute path`,
      {
        code: "PermissionDenied",
        param: "mfaTokenProvider",
        details: { command: shown, permission: "--allow-env=PATH" },
        cause: error,
      },
    );
  }
  const separator = _IS_WINDOWS ? ";" : ":";
  const suffixes = _IS_WINDOWS ? ["", ".exe", ".com"] : [""];
  const searched: string[] = [];
  for (const dir of (pathVariable ?? "").split(separator)) {
    if (!_isAbsolute(dir)) continue;
    searched.push(dir);
    for (const suffix of suffixes) {
      const candidate = `${dir.replace(/[\\/]+$/, "")}${
        _IS_WINDOWS ? "\\" : "/"
      }${name}${suffix}`;
      const info = await _statOrUndefined(shown, candidate);
      if (info !== undefined && _isExecutableFile(info)) return candidate;
    }
  }
  throw new BRSConfigurationError(
    `Cannot run MFA command '${shown}' as it was not found in the absolute directories of PATH (${searched.length} searched; empty, '.' and relative entries are skipped): install it, check PATH, or give its absolute path`,
    {
      code: "CommandNotFound",
      param: "mfaTokenProvider",
      details: { command: shown, searched: searched.length },
    },
  );
}

/**
 * Every link on the way from `path` to its real file, with the directories
 * above each: whoever owns a link in the chain (one in `/tmp`, say) could
 * point it elsewhere after the check.
 */
async function _linkChain(shown: string, path: string): Promise<string[]> {
  const out: string[] = [];
  let current = path;
  for (let hop = 0; hop < 40; hop++) {
    let target: string;
    try {
      if (!(await Deno.lstat(current)).isSymlink) break;
      target = await Deno.readLink(current);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) {
        throw _readPermissionError(shown, current, error);
      }
      break;
    }
    out.push(current, ..._parentDirectories(current));
    current = target.startsWith("/")
      ? target
      : `${current.replace(/\/+[^/]*$/, "")}/${target}`;
  }
  return out;
}

/**
 * Checks that nobody but root and the user running brs could have put the
 * program there or can swap it: the real file, and every directory above it
 * and above the file found (a link), belong to root or to the user, and none
 * is writable by group or others (a directory with the sticky bit, such as
 * `/tmp`, excepted: others cannot rename or remove what is not theirs; and
 * group write on the user's own file or directory whose group is the user's
 * private group, gid = uid, as `umask 002` systems create them).
 */
async function _checkTrustedPath(
  shown: string,
  path: string,
  real: string,
): Promise<void> {
  if (_IS_WINDOWS) return;
  const uid = _ownUid();
  const entries = new Set([
    real,
    ..._parentDirectories(real),
    ..._parentDirectories(path),
    ...await _linkChain(shown, path),
  ]);
  const untrusted = await _untrustedEntry(
    entries,
    uid,
    (entry, cause) => _readPermissionError(shown, entry, cause),
  );
  if (untrusted !== undefined) {
    const { entry, why } = untrusted;
    throw new BRSConfigurationError(
      `Cannot run MFA command '${shown}' as '${
        _controlEscape(entry)
      }', on the way to its real file '${
        _controlEscape(real)
      }', ${why}, so another user could have put the program there or could swap it: install the tool where only you or root can write`,
      {
        code: "CommandNotTrusted",
        param: "mfaTokenProvider",
        details: {
          command: shown,
          real: _controlEscape(real),
          entry: _controlEscape(entry),
        },
      },
    );
  }
}

/**
 * Finds the file an MFA command runs and checks it against the allowlist by
 * its real file (after links).
 *
 * @param command The program (first element of the command).
 * @param allowedCommands Extra allowed names or paths.
 * @returns The file found and its real path.
 * @throws {BRSConfigurationError} If it is not found, is not an executable
 * file, a permission to check it is missing, or its real file is not allowed.
 */
export async function _resolveCommand(
  command: string,
  allowedCommands: readonly string[],
): Promise<_ResolvedCommand> {
  _checkAllowedName(command, allowedCommands);
  const shown = _controlEscape(command);
  let path: string;
  if (!_hasSeparator(command)) {
    path = await _lookUp(command, shown);
  } else if (_isAbsolute(command)) {
    path = command;
  } else {
    path = `${Deno.cwd()}/${command}`;
  }
  let real: string;
  try {
    real = await Deno.realPath(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw _readPermissionError(shown, path, error);
    }
    throw new BRSConfigurationError(
      `Cannot run MFA command '${shown}' as '${
        _controlEscape(path)
      }' was not found: install it, check the path, or give its absolute path`,
      {
        code: "CommandNotFound",
        param: "mfaTokenProvider",
        details: { command: shown, path: _controlEscape(path) },
        cause: error,
      },
    );
  }
  const info = await _statOrUndefined(shown, real);
  const realShown = _controlEscape(real);
  if (info === undefined || !_isExecutableFile(info)) {
    throw new BRSConfigurationError(
      `Cannot run MFA command '${shown}' as its real file '${realShown}' is not an executable regular file: give the path of the program`,
      {
        code: "CommandNotRunnable",
        param: "mfaTokenProvider",
        details: {
          command: shown,
          path: _controlEscape(path),
          real: realShown,
        },
      },
    );
  }
  await _checkTrustedPath(shown, path, real);
  const realName = _basename(real);
  const interpreter = _isInterpreter(realName);
  // A bare name listed counts by the real file's name only (below).
  // An interpreter runs only as the explicit choice: its real path given as
  // the command and listed, never through a link or a name.
  const byPath = interpreter
    ? command === real && allowedCommands.includes(real)
    : allowedCommands.includes(real) ||
      (_hasSeparator(command) && allowedCommands.includes(command));
  const byName = _allowedNames(allowedCommands).has(realName) && !interpreter;
  if (byPath || byName) return { given: command, path, real };
  const resolved = real === path
    ? `'${realShown}'`
    : `'${_controlEscape(path)}', a link to '${realShown}'`;
  throw new BRSConfigurationError(
    interpreter
      ? `Cannot run MFA command '${shown}' as it resolves to ${resolved}, a shell or interpreter, which runs whatever it is given: use an OTP tool, or, if you mean to run it, give '${realShown}' itself as the command and list it in mfaTokenProviderOptions.allowedCommands (CLI: allowed_commands in the profile, or BRS_ALLOWED_COMMANDS)`
      : `Cannot run MFA command '${shown}' as it resolves to ${resolved}, whose name '${
        _controlEscape(realName)
      }' is not in the allowlist of MFA tools (built in: ${
        _BUILTIN_ALLOWED_COMMANDS.join(", ")
      }): ${_howToAllow(`'${realShown}'`)}`,
    {
      code: "CommandNotAllowed",
      param: "mfaTokenProvider",
      details: { command: shown, path: _controlEscape(path), real: realShown },
    },
  );
}
