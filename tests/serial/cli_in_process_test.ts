/**
 * The CLI's `main()` run in this process (no subprocess): it reads and sets
 * `Deno.env`, so this file lives in `tests/serial/`.
 */
import { assertEquals } from "@std/assert";
import { startLocalSts } from "../../src/testing/mod.ts";
import { cliSandbox, SANDBOX_BASE } from "../_helpers/cli_harness.ts";
import { ROLE_ARN } from "../fixtures/cli/helpers.ts";

Deno.test("in-process main(): the loop marker lives only while a lookup runs, so the next run works", async () => {
  await using sts = await startLocalSts({ baseCredentials: SANDBOX_BASE });
  await using box = await cliSandbox();
  for (const name of ["first", "second"]) {
    const r = await box.run([
      "credentials",
      "--role-arn",
      ROLE_ARN,
      "--endpoint-url",
      sts.url,
      "--role-session-name",
      name,
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(Deno.env.get("BRS_CREDENTIAL_LOOKUP"), undefined);
  }
  assertEquals(sts.calls.AssumeRole, 2);
});
