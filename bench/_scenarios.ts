/**
 * The in-process scenarios of the contention harness. Each one builds fresh
 * contenders on the shared local STS, drives them, and returns plain figures.
 *
 * @module
 */

import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import {
  doesIdentityRequireRefresh,
  memoizeIdentityProvider,
} from "@smithy/core";
import { CustomRefreshableSession } from "../src/sources/custom_session.ts";
import type { LocalSts } from "../src/testing/local_sts.ts";
import type { Clock } from "../src/types.ts";
import {
  type Contender,
  type ContenderName,
  createContender,
  type Creds,
  FakeClock,
  macrotask,
  REGION,
  sdkRuleOn,
  sleep,
} from "./_contenders.ts";
import { type LatencySummary, summarize } from "./_stats.ts";

/** What a burst of concurrent callers saw. */
export interface BurstResult {
  /** AssumeRole calls that reached STS during the burst (background refresh included). */
  stsCalls: number;
  /** Callers whose promise did not settle before the first macrotask after the burst. */
  waited: number;
  /** Callers that got an error. */
  errors: number;
  /** Latency of getting credentials, ms. */
  latency: LatencySummary;
}

/**
 * Starts `n` callers in one synchronous loop (as `n` concurrent requests of a
 * server would) and waits for all of them.
 *
 * "Waited": the caller's promise had not settled when the event loop first
 * got to a macrotask after the loop, i.e. it needed I/O (an STS round trip)
 * rather than being answered from memory in the same turn.
 *
 * @param n Callers.
 * @param get What one caller does.
 * @param arrive If given, caller `i` starts when this resolves (spread
 *   arrivals); its latency counts from then and "waited" is not meaningful.
 * @returns Waited, errors and latency (STS calls are counted by the caller).
 */
export async function burst(
  n: number,
  get: (i: number) => Promise<unknown>,
  arrive?: (i: number) => Promise<void>,
): Promise<Omit<BurstResult, "stsCalls">> {
  const latency = new Float64Array(n);
  let macro = false;
  let early = 0;
  let errors = 0;
  const pending: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (arrive !== undefined) {
      // Delayed arrival: latency counts from the arrival, not from the loop.
      pending[i] = arrive(i).then(() => {
        const t0 = performance.now();
        return get(i).then(
          () => void (latency[i] = performance.now() - t0),
          () => {
            latency[i] = performance.now() - t0;
            errors++;
          },
        );
      });
      continue;
    }
    const t0 = performance.now();
    pending[i] = get(i).then(
      () => {
        latency[i] = performance.now() - t0;
        if (!macro) early++;
      },
      () => {
        latency[i] = performance.now() - t0;
        errors++;
        if (!macro) early++;
      },
    );
  }
  const marker = macrotask().then(() => {
    macro = true;
  });
  await Promise.all(pending);
  await marker;
  return { waited: n - early, errors, latency: summarize(latency) };
}

/**
 * Runs a full garbage collection when V8 exposes it (`deno task bench` passes
 * `--v8-flags=--expose-gc`), so no row pays for the garbage of the one before.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The state credentials are in when the burst arrives. */
export type WindowScenario = "cold" | "advisory" | "mandatory" | "expired";

/** All window scenarios, in table order. */
export const WINDOW_SCENARIOS: readonly WindowScenario[] = [
  "cold",
  "advisory",
  "mandatory",
  "expired",
];

/** Seconds left on the held credentials when the burst arrives, for `ours` (injected clock). */
export const OURS_SECONDS_LEFT: Record<
  Exclude<WindowScenario, "cold">,
  number
> = {
  advisory: 720, // inside [expiry - 900 s (- up to 90 s jitter), expiry - 600 s)
  mandatory: 480, // inside [expiry - 600 s, expiry - 10 s safety margin)
  expired: -1,
};

/** Lifetime the local STS gives the SDK's credentials, so they are in that state (real clock). */
export const SDK_LIFETIME_SECONDS: Record<
  Exclude<WindowScenario, "cold">,
  number
> = {
  advisory: 720, // 12 min left: outside the SDK's 5-min rule (it has no advisory window)
  mandatory: 240, // 4 min left: inside the SDK's 5-min rule (everyone waits)
  expired: 1, // 1 s, then the harness sleeps 1.2 s
};

/** One row of the window scenarios. */
export interface WindowRow extends BurstResult {
  /** Scenario. */
  scenario: WindowScenario;
  /** Contender. */
  contender: ContenderName;
  /** Concurrent callers. */
  n: number;
  /** STS latency, ms. */
  latencyMs: number;
}

/**
 * Runs one window scenario for one contender.
 *
 * - `ours`: primed with a 3600 s credential, then its injected clock is moved
 *   so the credential has {@linkcode OURS_SECONDS_LEFT} left.
 * - `sdk-memoized`: the local STS issues credentials that live
 *   {@linkcode SDK_LIFETIME_SECONDS}; primed once, the SDK's own clock and
 *   rule are untouched (for `expired`, the harness sleeps past expiry).
 * - `sdk-bare`, `naive`: no cache, every caller calls STS in every state.
 *
 * @param sts The local STS.
 * @param scenario The state.
 * @param name The contender.
 * @param n Concurrent callers.
 * @returns The row.
 */
export async function runWindow(
  sts: LocalSts,
  scenario: WindowScenario,
  name: ContenderName,
  n: number,
): Promise<WindowRow> {
  sts.clearFaults();
  sts.credentialLifetimeSeconds = undefined;
  const clock = new FakeClock();
  const contender = createContender(name, sts, { clock });
  try {
    if (scenario !== "cold") {
      if (name === "ours") {
        const first = await contender.get();
        await contender.handler.settle();
        const left = (first.expiration?.getTime() ?? Date.now()) - Date.now();
        clock.advance(left - OURS_SECONDS_LEFT[scenario] * 1000);
      } else {
        sts.credentialLifetimeSeconds = SDK_LIFETIME_SECONDS[scenario];
        await contender.get();
        await contender.handler.settle();
        if (scenario === "expired") await sleep(1200);
      }
    }
    collectGarbage();
    const before = sts.calls.AssumeRole;
    const r = await burst(n, () => contender.get());
    await contender.handler.settle();
    return {
      scenario,
      contender: name,
      n,
      latencyMs: sts.latencyMs,
      stsCalls: sts.calls.AssumeRole - before,
      ...r,
    };
  } finally {
    sts.credentialLifetimeSeconds = undefined;
    await contender.close();
  }
}

/** One row of the many-clients scenario. */
export interface ManyClientsRow {
  /** Contender (`ours` or `sdk-memoized`: the SDK's per-client memoization). */
  contender: ContenderName;
  /** SDK clients. */
  k: number;
  /** AssumeRole calls when all K clients send at expiry. */
  stsCalls: number;
  /** GetCallerIdentity requests that failed. */
  errors: number;
  /** Latency of the K GetCallerIdentity requests, ms. */
  latency: LatencySummary;
}

/**
 * K `STSClient`s share one credential source and each sends GetCallerIdentity
 * once the credentials have expired (real clock for both: the local STS issues
 * 1 s credentials for priming, the harness sleeps 2.5 s, past expiry on every
 * clock, and the refreshed credentials live 3600 s).
 *
 * - `ours`: `credentials: session.credentialProvider` on every client.
 * - `sdk-memoized`: `credentials: fromTemporaryCredentials(...)` (one
 *   provider function) on every client; each client memoizes it on its own.
 *
 * @param sts The local STS.
 * @param name `ours` or `sdk-memoized`.
 * @param k Clients.
 * @returns The row.
 */
export async function runManyClients(
  sts: LocalSts,
  name: "ours" | "sdk-memoized",
  k: number,
): Promise<ManyClientsRow> {
  sts.clearFaults();
  sts.credentialLifetimeSeconds = 1;
  // `sdk-bare` is the raw fromTemporaryCredentials function: each SDK client wraps it.
  const contender = createContender(
    name === "ours" ? "ours" : "sdk-bare",
    sts,
  );
  const source = name === "ours"
    ? contender.session!.credentialProvider
    : () => contender.get();
  const clients = Array.from(
    { length: k },
    () =>
      new STSClient({
        region: REGION,
        endpoint: sts.url,
        credentials: source,
        maxAttempts: 1,
        requestHandler: contender.handler as unknown as STSClient["config"][
          "requestHandler"
        ],
      }),
  );
  try {
    // Priming with 1 s credentials (the SDK refreshes on every call then: ignore errors).
    await Promise.allSettled(
      clients.map((c) => c.send(new GetCallerIdentityCommand({}))),
    );
    await contender.handler.settle();
    await sleep(2500);
    sts.credentialLifetimeSeconds = undefined;
    collectGarbage();
    const before = sts.calls.AssumeRole;
    const r = await burst(
      k,
      (i) => clients[i]!.send(new GetCallerIdentityCommand({})),
    );
    await contender.handler.settle();
    return {
      contender: name,
      k,
      stsCalls: sts.calls.AssumeRole - before,
      errors: r.errors,
      latency: r.latency,
    };
  } finally {
    sts.credentialLifetimeSeconds = undefined;
    for (const c of clients) c.destroy();
    await contender.close();
  }
}

/** Figures of the outage scenario for one contender. */
export interface OutageResult {
  /** Contender. */
  contender: ContenderName;
  /** STS attempts (requests that reached STS) per simulated minute, from the outage start. */
  attemptsPerMinute: number[];
  /** Total attempts during the outage. */
  attempts: number;
  /** Callers that got an error while the held credentials had more than 10 s left. */
  errorsBeforeExpiry: number;
  /** Callers that got an error in the last 10 s before expiry (our safety margin). */
  errorsInMargin: number;
  /** Callers that got an error after the held credentials expired. */
  errorsAfterExpiry: number;
  /** Callers in total. */
  callers: number;
  /** Simulated seconds from STS coming back to the first caller with new credentials. */
  recoverySeconds: number | undefined;
}

/** Options of {@linkcode runOutage}. */
export interface OutageOptions {
  /** Simulated seconds before expiry at which the outage starts. @default {780} */
  startBeforeExpiry?: number;
  /** Simulated outage length in seconds. @default {900} */
  durationSeconds?: number;
  /** Callers per simulated second. @default {10} */
  callersPerSecond?: number;
  /** Simulated seconds to watch after STS returns. @default {180} */
  afterSeconds?: number;
}

/**
 * STS fails (503 ServiceUnavailable) for 15 simulated minutes starting 13 min
 * before expiry (inside our advisory window, before the SDK's 5-min window),
 * so it spans the advisory window, the mandatory window and 2 min past
 * expiry. Every simulated second, 10 callers ask for credentials. STS clients
 * use `maxAttempts: 1`, so an attempt is one request.
 *
 * The simulated clock: ours gets it as its `clock`; the SDK's memoizer (its
 * own code) gets its 5-minute rule evaluated on the same clock.
 *
 * @param sts The local STS (latency as set by the caller).
 * @param name `ours` or `sdk-memoized`.
 * @param options Timings.
 * @returns The figures.
 */
export async function runOutage(
  sts: LocalSts,
  name: "ours" | "sdk-memoized",
  options: OutageOptions = {},
): Promise<OutageResult> {
  const startBefore = options.startBeforeExpiry ?? 780;
  const duration = options.durationSeconds ?? 900;
  const perSecond = options.callersPerSecond ?? 10;
  const after = options.afterSeconds ?? 180;
  sts.clearFaults();
  sts.credentialLifetimeSeconds = undefined;
  // Purely simulated: time moves only when the harness moves it.
  const clock = new FakeClock({ frozen: true });
  const contender = createContender(name, sts, {
    clock,
    maxAttempts: 1,
    isExpired: sdkRuleOn(clock),
  });
  try {
    const first = await contender.get();
    await contender.handler.settle();
    const expiresAt = first.expiration!.getTime(); // wall clock of the simulation
    clock.advance(expiresAt - clock.now() - startBefore * 1000);
    const outageStart = clock.now();
    const outageEnd = outageStart + duration * 1000;
    sts.injectFault({ kind: "outage" });
    let faulted = true;
    const startCalls = sts.calls.AssumeRole;
    const perMinute: number[] = [];
    let errorsBefore = 0, errorsMargin = 0, errorsAfter = 0;
    let callers = 0, attempts = 0;
    let recovery: number | undefined;
    for (let second = 0; second < duration + after; second++) {
      const now = clock.now();
      if (faulted && now >= outageEnd) {
        sts.clearFaults();
        faulted = false;
        attempts = sts.calls.AssumeRole - startCalls;
      }
      const before = sts.calls.AssumeRole;
      const results = await Promise.allSettled(
        Array.from({ length: perSecond }, () => contender.get()),
      );
      await contender.handler.settle();
      const minute = Math.floor(second / 60);
      perMinute[minute] = (perMinute[minute] ?? 0) + sts.calls.AssumeRole -
        before;
      callers += results.length;
      for (const r of results) {
        if (r.status === "rejected") {
          if (now < expiresAt - 10_000) errorsBefore++;
          else if (now < expiresAt) errorsMargin++;
          else errorsAfter++;
        } else if (
          !faulted && recovery === undefined &&
          r.value.accessKeyId !== first.accessKeyId
        ) {
          recovery = (now - outageEnd) / 1000;
        }
      }
      if (recovery !== undefined && second >= duration + 5) break;
      clock.advance(1000);
    }
    if (faulted) attempts = sts.calls.AssumeRole - startCalls;
    return {
      contender: name,
      attemptsPerMinute: perMinute.slice(0, Math.ceil(duration / 60)),
      attempts,
      errorsBeforeExpiry: errorsBefore,
      errorsInMargin: errorsMargin,
      errorsAfterExpiry: errorsAfter,
      callers,
      recoverySeconds: recovery,
    };
  } finally {
    sts.clearFaults();
    await contender.close();
  }
}

/** One row of the invalidation storm. */
export interface StormRow extends BurstResult {
  /** Contender. */
  contender: ContenderName;
  /** How the invalidations arrive. */
  arrival: "same tick" | "spread over 500 ms";
  /** Callers. */
  n: number;
}

/**
 * `n` callers each got ExpiredToken for the key they hold: each invalidates
 * that key and asks for credentials again. Arrival: all in the same tick, or
 * spread over 500 ms (two per millisecond), as replies of in-flight requests
 * come back.
 *
 * - `ours`: `session.invalidate(key)` then `credentialProvider()`.
 * - `sdk-memoized`: its only lever, `provider({ forceRefresh: true })`.
 * - `naive`: a new AssumeRole per caller anyway.
 *
 * @param sts The local STS.
 * @param name Contender.
 * @param n Callers.
 * @param spread Whether arrivals are spread over 500 ms.
 * @returns The row.
 */
export async function runStorm(
  sts: LocalSts,
  name: "ours" | "sdk-memoized" | "naive",
  n: number,
  spread: boolean,
): Promise<StormRow> {
  sts.clearFaults();
  sts.credentialLifetimeSeconds = undefined;
  const contender = createContender(name, sts);
  try {
    const held = await contender.get();
    await contender.handler.settle();
    collectGarbage();
    const before = sts.calls.AssumeRole;
    const one = (): Promise<Creds> => {
      if (name === "ours") {
        contender.session!.invalidate(held.accessKeyId);
        return contender.get();
      }
      return contender.get({ forceRefresh: true });
    };
    const r = await burst(
      n,
      () => one(),
      spread ? (i) => sleep(Math.floor(i / 2)) : undefined,
    );
    await contender.handler.settle();
    return {
      contender: name,
      arrival: spread ? "spread over 500 ms" : "same tick",
      n,
      stsCalls: sts.calls.AssumeRole - before,
      ...r,
      // With spread arrivals "waited" (vs the first macrotask) is not meaningful.
      waited: spread ? NaN : r.waited,
    };
  } finally {
    await contender.close();
  }
}

/** Result of the fleet-jitter scenario. */
export interface FleetResult {
  /** Sessions. */
  sessions: number;
  /** Per contender: seconds before expiry at which each session started its refresh. */
  refreshAt: Record<"ours" | "sdk-memoized", number[]>;
}

/**
 * `sessions` sessions start together (same credential expiry) and are asked
 * for credentials every simulated second (1 s steps around the refresh
 * points, 10 s elsewhere); the simulated time at which each one calls its
 * provider again is its refresh time.
 *
 * - `ours`: real `CustomRefreshableSession`s (the same engine) with a function
 *   provider and an injected clock; default 900 s / 600 s windows.
 * - `sdk-memoized`: the SDK's `memoizeIdentityProvider` with its 5-min rule on
 *   the simulated clock.
 *
 * @param sessions How many.
 * @returns Refresh offsets.
 */
export async function runFleet(sessions: number): Promise<FleetResult> {
  const T0 = Date.UTC(2030, 0, 1);
  let t = 0;
  const clock: Clock = { now: () => T0 + t, monotonic: () => t };
  const lifetimeMs = 3600_000;
  const expiry = T0 + lifetimeMs;
  const schedule: number[] = [];
  for (
    let s = -1200;
    s <= -250;
    s += (s >= -1000 && s < -880) || (s >= -310 && s < -290) ? 1 : 10
  ) {
    schedule.push(s);
  }
  const refreshAt: FleetResult["refreshAt"] = { ours: [], "sdk-memoized": [] };
  const fresh = (i: number): Creds & { expiration: Date } => ({
    accessKeyId: `ASIAFLEET${i}`,
    secretAccessKey: "fleet-secret",
    sessionToken: "fleet-token",
    expiration: new Date(expiry),
  });
  for (const name of ["ours", "sdk-memoized"] as const) {
    t = 0;
    const gets: (() => Promise<unknown>)[] = [];
    const sessionsToClose: CustomRefreshableSession[] = [];
    const firstRefresh: (number | undefined)[] = new Array(sessions);
    for (let i = 0; i < sessions; i++) {
      let calls = 0;
      const provider = (): Promise<Creds & { expiration: Date }> => {
        calls++;
        if (calls === 2) firstRefresh[i] = (clock.now() - expiry) / 1000;
        return Promise.resolve(fresh(i));
      };
      if (name === "ours") {
        const session = new CustomRefreshableSession({ provider, clock });
        sessionsToClose.push(session);
        const p = session.credentialProvider;
        gets.push(() => p());
      } else {
        const memo = memoizeIdentityProvider(
          provider,
          sdkRuleOn(clock) as (i: unknown) => boolean,
          doesIdentityRequireRefresh,
        )!;
        gets.push(() => memo());
      }
    }
    await Promise.all(gets.map((g) => g()));
    for (const s of schedule) {
      t = expiry + s * 1000 - T0;
      const due: Promise<unknown>[] = [];
      for (let i = 0; i < sessions; i++) {
        if (firstRefresh[i] === undefined) due.push(gets[i]!());
      }
      if (due.length === 0) break;
      await Promise.all(due);
      await macrotask();
    }
    refreshAt[name] = firstRefresh.map((v) => v ?? NaN);
    await Promise.all(sessionsToClose.map((s) => s.close()));
  }
  return { sessions, refreshAt };
}

export type { Contender };
