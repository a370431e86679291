/**
 * A reader of the AWS shared files (`~/.aws/config`, `~/.aws/credentials`)
 * that follows the AWS SDKs' shared profile-file rules and keeps line
 * numbers, so that a broken file is reported with its file and line and the
 * CLI's warm path loads no AWS SDK module:
 *
 * - `[default]` and `[profile NAME]` sections in the config file (a
 *   `[profile default]` wins over `[default]`), `[NAME]` in the credentials
 *   file; `[sso-session NAME]` and `[services NAME]` sections are kept apart;
 *   other sections, and profile or key names with characters other than
 *   letters, digits and `-/.%@_:+`, are ignored;
 * - `key = value` lines (also `key: value`, as the AWS CLI reads them), key
 *   names lower-cased, values trimmed, `name =` an empty value, the last
 *   definition of a key wins, sections of the same name merge;
 * - lines starting with `#` or `;` are comments, and so is the end of a
 *   value from a ` #` or ` ;` on; an indented line continues the value above
 *   (`s3 =` followed by indented `key = value` lines holds sub-properties);
 * - the values of a profile in the credentials file win over the same
 *   profile's values in the config file.
 *
 * @module
 */

import { _READ_CAPS, _readBoundedTextSync } from "../_read_bounded.ts";
import { BRSConfigurationError } from "../errors.ts";
import { _controlEscape } from "../_redact.ts";

/** One section of an AWS shared file. */
export interface _IniSection {
  /** The profile name (`default`, `dev`), or the section's own name for `[sso-session x]` and `[services x]`. */
  name: string;
  /** Whether it is a profile (`[default]`, `[profile x]`; every section of the credentials file). */
  isProfile: boolean;
  /** `sso-session` or `services` for those sections. */
  kind?: "sso-session" | "services";
  /** The line of the (first) header. */
  line: number;
  /** `key = value` pairs, keys lower-case; a value with sub-properties starts with a newline. */
  values: Record<string, string>;
  /** The line of each key (its last definition). */
  lines: Record<string, number>;
}

/** The sections of one file: profiles by name, others as `[sso-session x]` / `[services x]`. */
export type _IniFile = Map<string, _IniSection>;

/** Characters a profile name or key may hold (the SDKs' rule). */
const _NAME = /^[A-Za-z0-9_\-\/.%@:+]+$/;

/** The value without a trailing ` #` / ` ;` comment. */
function _stripComment(value: string): string {
  return value.replace(/\s[#;].*$/, "").trim();
}

/**
 * Parses the text of an AWS shared file.
 *
 * @param text The file's text.
 * @param file The path, for error messages.
 * @param kind `config` (profiles are `[profile x]` and `[default]`) or `credentials` (`[x]`).
 * @returns The sections.
 * @throws {BRSConfigurationError} A line that is neither a section, a key, a
 * comment nor a continuation, naming the file, section, key and line.
 */
export function _parseAwsIni(
  text: string,
  file: string,
  kind: "config" | "credentials",
): _IniFile {
  const sections: _IniFile = new Map();
  // `[default]` of the config file, kept apart: `[profile default]` wins.
  let bareDefault: _IniSection | undefined;
  let current: _IniSection | undefined;
  let inSection = false;
  let property: string | undefined;
  let subProperties = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const where = (): string =>
      current === undefined
        ? ""
        : ` (${current.isProfile ? "profile" : current.kind} '${
          _controlEscape(current.name)
        }'${
          property === undefined ? "" : ` key '${_controlEscape(property)}'`
        })`;
    const bad = (why: string): BRSConfigurationError =>
      new BRSConfigurationError(
        `Cannot read AWS ${kind} file '${
          _controlEscape(file)
        }' line ${lineNo}${where()}: ${why}; fix the line or point AWS_${
          kind === "config" ? "CONFIG_FILE" : "SHARED_CREDENTIALS_FILE"
        } at another file`,
        { code: "ConfigError", param: `${file}:${lineNo}` },
      );
    if (raw.trim() === "" || raw.startsWith("#") || raw.startsWith(";")) {
      continue;
    }
    if (/^\s/.test(raw)) {
      // a continuation of the value above
      if (!inSection) {
        throw bad(
          "an indented line comes before any section such as [default]",
        );
      }
      if (property === undefined) {
        throw bad(
          "an indented line continues no key (the line is not shown: it may hold a secret)",
        );
      }
      const line = raw.trim();
      if (subProperties) {
        const eq = line.indexOf("=");
        if (eq < 0) {
          throw bad(
            "expected 'name = value' under the key above (the line is not shown: it may hold a secret)",
          );
        }
        if (line.slice(0, eq).trim() === "") {
          throw bad("a sub-property has no name before '='");
        }
      }
      if (current !== undefined) {
        current.values[property] = `${current.values[property] ?? ""}\n${line}`;
      }
      continue;
    }
    if (raw.startsWith("[")) {
      const close = raw.indexOf("]");
      const rest = close < 0 ? "" : raw.slice(close + 1).trim();
      if (close < 0 || (rest !== "" && !/^[#;]/.test(rest))) {
        throw bad("a section header must look like [profile NAME]");
      }
      const header = raw.slice(1, close).trim();
      property = undefined;
      inSection = true;
      let name: string | undefined = header;
      let sectionKind: _IniSection["kind"];
      let isProfile = true;
      if (kind === "config") {
        const match = header.match(
          /^(profile|sso-session|services)[ \t]+(.*)$/,
        );
        if (header === "default") name = "default";
        else if (match) {
          name = match[2]!.trim();
          if (match[1] !== "profile") {
            isProfile = false;
            sectionKind = match[1] as _IniSection["kind"];
          }
        } else name = undefined;
      }
      if (name === undefined || !_NAME.test(name)) {
        current = undefined; // ignored, as the SDKs do
        continue;
      }
      const bare = kind === "config" && header === "default";
      const key = isProfile ? name : `[${sectionKind} ${name}]`;
      if (bare) {
        bareDefault ??= {
          name,
          isProfile,
          line: lineNo,
          values: {},
          lines: {},
        };
        current = bareDefault;
      } else {
        current = sections.get(key) ??
          {
            name,
            isProfile,
            ...(sectionKind ? { kind: sectionKind } : {}),
            line: lineNo,
            values: {},
            lines: {},
          };
        sections.set(key, current);
      }
      continue;
    }
    if (!inSection) {
      throw bad("a key comes before any section such as [default]");
    }
    // `key = value` (the AWS CLI also reads `key: value`), split at the first
    // `=` or `:`.
    const split = raw.search(/[=:]/);
    if (split < 0) {
      // The line is never quoted: it may be a secret on a line of its own.
      property = undefined;
      throw bad(
        "expected 'key = value' (the line is not shown: it may hold a secret)",
      );
    }
    const name = raw.slice(0, split).trim().toLowerCase();
    if (name === "") {
      property = undefined;
      throw bad("a key has no name before '='");
    }
    const value = _stripComment(raw.slice(split + 1));
    if (!_NAME.test(name)) {
      property = undefined; // ignored, as the SDKs do
      continue;
    }
    property = name;
    subProperties = value === "";
    if (current !== undefined) {
      current.values[name] = value;
      current.lines[name] = lineNo;
    }
  }
  if (bareDefault !== undefined && !sections.has("default")) {
    sections.set("default", bareDefault);
  }
  return sections;
}

/**
 * The sub-properties of a value (`sts =` then indented `endpoint_url = URL`
 * lines), keys lower-cased.
 *
 * @param value A value as parsed.
 * @returns The sub-properties (none for a plain value).
 */
export function _subProperties(
  value: string | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined || !value.startsWith("\n")) return out;
  for (const line of value.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    out[line.slice(0, eq).trim().toLowerCase()] = _stripComment(
      line.slice(eq + 1),
    );
  }
  return out;
}

/**
 * Reads the text of one profile file: the one place the CLI reads these
 * files. A missing file is `undefined`.
 *
 * @param file The path.
 * @param what What the file is, for messages.
 * @param maxBytes The most bytes read: a larger file is an error.
 * @returns The text, or `undefined` when there is no such file.
 * @throws {BRSConfigurationError} The file cannot be read.
 */
export function _readProfileText(
  file: string,
  what: string,
  maxBytes: number = _READ_CAPS.awsFile,
): string | undefined {
  try {
    // sync: no thread-pool hop on the warm path; a regular file only, read
    // up to its cap, so a FIFO or a device is an error at once, not a hang
    return _readBoundedTextSync(file, { maxBytes, what: `the ${what}` });
  } catch (error) {
    if (error instanceof BRSConfigurationError) throw error;
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied &&
        !(error as Error).message.includes("os error")
    ) throw error;
    throw new BRSConfigurationError(
      `Cannot read ${what} '${_controlEscape(file)}': ${
        _controlEscape((error as Error).message)
      }`,
      { code: "ConfigError", param: file, cause: error },
    );
  }
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
): Promise<_IniFile> {
  const text = _readProfileText(file, `AWS ${kind} file`);
  return text === undefined ? new Map() : _parseAwsIni(text, file, kind);
}

/** The AWS config file: `AWS_CONFIG_FILE`, else `~/.aws/config`. */
export function _awsConfigPath(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): string {
  return env.AWS_CONFIG_FILE || `${env.HOME ?? "~"}/.aws/config`;
}

/** The AWS credentials file: `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. */
export function _awsCredentialsPath(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): string {
  return env.AWS_SHARED_CREDENTIALS_FILE ||
    `${env.HOME ?? "~"}/.aws/credentials`;
}

/** A profile of the AWS files, merged from both. */
export interface _AwsProfile {
  /** The profile name. */
  name: string;
  /** Its values: the credentials file's win over the config file's. */
  values: Record<string, string>;
  /** Where each key comes from. */
  where: Record<string, { file: string; line: number }>;
  /** The files that define the profile (config first). */
  files: string[];
}

/**
 * Merges the profiles of the config and credentials files, as the SDKs do:
 * the credentials file's value of a key wins.
 *
 * @param config The config file's sections and path.
 * @param credentials The credentials file's sections and path.
 * @returns The merged profiles by name.
 */
export function _mergeAwsProfiles(
  config: { sections: _IniFile; file: string },
  credentials: { sections: _IniFile; file: string },
): Map<string, _AwsProfile> {
  const out = new Map<string, _AwsProfile>();
  for (const { sections, file } of [config, credentials]) {
    for (const section of sections.values()) {
      if (!section.isProfile) continue;
      const profile = out.get(section.name) ??
        { name: section.name, values: {}, where: {}, files: [] };
      out.set(section.name, profile);
      profile.files.push(file);
      for (const [key, value] of Object.entries(section.values)) {
        profile.values[key] = value;
        profile.where[key] = { file, line: section.lines[key] ?? section.line };
      }
    }
  }
  return out;
}
