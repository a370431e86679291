/**
 * Writes `bench/RESULTS.md` and the charts (`bench/*.svg`) of a harness run,
 * and collects the machine description.
 *
 * @module
 */

import { mfaPromptsMarkdown, sourcesMarkdown } from "./_scenarios_sources.ts";
import {
  warmKindsMarkdown,
  type WarmKindsResult,
} from "./_scenarios_cli_warm.ts";
import { sharedCacheMarkdown } from "./_scenarios_shared.ts";
import type { ContentionResults } from "./contention.ts";
import type { MicroResult } from "./_micro.ts";
import { barChartSvg, histogramSvg } from "./_svg.ts";
import { formatMs } from "./_stats.ts";
import { markdownTable } from "./_table.ts";
import { timeMarkdown, timeSummary, timeTargets } from "./_scenarios_time.ts";
import { type ContenderName, CONTENDERS } from "./_contenders.ts";
import {
  OURS_SECONDS_LEFT,
  SDK_LIFETIME_SECONDS,
  WINDOW_SCENARIOS,
} from "./_scenarios.ts";

/** The machine a run happened on. */
export interface MachineInfo {
  /** CPU model from /proc/cpuinfo. */
  cpuModel: string;
  /** Logical CPUs (`nproc`). */
  cpus: number;
  /** Total memory, GiB. */
  memoryGiB: number;
  /** 1/5/15-minute load average. */
  loadavg: string;
  /** Kernel release. */
  osRelease: string;
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** ISO date. */
  date: string;
}

/**
 * Describes this machine (runs `cat /proc/cpuinfo`; needs `--allow-sys` for
 * memory, load and kernel release, each optional).
 *
 * @returns The description.
 */
export async function machineInfo(): Promise<MachineInfo> {
  let cpuModel = "unknown";
  try {
    // Deno asks for --allow-all to read /proc directly: ask `cat` instead.
    const out = await new Deno.Command("cat", {
      args: ["/proc/cpuinfo"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? cpuModel;
  } catch {
    // Not Linux, or no read permission: keep "unknown".
  }
  const tryOr = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch {
      return fallback;
    }
  };
  return {
    cpuModel,
    cpus: navigator.hardwareConcurrency,
    memoryGiB: tryOr(() => Deno.systemMemoryInfo().total / 2 ** 30, NaN),
    loadavg: tryOr(
      () => Deno.loadavg().map((l) => l.toFixed(2)).join(" "),
      "unknown",
    ),
    osRelease: tryOr(() => Deno.osRelease(), "unknown"),
    deno:
      `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
}

/** Context of a report. */
export interface ReportContext {
  /** Machine at the start. */
  before: MachineInfo;
  /** Machine at the end (load). */
  after: MachineInfo;
  /** The command that produced it. */
  command: string;
  /** Highest 1-min load average sampled during the run. */
  maxLoad?: number;
}

const LABEL: Record<ContenderName, string> = {
  ours: "ours (STSRefreshableSession)",
  "sdk-memoized": "AWS SDK, memoized as in clients",
  "sdk-bare": "AWS SDK, bare fromTemporaryCredentials",
  naive: "naive (AssumeRole per call)",
};

function int(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "-";
  return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) {
    return "-";
  }
  const r = a / b;
  return r >= 10 ? `${r.toFixed(0)}x` : `${r.toFixed(1)}x`;
}

function ns(n: number | undefined): string {
  if (n === undefined) return "-";
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} ms`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} µs`;
  return `${n.toFixed(0)} ns`;
}

/** Facts derived from a run, shared by RESULTS.md, the charts and the summary. */
interface Derived {
  maxN: number;
  lat: number;
  expiry: Partial<Record<ContenderName, number>>;
  kMax: number;
  manyOurs?: number;
  manySdk?: number;
  stormOurs?: number;
  stormSdk?: number;
  stormNaive?: number;
  outageOurs?: number;
  outageSdk?: number;
  outageSdkErrBefore?: number;
  outageOursErrBefore?: number;
  fleetOurs: FleetStats;
  fleetSdk: FleetStats;
  micro: MicroResult[];
}

interface FleetStats {
  min: number;
  max: number;
  peakPerSecond: number;
}

function fleetStats(values: number[]): FleetStats {
  const ok = values.filter(Number.isFinite);
  const perSecond = new Map<number, number>();
  for (const v of ok) {
    perSecond.set(Math.floor(v), (perSecond.get(Math.floor(v)) ?? 0) + 1);
  }
  return {
    min: Math.min(...ok),
    max: Math.max(...ok),
    peakPerSecond: Math.max(0, ...perSecond.values()),
  };
}

function derive(r: ContentionResults): Derived {
  const maxN = Math.max(...r.options.ns);
  const lat = Math.max(...r.options.latencies);
  const expiry: Derived["expiry"] = {};
  for (const c of CONTENDERS) {
    const row = r.windows.find((w) =>
      w.scenario === "expired" && w.contender === c && w.n === maxN &&
      w.latencyMs === lat
    );
    if (row) expiry[c] = row.stsCalls;
  }
  const kMax = Math.max(0, ...r.options.ks);
  const many = (c: string): number | undefined =>
    r.manyClients.find((m) => m.contender === c && m.k === kMax)?.stsCalls;
  const storm = (c: string): number | undefined =>
    r.storm.find((s) => s.contender === c && s.arrival !== "same tick")
      ?.stsCalls;
  const outage = (c: string) => r.outage.find((o) => o.contender === c);
  return {
    maxN,
    lat,
    expiry,
    kMax,
    manyOurs: many("ours"),
    manySdk: many("sdk-memoized"),
    stormOurs: storm("ours"),
    stormSdk: storm("sdk-memoized"),
    stormNaive: storm("naive"),
    outageOurs: outage("ours")?.attempts,
    outageSdk: outage("sdk-memoized")?.attempts,
    outageSdkErrBefore: outage("sdk-memoized")?.errorsBeforeExpiry,
    outageOursErrBefore: outage("ours")?.errorsBeforeExpiry,
    fleetOurs: fleetStats(r.fleet.refreshAt.ours),
    fleetSdk: fleetStats(r.fleet.refreshAt["sdk-memoized"]),
    micro: Array.isArray(r.micro) ? r.micro : [],
  };
}

function microAvg(
  d: Derived,
  match: (m: MicroResult) => boolean,
): number | undefined {
  return d.micro.find(match)?.avgNs;
}

interface Target {
  what: string;
  target: string;
  measured: string;
  met: "met" | "not met" | "not measured";
}

function targets(r: ContentionResults, d: Derived): Target[] {
  const t: Target[] = [];
  const expiredOurs = r.windows.filter((w) =>
    w.scenario === "expired" && w.contender === "ours" && w.n === d.maxN
  );
  t.push({
    what: `STS calls when ${int(d.maxN)} callers ask at expiry`,
    target: "1",
    measured: expiredOurs.map((w) =>
      `${w.stsCalls} (${w.latencyMs} ms STS)`
    ).join(", ") || "-",
    met: expiredOurs.length === 0
      ? "not measured"
      : expiredOurs.every((w) =>
          w.stsCalls === 1
        )
      ? "met"
      : "not met",
  });
  const advisory = r.windows.filter((w) =>
    w.scenario === "advisory" && w.contender === "ours"
  );
  const waited = advisory.reduce((s, w) => s + w.waited, 0);
  t.push({
    what: "callers that wait during an advisory-window refresh",
    target: "0",
    measured: `${waited} of ${
      int(advisory.reduce((s, w) => s + w.n, 0))
    } (refreshes started: ${advisory.reduce((s, w) => s + w.stsCalls, 0)})`,
    met: advisory.length === 0
      ? "not measured"
      : waited === 0
      ? "met"
      : "not met",
  });
  if (Array.isArray(r.crossProcess) && r.crossProcess.length > 0) {
    const row = r.crossProcess.at(-1)!;
    t.push({
      what: `STS calls when ${row.p} CLI processes start cold together`,
      target: "1 (and 1 MFA command run)",
      measured:
        `${row.stsCalls} STS call(s), ${row.mfaRuns} MFA run(s), ${row.ok}/${row.p} ok`,
      met: row.stsCalls === 1 && row.mfaRuns === 1 && row.ok === row.p
        ? "met"
        : "not met",
    });
  } else {
    t.push({
      what: "STS calls when 16 CLI processes start cold together",
      target: "1 (and 1 MFA command run)",
      measured: String(r.crossProcess),
      met: "not measured",
    });
  }
  const sdkFast = microAvg(
    d,
    (m) => m.group === "credential fast path" && m.baseline,
  );
  const oursFast = microAvg(
    d,
    (m) =>
      m.group === "credential fast path" &&
      m.name.includes("credentialProvider"),
  );
  t.push({
    what: "credential fast path",
    target: "no slower than the AWS SDK's memoized provider",
    measured: sdkFast && oursFast
      ? `ours ${ns(oursFast)} vs SDK ${ns(sdkFast)} per call (ours/SDK = ${
        (oursFast / sdkFast).toFixed(2)
      })`
      : "-",
    met: sdkFast && oursFast
      ? (oursFast <= sdkFast * 1.05 ? "met" : "not met")
      : "not measured",
  });
  const newClient = microAvg(d, (m) => m.group === "client" && m.baseline);
  const hit = microAvg(
    d,
    (m) =>
      m.group === "client" && m.name.includes("cached") &&
      !m.name.includes("key order"),
  );
  t.push({
    what: "cached `session.client()` hit vs building a new client",
    target: ">= 1000x faster",
    measured: newClient && hit
      ? `${ratio(newClient, hit)} (${ns(hit)} vs ${ns(newClient)})`
      : "-",
    met: newClient && hit
      ? (newClient / hit >= 1000 ? "met" : "not met")
      : "not measured",
  });
  const fresh = d.micro.filter((m) =>
    m.group === "client, fresh config literal" && !m.baseline &&
    m.avgNs !== undefined
  );
  const worstFresh = fresh.length > 0
    ? Math.max(...fresh.map((m) => m.avgNs!))
    : undefined;
  t.push({
    what:
      "cached `session.client()` hit with a fresh config literal (1 to 5 plain keys, naming a region)",
    target: "<= 100 ns",
    measured: worstFresh !== undefined
      ? `${fresh.length} cases: ${
        ns(Math.min(...fresh.map((m) => m.avgNs!)))
      } to ${ns(worstFresh)} (same config object: ${
        ns(
          microAvg(
            d,
            (m) => m.group === "client, fresh config literal" && m.baseline,
          ),
        )
      })`
      : "-",
    met: worstFresh === undefined
      ? "not measured"
      : worstFresh <= 100
      ? "met"
      : "not met",
  });
  const gets = d.micro.filter((m) =>
    m.file.startsWith("client_cache") &&
    /\bget\b/i.test(`${m.group} ${m.name}`) && m.avgNs !== undefined
  );
  t.push({
    what: "`ClientCache` get (LRU and LFU)",
    target: "O(1); millions per second",
    measured: gets.length > 0
      ? `${gets.length} get benchmarks: ${
        ns(Math.min(...gets.map((g) => g.avgNs!)))
      } to ${ns(Math.max(...gets.map((g) => g.avgNs!)))} per get (${
        int(1e9 / Math.max(...gets.map((g) => g.avgNs!)))
      }/s at worst)`
      : "no ClientCache get benchmark found in bench/client_cache_bench.ts",
    met: gets.length === 0
      ? "not measured"
      : Math.max(...gets.map((g) => g.avgNs!)) < 1000
      ? "met"
      : "not met",
  });
  if (typeof r.warmCli === "object" && r.warmCli.oursMs !== undefined) {
    const w = r.warmCli;
    t.push({
      what: "`cli.ts credentials` with a warm cache",
      target: "faster than `aws configure export-credentials` (Debian awscli)",
      measured: w.awsMs !== undefined
        ? `ours ${w.oursMs!.toFixed(0)} ms vs aws ${
          w.awsMs.toFixed(0)
        } ms (median of ${w.runs}; ${
          ratio(w.awsMs, w.oursMs)
        } faster), ${w.oursStsCalls} STS calls`
        : `ours ${w.oursMs!.toFixed(0)} ms; aws: ${w.awsNote}`,
      met: w.awsMs === undefined
        ? "not measured"
        : w.oursMs! < w.awsMs
        ? "met"
        : "not met",
    });
  } else {
    t.push({
      what: "`cli.ts credentials` with a warm cache",
      target: "faster than `aws configure export-credentials` (Debian awscli)",
      measured: typeof r.warmCli === "string"
        ? r.warmCli
        : (r.warmCli.oursNote ?? "failed"),
      met: "not measured",
    });
  }
  t.push(warmKindsTarget(r.warmKinds));
  const storms = r.storm.filter((s) => s.contender === "ours");
  t.push({
    what: `${int(storms[0]?.n)} concurrent ExpiredToken invalidations`,
    target: "1 refresh",
    measured: storms.map((s) => `${s.stsCalls} (${s.arrival})`).join(", "),
    met: storms.length === 0
      ? "not measured"
      : storms.every((s) => s.stsCalls === 1)
      ? "met"
      : "not met",
  });
  t.push(...timeTargets(r.time));
  return t;
}

/** The per-kind warm-path target: every kind within 1.25x of an empty `deno run`. */
function warmKindsTarget(w: WarmKindsResult | string | undefined): Target {
  const what =
    "`cli.ts credentials` with a warm cache, every profile kind (no AWS SDK loaded)";
  const target = "within 1.25x of `deno run` of an empty script, same run";
  if (typeof w !== "object" || w.emptyMs === undefined) {
    return {
      what,
      target,
      measured: typeof w === "string" ? w : "no empty-script baseline",
      met: "not measured",
    };
  }
  const rows = w.rows.filter((row) => row.medianMs !== undefined);
  const ratios = rows.map((row) => row.medianMs! / w.emptyMs!);
  const worst = Math.max(...ratios);
  return {
    what,
    target,
    measured: `${rows.length} of ${w.rows.length} kinds: ${
      Math.min(...ratios).toFixed(2)
    }x to ${worst.toFixed(2)}x (empty script ${
      w.emptyMs.toFixed(0)
    } ms); SDK loaded by ${w.rows.filter((row) => row.sdkLoaded).length}`,
    met: rows.length === w.rows.length && worst <= 1.25 &&
        w.rows.every((row) => !row.sdkLoaded)
      ? "met"
      : "not met",
  };
}

/**
 * The three-line summary for the README.
 *
 * @param r The figures.
 * @param options `links: false` leaves out the links to RESULTS.md and the chart.
 * @returns Markdown lines.
 */
export function readmeSummary(
  r: ContentionResults,
  options: { links?: boolean } = {},
): string {
  const d = derive(r);
  const w = typeof r.warmCli === "object" ? r.warmCli : undefined;
  return [
    `- **${int(d.maxN)} callers at expiry → ${
      d.expiry.ours ?? "-"
    } STS call**; **${d.kMax} SDK clients sharing our session → ${
      d.manyOurs ?? "-"
    } call** where the AWS SDK's per-client memoization makes ${
      d.manySdk ?? "-"
    }; 1 000 ExpiredToken invalidations → ${
      d.stormOurs ?? "-"
    } refresh (SDK \`forceRefresh\`: ${d.stormSdk ?? "-"}).`,
    `- **STS outage of 15 min: ${
      d.outageOursErrBefore ?? "-"
    } caller errors before expiry** (SDK: ${int(d.outageSdkErrBefore)}) with ${
      d.outageOurs ?? "-"
    } STS attempts (SDK: ${int(d.outageSdk)}); a fleet of ${
      int(r.fleet.sessions)
    } sessions refreshes over ${
      (d.fleetOurs.max - d.fleetOurs.min).toFixed(0)
    } s, peak ${int(d.fleetOurs.peakPerSecond)}/s (SDK: all ${
      int(d.fleetSdk.peakPerSecond)
    } in one second).`,
    `- Advisory window: 0 callers wait; warm \`cli.ts credentials\` ${
      w?.oursMs?.toFixed(0) ?? "-"
    } ms vs \`aws configure export-credentials\` ${
      w?.awsMs?.toFixed(0) ?? "-"
    } ms. ${timeSummary(r.time)}.${
      options.links === false
        ? ""
        : " Full figures, machine and method: [bench/RESULTS.md](bench/RESULTS.md) · chart: [bench/sts_calls.svg](bench/sts_calls.svg)."
    }`,
  ].join("\n");
}

/**
 * Writes RESULTS.md and the charts.
 *
 * @param r The figures.
 * @param dir Output directory.
 * @param ctx Machine and command.
 * @returns Paths written.
 */
export async function writeReport(
  r: ContentionResults,
  dir: string,
  ctx: ReportContext,
): Promise<{ results: string; charts: string[] }> {
  const d = derive(r);
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  const charts = {
    calls: `${base}sts_calls.svg`,
    p99: `${base}p99_latency.svg`,
    fleet: `${base}fleet_jitter.svg`,
  };
  await Deno.writeTextFile(charts.calls, stsCallsChart(r, d));
  await Deno.writeTextFile(charts.p99, p99Chart(r, d));
  await Deno.writeTextFile(charts.fleet, fleetChart(r));
  const results = `${base}RESULTS.md`;
  await Deno.writeTextFile(results, markdown(r, d, ctx));
  return { results, charts: Object.values(charts) };
}

function stsCallsChart(r: ContentionResults, d: Derived): string {
  const categories = [
    `${int(d.maxN)} callers\nat expiry`,
    `${d.kMax} SDK clients\nat expiry`,
    `${int(r.storm[0]?.n)} invalidations\nspread over 500 ms`,
    `${(r.options.outageSeconds / 60).toFixed(0)}-min STS outage\n(attempts)`,
  ];
  const naiveStorm = d.stormNaive;
  const uncached = (c: ContenderName): number | undefined =>
    r.windows.filter((w) => w.contender === c && w.scenario === "cold").sort((
      a,
      b,
    ) => b.n - a.n)[0]?.stsCalls;
  return barChartSvg({
    title: `STS AssumeRole calls (lower is better), local STS at ${
      r.options.latencies[0]
    }-${d.lat} ms`,
    unit: "STS calls",
    categories,
    log: true,
    logMin: 1,
    series: [
      {
        name: "ours",
        values: [d.expiry.ours, d.manyOurs, d.stormOurs, d.outageOurs],
      },
      {
        name: "AWS SDK (memoized)",
        values: [d.expiry["sdk-memoized"], d.manySdk, d.stormSdk, d.outageSdk],
      },
      {
        name: "naive",
        values: [
          uncached("naive") === undefined ? undefined : d.maxN,
          undefined,
          naiveStorm,
          undefined,
        ],
      },
    ],
  });
}

function p99Chart(r: ContentionResults, d: Derived): string {
  const lat = d.lat;
  const p99 = (c: ContenderName, s: string): number | undefined =>
    r.windows.find((w) =>
      w.contender === c && w.scenario === s && w.n === d.maxN &&
      w.latencyMs === lat
    )?.latency.p99;
  return barChartSvg({
    title: `p99 latency of getting credentials, ${
      int(d.maxN)
    } concurrent callers, STS at ${lat} ms`,
    unit: "p99 ms",
    categories: WINDOW_SCENARIOS.map((s) => s),
    log: true,
    series: [
      { name: "ours", values: WINDOW_SCENARIOS.map((s) => p99("ours", s)) },
      {
        name: "AWS SDK (memoized)",
        values: WINDOW_SCENARIOS.map((s) => p99("sdk-memoized", s)),
      },
    ],
  });
}

function fleetChart(r: ContentionResults): string {
  const start = -1000, end = -280, width = 10;
  const bins = Math.ceil((end - start) / width);
  const hist = (values: number[]): number[] => {
    const counts = new Array(bins).fill(0) as number[];
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      const b = Math.min(
        bins - 1,
        Math.max(0, Math.floor((v - start) / width)),
      );
      counts[b] = (counts[b] ?? 0) + 1;
    }
    return counts;
  };
  return histogramSvg({
    title: `When ${
      int(r.fleet.sessions)
    } sessions started together refresh (10 s bins)`,
    xLabel: "seconds before credential expiry",
    yLabel: "sessions starting a refresh",
    start,
    binWidth: width,
    series: [
      {
        name: "ours (advisory point - 0-10 % jitter)",
        counts: hist(r.fleet.refreshAt.ours),
      },
      {
        name: "AWS SDK (5-min rule)",
        counts: hist(r.fleet.refreshAt["sdk-memoized"]),
      },
    ],
  });
}

/** Why a target is not met, from figures of the same run. */
function notMetNotes(verdicts: Target[], d: Derived): string[] {
  const notes: string[] = [];
  const find = (group: string, match: (m: MicroResult) => boolean) =>
    d.micro.find((m) => m.group === group && match(m));
  const fast = verdicts.find((t) => t.what === "credential fast path");
  if (fast?.met === "not met") {
    const sdk = find("credential fast path", (m) => m.baseline);
    const ours = find(
      "credential fast path",
      (m) => m.name.includes("credentialProvider"),
    );
    const dateNow = find("clock read", (m) => m.baseline);
    const perfNow = find("clock read", (m) => !m.baseline);
    notes.push(
      `- **Credential fast path, not met:** fastest iterations ours ${
        ns(ours?.minNs)
      } vs SDK ${ns(sdk?.minNs)}. Both read \`Date.now()\` (${
        ns(dateNow?.avgNs)
      } here) on every call and return an already-resolved promise; ours also reads the monotonic clock (\`performance.now()\`, ${
        ns(perfNow?.avgNs)
      }) one call in 1024, as its deadlines hold on both clocks. The means move by about ±15 % between runs on this shared VM, so the order of two ~200 ns figures can flip from run to run.`,
    );
  }
  const client = verdicts.find((t) =>
    t.what.startsWith("cached `session.client()`")
  );
  if (client?.met === "not met") {
    const key = d.micro.find((m) =>
      m.file.startsWith("client_cache") && m.name.startsWith("_cacheKey") &&
      m.group.includes("session-merged")
    );
    const base = find("client", (m) => m.baseline);
    notes.push(
      `- **Cached client hit, not met:** a hit builds the canonical cache key of the merged config on every call (\`_cacheKey\` of a session-merged config: ${
        ns(key?.avgNs)
      } in client_cache_bench.ts), which alone is more than 1/1000 of building a client (${
        ns(base?.avgNs)
      }); 1000x needs a hit of about ${
        ns(base?.avgNs !== undefined ? base.avgNs / 1000 : undefined)
      }, i.e. a lookup that skips the key computation (for instance keyed by the config object itself).`,
    );
  }
  return notes;
}

function markdown(
  r: ContentionResults,
  d: Derived,
  ctx: ReportContext,
): string {
  const L: string[] = [];
  // The harness itself keeps about one CPU busy: more than that is someone else.
  const maxLoad = Math.max(
    ctx.maxLoad ?? 0,
    Number(ctx.before.loadavg.split(" ")[0]),
    Number(ctx.after.loadavg.split(" ")[0]),
  );
  const busy =
    Number(ctx.before.loadavg.split(" ")[0]) > ctx.before.cpus * 0.5 ||
    maxLoad > ctx.before.cpus;
  L.push(
    "# Refresh contention: results",
    "",
    `Produced by \`${ctx.command}\` on ${ctx.before.date} in ${
      (r.wallMs / 1000).toFixed(0)
    } s (harness; the micro-benchmarks included).`,
    "Regenerate with the same command; the figures below are from one real run, not edited.",
    "",
    "## Headline",
    "",
    readmeSummary(r, { links: false }),
    "",
    "![STS calls per contender](sts_calls.svg)",
    "",
    "![p99 latency per scenario](p99_latency.svg)",
    "",
    "![Fleet refresh spread](fleet_jitter.svg)",
    "",
    "## Machine",
    "",
    markdownTable({
      header: ["", ""],
      rows: [
        [
          "CPU",
          `${ctx.before.cpuModel}, ${ctx.before.cpus} logical CPUs (\`nproc\`)`,
        ],
        ["memory", `${ctx.before.memoryGiB.toFixed(1)} GiB`],
        ["kernel", ctx.before.osRelease],
        ["runtime", ctx.before.deno],
        [
          "load average (1/5/15 min) at start / end",
          `${ctx.before.loadavg} / ${ctx.after.loadavg}`,
        ],
        [
          "highest 1-min load average during the run (sampled every 5 s; the harness itself adds about 1)",
          Number.isFinite(maxLoad) ? maxLoad.toFixed(2) : "unknown",
        ],
        ["date (UTC)", ctx.before.date],
        ["command", `\`${ctx.command}\``],
      ],
    }),
    "",
  );
  if (busy) {
    L.push(
      `> **Note:** the machine was busy during this run (1-min load average up to ${
        maxLoad.toFixed(2)
      } on ${ctx.before.cpus} CPUs: other jobs were running beside the harness). Latencies, wall times and ns/op are inflated and noisy; the counts (STS calls, waiters, errors, MFA runs) do not depend on load.`,
      "",
    );
  }
  L.push("## Targets", "");
  const verdicts = targets(r, d);
  L.push(
    markdownTable({
      header: ["what", "target", "measured", "verdict"],
      rows: verdicts.map((
        t,
      ) => [
        t.what,
        t.target,
        t.measured,
        t.met === "met"
          ? "**met**"
          : t.met === "not met"
          ? "**not met**"
          : t.met,
      ]),
    }),
    "",
  );
  L.push(...notMetNotes(verdicts, d), "");

  L.push(
    "## How it is measured",
    "",
    "All contenders run in the same process, one after the other, against the same local STS (`startLocalSts()`, SigV4-verified, on 127.0.0.1), with the latency shown added to every reply. STS calls are the AssumeRole requests that reached the local STS (counted by the server). Each contender gets fresh state for each row.",
    "",
    '- **ours**: `STSRefreshableSession` with `stsClientConfig: { endpoint, region: "us-east-1", credentials: sts.baseCredentials }`, callers call `session.credentialProvider()` (what SDK clients call).',
    "- **AWS SDK, memoized**: `fromTemporaryCredentials({ params, clientConfig })` from `@aws-sdk/credential-providers` wrapped in `memoizeIdentityProvider(provider, isIdentityExpired, doesIdentityRequireRefresh)` from `@smithy/core` — exactly what every SDK v3 client does to its `credentials` function (`@aws-sdk/core` `resolveAwsSdkSigV4Config`): cache, and when less than 5 min are left, every caller waits for one refresh.",
    "- **AWS SDK, bare**: the `fromTemporaryCredentials` function itself (no cache: one AssumeRole per call).",
    "- **naive**: one `STSClient`, `AssumeRoleCommand` on every call.",
    "",
    "**Callers** are started in one synchronous loop (like N concurrent requests of a server) and awaited together. **Latency** is from the call to its settlement and includes the queueing of N callers on one JavaScript thread (so p50 grows with N for every contender alike). **Waited**: the caller's promise had not settled when the event loop first reached a macrotask after the loop, i.e. it needed an STS round trip rather than being answered from memory in the same turn.",
    "",
    "**Reaching a window.** Ours gets an injected clock (`clock: { now(), monotonic() }` = real time + an offset): primed with a 3600 s credential, the offset is moved so the credential has " +
      `${OURS_SECONDS_LEFT.advisory} s left (advisory window: 900 s, jittered up to 10 % earlier, to 600 s), ${OURS_SECONDS_LEFT.mandatory} s left (mandatory window: 600 s to the 10 s safety margin) or is ${-OURS_SECONDS_LEFT
        .expired} s past expiry. ` +
      `The SDK's memoizer reads \`Date.now()\` and cannot take a clock, so the local STS issues it credentials that live ${SDK_LIFETIME_SECONDS.advisory} s (12 min left: outside its 5-min rule — it has no advisory window, so it does nothing yet), ${SDK_LIFETIME_SECONDS.mandatory} s (inside its 5-min rule: its blocking window) or ${SDK_LIFETIME_SECONDS.expired} s followed by a 1.2 s sleep (expired). Each contender is thus measured in its own windows: "advisory" = ours refreshes in the background, the SDK is not refreshing yet; "mandatory" = the window in which each contender makes callers wait. Contenders without a cache (bare SDK, naive) behave the same in every state, so they are run once, cold: the bare SDK up to N = ${
        int(r.options.uncachedMaxN)
      } (above that it would open one STS client, and its sockets, per caller), naive up to N = ${
        int(Math.max(...r.options.ns))
      } at ${r.options.latencies[0]} ms and ${
        int(r.options.uncachedMaxN)
      } at the other latencies (each call is one AssumeRole by construction; the SDK's HTTP handler queues them 50 sockets at a time).`,
    "",
  );

  for (const lat of r.options.latencies) {
    L.push(`## Concurrent callers, STS latency ${lat} ms`, "");
    const rows: string[][] = [];
    for (const s of WINDOW_SCENARIOS) {
      for (const n of r.options.ns) {
        for (const c of CONTENDERS) {
          const w = r.windows.find((x) =>
            x.latencyMs === lat && x.scenario === s && x.n === n &&
            x.contender === c
          );
          if (!w) continue;
          rows.push([
            s,
            int(n),
            LABEL[c],
            int(w.stsCalls),
            int(w.waited),
            int(w.errors),
            formatMs(w.latency.p50),
            formatMs(w.latency.p99),
            formatMs(w.latency.max),
          ]);
        }
      }
    }
    L.push(
      markdownTable({
        header: [
          "scenario",
          "N",
          "contender",
          "STS calls",
          "waited",
          "errors",
          "p50 ms",
          "p99 ms",
          "max ms",
        ],
        rows,
      }),
      "",
    );
  }

  L.push(
    "## Many SDK clients sharing one credential source",
    "",
    `K \`STSClient\`s (maxAttempts 1) each send GetCallerIdentity once the credentials have expired (real clock for both: the local STS issues 1 s credentials for priming, the harness sleeps 2.5 s, past expiry on every clock, and the refreshed credentials live 3600 s), STS at ${
      r.options.latencies[0]
    } ms. Ours: \`credentials: session.credentialProvider\` on every client (it is marked \`memoized\`, so clients call it on every request and the session decides). SDK: \`credentials: fromTemporaryCredentials(...)\` — one function — on every client; each client wraps it in a memoizer of its own, so K clients refresh K times. (Passing one already-memoized provider marked \`memoized\` to all clients would avoid that, but it is not what the SDK's docs show.)`,
    "",
    markdownTable({
      header: [
        "K clients",
        "contender",
        "AssumeRole calls",
        "request errors",
        "p50 ms",
        "p99 ms",
        "max ms",
      ],
      rows: r.manyClients.map((
        m,
      ) => [
        int(m.k),
        LABEL[m.contender],
        int(m.stsCalls),
        int(m.errors),
        formatMs(m.latency.p50),
        formatMs(m.latency.p99),
        formatMs(m.latency.max),
      ]),
    }),
    "",
  );

  const outMin = r.outage[0]?.attemptsPerMinute.length ?? 0;
  L.push(
    `## STS outage (${
      (r.options.outageSeconds / 60).toFixed(0)
    } simulated minutes)`,
    "",
    `The local STS answers 503 ServiceUnavailable (\`injectFault({ kind: "outage" })\`) from ${
      Math.round(r.options.outageSeconds * 52 / 60 / 60)
    } min before expiry (inside our advisory window, before the SDK's 5-min window) for ${
      (r.options.outageSeconds / 60).toFixed(0)
    } min, i.e. through the mandatory window and past expiry. Every simulated second 10 callers ask for credentials; STS clients use \`maxAttempts: 1\` (an attempt = one request). Simulated time: ours through its \`clock\` option; the SDK's memoizer (its own code) with its 5-min rule evaluated on the same clock. After STS returns, callers keep coming until one gets new credentials. Our session treats credentials as expired 10 s before their expiry (its safety margin), so its errors start 10 s early; the SDK's start when its 5-min window opens.`,
    "",
    markdownTable({
      header: [
        "contender",
        "STS attempts",
        "caller errors, > 10 s of validity left",
        "caller errors, last 10 s before expiry",
        "caller errors after expiry",
        "callers",
        "recovery after STS returns",
      ],
      rows: r.outage.map((
        o,
      ) => [
        LABEL[o.contender],
        int(o.attempts),
        int(o.errorsBeforeExpiry),
        int(o.errorsInMargin),
        int(o.errorsAfterExpiry),
        int(o.callers),
        o.recoverySeconds === undefined
          ? "not within 3 min"
          : `${o.recoverySeconds.toFixed(0)} s`,
      ]),
    }),
    "",
    "STS attempts per simulated minute of the outage:",
    "",
    markdownTable({
      header: [
        "contender",
        ...Array.from({ length: outMin }, (_, i) => `m${i + 1}`),
      ],
      rows: r.outage.map((
        o,
      ) => [LABEL[o.contender], ...o.attemptsPerMinute.map((v) => int(v))]),
    }),
    "",
  );

  L.push(
    "## Invalidation storm",
    "",
    'Callers that got ExpiredToken for the key they hold each invalidate it and ask again. Ours: `session.invalidate(key)` (a no-op once the key is no longer current) then `credentialProvider()`; SDK: its only lever, `provider({ forceRefresh: true })`; naive: a new AssumeRole per caller anyway. "Spread" = two arrivals per millisecond over 500 ms, as the replies of in-flight requests come back; latency counts from the arrival of each caller (waited is not meaningful there).',
    "",
    markdownTable({
      header: [
        "arrival",
        "N",
        "contender",
        "STS calls",
        "waited",
        "errors",
        "p50 ms",
        "p99 ms",
        "max ms",
      ],
      rows: r.storm.map((
        s,
      ) => [
        s.arrival,
        int(s.n),
        LABEL[s.contender],
        int(s.stsCalls),
        Number.isNaN(s.waited) ? "-" : int(s.waited),
        int(s.errors),
        formatMs(s.latency.p50),
        formatMs(s.latency.p99),
        formatMs(s.latency.max),
      ]),
    }),
    "",
  );

  L.push(...timeMarkdown(r.time));

  L.push("## Cross-process: cold CLI processes started together", "");
  if (Array.isArray(r.crossProcess)) {
    L.push(
      "P processes `deno run --allow-net=127.0.0.1 --allow-env --allow-read --allow-write=<tmp> --allow-run=<mfa script> --allow-sys=osRelease,homedir cli.ts credentials --format credential-process` start together with an empty cache directory (`XDG_CACHE_HOME`), a profile whose role requires MFA, and an allowlisted MFA command (a Python script that appends a line to a file per run and prints the TOTP code). Each batch uses its own MFA device, so a code is never reused across batches.",
      "",
      markdownTable({
        header: [
          "P processes",
          "AssumeRole calls",
          "MFA command runs",
          "exited 0 with credentials",
          "batch wall ms",
          "first error",
        ],
        rows: r.crossProcess.map((
          c,
        ) => [
          int(c.p),
          int(c.stsCalls),
          int(c.mfaRuns),
          `${c.ok}/${c.p}`,
          int(c.wallMs),
          c.firstError ?? "",
        ]),
      }),
      "",
    );
  } else L.push(`Not measured: ${r.crossProcess}.`, "");

  L.push("## Warm `credential-process` wall time: our CLI vs the AWS CLI", "");
  if (typeof r.warmCli === "object") {
    const w = r.warmCli;
    L.push(
      markdownTable({
        header: ["command", `median of ${w.runs} runs (ms)`, "notes"],
        rows: [
          [
            "`deno run ... cli.ts credentials --format credential-process` (warm file cache)",
            w.oursMs === undefined ? "-" : w.oursMs.toFixed(0),
            w.oursNote ?? `${w.oursStsCalls} STS calls during the runs`,
          ],
          [
            "`aws configure export-credentials --format process` (warm ~/.aws/cli/cache)",
            w.awsMs === undefined ? "-" : w.awsMs.toFixed(0),
            w.awsNote,
          ],
        ],
      }),
      "",
      "Both are whole processes (spawn to exit). The AWS CLI's warm state is its own assume-role cache entry for a `role_arn` + `source_profile` profile, written where botocore looks for it; a proxy on a closed loopback port guarantees a cache miss could not leave the machine (a miss would be reported, not measured).",
      "",
    );
  } else L.push(`Not measured: ${r.warmCli}.`, "");
  L.push(
    ...warmKindsMarkdown(
      r.warmKinds,
      typeof r.warmCli === "object" ? r.warmCli.awsMs : undefined,
    ),
  );

  L.push(
    "## Fleet jitter",
    "",
    `${
      int(r.fleet.sessions)
    } sessions get credentials expiring at the same instant and are then asked for credentials every simulated second (1 s steps around the refresh points); the time each calls its provider again is its refresh time. Ours: real \`CustomRefreshableSession\`s (the same engine as \`STSRefreshableSession\`) with a function provider and an injected clock, default 900 s / 600 s windows. SDK: its \`memoizeIdentityProvider\` with the 5-min rule on the simulated clock.`,
    "",
    markdownTable({
      header: [
        "contender",
        "first refresh (s before expiry)",
        "last refresh (s before expiry)",
        "spread",
        "peak refreshes in one second",
      ],
      rows: [
        [
          LABEL.ours,
          (-d.fleetOurs.min).toFixed(0),
          (-d.fleetOurs.max).toFixed(0),
          `${(d.fleetOurs.max - d.fleetOurs.min).toFixed(0)} s`,
          int(d.fleetOurs.peakPerSecond),
        ],
        [
          LABEL["sdk-memoized"],
          (-d.fleetSdk.min).toFixed(0),
          (-d.fleetSdk.max).toFixed(0),
          `${(d.fleetSdk.max - d.fleetSdk.min).toFixed(0)} s`,
          int(d.fleetSdk.peakPerSecond),
        ],
      ].map((row) => row.map((c) => c.replace(/^-0$/, "0"))),
    }),
    "",
  );

  L.push("## Micro-benchmarks (`deno bench`)", "");
  if (Array.isArray(r.micro)) {
    const groups = [
      ...new Set(r.micro.map((m) => `${m.file}\u0000${m.group}`)),
    ];
    const rows: string[][] = [];
    for (const g of groups) {
      const [file, group] = g.split("\u0000") as [string, string];
      const items = r.micro.filter((m) => m.file === file && m.group === group);
      const base = items.find((m) => m.baseline)?.avgNs;
      for (const m of items) {
        rows.push([
          file,
          group,
          m.name + (m.baseline ? " (baseline)" : ""),
          m.error ?? ns(m.avgNs),
          m.error ? "-" : int(m.avgNs ? 1e9 / m.avgNs : undefined),
          base && m.avgNs && !m.baseline
            ? `${(base / m.avgNs).toFixed(2)}x`
            : "-",
        ]);
      }
    }
    L.push(
      'Mean time per operation from `deno bench --json` (permissions: `--allow-net=127.0.0.1 --allow-env --allow-read=.,$HOME/.aws --allow-sys=osRelease`). "vs baseline" > 1 means faster than the group\'s baseline.',
      "",
      markdownTable({
        header: [
          "file",
          "group",
          "benchmark",
          "time/op",
          "ops/s",
          "vs baseline",
        ],
        rows,
      }),
      "",
    );
  } else L.push(`Not measured: ${r.micro}.`, "");
  L.push(sourcesMarkdown(r.sources), mfaPromptsMarkdown(r.mfaPrompts));
  L.push(sharedCacheMarkdown(r.sharedCache));
  return L.join("\n");
}
