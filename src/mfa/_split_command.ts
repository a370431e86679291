/**
 * Private: splits an MFA command string into arguments the way a POSIX shell
 * would split a simple command, without running a shell and without any
 * expansion. Anything that would make a shell do more than run one program
 * (pipes, lists, redirections, substitutions, variables) is refused.
 *
 * @module
 */

import { BRSValidationError } from "../errors.ts";

/** Shell operators refused outside quotes, longest first so the message names the one written. */
const _OPERATORS = [
  "&&",
  "||",
  ">>",
  "2>",
  "$(",
  "${",
  "|",
  ";",
  "&",
  ">",
  "<",
  "`",
] as const;

function _refuse(what: string, hint: string): never {
  throw new BRSValidationError(
    `Cannot use 'mfaTokenProvider' command string as it contains ${what}, which is not supported as the command runs without a shell: ${hint}`,
    { param: "mfaTokenProvider", details: { operator: what } },
  );
}

function _operatorAt(
  command: string,
  i: number,
  wordStart: boolean,
): string | undefined {
  for (const op of _OPERATORS) {
    if (!command.startsWith(op, i)) continue;
    // `2>` is a redirection only at the start of a word (`a2>b` is `a2` then `>`).
    if (op === "2>" && !wordStart) continue;
    return op;
  }
  return undefined;
}

const _HINT =
  'give the command as a string[] (e.g. ["ykman", "oath", "accounts", "code", "--single", "ACCOUNT"]) or quote the character';

/**
 * Splits `command` into arguments: whitespace separates arguments; `'...'`
 * keeps everything literally; `"..."` keeps everything but honours the
 * backslash escapes `\"`, `\\`, `\$` and `` \` ``; outside quotes a backslash
 * makes the next character literal.
 *
 * @param command The command string, e.g. `ykman oath accounts code --single "My Account"`.
 * @returns The program and its arguments (at least one element).
 * @throws {BRSValidationError} If the string is empty, has an unbalanced quote
 * or a trailing backslash, or contains a shell operator (`|`, `||`, `;`, `&`,
 * `&&`, `>`, `>>`, `2>`, `<`, `$(`, `${`, a backtick, a `$NAME` variable or a
 * newline) outside quotes, or `$(`/`${`/a backtick/a variable inside double quotes.
 */
export function _splitCommand(command: string): string[] {
  const args: string[] = [];
  let current = "";
  let inWord = false;
  let i = 0;
  const n = command.length;
  while (i < n) {
    const ch = command[i]!;
    if (ch === "\n" || ch === "\r") {
      _refuse(
        "a newline",
        "a shell would read it as a second command; " + _HINT,
      );
    }
    if (ch === " " || ch === "\t") {
      if (inWord) {
        args.push(current);
        current = "";
        inWord = false;
      }
      i++;
      continue;
    }
    const op = _operatorAt(command, i, !inWord);
    if (op !== undefined) {
      _refuse(`the shell operator '${op}'`, _HINT);
    }
    if (ch === "$" && /[A-Za-z_0-9@*#?!-]/.test(command[i + 1] ?? "")) {
      _refuse(
        "a shell variable ('$')",
        "variables are not expanded; pass the value itself, use mfaTokenProviderOptions.env, or " +
          _HINT,
      );
    }
    if (ch === "\\") {
      if (i + 1 >= n) {
        _refuse("a trailing backslash", "remove it or escape it as '\\\\'");
      }
      current += command[i + 1];
      inWord = true;
      i += 2;
      continue;
    }
    if (ch === "'") {
      const end = command.indexOf("'", i + 1);
      if (end === -1) {
        _refuse("an unbalanced single quote", "close the quote");
      }
      current += command.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = command[i]!;
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        if (c === "\\" && i + 1 < n && '"\\$`'.includes(command[i + 1]!)) {
          current += command[i + 1];
          i += 2;
          continue;
        }
        if (
          c === "`" || command.startsWith("$(", i) ||
          command.startsWith("${", i)
        ) {
          _refuse(
            `the shell operator '${c === "`" ? "`" : command.slice(i, i + 2)}'`,
            "a shell would run or expand it even inside double quotes; " +
              _HINT,
          );
        }
        if (c === "$" && /[A-Za-z_0-9@*#?!-]/.test(command[i + 1] ?? "")) {
          _refuse(
            "a shell variable ('$')",
            "variables are not expanded; pass the value itself, use mfaTokenProviderOptions.env, or " +
              _HINT,
          );
        }
        current += c;
        i++;
      }
      if (!closed) {
        _refuse("an unbalanced double quote", "close the quote");
      }
      inWord = true;
      continue;
    }
    current += ch;
    inWord = true;
    i++;
  }
  if (inWord) args.push(current);
  if (args.length === 0) {
    throw new BRSValidationError(
      "Cannot use 'mfaTokenProvider' command string as it is empty: give a command such as 'ykman oath accounts code --single ACCOUNT'",
      { param: "mfaTokenProvider" },
    );
  }
  return args;
}
