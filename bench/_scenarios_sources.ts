/**
 * Scenarios of the other credential sources, on the shared local STS:
 * web-identity contention (N callers on a cold or expired session) for
 * `WebIdentityRefreshableSession` side by side with the AWS SDK's own
 * `fromTokenFile` and `fromWebToken` (memoized the way every v3 client
 * memoizes a credential function, and bare).
 *
 * @module
 */

import { fromTokenFile, fromWebToken } from "@aws-sdk/credential-providers";
import {
  doesIdentityRequireRefresh,
  isIdentityExpired,
  memoizeIdentityProvider,
} from "@smithy/core";
import { WebIdentityRefreshableSession } from "../src/web_identity_session.ts";
import type { LocalSts } from "../src/testing/local_sts.ts";
import { mintWebIdentityToken } from "../src/testing/web_identity_token.ts";
import {
  type Creds,
  FakeClock,
  REGION,
  ROLE_ARN,
  sleep,
} from "./_contenders.ts";
import { burst, collectGarbage } from "./_scenarios.ts";
import { formatMs } from "./_stats.ts";
import { formatTable, markdownTable, type Table } from "./_table.ts";

/** The web-identity contenders. */
export type SourceContender =
  | "ours"
  | "sdk fromTokenFile (memoized)"
  | "sdk fromWebToken (memoized)"
  | "sdk fromTokenFile (bare)";

const CONTENDERS: readonly SourceContender[] = [
  "ours",
  "sdk fromTokenFile (memoized)",
  "sdk fromWebToken (memoized)",
  "sdk fromTokenFile (bare)",
];

/** One row: a burst of N callers on one contender. */
export interface SourceRow {
  /** The source. */
  source: "web-identity";
  /** Who. */
  contender: SourceContender;
  /** The state of the credentials when the burst arrives. */
  scenario: "cold" | "expired";
  /** STS latency, ms. */
  latencyMs: number;
  /** Callers. */
  n: number;
  /** AssumeRoleWithWebIdentity calls the burst made. */
  stsCalls: number;
  /** Callers that waited for I/O. */
  waited: number;
  /** Callers that got an error. */
  errors: number;
  /** Median latency, ms. */
  p50: number;
  /** 99th percentile latency, ms. */
  p99: number;
}

/** Options of {@linkcode runSourceScenarios}. */
export interface SourceScenarioOptions {
  /** Callers per burst. */
  ns: number[];
  /** STS latencies, ms. */
  latencies: number[];
  /** Largest N for the bare provider (it makes N calls by construction). */
  uncachedMaxN: number;
}

interface Built {
  get(): Promise<unknown>;
  clock?: FakeClock;
  close(): Promise<void>;
}

function build(
  contender: SourceContender,
  sts: LocalSts,
  tokenFile: string,
): Built {
  const clientConfig = { endpoint: sts.url, region: REGION };
  const params = { roleArn: ROLE_ARN, roleSessionName: "bench" };
  switch (contender) {
    case "ours": {
      const clock = new FakeClock();
      const session = new WebIdentityRefreshableSession({
        assumeRoleWithWebIdentity: {
          RoleArn: ROLE_ARN,
          RoleSessionName: "bench",
        },
        webIdentityTokenFile: tokenFile,
        stsClientConfig: clientConfig,
        region: REGION,
        clock,
      });
      const provider = session.credentialProvider;
      return { get: () => provider(), clock, close: () => session.close() };
    }
    case "sdk fromTokenFile (bare)": {
      const bare = fromTokenFile({
        ...params,
        webIdentityTokenFile: tokenFile,
        clientConfig,
      });
      return { get: () => bare(), close: () => Promise.resolve() };
    }
    default: {
      const bare = contender === "sdk fromWebToken (memoized)"
        ? fromWebToken({
          ...params,
          webIdentityToken: Deno.readTextFileSync(tokenFile),
          clientConfig,
        })
        : fromTokenFile({
          ...params,
          webIdentityTokenFile: tokenFile,
          clientConfig,
        });
      const memo = memoizeIdentityProvider(
        bare,
        isIdentityExpired as (i: unknown) => boolean,
        doesIdentityRequireRefresh,
      )!;
      return {
        get: () => memo() as Promise<Creds>,
        close: () => Promise.resolve(),
      };
    }
  }
}

/**
 * Runs web-identity contention: for each latency, N and contender, a burst
 * of N callers on a cold provider, and one on a provider whose credentials
 * have just expired (ours: injected clock moved past expiry; the SDK's: the
 * local STS issues 1 s credentials and the harness sleeps past them).
 *
 * @param sts The shared local STS (its lifetime setting is restored).
 * @param options Sizes.
 * @param log Progress lines.
 * @returns The rows.
 */
export async function runSourceScenarios(
  sts: LocalSts,
  options: SourceScenarioOptions,
  log: (line: string) => void,
): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "brs-bench-" });
  const tokenFile = `${dir}/token`;
  await Deno.writeTextFile(tokenFile, mintWebIdentityToken());
  const latencyBefore = sts.latencyMs;
  try {
    for (const latency of options.latencies) {
      sts.latencyMs = latency;
      for (const n of options.ns) {
        for (const contender of CONTENDERS) {
          const bare = contender === "sdk fromTokenFile (bare)";
          if (bare && n > options.uncachedMaxN) continue;
          for (const scenario of ["cold", "expired"] as const) {
            if (bare && scenario === "expired") continue; // = cold
            collectGarbage();
            const c = build(contender, sts, tokenFile);
            try {
              if (scenario === "expired") {
                if (c.clock) {
                  await c.get();
                  c.clock.advance(3_600_000 + 1_000);
                } else {
                  sts.credentialLifetimeSeconds = 1;
                  await c.get();
                  sts.credentialLifetimeSeconds = undefined;
                  await sleep(1200);
                }
              }
              const before = sts.calls.AssumeRoleWithWebIdentity;
              const r = await burst(n, () => c.get());
              await sleep(latency + 20); // let a background refresh land
              const row: SourceRow = {
                source: "web-identity",
                contender,
                scenario,
                latencyMs: latency,
                n,
                stsCalls: sts.calls.AssumeRoleWithWebIdentity - before,
                waited: r.waited,
                errors: r.errors,
                p50: r.latency.p50,
                p99: r.latency.p99,
              };
              rows.push(row);
              log(
                `web-identity ${scenario} ${latency} ms N=${n} ${contender}: calls=${row.stsCalls} waited=${row.waited} errors=${row.errors} p99=${
                  formatMs(row.p99)
                }`,
              );
            } finally {
              sts.credentialLifetimeSeconds = undefined;
              await c.close();
            }
          }
        }
      }
    }
  } finally {
    sts.latencyMs = latencyBefore;
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

/**
 * The rows as a Markdown section for RESULTS.md.
 *
 * @param rows The rows.
 * @returns Markdown.
 */
export function sourcesMarkdown(rows: readonly SourceRow[]): string {
  if (rows.length === 0) return "";
  return [
    "## Web identity: concurrent callers (AssumeRoleWithWebIdentity)",
    "",
    "N callers at once on a cold provider, and on one whose credentials have just expired. " +
    "`ours` is `WebIdentityRefreshableSession`; the SDK's `fromTokenFile` / `fromWebToken` " +
    "are memoized as every v3 client memoizes a credential function (`memoizeIdentityProvider`, " +
    "5-minute rule), or bare. STS calls are AssumeRoleWithWebIdentity requests the burst made.",
    "",
    sourcesTable(rows, "markdown"),
    "",
  ].join("\n");
}

/**
 * The rows as a table.
 *
 * @param rows The rows.
 * @param style `"markdown"` or `"text"`.
 * @returns The table.
 */
export function sourcesTable(
  rows: readonly SourceRow[],
  style: "markdown" | "text" = "text",
): string {
  const table: Table = {
    header: [
      "scenario",
      "STS ms",
      "N",
      "contender",
      "STS calls",
      "waited",
      "errors",
      "p50",
      "p99",
    ],
    rows: rows.map((r) => [
      r.scenario,
      String(r.latencyMs),
      String(r.n),
      r.contender,
      String(r.stsCalls),
      String(r.waited),
      String(r.errors),
      formatMs(r.p50),
      formatMs(r.p99),
    ]),
  };
  return style === "markdown" ? markdownTable(table) : formatTable(table);
}
