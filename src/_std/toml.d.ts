/**
 * Private: the types of `parse` from Deno std's `@std/toml`, for exactly
 * what this project calls, as that module is typed on JSR. The npm copy it
 * runs from (`deno-std@1.4.0/toml/mod.js`) ships JavaScript only.
 *
 * @module
 */

/**
 * Parses a TOML document.
 *
 * @param tomlString The TOML text.
 * @returns The top-level table.
 * @throws {SyntaxError} If the text is not valid TOML.
 */
export function parse(tomlString: string): Record<string, unknown>;
