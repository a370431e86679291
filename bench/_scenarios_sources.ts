/**
 * Scenarios of the other credential sources:
 * - web-identity contention (N callers on a cold or expired session, on the
 *   shared local STS) for `WebIdentityRefreshableSession` side by side with
 *   the AWS SDK's own `fromTokenFile` and `fromWebToken` (memoized the way
 *   every v3 client memoizes a credential function, and bare);
 * - MFA prompts in a simulated working day with `mfaSession` vs an MFA code
 *   at every role refresh.
 *
 * @module
 */

import { fromTokenFile, fromWebToken } from "@aws-sdk/credential-providers";
import {
  doesIdentityRequireRefresh,
  isIdentityExpired,
  memoizeIdentityProvider,
} from "@smithy/core";
import { STSRefreshableSession } from "../src/sources/sts_session.ts";
import { WebIdentityRefreshableSession } from "../src/sources/web_identity_session.ts";
import type { LocalSts } from "../src/testing/local_sts.ts";
import { startLocalSts, totp } from "../src/testing/mod.ts";
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

/** What the simulated working day counted. */
export interface MfaPromptsResult {
  /** Simulated hours. */
  hours: number;
  /** Role profiles used all day. */
  profiles: number;
  /** Role credential lifetime, seconds. */
  roleSeconds: number;
  /** MFA session lifetime, seconds. */
  mfaSessionSeconds: number;
  /** MFA codes asked with `mfaSession` (GetSessionToken calls). */
  promptsOurs: number;
  /**
   * MFA codes a code-per-AssumeRole setup asks for the same day: one per
   * AssumeRole refresh of the same engine schedule.
   */
  promptsRoleOnly: number;
  /** AssumeRole calls in the day (all profiles). */
  assumeRoleCalls: number;
  /** Callers that got an error. */
  errors: number;
}

/**
 * Simulates a working day: `profiles` role sessions with `mfaSession`, each
 * asked for credentials every simulated minute for `hours` hours (frozen
 * clock moved by hand; the local STS and the MFA codes are real). Each
 * profile has its own MFA device here only so that codes of one 30 s step
 * are not shared (a single device would only add real waiting, not prompts).
 *
 * @param hours Simulated hours.
 * @param profiles Role profiles.
 * @returns The counts.
 */
export async function runMfaPrompts(
  hours = 8,
  profiles = 3,
): Promise<MfaPromptsResult> {
  const secret = "JBSWY3DPEHPK3PXP";
  const serials = Array.from(
    { length: profiles },
    (_, i) => `arn:aws:iam::123456789012:mfa/bench-${i}`,
  );
  await using sts = await startLocalSts({
    mfaDevices: Object.fromEntries(serials.map((s) => [s, secret])),
    mfaRequiredRoles: ["*"],
  });
  const clock = new FakeClock({ frozen: true });
  let prompts = 0;
  let errors = 0;
  const sessions = serials.map((serial, i) =>
    new STSRefreshableSession({
      assumeRole: {
        RoleArn: `arn:aws:iam::123456789012:role/profile-${i}`,
        RoleSessionName: "bench",
        SerialNumber: serial,
        DurationSeconds: 3600,
      },
      stsClientConfig: {
        endpoint: sts.url,
        region: REGION,
        credentials: sts.baseCredentials,
      },
      region: REGION,
      mfaTokenProvider: () => {
        prompts++;
        return totp(secret);
      },
      mfaSession: { durationSeconds: 43_200 },
      clock,
    })
  );
  try {
    for (let minute = 0; minute < hours * 60; minute++) {
      await Promise.all(
        sessions.map((s) => s.credentialProvider().catch(() => void errors++)),
      );
      await sleep(5); // let a background refresh land
      clock.advance(60_000);
    }
  } finally {
    for (const s of sessions) await s.close();
  }
  return {
    hours,
    profiles,
    roleSeconds: 3600,
    mfaSessionSeconds: 43_200,
    promptsOurs: prompts,
    promptsRoleOnly: sts.calls.AssumeRole,
    assumeRoleCalls: sts.calls.AssumeRole,
    errors,
  };
}

/**
 * The MFA prompts as a Markdown section.
 *
 * @param r The counts.
 * @returns Markdown.
 */
export function mfaPromptsMarkdown(r: MfaPromptsResult): string {
  return [
    `## MFA prompts in a ${r.hours}-hour day with ${r.profiles} role profiles`,
    "",
    `Role credentials of ${r.roleSeconds / 3600} h, MFA session of ${
      r.mfaSessionSeconds / 3600
    } h; every profile asked for credentials every simulated minute (frozen clock, real local STS and TOTP codes).`,
    "",
    markdownTable({
      header: ["setup", "MFA codes typed", "AssumeRole calls"],
      rows: [
        [
          "ours, `mfaSession`",
          String(r.promptsOurs),
          String(r.assumeRoleCalls),
        ],
        [
          "a code at every AssumeRole (role-only MFA)",
          String(r.promptsRoleOnly),
          String(r.assumeRoleCalls),
        ],
      ],
    }),
    "",
  ].join("\n");
}
