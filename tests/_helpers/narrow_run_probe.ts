/**
 * Runs one MFA command with the permissions it was started with (the test
 * starts it with a narrowed `--allow-run=PATH`) and prints the error code.
 *
 * @module
 */

import { BRSConfigurationError } from "../../src/errors.ts";
import { createMfaTokenSource } from "../../src/mfa/mfa.ts";

if (import.meta.main) {
  const [path, pidFile] = Deno.args;
  const source = createMfaTokenSource([path!, pidFile!], {
    allowedCommands: [path!],
    timeoutMs: 500,
  });
  try {
    console.log(`code ${await source("serial-narrow-run")}`);
  } catch (error) {
    console.log(
      error instanceof BRSConfigurationError ? error.code : String(error),
    );
  }
}
