/**
 * Smoke run of the contention harness with tiny sizes, so the benchmark code
 * cannot rot. It asserts what the harness produces and the counts that do not
 * depend on speed; never a timing.
 */

import { assert, assertEquals } from "@std/assert";
import { runContention } from "../bench/contention.ts";
import { machineInfo, readmeSummary, writeReport } from "../bench/_report.ts";
import { CONTENDERS } from "../bench/_contenders.ts";
import { WINDOW_SCENARIOS } from "../bench/_scenarios.ts";

Deno.test("bench harness runs every scenario with tiny sizes and writes a report with charts", async () => {
  const logged: string[] = [];
  const r = await runContention({
    quick: true,
    log: (line: string) => logged.push(line),
  });

  for (const scenario of WINDOW_SCENARIOS) {
    for (const c of ["ours", "sdk-memoized"]) {
      for (const n of r.options.ns) {
        const row = r.windows.find((w) =>
          w.scenario === scenario && w.contender === c && w.n === n
        );
        if (row === undefined) {
          throw new Error(`missing ${scenario} ${c} N=${n}`);
        }
        assertEquals(row.latency.count, n);
        assertEquals(row.errors, 0);
      }
    }
  }
  for (const c of CONTENDERS) {
    assert(r.windows.some((w) => w.scenario === "cold" && w.contender === c));
  }
  // Contenders without a cache make one call per caller: the harness counts right.
  for (
    const w of r.windows.filter((w) =>
      w.contender === "naive" || w.contender === "sdk-bare"
    )
  ) {
    assertEquals(w.stsCalls, w.n);
    assertEquals(w.waited, w.n);
  }
  // The SDK memoizes per client: K clients, K calls.
  for (const m of r.manyClients.filter((m) => m.contender === "sdk-memoized")) {
    assertEquals(m.stsCalls, m.k);
  }
  assertEquals(r.outage.map((o) => o.contender), ["ours", "sdk-memoized"]);
  assertEquals(r.storm.length, 6);
  assertEquals(r.fleet.refreshAt.ours.length, r.options.fleet);
  assert(r.fleet.refreshAt["sdk-memoized"].every((s) => s >= -300 && s < -290));
  assertEquals(r.crossProcess, "not run (quick mode)");
  // Worker processes: one STS call each on their own, one in all when shared.
  assertEquals(r.sharedCache.map((row) => row.stsCalls), [2, 1]);

  const dir = await Deno.makeTempDir({ prefix: "brs-bench-smoke-" });
  try {
    const m = await machineInfo();
    const written = await writeReport(r, dir, {
      before: m,
      after: m,
      command: "deno task bench --quick",
    });
    const md = await Deno.readTextFile(written.results);
    assert(md.includes("## Targets"));
    assert(md.includes("## Invalidation storm"));
    assertEquals(written.charts.length, 3);
    for (const chart of written.charts) {
      const svg = await Deno.readTextFile(chart);
      assert(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"), chart);
    }
    assertEquals(readmeSummary(r).split("\n").length, 3);
    // No secret in anything the benchmark prints or writes.
    const texts = [md, readmeSummary(r), logged.join("\n")];
    for (const chart of written.charts) {
      texts.push(await Deno.readTextFile(chart));
    }
    for (const text of texts) assertNoSecretShapes(text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Secret keys of the local STS are 40 base64 characters and its session
 * tokens start like AWS's (`IQoJb3JpZ2luX2VjE`): neither may appear.
 */
function assertNoSecretShapes(text: string): void {
  assertEquals(text.includes("IQoJb3JpZ2luX2VjE"), false, "a session token");
  assertEquals(
    /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/])/.test(text),
    false,
    "a secret-key-shaped string",
  );
}

Deno.test("the committed benchmark report and charts carry no secret", async () => {
  const dir = new URL("../bench/", import.meta.url);
  for await (const entry of Deno.readDir(dir)) {
    if (/\.(md|svg)$/.test(entry.name)) {
      assertNoSecretShapes(await Deno.readTextFile(new URL(entry.name, dir)));
    }
  }
});
