/**
 * A subprocess for the hostile-file tests: an `IoTRefreshableSession` whose
 * certificate is the file given (a FIFO, `/dev/zero`...). Prints the error's
 * class, `param` and message; the test kills it if it hangs.
 *
 * @module
 */

import { BRSError, IoTRefreshableSession } from "../../mod.ts";

if (import.meta.main) {
  await using session = new IoTRefreshableSession({
    endpoint: "https://127.0.0.1:9",
    roleAlias: "device-role",
    thingName: "thing-1",
    certificate: Deno.args[0]!,
    privateKey: Deno.args[0]!,
    region: "us-east-1",
  });
  try {
    await session.refreshableCredentials();
    console.log("no error");
  } catch (error) {
    const e = error instanceof BRSError && error.cause instanceof BRSError
      ? error.cause
      : error;
    console.log(
      e instanceof BRSError
        ? `${e.name} ${e.param} ${e.message}`
        : `untyped ${String(e)}`,
    );
  }
}
