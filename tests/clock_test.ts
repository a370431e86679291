// Two clocks: suspend, skew, jumps both ways, bad clocks, bad Date headers.
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStrictEquals,
} from "@std/assert";
import {
  BRSValidationError,
  type Clock,
  CustomRefreshableSession,
  type RefreshEventDetail,
  type RefreshReason,
  STSRefreshableSession,
  type WarningEventDetail,
} from "../mod.ts";
import { startLocalSts } from "../src/testing/mod.ts";
import {
  type _FetchResult,
  _Refresher,
  type _RefresherEvent,
} from "../src/engine/_refresher.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const EPOCH = Date.UTC(2030, 0, 1);

/** Wall = EPOCH + wallOffset + t; monotonic = t + monoOffset. */
class TestClock implements Clock {
  t = 1_000;
  wallOffset = 0;
  monoOffset = 0;
  now = (): number => EPOCH + this.wallOffset + this.t;
  monotonic = (): number => this.t + this.monoOffset;
  /** Both clocks move (the machine is awake). */
  advance(ms: number): void {
    this.t += ms;
  }
  /** The machine sleeps `ms`: the wall clock moves, the monotonic one does not. */
  suspend(ms: number): void {
    this.wallOffset += ms;
  }
}

interface Harness {
  clock: TestClock;
  session: CustomRefreshableSession;
  calls: () => number;
  refreshes: RefreshEventDetail[];
  warnings: WarningEventDetail[];
}

/** A custom session on an injected clock whose keys live `lifetimeMs` of wall time. */
function harness(lifetimeMs = HOUR, clock = new TestClock()): Harness {
  let calls = 0;
  const session = new CustomRefreshableSession({
    provider: () => {
      calls++;
      return {
        accessKeyId: `ASIACLOCK${calls}`,
        secretAccessKey: `clock-secret-${calls}`,
        sessionToken: `clock-token-${calls}`,
        expiration: new Date(clock.now() + lifetimeMs),
      };
    },
    clock,
  });
  const refreshes: RefreshEventDetail[] = [];
  const warnings: WarningEventDetail[] = [];
  session.addEventListener("refresh", (e) => {
    refreshes.push((e as CustomEvent<RefreshEventDetail>).detail);
  });
  session.addEventListener("warning", (e) => {
    warnings.push((e as CustomEvent<WarningEventDetail>).detail);
  });
  return { clock, session, calls: () => calls, refreshes, warnings };
}

/** Whether credentials that expire at `expiryTime` are expired on the wall clock `now`. */
function expiredAt(expiryTime: string | Date, now: number): boolean {
  return new Date(expiryTime).getTime() <= now;
}

Deno.test("a 2 h suspend (wall clock jumps, monotonic moves 50 ms) never hands out the expired key: the next call refreshes", async () => {
  const { clock, session, calls, refreshes, warnings } = harness();
  const first = await session.refreshableCredentials();
  clock.advance(10 * MIN); // 50 min left
  assertStrictEquals(await session.refreshableCredentials(), first);
  clock.suspend(2 * HOUR);
  clock.advance(50);
  const after = await session.refreshableCredentials();
  assertNotEquals(after.accessKey, first.accessKey);
  assert(!expiredAt(after.expiryTime, clock.now()));
  const identity = await session.credentialProvider();
  assertEquals(identity.accessKeyId, after.accessKey);
  assertEquals(calls(), 2);
  assertEquals(refreshes.map((r) => r.reason), ["Initial", "ClockJump"]);
  assert(warnings.some((w) => w.code === "ClockJump"));
  const said = JSON.stringify([refreshes, warnings]);
  assert(!said.includes("clock-secret") && !said.includes("clock-token"));
  await session.close();
});

Deno.test("credentialProvider() after a suspend waits for one refresh shared by every caller", async () => {
  const { clock, session, calls } = harness();
  await session.credentialProvider();
  clock.suspend(2 * HOUR);
  const all = await Promise.all(
    Array.from({ length: 1000 }, () => session.credentialProvider()),
  );
  assertEquals(calls(), 2);
  assert(all.every((c) => c.accessKeyId === "ASIACLOCK2"));
  assert(all.every((c) => !expiredAt(c.expiration!, clock.now())));
  await session.close();
});

Deno.test("a constant skew between the local and the STS clock changes nothing", async () => {
  for (const skew of [-2 * HOUR, 0, 2 * HOUR]) {
    const clock = new TestClock();
    clock.wallOffset = skew; // the local clock is off; the server's is right
    let calls = 0;
    const refresher = new _Refresher({
      fetch: (): Promise<_FetchResult> => {
        calls++;
        const serverNow = EPOCH + clock.t;
        return Promise.resolve({
          credentials: {
            accessKeyId: `ASIASKEW${calls}`,
            secretAccessKey: "s",
            expiration: new Date(serverNow + HOUR),
          },
          dateHeader: new Date(serverNow).toUTCString(),
        });
      },
      advisoryTimeout: 900,
      mandatoryTimeout: 600,
      clock,
      random: () => 0,
    });
    await refresher.get();
    clock.advance(44 * MIN); // 16 min left: before the advisory point
    assertEquals((await refresher.get()).accessKeyId, "ASIASKEW1");
    assertEquals(calls, 1, `skew ${skew}`);
    clock.advance(2 * MIN); // 14 min left: advisory
    await refresher.get();
    await new Promise((r) => setTimeout(r, 5));
    assertEquals(calls, 2, `skew ${skew}`);
    refresher.close();
  }
});

Deno.test("a wall clock set back never stretches a credential (the monotonic deadline holds)", async () => {
  const { clock, session, calls } = harness();
  const first = await session.refreshableCredentials();
  clock.wallOffset -= 3 * HOUR; // someone sets the clock back 3 h
  clock.advance(55 * MIN); // 5 min left on the monotonic clock: mandatory window
  const second = await session.refreshableCredentials();
  assertNotEquals(second.accessKey, first.accessKey);
  assertEquals(calls(), 2);
  await session.close();
});

Deno.test("a forward jump that crosses no deadline changes nothing; one into the advisory window refreshes in the background", async () => {
  const { clock, session, calls, refreshes } = harness();
  const first = await session.refreshableCredentials();
  clock.suspend(5 * MIN); // 55 min left
  assertStrictEquals(await session.refreshableCredentials(), first);
  assertEquals(calls(), 1);
  clock.suspend(42 * MIN); // 13 min left: advisory window
  assertStrictEquals(await session.refreshableCredentials(), first); // no wait
  await new Promise((r) => setTimeout(r, 5));
  assertEquals(calls(), 2);
  assertEquals(refreshes.at(-1)?.reason, "ClockJump");
  await session.close();
});

Deno.test("a wall clock set back then forward again still counts the forward jump", async () => {
  const { clock, session, calls } = harness();
  const first = await session.refreshableCredentials();
  clock.wallOffset -= HOUR;
  assertStrictEquals(await session.refreshableCredentials(), first);
  clock.wallOffset += 3 * HOUR; // net +2 h: a suspend after a set-back
  const after = await session.refreshableCredentials();
  assertNotEquals(after.accessKey, first.accessKey);
  assertEquals(calls(), 2);
  await session.close();
});

Deno.test("a monotonic clock that goes back by hours is a clock jump: one refresh, a warning, never an error loop", async () => {
  const { clock, session, calls, warnings, refreshes } = harness();
  const first = await session.refreshableCredentials();
  clock.monoOffset -= 3 * HOUR;
  const all = await Promise.all(
    Array.from({ length: 100 }, () => session.refreshableCredentials()),
  );
  assert(all.every((c) => c.accessKey !== first.accessKey));
  assertEquals(calls(), 2);
  assertEquals(refreshes.at(-1)?.reason, "ClockJump");
  assert(warnings.some((w) => w.code === "ClockJump"));
  // Then it is a clock like any other: fresh credentials on the fast path.
  assertStrictEquals(await session.refreshableCredentials(), all[0]);
  assertEquals(calls(), 2);
  await session.close();
});

Deno.test("a clock returning NaN, a non-number, or throwing gives a BRSValidationError at once, never credentials", async () => {
  const bad: [string, Partial<Clock>][] = [
    ["monotonic() returned NaN", { monotonic: () => NaN }],
    ["now() returned NaN", { now: () => NaN }],
    ['now() returned "soon"', { now: () => "soon" as unknown as number }],
    [
      "monotonic() returned Infinity",
      { monotonic: () => Infinity },
    ],
    ["threw Error", {
      now: () => {
        throw new Error("no clock");
      },
    }],
  ];
  for (const [text, override] of bad) {
    const clock = new TestClock();
    const { session, calls } = harness(HOUR, clock);
    await session.refreshableCredentials(); // a good clock at first
    Object.assign(clock, override);
    clock.advance(1);
    for (let i = 0; i < 2; i++) {
      const error = await assertRejects(
        () => session.refreshableCredentials(),
        BRSValidationError,
      );
      assertEquals(error.param, "clock");
      assertEquals(error.code, "InvalidClock");
      assert(error.message.includes(text), error.message);
    }
    await assertRejects(() => session.credentialProvider(), BRSValidationError);
    await assertRejects(
      () => session.refresh({ force: true }),
      BRSValidationError,
    );
    assertEquals(calls(), 1);
    await session.close();
  }
});

Deno.test("a session whose clock is bad from the start never fetches and never hangs", async () => {
  const clock = new TestClock();
  clock.monotonic = () => NaN;
  const { session, calls } = harness(HOUR, clock);
  await assertRejects(
    () => session.refreshableCredentials(),
    BRSValidationError,
  );
  assertEquals(calls(), 0);
  await session.close();
});

/** A refresher on a test clock whose fetches return `dateHeader`. */
async function withDateHeader(
  dateHeader: string | null,
  serverOffsetMs = 0,
): Promise<{ events: _RefresherEvent[]; unusableAt: number; now: number }> {
  const clock = new TestClock();
  const events: _RefresherEvent[] = [];
  const refresher = new _Refresher({
    fetch: () =>
      Promise.resolve({
        credentials: {
          accessKeyId: "ASIADATE",
          secretAccessKey: "s",
          expiration: new Date(clock.now() + serverOffsetMs + HOUR),
        },
        dateHeader,
      }),
    advisoryTimeout: 900,
    mandatoryTimeout: 600,
    clock,
    random: () => 0,
    onEvent: (e) => events.push(e),
  });
  await refresher.get();
  const { unusableAt } = refresher.deadlines;
  refresher.close();
  return { events, unusableAt, now: clock.monotonic() };
}

function warningCodes(events: _RefresherEvent[]): string[] {
  return events.flatMap((e) => e.type === "warning" ? [e.code] : []);
}

Deno.test("a Date header that is absent, unparseable or days off falls back to local time with a warning", async () => {
  const missing = await withDateHeader(null);
  assertEquals(warningCodes(missing.events), ["DateHeaderMissing"]);
  assertEquals(missing.unusableAt, missing.now + HOUR - 10_000);
  const invalid = await withDateHeader("not a date");
  assertEquals(warningCodes(invalid.events), ["DateHeaderInvalid"]);
  assertEquals(invalid.unusableAt, invalid.now + HOUR - 10_000);
  const far = new Date(EPOCH + 3 * 24 * HOUR).toUTCString();
  const off = await withDateHeader(far);
  assertEquals(warningCodes(off.events), ["DateHeaderIgnored"]);
  const good = await withDateHeader(new Date(EPOCH).toUTCString());
  assertEquals(warningCodes(good.events), []);
  for (const e of [...missing.events, ...invalid.events, ...off.events]) {
    if (e.type === "warning") assert(!e.message.includes("Error"));
  }
});

Deno.test("STSRefreshableSession with an STS clock 3 days off ignores its Date, warns, and caps the lifetime from local time", async () => {
  await using sts = await startLocalSts({ dateSkewSeconds: 3 * 86_400 });
  const warnings: string[] = [];
  await using session = new STSRefreshableSession({
    assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
    stsClientConfig: {
      endpoint: sts.url,
      credentials: sts.baseCredentials,
      region: "us-east-1",
    },
    region: "us-east-1",
  });
  session.addEventListener("warning", (e) => {
    warnings.push((e as CustomEvent<WarningEventDetail>).detail.code);
  });
  const c = await session.refreshableCredentials();
  assert(warnings.includes("DateHeaderIgnored"), warnings.join());
  const left = new Date(c.expiryTime).getTime() - Date.now();
  assert(left <= HOUR && left > HOUR - MIN, `left ${left}`);
});

Deno.test("deferRefresh: false refreshes promptly after a wake, without any call", async () => {
  const clock = new TestClock();
  let calls = 0;
  const reasons: RefreshReason[] = [];
  const refresher = new _Refresher({
    fetch: () => {
      calls++;
      return Promise.resolve({
        credentials: {
          accessKeyId: `ASIAWAKE${calls}`,
          secretAccessKey: "s",
          expiration: new Date(clock.now() + HOUR),
        },
      });
    },
    advisoryTimeout: 900,
    mandatoryTimeout: 600,
    clock,
    background: true,
    wakeCheckMs: 10,
    onEvent: (e) => {
      if (e.type === "refresh") reasons.push(e.reason);
    },
  });
  const keepAlive = setInterval(() => {}, 1_000);
  try {
    while (calls < 1) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    assertEquals(calls, 1); // fresh: the wake checks fetch nothing
    clock.suspend(2 * HOUR);
    const deadline = performance.now() + 2_000;
    while (calls < 2 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assertEquals(calls, 2);
    assertEquals(reasons, ["Initial", "ClockJump"]);
  } finally {
    clearInterval(keepAlive);
    refresher.close();
  }
});

Deno.test("the real-clock fast path notices a suspend by itself (Date.now() jumps 2 h; performance.now() and the unref'd timer do not)", async () => {
  // The real monotonic clock and real timers; only the wall clock is moved,
  // as a suspend would move it.
  const realNow = Date.now;
  let jump = 0;
  Date.now = () => realNow() + jump;
  let calls = 0;
  try {
    await using session = new CustomRefreshableSession({
      provider: () => {
        calls++;
        return {
          accessKeyId: `ASIAREALCLOCK${calls}`,
          secretAccessKey: "s",
          sessionToken: "t",
          expiration: new Date(Date.now() + HOUR),
        };
      },
    });
    const first = await session.credentialProvider();
    // The fast path: same object, no fetch.
    for (let i = 0; i < 10; i++) {
      assertStrictEquals(await session.credentialProvider(), first);
    }
    jump = 2 * HOUR;
    const after = await session.credentialProvider();
    assertEquals(after.accessKeyId, "ASIAREALCLOCK2");
    assert(after.expiration!.getTime() > Date.now());
    assertEquals(calls, 2);
  } finally {
    Date.now = realNow;
  }
});

Deno.test("refresh events give the reason: Initial, Advisory, Mandatory, Expired, Invalidated, Forced", async () => {
  const { clock, session, refreshes } = harness();
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5));
  await session.refreshableCredentials(); // Initial
  clock.advance(46 * MIN); // 14 min left
  await session.refreshableCredentials(); // Advisory (background)
  await settle();
  clock.advance(52 * MIN); // 8 min left of the second
  await session.refreshableCredentials(); // Mandatory
  clock.advance(2 * HOUR);
  await session.refreshableCredentials(); // Expired
  const { accessKey } = await session.refreshableCredentials();
  session.invalidate(accessKey);
  await session.refreshableCredentials(); // Invalidated
  await session.refresh({ force: true }); // Forced
  assertEquals(refreshes.map((r) => r.reason), [
    "Initial",
    "Advisory",
    "Mandatory",
    "Expired",
    "Invalidated",
    "Forced",
  ]);
  await session.close();
});
