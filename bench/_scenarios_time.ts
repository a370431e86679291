/**
 * Scenarios of time and revocation, next to the AWS SDK's memoized provider:
 *
 * - suspend: the wall clock jumps 2 h, the monotonic clock does not (a
 *   machine that slept). Counts expired keys handed out and STS calls.
 * - revoked key: 100 concurrent requests on a cached client after its key
 *   was revoked. Counts successes, refreshes, and the p99 latency.
 *
 * @module
 */

import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { LocalSts } from "../src/testing/local_sts.ts";
import type { Clock } from "../src/types.ts";
import {
  type Contender,
  createContender,
  type Creds,
  REGION,
  ROLE_ARN,
  sdkRuleOn,
} from "./_contenders.ts";
import { burst, collectGarbage } from "./_scenarios.ts";
import { formatMs, type LatencySummary } from "./_stats.ts";
import { markdownTable } from "./_table.ts";

/** One contender's figures in the suspend scenario. */
export interface SuspendRow {
  /** Who. */
  contender: "ours" | "sdk-memoized";
  /** Callers after the wake. */
  n: number;
  /** Callers given a key that had expired on the (moved) wall clock. */
  expiredHandedOut: number;
  /** AssumeRole calls after the wake. */
  stsCalls: number;
  /** Callers that got an error. */
  errors: number;
}

/** One contender's figures in the revoked-key scenario. */
export interface RevokedRow {
  /** Who. */
  contender: "ours" | "sdk-memoized";
  /** Concurrent requests. */
  n: number;
  /** Requests that succeeded. */
  succeeded: number;
  /** AssumeRole calls during the burst. */
  refreshes: number;
  /** Latency of the requests (healed ones for ours), ms. */
  latency: LatencySummary;
}

/** What the two scenarios measured. */
export interface TimeResults {
  /** Suspend rows. */
  suspend: SuspendRow[];
  /** Revoked-key rows. */
  revoked: RevokedRow[];
}

/** Real time, with a wall clock that can jump while the monotonic one does not. */
class SuspendableClock implements Clock {
  wallOffsetMs = 0;
  now(): number {
    return Date.now() + this.wallOffsetMs;
  }
  monotonic(): number {
    return performance.now();
  }
}

const SUSPEND_MS = 2 * 3_600_000;

/**
 * Holds fresh credentials (50 min left: the session fetched them 10 min
 * ago), then the machine sleeps 2 h: the wall clock of the process and of
 * STS move 2 h, the monotonic clock 0. Then `n` callers ask for credentials.
 */
async function runSuspend(
  sts: LocalSts,
  name: "ours" | "sdk-memoized",
  n: number,
): Promise<SuspendRow> {
  sts.clearFaults();
  sts.dateSkewSeconds = 0;
  const clock = new SuspendableClock();
  const contender: Contender = createContender(name, sts, {
    clock,
    isExpired: sdkRuleOn(clock),
  });
  try {
    await contender.get();
    await contender.handler.settle();
    collectGarbage();
    clock.wallOffsetMs = SUSPEND_MS;
    sts.dateSkewSeconds = SUSPEND_MS / 1000; // STS's clock moved on too
    const before = sts.calls.AssumeRole;
    let expired = 0;
    const r = await burst(n, async () => {
      const c: Creds = await contender.get();
      if (c.expiration === undefined || c.expiration.getTime() <= clock.now()) {
        expired++;
      }
    });
    await contender.handler.settle();
    return {
      contender: name,
      n,
      expiredHandedOut: expired,
      stsCalls: sts.calls.AssumeRole - before,
      errors: r.errors,
    };
  } finally {
    sts.dateSkewSeconds = 0;
    await contender.close();
  }
}

/**
 * A cached client makes one request, then STS revokes its key; `n`
 * requests start together on that client.
 */
async function runRevoked(
  sts: LocalSts,
  name: "ours" | "sdk-memoized",
  n: number,
): Promise<RevokedRow> {
  sts.clearFaults();
  const config = { region: REGION, endpoint: sts.url, maxAttempts: 1 };
  const contender = name === "ours" ? createContender("ours", sts) : undefined;
  const client = contender !== undefined
    ? contender.session!.client(STSClient, config)
    : new STSClient({
      ...config,
      // What every SDK v3 client does with a credential function: memoize it.
      credentials: fromTemporaryCredentials({
        params: { RoleArn: ROLE_ARN, DurationSeconds: 3600 },
        clientConfig: {
          region: REGION,
          endpoint: sts.url,
          credentials: sts.baseCredentials,
        },
      }),
    });
  try {
    await client.send(new GetCallerIdentityCommand({}));
    const identity =
      await (client.config.credentials as () => Promise<Creds>)();
    sts.revoke(identity.accessKeyId);
    collectGarbage();
    const before = sts.calls.AssumeRole;
    const r = await burst(
      n,
      () => client.send(new GetCallerIdentityCommand({})),
    );
    return {
      contender: name,
      n,
      succeeded: n - r.errors,
      refreshes: sts.calls.AssumeRole - before,
      latency: r.latency,
    };
  } finally {
    if (contender !== undefined) await contender.close();
    else client.destroy();
  }
}

/**
 * Runs both scenarios for ours and the SDK's memoized provider.
 *
 * @param sts The shared local STS.
 * @param options `quick` for the smoke run; `log` for progress lines.
 * @returns The figures.
 */
export async function runTimeScenarios(
  sts: LocalSts,
  options: { quick: boolean; log: (line: string) => void },
): Promise<TimeResults> {
  const n = options.quick ? 20 : 100;
  const suspend: SuspendRow[] = [];
  const revoked: RevokedRow[] = [];
  for (const c of ["ours", "sdk-memoized"] as const) {
    const row = await runSuspend(sts, c, n);
    suspend.push(row);
    options.log(
      `suspend ${c}: expired keys handed out=${row.expiredHandedOut}/${n} calls=${row.stsCalls}`,
    );
  }
  for (const c of ["ours", "sdk-memoized"] as const) {
    const row = await runRevoked(sts, c, n);
    revoked.push(row);
    options.log(
      `revoked key ${c}: succeeded=${row.succeeded}/${n} refreshes=${row.refreshes} p99=${
        formatMs(row.latency.p99)
      } ms`,
    );
  }
  return { suspend, revoked };
}

const LABEL = { ours: "ours", "sdk-memoized": "AWS SDK memoized" } as const;

/**
 * The section-9 targets these scenarios check, in the report's shape.
 *
 * @param r The figures.
 * @returns Targets.
 */
export function timeTargets(r: TimeResults): {
  what: string;
  target: string;
  measured: string;
  met: "met" | "not met" | "not measured";
}[] {
  const s = r.suspend.find((x) => x.contender === "ours");
  const v = r.revoked.find((x) => x.contender === "ours");
  return [{
    what: "a 2 h suspend (wall clock jumps, monotonic does not)",
    target: "0 expired keys handed out; 1 refresh",
    measured: s === undefined
      ? "-"
      : `${s.expiredHandedOut} expired, ${s.stsCalls} refresh`,
    met: s === undefined
      ? "not measured"
      : s.expiredHandedOut === 0 && s.stsCalls === 1 && s.errors === 0
      ? "met"
      : "not met",
  }, {
    what: `${
      v?.n ?? 100
    } concurrent requests on a cached client after its key was revoked`,
    target: "all succeed; 1 refresh",
    measured: v === undefined
      ? "-"
      : `${v.succeeded} succeeded, ${v.refreshes} refresh`,
    met: v === undefined
      ? "not measured"
      : v.succeeded === v.n && v.refreshes === 1
      ? "met"
      : "not met",
  }];
}

/**
 * The report's section for these scenarios.
 *
 * @param r The figures.
 * @returns Markdown lines.
 */
export function timeMarkdown(r: TimeResults): string[] {
  return [
    "## Suspend: the wall clock jumps 2 h, the monotonic clock does not",
    "",
    "A session holds credentials with 50 min left; the machine sleeps 2 h (the wall clock of the process and of STS move 2 h, the monotonic clock and timers do not); then N callers ask at once. Ours: `credentialProvider()` with an injected clock; SDK: `memoizeIdentityProvider` with its 5-min rule on the same wall clock. An expired key is one whose expiration is before the (moved) wall clock.",
    "",
    markdownTable({
      header: [
        "contender",
        "N",
        "expired keys handed out",
        "STS calls",
        "errors",
      ],
      rows: r.suspend.map((s) => [
        LABEL[s.contender],
        String(s.n),
        String(s.expiredHandedOut),
        String(s.stsCalls),
        String(s.errors),
      ]),
    }),
    "",
    "## Revoked key: concurrent requests on a cached client",
    "",
    "A client made one `GetCallerIdentity` request; then STS revokes its key (the local STS's `revoke()`: 403 `ExpiredToken` before the key's expiry) and N requests start together. Ours: `session.client(STSClient)` (self-healing: one invalidation, one refresh, each request retried once); SDK: an `STSClient` with `fromTemporaryCredentials` (memoized by the client). Latency is of the whole request, the retry included.",
    "",
    markdownTable({
      header: [
        "contender",
        "N",
        "succeeded",
        "refreshes",
        "p50 ms",
        "p99 ms",
        "max ms",
      ],
      rows: r.revoked.map((v) => [
        LABEL[v.contender],
        String(v.n),
        String(v.succeeded),
        String(v.refreshes),
        formatMs(v.latency.p50),
        formatMs(v.latency.p99),
        formatMs(v.latency.max),
      ]),
    }),
    "",
  ];
}

/**
 * The README summary's sentence for these scenarios.
 *
 * @param r The figures.
 * @returns Markdown, without a final period.
 */
export function timeSummary(r: TimeResults): string {
  const s = (c: SuspendRow["contender"]): SuspendRow | undefined =>
    r.suspend.find((x) => x.contender === c);
  const v = (c: RevokedRow["contender"]): RevokedRow | undefined =>
    r.revoked.find((x) => x.contender === c);
  return `**2 h suspend → ${s("ours")?.expiredHandedOut ?? "-"} expired keys, ${
    s("ours")?.stsCalls ?? "-"
  } STS call** (SDK: ${s("sdk-memoized")?.expiredHandedOut ?? "-"}, ${
    s("sdk-memoized")?.stsCalls ?? "-"
  }); **revoked key: ${v("ours")?.succeeded ?? "-"} of ${
    v("ours")?.n ?? "-"
  } concurrent requests succeed with ${
    v("ours")?.refreshes ?? "-"
  } refresh** (p99 ${formatMs(v("ours")?.latency.p99 ?? NaN)} ms; SDK: ${
    v("sdk-memoized")?.succeeded ?? "-"
  } succeed, ${v("sdk-memoized")?.refreshes ?? "-"} refreshes)`;
}
