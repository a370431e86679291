/**
 * The short CI version of the soak; `deno task soak` runs
 * the full one. Deno's test sanitizers check that no timer or resource leaks.
 */

import { assert, assertEquals } from "@std/assert";
import { runSoak, runStsSoak } from "../bench/soak.ts";

Deno.test("a session through 2 000 refresh cycles with random faults and 1 000 callers makes one fetch per cycle and no error while credentials are valid", async () => {
  const report = await runSoak({
    cycles: 2_000,
    callers: 1_000,
    sampleEvery: 500,
    seed: 7,
  });
  assertEquals(
    report.maxFetchCallsPerCycle,
    1,
    "more than one fetch for one cycle's callers",
  );
  assertEquals(
    report.errorsWhileValid,
    0,
    "callers saw errors while credentials were valid",
  );
  assertEquals(report.expiredHandedOut, 0, "expired credentials handed out");
  assertEquals(
    report.untypedErrors,
    0,
    `untyped errors: ${report.untypedExample}`,
  );
  assert(
    Object.values(report.faults).reduce((a, b) => a + b, 0) > 100,
    "too few faults to mean anything",
  );
  assert(report.refreshes > 1_000);
});

Deno.test("a session on the local STS through 150 refresh cycles with faults makes at most one AssumeRole call per cycle", async () => {
  const report = await runStsSoak(150, 50, 3);
  assertEquals(report.maxCallsPerCycle, 1);
  assertEquals(report.errorsWhileValid, 0);
  assertEquals(report.assumeRoleCalls, report.refreshes + report.faults);
});
