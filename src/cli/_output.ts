/**
 * The CLI's only door to stdout and stderr. Secrets registered with
 * {@linkcode _registerSecret} are scrubbed from everything written to stderr.
 *
 * @module
 */

import { _controlEscape } from "../_redact.ts";

const _secrets = new Set<string>();
const _encoder = new TextEncoder();

/** A sink for one stream (swappable in tests). */
export interface _Sink {
  /** Writes all of `bytes`. */
  write(bytes: Uint8Array): Promise<unknown>;
}

/** The sinks written to; tests may replace them. */
export const _sinks: { stdout: _Sink; stderr: _Sink } = {
  stdout: { write: (bytes) => _writeAll(Deno.stdout, bytes) },
  stderr: { write: (bytes) => _writeAll(Deno.stderr, bytes) },
};

async function _writeAll(
  stream: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await stream.write(bytes.subarray(written));
  }
}

/** Remembers a secret so that it never reaches stderr (e.g. inside an error message). */
export function _registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 8) _secrets.add(secret);
}

/** Replaces every registered secret in `text` with `[REDACTED]`. */
export function _scrub(text: string): string {
  let out = text;
  for (const secret of _secrets) out = out.replaceAll(secret, "[REDACTED]");
  return out;
}

/** Writes `text` to stdout as is (the command's result: may hold credentials on purpose). */
export async function _out(text: string): Promise<void> {
  await _sinks.stdout.write(_encoder.encode(text));
}

/**
 * Writes one or more lines to stderr, with secrets scrubbed and control
 * characters escaped (`\u0000`): a key, a value or a path read from a file
 * or the environment cannot break, hide or rewrite a line.
 */
export async function _err(text: string): Promise<void> {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  const line = body.split("\n").map(_controlEscape).join("\n") + "\n";
  await _sinks.stderr.write(_encoder.encode(_scrub(line)));
}

/** Writes a prompt to stderr as is (no newline added). */
export async function _prompt(text: string): Promise<void> {
  await _sinks.stderr.write(_encoder.encode(_scrub(text)));
}
