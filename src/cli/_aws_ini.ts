/**
 * A small reader of the AWS shared files (`~/.aws/config`,
 * `~/.aws/credentials`) that keeps line numbers, so that a broken file is
 * reported with its file and line and the CLI's warm path loads no AWS SDK
 * module. It follows the rules of the AWS CLI: `[default]` and
 * `[profile NAME]` sections in the config file, `[NAME]` in the credentials
 * file, `key = value` lines, `#` and `;` comments, indented lines continue
 * the key above (nested settings such as `s3 =`), other sections
 * (`[sso-session x]`, `[services x]`) are kept apart.
 *
 * @module
 */

import { _READ_CAPS, _readBoundedTextSync } from "../_read_bounded.ts";
import { BRSConfigurationError } from "../errors.ts";

/** One section of an AWS shared file. */
export interface _IniSection {
  /** The profile name (`default`, `dev`) or the raw section name of a non-profile section. */
  name: string;
  /** Whether it is a profile (`[default]`, `[profile x]`; every section of the credentials file). */
  isProfile: boolean;
  /** The line of the header. */
  line: number;
  /** Top-level `key = value` pairs; nested values are skipped, except in non-profile sections, where they are `parent.key` (`sts.endpoint_url` of `[services x]`). */
  values: Record<string, string>;
  /** The line of each key. */
  lines: Record<string, number>;
}

/**
 * Parses the text of an AWS shared file.
 *
 * @param text The file's text.
 * @param file The path, for error messages.
 * @param kind `config` (profiles are `[profile x]` and `[default]`) or `credentials` (`[x]`).
 * @returns The sections, profiles first by name.
 * @throws {BRSConfigurationError} A line that is neither a section, a key, a
 * comment nor a continuation, naming the file and line.
 */
export function _parseAwsIni(
  text: string,
  file: string,
  kind: "config" | "credentials",
): Map<string, _IniSection> {
  const sections = new Map<string, _IniSection>();
  let current: _IniSection | undefined;
  let lastKeyNested = false;
  let nestedKey = "";
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) {
      continue;
    }
    const bad = (why: string): BRSConfigurationError =>
      new BRSConfigurationError(
        `Cannot read AWS ${kind} file '${file}' line ${lineNo}: ${why}; fix the line or point AWS_${
          kind === "config" ? "CONFIG_FILE" : "SHARED_CREDENTIALS_FILE"
        } at another file`,
        { code: "ConfigError", param: `${file}:${lineNo}` },
      );
    if (trimmed.startsWith("[")) {
      const match = trimmed.match(/^\[\s*([^\]]*?)\s*\]\s*(?:[#;].*)?$/);
      if (!match || match[1] === "") {
        throw bad("a section header must look like [profile NAME]");
      }
      const header = match[1]!;
      let name = header;
      let isProfile = true;
      if (kind === "config") {
        const profile = header.match(/^profile\s+(\S.*)$/);
        if (profile) name = profile[1]!;
        else if (header !== "default") isProfile = false;
      }
      const key = isProfile ? name : `[${header}]`;
      current = sections.get(key) ??
        { name, isProfile, line: lineNo, values: {}, lines: {} };
      sections.set(key, current);
      lastKeyNested = false;
      continue;
    }
    if (/^\s/.test(raw) && current !== undefined && lastKeyNested) {
      // kept only in [services x] sections, as 'sts.endpoint_url'
      const sub = current.isProfile
        ? null
        : raw.match(/^\s*([^=\s]+)\s*=\s*(.*?)\s*$/);
      if (sub) {
        current.values[`${nestedKey}.${sub[1]}`] = sub[2]!.replace(
          /\s+[#;].*$/,
          "",
        );
      }
      continue;
    }
    // As the AWS CLI and boto3 (Python's configparser): `key = value` or
    // `key: value`, split at the first `=` or `:`.
    const pair = raw.match(/^\s*([^=:\s][^=:]*?)\s*[=:]\s*(.*?)\s*$/);
    if (!pair) {
      // The line is never quoted: it may be a secret on a line of its own.
      throw bad(
        "expected 'key = value' (the line is not shown: it may hold a secret)",
      );
    }
    if (current === undefined) {
      throw bad("a key comes before any section such as [default]");
    }
    const [, key, value] = pair as unknown as [string, string, string];
    lastKeyNested = value === "";
    nestedKey = key;
    if (value === "") continue;
    current.values[key] = value.replace(/\s+[#;].*$/, "");
    current.lines[key] ??= lineNo;
  }
  return sections;
}

/**
 * Reads an AWS shared file; a missing file gives no sections.
 *
 * @param file The path.
 * @param kind `config` or `credentials`.
 * @returns The sections.
 * @throws {BRSConfigurationError} A broken file (see {@linkcode _parseAwsIni}).
 */
// deno-lint-ignore require-await
export async function _readAwsIni(
  file: string,
  kind: "config" | "credentials",
): Promise<Map<string, _IniSection>> {
  let text: string;
  try {
    // sync: no thread-pool hop on the warm path
    text = _readBoundedTextSync(file, {
      maxBytes: _READ_CAPS.awsFile,
      what: `the AWS ${kind} file`,
    });
  } catch (error) {
    if (error instanceof BRSConfigurationError) throw error;
    if (error instanceof Deno.errors.NotFound) return new Map();
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied &&
        !(error as Error).message.includes("os error")
    ) throw error;
    throw new BRSConfigurationError(
      `Cannot read AWS ${kind} file '${file}': ${(error as Error).message}`,
      { code: "ConfigError", param: file, cause: error },
    );
  }
  return _parseAwsIni(text, file, kind);
}

/** The AWS config file: `AWS_CONFIG_FILE`, else `~/.aws/config`. */
export function _awsConfigPath(): string {
  return Deno.env.get("AWS_CONFIG_FILE") ||
    `${Deno.env.get("HOME") ?? "~"}/.aws/config`;
}

/** The AWS credentials file: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. */
export function _awsCredentialsPath(): string {
  return Deno.env.get("AWS_SHARED_CREDENTIALS_FILE") ||
    `${Deno.env.get("HOME") ?? "~"}/.aws/credentials`;
}
