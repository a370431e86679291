/**
 * Soak run of the refresh engine: a session with an
 * injected clock goes through many refresh cycles with random credential
 * source faults and many concurrent callers per cycle, and reports memory,
 * open file descriptors, fetch calls per refresh and any caller-visible error
 * while the credentials were still valid.
 *
 * ```sh
 * deno task soak                       # 100 000 cycles x 1 000 callers + an STS subset
 * deno task soak --cycles 2000 --json  # shorter, machine-readable
 * ```
 *
 * `tests/soak_test.ts` runs a short version in CI through {@linkcode runSoak}.
 *
 * @module
 */

import {
  BRSError,
  CustomRefreshableSession,
  STSRefreshableSession,
} from "../mod.ts";
import { startLocalSts } from "../src/testing/mod.ts";
import { setImmediate } from "node:timers";

/** Options of {@linkcode runSoak}. */
export interface SoakOptions {
  /** Refresh cycles. @default {100000} */
  cycles?: number;
  /** Concurrent callers per cycle. @default {1000} */
  callers?: number;
  /** Probability that one fetch fails. @default {0.2} */
  faultRate?: number;
  /** Credential lifetime in seconds. @default {3600} */
  lifetimeSeconds?: number;
  /** Cycles between memory samples. @default {1000} */
  sampleEvery?: number;
  /** Seed of the fault and phase choices. @default {1} */
  seed?: number;
  /** Called after each sample (for progress output). */
  onSample?: (sample: SoakSample) => void;
}

/** One memory sample. */
export interface SoakSample {
  /** Cycles done. */
  cycle: number;
  /** Resident set size, bytes. */
  rss: number;
  /** V8 heap used, bytes. */
  heapUsed: number;
}

/** What a soak run found. */
export interface SoakReport {
  /** Cycles run. */
  cycles: number;
  /** Callers per cycle. */
  callers: number;
  /** Total caller requests. */
  requests: number;
  /** Fetch calls (the STS stand-in). */
  fetchCalls: number;
  /** Fetches that returned good credentials. */
  refreshes: number;
  /** Fetches that failed on purpose, by kind. */
  faults: Record<string, number>;
  /** The most fetch calls one cycle (all its callers together) caused. */
  maxFetchCallsPerCycle: number;
  /** Fetch calls per successful refresh (1 without faults; failures add retries). */
  fetchCallsPerRefresh: number;
  /** Caller-visible errors while the current credentials were still valid: the target is 0. */
  errorsWhileValid: number;
  /** Caller-visible errors once the credentials had expired (allowed: typed BRSRefreshError). */
  errorsAfterExpiry: number;
  /** Errors that were not a BRSError (the documented error classes). */
  untypedErrors: number;
  /** The first such error, for the report. */
  untypedExample?: string;
  /** Expired credentials handed to a caller: the target is 0. */
  expiredHandedOut: number;
  /** Memory samples. */
  samples: SoakSample[];
  /** Wall-clock seconds. */
  seconds: number;
}

/** A small, seeded PRNG (mulberry32): the same seed gives the same run. */
function _prng(seed: number): () => number {
  let a = seed >>> 0;
  return function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function _gc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === "function") gc();
}

function _sample(cycle: number): SoakSample {
  _gc();
  const m = Deno.memoryUsage();
  return { cycle, rss: m.rss, heapUsed: m.heapUsed };
}

const _FAULTS = [
  "throttle",
  "network",
  "server-error",
  "expired-on-arrival",
  "malformed",
  "access-denied",
] as const;

function _fault(kind: typeof _FAULTS[number], now: number): unknown {
  switch (kind) {
    case "throttle":
      return Object.assign(new Error("Rate exceeded"), { name: "Throttling" });
    case "network":
      return Object.assign(new Error("socket hang up"), {
        name: "TimeoutError",
        code: "ECONNRESET",
      });
    case "server-error":
      return Object.assign(new Error("We encountered an internal error"), {
        name: "InternalFailure",
        $metadata: { httpStatusCode: 500 },
      });
    case "expired-on-arrival":
      return {
        accessKey: "ASIASOAKEXPIRED",
        secretKey: "soak-secret-expired",
        token: "soak-token",
        expiryTime: new Date(now - 60_000).toISOString(),
      };
    case "malformed":
      return {
        accessKey: "ASIASOAK",
        secretKey: "",
        token: "t",
        expiryTime: "soon",
      };
    case "access-denied":
      return Object.assign(
        new Error("User is not authorized to perform: sts:AssumeRole"),
        {
          name: "AccessDenied",
        },
      );
  }
}

/**
 * Runs the soak with a `CustomRefreshableSession` whose provider fails at
 * random, on a virtual clock.
 *
 * @param options Sizes, fault rate, seed.
 * @returns The figures.
 */
export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const cycles = options.cycles ?? 100_000;
  const callers = options.callers ?? 1_000;
  const faultRate = options.faultRate ?? 0.2;
  const lifetimeMs = (options.lifetimeSeconds ?? 3600) * 1000;
  const sampleEvery = options.sampleEvery ?? 1_000;
  const random = _prng(options.seed ?? 1);
  const started = performance.now();

  // Virtual time, only ever moved forward by the soak.
  const epoch = Date.UTC(2030, 0, 1);
  let virtual = 0;
  const clock = { now: () => epoch + virtual, monotonic: () => virtual };

  let fetchCalls = 0;
  let refreshes = 0;
  const faults: Record<string, number> = {};
  let validUntil = -Infinity; // virtual ms until which the current credentials are usable
  let issued = 0;

  const report: SoakReport = {
    cycles,
    callers,
    requests: 0,
    fetchCalls: 0,
    refreshes: 0,
    faults,
    maxFetchCallsPerCycle: 0,
    fetchCallsPerRefresh: 0,
    errorsWhileValid: 0,
    errorsAfterExpiry: 0,
    untypedErrors: 0,
    expiredHandedOut: 0,
    samples: [],
    seconds: 0,
  };

  let pendingUntil = -Infinity;
  await using session = new CustomRefreshableSession({
    clock,
    provider: async () => {
      fetchCalls++;
      await Promise.resolve(); // settle later, like a network call
      if (random() < faultRate) {
        const kind = _FAULTS[Math.floor(random() * _FAULTS.length)]!;
        faults[kind] = (faults[kind] ?? 0) + 1;
        const fault = _fault(kind, clock.now());
        if (fault instanceof Error) throw fault;
        return fault as never;
      }
      refreshes++;
      issued++;
      pendingUntil = virtual + lifetimeMs - 10_000;
      return {
        accessKey: `ASIASOAK${issued}`,
        secretKey: `soak-secret-${issued}`,
        token: `soak-token-${issued}`,
        expiryTime: new Date(clock.now() + lifetimeMs).toISOString(),
      };
    },
  });
  session.addEventListener("refresh", () => {
    validUntil = pendingUntil;
  });

  report.samples.push(_sample(0));
  const results: Promise<unknown>[] = new Array(callers);
  for (let cycle = 1; cycle <= cycles; cycle++) {
    // Pick a point: advisory window, mandatory window, or past expiry.
    const phase = random();
    const expiry = validUntil + 10_000;
    let remaining: number;
    if (phase < 0.4) remaining = 600_000 + random() * 300_000;
    else if (phase < 0.85) remaining = 11_000 + random() * 589_000;
    else remaining = -random() * 120_000;
    const target = Number.isFinite(expiry) ? expiry - remaining : virtual + 1;
    // Forward only; after failures, also step past the backoff now and then.
    virtual = Math.max(
      virtual + 1,
      target,
      virtual + (random() < 0.3 ? 61_000 : 0),
    );
    const before = fetchCalls;
    const validAtStart = virtual < validUntil;
    for (let i = 0; i < callers; i++) results[i] = session.credentialProvider();
    const settled = await Promise.allSettled(results);
    for (const s of settled) {
      if (s.status === "fulfilled") {
        const c = s.value as { expiration?: Date };
        if (
          !(c.expiration instanceof Date) ||
          c.expiration.getTime() <= clock.now()
        ) {
          report.expiredHandedOut++;
        }
      } else {
        if (!(s.reason instanceof BRSError)) {
          report.untypedErrors++;
          report.untypedExample ??= Deno.inspect(s.reason).slice(0, 300);
        }
        if (validAtStart) report.errorsWhileValid++;
        else report.errorsAfterExpiry++;
      }
    }
    // Let a background (advisory) refresh finish before the next cycle: it
    // starts on a macrotask (setImmediate), after the callers.
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 4; i++) await Promise.resolve();
    report.maxFetchCallsPerCycle = Math.max(
      report.maxFetchCallsPerCycle,
      fetchCalls - before,
    );
    report.requests += callers;
    if (cycle % sampleEvery === 0) {
      const sample = _sample(cycle);
      report.samples.push(sample);
      options.onSample?.(sample);
    }
  }
  report.fetchCalls = fetchCalls;
  report.refreshes = refreshes;
  report.fetchCallsPerRefresh = refreshes === 0
    ? Infinity
    : fetchCalls / refreshes;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

/** What the STS subset found. */
export interface StsSoakReport {
  /** Refresh cycles. */
  cycles: number;
  /** Callers per cycle. */
  callers: number;
  /** AssumeRole calls that reached the local STS. */
  assumeRoleCalls: number;
  /** Successful refreshes. */
  refreshes: number;
  /** Faults injected. */
  faults: number;
  /** The most AssumeRole calls in one cycle. */
  maxCallsPerCycle: number;
  /** Caller errors while the credentials were valid (target 0). */
  errorsWhileValid: number;
}

/**
 * The subset through the real SDK and the local STS: every cycle moves the
 * virtual clock into the mandatory window, callers ask together, and now and
 * then a fault is injected.
 *
 * @param cycles Refresh cycles.
 * @param callers Concurrent callers per cycle.
 * @param seed Seed of the fault choices.
 * @returns The figures.
 */
export async function runStsSoak(
  cycles: number,
  callers: number,
  seed = 2,
): Promise<StsSoakReport> {
  const random = _prng(seed);
  await using sts = await startLocalSts();
  let virtual = 0;
  const epoch = Date.now();
  const clock = { now: () => epoch + virtual, monotonic: () => virtual };
  await using session = new STSRefreshableSession({
    assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/soak" },
    stsClientConfig: {
      endpoint: sts.url,
      region: "us-east-1",
      credentials: sts.baseCredentials,
      maxAttempts: 1,
    },
    region: "us-east-1",
    clock,
  });
  let refreshes = 0;
  let expiresAt = -Infinity;
  session.addEventListener("refresh", (event) => {
    refreshes++;
    const detail = (event as CustomEvent<{ expiryTime: string }>).detail;
    // The local STS's clock follows the virtual one (see below).
    expiresAt = Date.parse(detail.expiryTime) - epoch;
  });
  // The STS's clock (its Date header and Expiration) follows the session's
  // virtual wall clock, so the two never drift days apart (a Date header a
  // day off is ignored).
  const followVirtualClock = (): void => {
    sts.dateSkewSeconds = (clock.now() - Date.now()) / 1000;
  };
  followVirtualClock();
  const report: StsSoakReport = {
    cycles,
    callers,
    assumeRoleCalls: 0,
    refreshes: 0,
    faults: 0,
    maxCallsPerCycle: 0,
    errorsWhileValid: 0,
  };
  await session.refreshableCredentials();
  const kinds = ["throttle", "server-error", "malformed", "drop"] as const;
  for (let cycle = 0; cycle < cycles; cycle++) {
    // Into the mandatory window (120..590 s left), or past the backoff.
    virtual = Math.max(
      virtual + 61_000,
      expiresAt - (120_000 + random() * 470_000),
    );
    if (random() < 0.2) {
      sts.injectFault({
        kind: kinds[Math.floor(random() * kinds.length)]!,
        times: 1,
      });
      report.faults++;
    }
    followVirtualClock();
    const valid = virtual < expiresAt - 10_000;
    const before = sts.calls.AssumeRole;
    const settled = await Promise.allSettled(
      Array.from({ length: callers }, () => session.credentialProvider()),
    );
    for (const s of settled) {
      if (s.status === "rejected" && valid) report.errorsWhileValid++;
    }
    report.maxCallsPerCycle = Math.max(
      report.maxCallsPerCycle,
      sts.calls.AssumeRole - before,
    );
    sts.clearFaults();
  }
  report.assumeRoleCalls = sts.calls.AssumeRole;
  report.refreshes = refreshes;
  return report;
}

async function _openFds(): Promise<number | undefined> {
  try {
    const { stdout } = await new Deno.Command("ls", {
      args: [`/proc/${Deno.pid}/fd`],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(stdout).trim().split("\n").length;
  } catch {
    return undefined;
  }
}

function _mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

if (import.meta.main) {
  const args = Deno.args;
  const arg = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? fallback : Number(args[i + 1]);
  };
  const cycles = arg("cycles", 100_000);
  const callers = arg("callers", 1_000);
  const stsCycles = arg("sts-cycles", 2_000);
  const json = args.includes("--json");
  const fdsBefore = await _openFds();
  if (!json) {
    console.log(`soak: ${cycles} cycles x ${callers} callers, 20 % faults`);
  }
  const report = await runSoak({
    cycles,
    callers,
    sampleEvery: Math.max(1, Math.floor(cycles / 20)),
    onSample: json ? undefined : (s) =>
      console.log(
        `  cycle ${s.cycle}: rss ${_mib(s.rss)}, heap ${_mib(s.heapUsed)}`,
      ),
  });
  const sts = await runStsSoak(stsCycles, 100);
  const fdsAfter = await _openFds();
  const first = report.samples[1] ?? report.samples[0]!;
  const last = report.samples.at(-1)!;
  const summary = {
    ...report,
    samples: undefined,
    rssStart: first.rss,
    rssEnd: last.rss,
    rssMax: Math.max(...report.samples.map((s) => s.rss)),
    heapStart: first.heapUsed,
    heapEnd: last.heapUsed,
    openFdsBefore: fdsBefore,
    openFdsAfter: fdsAfter,
    sts,
  };
  if (json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(
      `requests: ${report.requests}, fetch calls: ${report.fetchCalls}, refreshes: ${report.refreshes}`,
    );
    console.log(`faults injected: ${JSON.stringify(report.faults)}`);
    console.log(
      `max fetch calls in one cycle of ${callers} callers: ${report.maxFetchCallsPerCycle}`,
    );
    console.log(
      `fetch calls per successful refresh: ${
        report.fetchCallsPerRefresh.toFixed(3)
      }`,
    );
    console.log(
      `errors while credentials were valid: ${report.errorsWhileValid}`,
    );
    console.log(
      `errors after expiry (typed): ${report.errorsAfterExpiry}, untyped errors: ${report.untypedErrors}`,
    );
    console.log(`expired credentials handed out: ${report.expiredHandedOut}`);
    console.log(
      `rss: ${_mib(summary.rssStart)} -> ${_mib(summary.rssEnd)} (max ${
        _mib(summary.rssMax)
      }), heap: ${_mib(summary.heapStart)} -> ${_mib(summary.heapEnd)}`,
    );
    console.log(`open fds: ${fdsBefore} -> ${fdsAfter}`);
    console.log(
      `STS subset: ${sts.cycles} cycles x ${sts.callers} callers, AssumeRole calls ${sts.assumeRoleCalls}, refreshes ${sts.refreshes}, faults ${sts.faults}, max calls per cycle ${sts.maxCallsPerCycle}, errors while valid ${sts.errorsWhileValid}`,
    );
    console.log(`time: ${report.seconds.toFixed(1)} s`);
  }
}
