/**
 * The refresh-contention harness behind `deno task bench`.
 *
 * Starts the project's local STS on 127.0.0.1 with a realistic latency and
 * runs, side by side on the same endpoint, our `STSRefreshableSession`, the
 * AWS SDK v3's `fromTemporaryCredentials` (bare, and memoized the way SDK
 * clients wrap it) and a naive provider through: cold start, advisory window,
 * mandatory window, expired (N = 1 ... 10 000 concurrent callers); K SDK
 * clients at expiry; a 15-minute STS outage; an invalidation storm; P
 * concurrent cold CLI processes; the refresh spread of a fleet; and the
 * micro-benchmarks (`deno bench --json bench/`). Prints a compact table and
 * writes `bench/RESULTS.md` and `bench/*.svg`.
 *
 * ```sh
 * deno task bench                # everything: this harness + `deno bench` (a few minutes),
 *                                # then bench/RESULTS.md and bench/*.svg
 * deno task bench --quick --out=/tmp/x   # tiny sizes, report elsewhere
 * deno task bench:micro          # only the `deno bench` micro-benchmarks, human-readable
 * ```
 *
 * Benchmarks never assert timings; `tests/bench_smoke_test.ts` runs
 * {@linkcode runContention} with `quick: true` so this code cannot rot.
 *
 * @module
 */

import { startLocalSts } from "../src/testing/mod.ts";
import type { LocalSts } from "../src/testing/local_sts.ts";
import { type ContenderName, CONTENDERS } from "./_contenders.ts";
import {
  cliAvailable,
  type CrossProcessRow,
  MFA_ROLE_ARN,
  mfaDevices,
  prepareCliWorkspace,
  runCrossProcess,
  runWarmCli,
  type WarmCliResult,
  warmUpCli,
} from "./_processes.ts";
import {
  runWarmProfileKinds,
  type WarmKindsResult,
} from "./_scenarios_cli_warm.ts";
import {
  type FleetResult,
  type ManyClientsRow,
  type OutageResult,
  runFleet,
  runManyClients,
  runOutage,
  runStorm,
  runWindow,
  type StormRow,
  WINDOW_SCENARIOS,
  type WindowRow,
} from "./_scenarios.ts";
import {
  type MachineInfo,
  machineInfo,
  readmeSummary,
  writeReport,
} from "./_report.ts";
import { formatMs } from "./_stats.ts";
import { formatTable } from "./_table.ts";
import { type MicroResult, runMicro } from "./_micro.ts";
import { runTimeScenarios, type TimeResults } from "./_scenarios_time.ts";
import {
  type MfaPromptsResult,
  runMfaPrompts,
  runSourceScenarios,
  type SourceRow,
  sourcesTable,
} from "./_scenarios_sources.ts";
import {
  runSharedCacheScenarios,
  type SharedCacheRow,
  sharedCacheTable,
} from "./_scenarios_shared.ts";

/** Options of {@linkcode runContention}. */
export interface ContentionOptions {
  /** Tiny sizes for the smoke test (seconds, not minutes). @default {false} */
  quick?: boolean;
  /** STS latencies to run the window scenarios at, ms. @default {[20, 200]} (quick: [0]) */
  latencies?: number[];
  /** Concurrent callers. @default {[1, 100, 1000, 10000]} (quick: [1, 20]) */
  ns?: number[];
  /** Largest N for the contenders without a cache (they make N calls by construction). @default {1000} */
  uncachedMaxN?: number;
  /** SDK clients of the many-clients scenario. @default {[1, 10, 100]} (quick: [2]) */
  ks?: number[];
  /** Concurrent CLI processes. @default {[1, 4, 16]} (quick: []) */
  ps?: number[];
  /** Warm CLI runs per side. @default {10} */
  warmRuns?: number;
  /** Fleet size. @default {10000} (quick: 50) */
  fleet?: number;
  /** Simulated outage length, seconds. @default {900} (quick: 120) */
  outageSeconds?: number;
  /** Run `deno bench --json bench/` and include it. @default {true} (quick: false) */
  micro?: boolean;
  /** Progress lines. @default {no output} */
  log?: (line: string) => void;
}

/** Everything one run measured. */
export interface ContentionResults {
  /** Options in effect. */
  options: Required<Omit<ContentionOptions, "log">>;
  /** Window scenarios. */
  windows: WindowRow[];
  /** Many clients. */
  manyClients: ManyClientsRow[];
  /** Outage, per contender. */
  outage: OutageResult[];
  /** Invalidation storm. */
  storm: StormRow[];
  /** Suspend and revoked key. */
  time: TimeResults;
  /** Cross-process rows, or why they are missing. */
  crossProcess: CrossProcessRow[] | string;
  /** Warm CLI vs AWS CLI, or why it is missing. */
  warmCli: WarmCliResult | string;
  /** Warm credential_process per profile kind (bench/_scenarios_cli_warm.ts). */
  warmKinds?: WarmKindsResult | string;
  /** Fleet jitter. */
  fleet: FleetResult;
  /** Micro-benchmarks, or why they are missing. */
  micro: MicroResult[] | string;
  /** Other credential sources (web identity). */
  sources: SourceRow[];
  /** MFA prompts in a simulated day. */
  mfaPrompts: MfaPromptsResult;
  /** Worker processes with and without `sharedCache`. */
  sharedCache: SharedCacheRow[];
  /** Wall time of the harness, ms. */
  wallMs: number;
}

function resolveOptions(
  o: ContentionOptions,
): Required<Omit<ContentionOptions, "log">> {
  const q = o.quick ?? false;
  return {
    quick: q,
    latencies: o.latencies ?? (q ? [0] : [20, 200]),
    ns: o.ns ?? (q ? [1, 20] : [1, 100, 1000, 10000]),
    uncachedMaxN: o.uncachedMaxN ?? (q ? 20 : 1000),
    ks: o.ks ?? (q ? [2] : [1, 10, 100]),
    ps: o.ps ?? (q ? [] : [1, 4, 16]),
    warmRuns: o.warmRuns ?? (q ? 2 : 10),
    fleet: o.fleet ?? (q ? 50 : 10000),
    outageSeconds: o.outageSeconds ?? (q ? 120 : 900),
    micro: o.micro ?? !q,
  };
}

/**
 * Runs the contention benchmarks and returns the figures (no files written).
 *
 * @param options Sizes; `quick: true` for a smoke run.
 * @returns The figures.
 */
export async function runContention(
  options: ContentionOptions = {},
): Promise<ContentionResults> {
  const o = resolveOptions(options);
  const log = options.log ?? (() => {});
  const t0 = performance.now();
  const ps = o.ps;
  await using sts = await startLocalSts({
    mfaDevices: mfaDevices(ps),
    mfaRequiredRoles: [MFA_ROLE_ARN],
  });

  // Warm-up (not recorded): JIT and lazy SDK initialisation for every contender.
  for (const c of CONTENDERS) await runWindow(sts, "cold", c, 2);

  const windows: WindowRow[] = [];
  for (const latency of o.latencies) {
    sts.latencyMs = latency;
    for (const scenario of WINDOW_SCENARIOS) {
      for (const n of o.ns) {
        for (const c of CONTENDERS) {
          const uncached = c === "sdk-bare" || c === "naive";
          // Without a cache every state is a cold start: run it once.
          if (uncached && scenario !== "cold") continue;
          // Above uncachedMaxN only naive at the first latency (bare would open N sockets at once).
          if (
            uncached && n > o.uncachedMaxN &&
            !(c === "naive" && latency === o.latencies[0])
          ) continue;
          const row = await runWindow(sts, scenario, c, n);
          windows.push(row);
          log(
            `${scenario.padEnd(9)} ${String(latency).padStart(3)} ms  N=${
              String(n).padEnd(5)
            } ${
              c.padEnd(12)
            } calls=${row.stsCalls} waited=${row.waited} errors=${row.errors} p99=${
              formatMs(row.latency.p99)
            } ms`,
          );
        }
      }
    }
  }

  sts.latencyMs = o.latencies[0] ?? 20;
  const manyClients: ManyClientsRow[] = [];
  for (const k of o.ks) {
    for (const c of ["ours", "sdk-memoized"] as const) {
      const row = await runManyClients(sts, c, k);
      manyClients.push(row);
      log(
        `many-clients K=${k} ${c}: calls=${row.stsCalls} errors=${row.errors}`,
      );
    }
  }

  const outage: OutageResult[] = [];
  for (const c of ["ours", "sdk-memoized"] as const) {
    const r = await runOutage(sts, c, {
      durationSeconds: o.outageSeconds,
      startBeforeExpiry: Math.round(o.outageSeconds * 52 / 60),
    });
    outage.push(r);
    log(
      `outage ${c}: attempts=${r.attempts} errors before/after expiry=${r.errorsBeforeExpiry}/${r.errorsAfterExpiry} recovery=${r.recoverySeconds} s`,
    );
  }

  const storm: StormRow[] = [];
  const stormN = o.quick ? 20 : 1000;
  for (const spread of [false, true]) {
    for (const c of ["ours", "sdk-memoized", "naive"] as const) {
      const row = await runStorm(sts, c, stormN, spread);
      storm.push(row);
      log(`storm ${row.arrival} ${c}: calls=${row.stsCalls}`);
    }
  }

  const time = await runTimeScenarios(sts, { quick: o.quick, log });

  let crossProcess: CrossProcessRow[] | string;
  let warmCli: WarmCliResult | string;
  let warmKinds: WarmKindsResult | string = "not run";
  if (ps.length === 0) {
    crossProcess = warmCli = "not run (quick mode)";
  } else if (!(await cliAvailable())) {
    crossProcess = warmCli = "pending: cli.ts is not there yet";
  } else {
    const dir = await Deno.makeTempDir({
      dir: "/tmp", // what `deno task bench` may write besides bench/
      prefix: "brs-bench-",
    });
    try {
      // The CLI profiles assume the MFA role; no other scenario uses it.
      const ws = await prepareCliWorkspace(sts, dir, ps);
      const warm = await warmUpCli(ws);
      if (warm !== 0) log(`cli.ts --version exited ${warm}`);
      const rows: CrossProcessRow[] = [];
      for (const p of ps) {
        const row = await runCrossProcess(sts, ws, p);
        rows.push(row);
        log(
          `cross-process P=${p}: calls=${row.stsCalls} mfa=${row.mfaRuns} ok=${row.ok}/${p}${
            row.firstError ? ` (${row.firstError})` : ""
          }`,
        );
      }
      crossProcess = rows;
      warmCli = await runWarmCli(sts, ws, ps.at(-1)!, o.warmRuns);
      log(
        `warm cli: ours ${warmCli.oursMs?.toFixed(0)} ms, aws ${
          warmCli.awsMs?.toFixed(0)
        } ms ${warmCli.awsNote}`,
      );
      warmKinds = await runWarmProfileKinds(sts, dir, o.warmRuns, ws.env(0));
      log(
        `warm kinds: ${
          warmKinds.rows.map((k) => `${k.kind} ${k.medianMs?.toFixed(0)} ms`)
            .join(", ")
        }`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }

  const sources = await runSourceScenarios(sts, o, log);
  const mfaPrompts = await runMfaPrompts(o.quick ? 1 : 8);
  log(
    `mfa prompts: ours ${mfaPrompts.promptsOurs}, role-only ${mfaPrompts.promptsRoleOnly}`,
  );
  const sharedCache = await runSharedCacheScenarios({ quick: o.quick, log });
  const fleet = await runFleet(o.fleet);
  log(`fleet: ${o.fleet} sessions`);

  let micro: MicroResult[] | string = "not run (quick mode)";
  if (o.micro) {
    log("micro-benchmarks: deno bench --json bench/ ...");
    micro = await runMicro();
  }
  return {
    options: o,
    windows,
    manyClients,
    outage,
    storm,
    time,
    crossProcess,
    warmCli,
    warmKinds,
    fleet,
    micro,
    sources,
    mfaPrompts,
    sharedCache,
    wallMs: performance.now() - t0,
  };
}

/**
 * The compact terminal summary of a run.
 *
 * @param r The figures.
 * @returns Text.
 */
export function summaryTable(r: ContentionResults): string {
  const rows: string[][] = [];
  const maxN = Math.max(...r.options.ns);
  for (const latency of r.options.latencies) {
    for (const scenario of WINDOW_SCENARIOS) {
      for (const c of CONTENDERS) {
        const row = r.windows.find((w) =>
          w.latencyMs === latency && w.scenario === scenario &&
          w.contender === c && w.n === maxN
        ) ?? r.windows.find((w) =>
          w.latencyMs === latency && w.scenario === "cold" &&
          w.contender === c &&
          w.n === Math.min(maxN, r.options.uncachedMaxN)
        );
        if (row === undefined) {
          continue;
        }
        rows.push([
          `${scenario} ${latency} ms`,
          row.scenario === scenario ? c : `${c} (= cold)`,
          String(row.n),
          String(row.stsCalls),
          String(row.waited),
          String(row.errors),
          formatMs(row.latency.p50),
          formatMs(row.latency.p99),
          formatMs(row.latency.max),
        ]);
      }
    }
  }
  return formatTable({
    header: [
      "scenario",
      "contender",
      "N",
      "STS calls",
      "waited",
      "errors",
      "p50 ms",
      "p99 ms",
      "max ms",
    ],
    rows,
  });
}

/**
 * The compact terminal table of the micro-benchmarks.
 *
 * @param micro Results of `deno bench --json`.
 * @returns Text.
 */
export function microTable(micro: MicroResult[]): string {
  return formatTable({
    header: ["group", "benchmark", "time/op", "vs baseline"],
    rows: micro.map((m) => {
      const base = micro.find((b) =>
        b.group === m.group && b.file === m.file && b.baseline
      )?.avgNs;
      return [
        m.group.length > 28 ? `${m.group.slice(0, 27)}…` : m.group,
        m.name + (m.baseline ? " (baseline)" : ""),
        m.avgNs === undefined
          ? (m.error ?? "failed")
          : `${(m.avgNs / 1000).toFixed(3)} µs`,
        base && m.avgNs && !m.baseline
          ? `${(base / m.avgNs).toFixed(2)}x`
          : "-",
      ];
    }),
  });
}

/** What {@linkcode main} writes. */
export interface MainOutput {
  /** RESULTS.md path. */
  results: string;
  /** Chart paths. */
  charts: string[];
}

/**
 * Runs everything, prints the table and writes RESULTS.md and the charts.
 *
 * @param args Command-line arguments: `--quick`, `--out=DIR` (default:
 *   bench/), `--summary=FILE` (also write the README's three-line summary).
 * @returns The files written.
 */
export async function main(args: string[]): Promise<MainOutput> {
  const quick = args.includes("--quick");
  const out = args.find((a) => a.startsWith("--out="))?.slice(6) ??
    new URL(".", import.meta.url).pathname;
  const before: MachineInfo = await machineInfo();
  console.log(
    `@brs/session contention benchmarks: ${before.cpuModel}, ${before.cpus} CPUs, load ${before.loadavg}`,
  );
  let maxLoad = NaN;
  const sample = (): void => {
    try {
      const l = Deno.loadavg()[0] ?? NaN;
      maxLoad = Number.isNaN(maxLoad) ? l : Math.max(maxLoad, l);
    } catch {
      // No --allow-sys=loadavg: the report says "unknown".
    }
  };
  sample();
  const sampler = setInterval(sample, 5000);
  Deno.unrefTimer(sampler);
  let results: ContentionResults;
  try {
    results = await runContention({
      quick,
      log: (line) => console.log(`  ${line}`),
    });
  } finally {
    clearInterval(sampler);
  }
  sample();
  const after = await machineInfo();
  console.log("\n" + summaryTable(results) + "\n");
  console.log(sourcesTable(results.sources) + "\n");
  console.log(sharedCacheTable(results.sharedCache) + "\n");
  if (Array.isArray(results.micro)) {
    console.log(microTable(results.micro) + "\n");
  } else console.log(`micro-benchmarks: ${results.micro}\n`);
  const written = await writeReport(results, out, {
    before,
    after,
    command: quick ? "deno task bench --quick" : "deno task bench",
    maxLoad,
  });
  const summaryPath = args.find((a) => a.startsWith("--summary="))?.slice(10);
  if (summaryPath !== undefined) {
    await Deno.writeTextFile(summaryPath, readmeSummary(results) + "\n");
    console.log(`wrote the README summary to ${summaryPath}`);
  }
  console.log(
    `wrote ${written.results} and ${written.charts.join(", ")} in ${
      (results.wallMs / 1000).toFixed(0)
    } s`,
  );
  return written;
}

export type { ContenderName, LocalSts };

if (import.meta.main) {
  await main(Deno.args);
}
