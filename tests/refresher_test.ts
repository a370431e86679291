import {
  assert,
  assertEquals,
  assertNotStrictEquals,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import {
  _ADVISORY_BACKOFF_MS,
  type _FetchResult,
  _MAX_BACKOFF_MS,
  _Refresher,
  type _RefresherEvent,
  type _RefresherOptions,
} from "../src/engine/_refresher.ts";
import {
  BRSConfigurationError,
  BRSError,
  BRSRefreshError,
} from "../src/errors.ts";

const EPOCH = Date.UTC(2030, 0, 1);
const MIN = 60_000;

/** A fake clock: wall = EPOCH + offset + t, monotonic = t. */
class FakeClock {
  t = 1_000;
  wallOffset = 0;
  now = (): number => EPOCH + this.wallOffset + this.t;
  monotonic = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A fetch whose every call is counted and answered by the test. */
class FakeSource {
  calls = 0;
  pending: Deferred<_FetchResult>[] = [];
  /** When set, calls resolve at once with credentials living this long (ms, server time). */
  autoLifetime: number | undefined;
  autoError: unknown;
  constructor(readonly clock: FakeClock) {}
  fetch = (_signal: AbortSignal): Promise<_FetchResult> => {
    this.calls++;
    if (this.autoError !== undefined) return Promise.reject(this.autoError);
    if (this.autoLifetime !== undefined) {
      return Promise.resolve(this.result(this.autoLifetime));
    }
    const d = deferred<_FetchResult>();
    this.pending.push(d);
    return d.promise;
  };
  result(lifetimeMs: number, serverNow = this.clock.now()): _FetchResult {
    return {
      credentials: {
        accessKeyId: `ASIAKEY${this.calls}`,
        secretAccessKey: `secret-${this.calls}`,
        sessionToken: `token-${this.calls}`,
        expiration: new Date(serverNow + lifetimeMs),
      },
      serverDate: new Date(serverNow),
    };
  }
  resolveNext(lifetimeMs: number): void {
    const d = this.pending.shift();
    if (d === undefined) throw new Error("no pending fetch");
    d.resolve(this.result(lifetimeMs));
  }
  rejectNext(error: unknown): void {
    const d = this.pending.shift();
    if (d === undefined) throw new Error("no pending fetch");
    d.reject(error);
  }
}

function setup(
  options: Partial<_RefresherOptions> = {},
): {
  clock: FakeClock;
  source: FakeSource;
  events: _RefresherEvent[];
  refresher: _Refresher;
} {
  const clock = new FakeClock();
  const source = new FakeSource(clock);
  const events: _RefresherEvent[] = [];
  const refresher = new _Refresher({
    fetch: (signal) => source.fetch(signal),
    advisoryTimeout: 900,
    mandatoryTimeout: 600,
    clock,
    random: () => 0,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { clock, source, events, refresher };
}

function throttling(): Error {
  const e = new Error("Rate exceeded");
  e.name = "Throttling";
  return e;
}

function accessDenied(): Error {
  const e = new Error("User is not authorized to perform: sts:AssumeRole");
  e.name = "AccessDenied";
  return e;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

Deno.test("_Refresher fast path returns the same pre-resolved promise without fetching", async () => {
  const { source, refresher } = setup();
  source.autoLifetime = 60 * MIN;
  const first = await refresher.get();
  const p1 = refresher.get();
  const p2 = refresher.get();
  assertStrictEquals(p1, p2);
  assertStrictEquals(await p1, first);
  assertEquals(source.calls, 1);
});

Deno.test("_Refresher makes one fetch for 10 000 cold concurrent callers", async () => {
  const { source, refresher } = setup();
  const all = Array.from({ length: 10_000 }, () => refresher.get());
  await settle();
  assertEquals(source.calls, 1);
  source.resolveNext(60 * MIN);
  const results = await Promise.all(all);
  assert(results.every((r) => r === results[0]));
  assertEquals(results[0]!.accessKeyId, "ASIAKEY1");
});

Deno.test("_Refresher advisory window: 10 000 callers get current credentials at once, one background fetch", async () => {
  const { clock, source, refresher } = setup();
  source.autoLifetime = 60 * MIN;
  const old = await refresher.get();
  source.autoLifetime = undefined;
  clock.advance(60 * MIN - 14 * MIN); // 14 min left: advisory (15) but not mandatory (10)
  let resolved = 0;
  const all = Array.from(
    { length: 10_000 },
    () => refresher.get().then((c) => (resolved++, c)),
  );
  const results = await Promise.all(all); // resolves while the fetch is still pending
  assertEquals(resolved, 10_000);
  assert(results.every((r) => r === old));
  assert(refresher.refreshing);
  // The fetch starts on a macrotask, after every caller got its credentials.
  assertEquals(source.calls, 1);
  await settle();
  assertEquals(source.calls, 2);
  source.resolveNext(60 * MIN);
  await settle();
  assertEquals((await refresher.get()).accessKeyId, "ASIAKEY2");
  assertNotStrictEquals(await refresher.get(), old);
  assertEquals(source.calls, 2);
});

Deno.test("_Refresher mandatory window: 10 000 callers wait for one fetch and all get new credentials", async () => {
  const { clock, source, refresher } = setup();
  source.autoLifetime = 60 * MIN;
  const old = await refresher.get();
  source.autoLifetime = undefined;
  clock.advance(55 * MIN); // 5 min left
  const all = Array.from({ length: 10_000 }, () => refresher.get());
  await settle();
  assertEquals(source.calls, 2);
  source.resolveNext(60 * MIN);
  const results = await Promise.all(all);
  assert(results.every((r) => r === results[0] && r !== old));
  assertEquals(source.calls, 2);
});

Deno.test("_Refresher scales windows for 900 s credentials, warns once, and never refreshes on every call", async () => {
  const { clock, source, refresher, events } = setup();
  source.autoLifetime = 900_000;
  await refresher.get();
  const warnings = events.filter((e) => e.type === "warning");
  assertEquals(warnings.length, 1);
  assertEquals(
    warnings[0]!.type === "warning" && warnings[0]!.code,
    "WindowsScaled",
  );
  const { advisoryAt, mandatoryAt } = refresher.deadlines;
  assert(advisoryAt - 1_000 >= 450_000, `advisory at ${advisoryAt}`);
  assert(mandatoryAt > advisoryAt - 1 || mandatoryAt <= advisoryAt);
  for (let i = 0; i < 10_000; i++) await refresher.get();
  assertEquals(source.calls, 1);
  // Through a whole lifetime in 1 s steps: a handful of refreshes, not one per call.
  for (let i = 0; i < 900; i++) {
    clock.advance(1_000);
    for (let j = 0; j < 10; j++) await refresher.get();
  }
  assert(source.calls <= 3, `calls: ${source.calls}`);
  assertEquals(events.filter((e) => e.type === "warning").length, 1);
});

Deno.test("_Refresher jitter moves the advisory point earlier by 0-10 % of the advisory window", async () => {
  for (const r of [0, 0.5, 0.999]) {
    const { source, refresher } = setup({ random: () => r });
    source.autoLifetime = 60 * MIN;
    await refresher.get();
    const expiresAt = 1_000 + 60 * MIN;
    const { advisoryAt } = refresher.deadlines;
    const earlier = expiresAt - 15 * MIN - advisoryAt;
    assert(earlier >= 0 && earlier <= 0.1 * 15 * MIN, `earlier ${earlier}`);
    assert(Math.abs(earlier - r * 0.1 * 15 * MIN) < 1);
  }
});

Deno.test("_Refresher deadlines do not move with a local clock off by ±10 minutes", async () => {
  const deadlines = [];
  for (const skew of [-10 * MIN, 0, 10 * MIN]) {
    const clock = new FakeClock();
    const source = new FakeSource(clock);
    clock.wallOffset = skew; // local clock wrong
    // The server's clock is right: Date header and Expiration agree with it.
    const serverNow = EPOCH + clock.t;
    const refresher = new _Refresher({
      fetch: () => Promise.resolve(source.result(60 * MIN, serverNow)),
      advisoryTimeout: 900,
      mandatoryTimeout: 600,
      clock,
      random: () => 0,
    });
    await refresher.get();
    deadlines.push(refresher.deadlines);
  }
  assertEquals(deadlines[0], deadlines[1]);
  assertEquals(deadlines[2], deadlines[1]);
});

Deno.test("_Refresher counts credentials expired on arrival as a failure", async () => {
  const { source, refresher, events } = setup();
  source.autoLifetime = -1_000;
  const error = await assertRejects(() => refresher.get(), BRSRefreshError);
  assertEquals(error.code, "ExpiredOnArrival");
  assert(error.retryAt instanceof Date);
  assertEquals(refresher.current, undefined);
  assertEquals(events.filter((e) => e.type === "refresh-error").length, 1);
});

Deno.test("_Refresher advisory failure keeps credentials and backs off 5-10 min, never past the mandatory point", async () => {
  const { clock, source, refresher, events } = setup({ random: () => 0.5 });
  source.autoLifetime = 60 * MIN;
  const old = await refresher.get();
  source.autoLifetime = undefined;
  source.autoError = throttling();
  clock.advance(60 * MIN - 14.5 * MIN); // 14.5 min left
  assertStrictEquals(await refresher.get(), old);
  await settle();
  assertEquals(source.calls, 2);
  const errors = events.filter((e) => e.type === "refresh-error");
  assertEquals(errors.length, 1);
  // Backoff would be 7.5 min, but the mandatory point is 4.5 min away.
  assertEquals(refresher.deadlines.retryAt, refresher.deadlines.mandatoryAt);
  for (let i = 0; i < 100; i++) {
    clock.advance(2_000);
    assertStrictEquals(await refresher.get(), old);
  }
  assertEquals(source.calls, 2);

  // Long advisory window: backoff of 5-10 min.
  const s2 = setup({
    random: () => 0,
    advisoryTimeout: 50 * 60,
    mandatoryTimeout: 60,
  });
  s2.source.autoLifetime = 120 * MIN;
  await s2.refresher.get();
  s2.source.autoLifetime = undefined;
  s2.source.autoError = throttling();
  s2.clock.advance(75 * MIN);
  await s2.refresher.get();
  await settle();
  assertEquals(s2.source.calls, 2);
  assertEquals(
    s2.refresher.deadlines.retryAt - s2.clock.t,
    _ADVISORY_BACKOFF_MS,
  );
  s2.clock.advance(_ADVISORY_BACKOFF_MS - 1);
  await s2.refresher.get();
  assertEquals(s2.source.calls, 2);
  s2.clock.advance(1);
  await s2.refresher.get();
  await settle();
  assertEquals(s2.source.calls, 3);
});

Deno.test("_Refresher mandatory failure gives current credentials, one attempt at a time with exponential backoff", async () => {
  const { clock, source, refresher, events } = setup({ random: () => 0.999 });
  source.autoLifetime = 60 * MIN;
  const old = await refresher.get();
  source.autoLifetime = undefined;
  clock.advance(55 * MIN); // mandatory window, 5 min left
  const waiting = Array.from({ length: 1000 }, () => refresher.get());
  await settle();
  assertEquals(source.calls, 2);
  source.rejectNext(throttling());
  const results = await Promise.all(waiting);
  assert(results.every((r) => r === old));
  assertEquals(events.filter((e) => e.type === "refresh-error").length, 1);
  // Within the backoff: current credentials at once, no fetch.
  assertStrictEquals(await refresher.get(), old);
  assertEquals(source.calls, 2);
  // Advance second by second for 4 min: attempts grow 1,2,4,...,60 s apart.
  source.autoError = throttling();
  for (let i = 0; i < 240; i++) {
    clock.advance(1_000);
    assertStrictEquals(await refresher.get(), old);
    await settle();
  }
  // Without backoff this would be 240 attempts; with it about 10.
  assert(source.calls >= 6 && source.calls <= 14, `calls: ${source.calls}`);
  const gap = refresher.deadlines.retryAt - clock.t;
  assert(gap <= _MAX_BACKOFF_MS, `gap ${gap}`);
});

Deno.test("_Refresher once expired rejects with BRSRefreshError at once until retryAt, then recovers", async () => {
  const { clock, source, refresher } = setup({ random: () => 0 });
  source.autoLifetime = 60 * MIN;
  await refresher.get();
  source.autoLifetime = undefined;
  source.autoError = throttling();
  clock.advance(61 * MIN); // expired
  const first = await assertRejects(() => refresher.get(), BRSRefreshError);
  assertEquals(first.code, "Throttling");
  assertEquals((first.cause as Error).name, "Throttling");
  assert(first.retryAt instanceof Date);
  assertEquals(source.calls, 2);
  // Callers get the same error at once, no new fetch, until retryAt.
  const many = await Promise.allSettled(
    Array.from({ length: 1000 }, () => refresher.get()),
  );
  assert(many.every((r) => r.status === "rejected" && r.reason === first));
  assertEquals(source.calls, 2);
  clock.advance(first.retryAt!.getTime() - clock.now());
  source.autoError = undefined;
  source.autoLifetime = 60 * MIN;
  const fresh = await Promise.all(
    Array.from({ length: 1000 }, () => refresher.get()),
  );
  assertEquals(source.calls, 3);
  assert(fresh.every((c) => c.accessKeyId === "ASIAKEY3"));
});

Deno.test("_Refresher bounds attempts while expired and STS stays down", async () => {
  const { clock, source, refresher } = setup({ random: () => 0.5 });
  source.autoError = throttling();
  for (let i = 0; i < 600; i++) {
    await refresher.get().catch(() => {});
    clock.advance(1_000);
  }
  // 10 min of one call per second: backoff keeps attempts to about a dozen.
  assert(source.calls >= 8 && source.calls <= 20, `calls: ${source.calls}`);
});

Deno.test("_Refresher gives non-recoverable errors at once and holds off for 1 s", async () => {
  const { clock, source, refresher } = setup();
  source.autoError = accessDenied();
  const error = await assertRejects(() => refresher.get(), BRSRefreshError);
  assertEquals(error.code, "AccessDenied");
  assertEquals(error.details.recoverable, false);
  await assertRejects(() => refresher.get(), BRSRefreshError);
  assertEquals(source.calls, 1);
  clock.advance(1_000);
  await assertRejects(() => refresher.get(), BRSRefreshError);
  assertEquals(source.calls, 2);
  // A configuration error passes through as it is.
  source.autoError = new BRSConfigurationError("Cannot run MFA command 'x'");
  clock.advance(1_000);
  await assertRejects(() => refresher.get(), BRSConfigurationError);
  // A forced refresh ignores the hold-off.
  source.autoError = undefined;
  source.autoLifetime = 60 * MIN;
  assertEquals(
    (await refresher.refresh({ force: true })).accessKeyId,
    "ASIAKEY4",
  );
});

Deno.test("_Refresher refresh({ force }) fetches once for concurrent calls and rejects on failure while credentials stay", async () => {
  const { source, refresher } = setup();
  source.autoLifetime = 60 * MIN;
  const old = await refresher.get();
  source.autoLifetime = undefined;
  const forced = Array.from(
    { length: 100 },
    () => refresher.refresh({ force: true }),
  );
  await settle();
  assertEquals(source.calls, 2);
  source.rejectNext(throttling());
  const settled = await Promise.allSettled(forced);
  assert(settled.every((r) => r.status === "rejected"));
  assertStrictEquals(await refresher.get(), old);
  assertStrictEquals(await refresher.refresh(), old);
});

Deno.test("_Refresher invalidate storm of 1000 makes one refresh and only for the current key", async () => {
  const { source, refresher } = setup();
  source.autoLifetime = 60 * MIN;
  const old = await refresher.get();
  source.autoLifetime = undefined;
  const results = Array.from(
    { length: 1000 },
    () => refresher.invalidate(old.accessKeyId),
  );
  assertEquals(results.filter(Boolean).length, 1);
  const waiting = Array.from({ length: 1000 }, () => refresher.get());
  await settle();
  assertEquals(source.calls, 2);
  source.resolveNext(60 * MIN);
  const fresh = await Promise.all(waiting);
  assert(fresh.every((c) => c.accessKeyId === "ASIAKEY2"));
  assertEquals(refresher.invalidate(old.accessKeyId), false);
  assertEquals(refresher.invalidate("ASIAOTHER"), false);
  assertEquals(source.calls, 2);
});

Deno.test("_Refresher aborts an attempt that takes too long", async () => {
  const { refresher, source } = setup({ attemptTimeout: 0.05 });
  let signalSeen: AbortSignal | undefined;
  source.fetch = (signal) => {
    source.calls++;
    signalSeen = signal;
    return new Promise(() => {});
  };
  const error = await assertRejects(() => refresher.get(), BRSRefreshError);
  assertEquals(error.code, "RefreshTimeout");
  assert(signalSeen?.aborted);
});

Deno.test("_Refresher in background mode fetches at once, schedules an unref'd timer and close() clears it", async () => {
  const { source, refresher } = setup({ background: true });
  source.autoLifetime = undefined;
  await settle();
  assertEquals(source.calls, 1);
  source.resolveNext(60 * MIN);
  await settle();
  assert(refresher.timerScheduled);
  refresher.close();
  refresher.close();
  assert(!refresher.timerScheduled);
  const error = await assertRejects(() => refresher.get(), BRSError);
  assertEquals(error.code, "SessionClosed");
});

Deno.test("_Refresher in background mode refreshes when its timer fires", async () => {
  // Real clock and short-lived credentials, so the real timer fires.
  const clock = { now: () => Date.now(), monotonic: () => performance.now() };
  let calls = 0;
  const refreshed = deferred<void>();
  const refresher = new _Refresher({
    fetch: () => {
      calls++;
      return Promise.resolve({
        credentials: {
          accessKeyId: `ASIABG${calls}`,
          secretAccessKey: "s",
          expiration: new Date(Date.now() + 400),
        },
      });
    },
    advisoryTimeout: 0.1,
    mandatoryTimeout: 0.05,
    clock,
    background: true,
    onEvent: (e) => {
      if (e.type === "refresh" && calls === 2) refreshed.resolve();
    },
  });
  // The refresher's timer is unref'd: keep the test's event loop alive meanwhile.
  const keepAlive = setInterval(() => {}, 1_000);
  await refreshed.promise;
  clearInterval(keepAlive);
  assertEquals((await refresher.get()).accessKeyId, "ASIABG2");
  assert(refresher.timerScheduled);
  refresher.close();
  assert(!refresher.timerScheduled);
});

/** A fetch on the real clock: credentials living `lifetimeMs` from now. */
function realClockRefresher(lifetimeMs: number): {
  refresher: _Refresher;
  calls: () => number;
} {
  let calls = 0;
  const refresher = new _Refresher({
    fetch: () => {
      calls++;
      const now = Date.now();
      return Promise.resolve({
        credentials: {
          accessKeyId: `ASIAREAL${calls}`,
          secretAccessKey: `secret-${calls}`,
          sessionToken: `token-${calls}`,
          expiration: new Date(now + lifetimeMs),
        },
        serverDate: new Date(now),
      });
    },
    advisoryTimeout: 900,
    mandatoryTimeout: 600,
    clock: { now: () => Date.now(), monotonic: () => performance.now() },
    random: () => 0,
    timerFreshness: true,
  });
  return { refresher, calls: () => calls };
}

Deno.test("_Refresher with timerFreshness leaves the fast path when its unref'd timer reaches the advisory point, and close() clears the timer", async () => {
  // 400 ms credentials: windows scaled, advisory point at half the lifetime.
  const { refresher, calls } = realClockRefresher(400);
  const first = await refresher.get();
  assertEquals(calls(), 1);
  const { advisoryAt, freshUntil } = refresher.deadlines;
  assertEquals(freshUntil, advisoryAt);
  assertStrictEquals(await refresher.get(), first);
  assertEquals(calls(), 1);
  // Wait (on the event loop, so the timer can fire) until past the advisory point.
  while (performance.now() < advisoryAt + 5) {
    await new Promise((r) => setTimeout(r, advisoryAt + 5 - performance.now()));
  }
  assertStrictEquals(await refresher.get(), first); // advisory: current ones
  await settle();
  assertEquals(calls(), 2);
  assertNotStrictEquals(await refresher.get(), first);
  refresher.close();
  await assertRejects(() => refresher.get(), BRSError);
});

Deno.test("_Refresher with timerFreshness still reads the clock now and then, so a blocked event loop cannot keep stale credentials on the fast path", async () => {
  const { refresher, calls } = realClockRefresher(400);
  const first = await refresher.get();
  const { advisoryAt } = refresher.deadlines;
  // Block the event loop past the advisory point: the timer cannot fire.
  while (performance.now() < advisoryAt + 5) {
    // busy wait
  }
  let current = 0;
  for (let i = 0; i < 1024; i++) {
    if ((await refresher.get()) === first) current++;
  }
  assertEquals(current, 1024); // advisory window: every caller keeps the current ones
  assert(refresher.refreshing); // one of those calls read the clock and started it
  assertEquals(calls(), 1); // on a macrotask, after the callers
  await settle();
  assertEquals(calls(), 2);
  refresher.close();
});
