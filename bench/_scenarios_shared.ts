/**
 * The `sharedCache` scenario: P worker processes of one service on one host
 * (real `deno run` subprocesses with narrow flags, each with its own
 * `STSRefreshableSession`) against one local STS, with and without
 * `sharedCache`: STS calls on a cold start, and over a steady run in which the
 * credentials expire several times.
 *
 * @module
 */

import { startLocalSts } from "../src/testing/mod.ts";
import {
  runSharedCacheWorkers,
  type SharedCacheWorkerReport,
} from "../tests/_helpers/shared_cache_worker.ts";
import { ROLE_ARN } from "./_contenders.ts";
import { formatTable, markdownTable, type Table } from "./_table.ts";

/** One row: a scenario run with or without `sharedCache`. */
export interface SharedCacheRow {
  /** `"cold start"` or `"steady <D> s, <L> s credentials"`. */
  scenario: string;
  /** Worker processes. */
  processes: number;
  /** `sharedCache` on? */
  shared: boolean;
  /** AssumeRole calls that reached STS. */
  stsCalls: number;
  /** Distinct credentials handed out over all processes (a refresh = a new key). */
  distinctKeys: number;
  /** The most credentials one process went through: the expiries it lived through, plus one. */
  keysPerProcess: number;
  /** Workers that failed. */
  errors: number;
  /** Wall time of the batch, ms. */
  wallMs: number;
}

/** Options of {@linkcode runSharedCacheScenarios}. */
export interface SharedCacheScenarioOptions {
  /** Tiny sizes. @default {false} */
  quick?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * Runs the scenarios (a local STS of its own, 20 ms latency; a temporary
 * cache directory under /tmp).
 *
 * @param options Sizes and progress.
 * @returns The rows, without and with `sharedCache` side by side.
 */
export async function runSharedCacheScenarios(
  options: SharedCacheScenarioOptions = {},
): Promise<SharedCacheRow[]> {
  const processes = options.quick ? 2 : 8;
  const plans = options.quick
    ? [{ seconds: 0, lifetime: undefined }]
    : [{ seconds: 0, lifetime: undefined }, { seconds: 30, lifetime: 10 }];
  const rows: SharedCacheRow[] = [];
  for (const plan of plans) {
    for (const shared of [false, true]) {
      await using sts = await startLocalSts({
        latencyMs: 20,
        credentialLifetimeSeconds: plan.lifetime,
      });
      const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "brs-bench-" });
      try {
        const t0 = performance.now();
        const reports = await runSharedCacheWorkers(sts, ROLE_ARN, {
          processes,
          directory: shared ? `${dir}/brs` : "off",
          seconds: plan.seconds,
        });
        const row: SharedCacheRow = {
          scenario: plan.seconds === 0
            ? "cold start"
            : `steady ${plan.seconds} s, ${plan.lifetime} s credentials`,
          processes,
          shared,
          stsCalls: sts.calls.AssumeRole,
          distinctKeys: _distinct(reports),
          keysPerProcess: Math.max(0, ...reports.map((r) => r.prefixes.length)),
          errors: reports.filter((r) => r.error !== undefined).length,
          wallMs: performance.now() - t0,
        };
        rows.push(row);
        options.log?.(
          `shared-cache ${row.scenario} P=${processes} ${
            shared ? "sharedCache" : "own refresh"
          }: calls=${row.stsCalls} keys=${row.distinctKeys} per-process=${row.keysPerProcess} errors=${row.errors}${
            reports.find((r) => r.error)?.error?.slice(0, 120) ?? ""
          }`,
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  }
  return rows;
}

function _distinct(reports: readonly SharedCacheWorkerReport[]): number {
  return new Set(reports.flatMap((r) => r.prefixes)).size;
}

/**
 * The rows as a table.
 *
 * @param rows The rows.
 * @param style `"markdown"` or `"text"`.
 * @returns The table.
 */
export function sharedCacheTable(
  rows: readonly SharedCacheRow[],
  style: "markdown" | "text" = "text",
): string {
  const table: Table = {
    header: [
      "scenario",
      "processes",
      "refresh",
      "STS calls",
      "distinct keys",
      "keys per process",
      "STS calls per expiry",
      "errors",
    ],
    rows: rows.map((r) => [
      r.scenario,
      String(r.processes),
      r.shared ? "sharedCache" : "own (default)",
      String(r.stsCalls),
      String(r.distinctKeys),
      String(r.keysPerProcess),
      r.keysPerProcess === 0 ? "-" : (r.stsCalls / r.keysPerProcess).toFixed(1),
      String(r.errors),
    ]),
  };
  return style === "markdown" ? markdownTable(table) : formatTable(table);
}

/**
 * The report section.
 *
 * @param rows The rows.
 * @returns Markdown.
 */
export function sharedCacheMarkdown(rows: readonly SharedCacheRow[]): string {
  if (rows.length === 0) return "";
  return [
    "## One refresh per host: worker processes with `sharedCache`",
    "",
    "P `deno run` worker processes of one service, started together, each with its own " +
    "`STSRefreshableSession` against one local STS (20 ms latency). Cold start: one " +
    "credential request each. Steady: each asks for credentials every 20 ms while the " +
    "credentials (10 s lifetime) expire several times. STS calls are AssumeRole requests; " +
    "distinct keys are the credentials the processes were handed; keys per process, " +
    "the most one process went through (its first credentials and one per expiry it saw), " +
    "so STS calls per expiry is STS calls / keys per process.",
    "",
    sharedCacheTable(rows, "markdown"),
    "",
  ].join("\n");
}
