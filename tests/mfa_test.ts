// createMfaTokenSource() with function providers, and the process-wide MFA
// registry (one provider call in flight per serial, never a code twice in one
// 30 s step), with an injected clock so nothing waits 30 s.

import {
  assert,
  assertEquals,
  assertFalse,
  assertNotEquals,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
} from "@std/assert";
import {
  BRSConfigurationError,
  BRSValidationError,
  createMfaTokenSource,
  type MfaTokenFunction,
} from "../mod.ts";
import {
  _resetMfaRegistryForTesting,
  _setRegistryClockForTesting,
} from "../src/mfa/_mfa_registry.ts";
import { totp } from "../src/testing/totp.ts";
import { HAS_OATHTOOL, NEEDS_OATHTOOL } from "./_helpers/tools.ts";

const SECRET = "JBSWY3DPEHPK3PXP";
const STEP = 30_000;

/** A clock whose sleep() moves time forward at once. */
function fakeClock(start = 1_700_000_000_000 + 1_000): {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  sleeps: number[];
} {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
      signal?.throwIfAborted();
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
    sleeps,
  };
}

function tick(ms = 2): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let serialCounter = 0;
function serial(): string {
  return `arn:aws:iam::123456789012:mfa/mfa-test-${++serialCounter}`;
}

// ------------------------------------------------------- function provider

Deno.test("createMfaTokenSource() passes a function provider the serial and the options object as is", async () => {
  _resetMfaRegistryForTesting();
  const options = { anything: 1, shell: true, nested: { a: "b" } };
  const seen: [string, Record<string, unknown>][] = [];
  const fn: MfaTokenFunction = (s, o) => {
    seen.push([s, o]);
    return "  123456\n";
  };
  const source = createMfaTokenSource(fn, options);
  const id = serial();
  assertEquals(await source(id), "123456");
  assertEquals(seen.length, 1);
  assertEquals(seen[0]![0], id);
  assertStrictEquals(seen[0]![1], options);
});

Deno.test("createMfaTokenSource() accepts an async function provider and defaults its options to {}", async () => {
  _resetMfaRegistryForTesting();
  let got: unknown;
  const source = createMfaTokenSource(async (_s, o) => {
    await tick();
    got = o;
    return "000042";
  });
  assertEquals(await source(serial()), "000042");
  assertEquals(got, {});
});

Deno.test("createMfaTokenSource() rejects a function result that is not 6 digits without echoing it", async () => {
  _resetMfaRegistryForTesting();
  const cases: [unknown, string][] = [
    ["9876543", "returned 7 characters, expected 6 digits"],
    ["98765", "returned 5 characters, expected 6 digits"],
    ["hunter", "6 characters that are not all digits"],
    ["", "returned 0 characters"],
    [123456, "returned number"],
    [undefined, "returned undefined"],
  ];
  for (const [value, message] of cases) {
    const source = createMfaTokenSource(() => value as string);
    const error = await assertRejects(
      () => source(serial()),
      BRSConfigurationError,
      message,
    );
    assertEquals(error.code, "InvalidMfaCode");
    if (typeof value === "string" && value !== "") {
      assertFalse(error.message.includes(value), "the value was echoed");
      assertFalse(
        JSON.stringify(error).includes(value),
        "the value was echoed",
      );
    }
  }
});

Deno.test("createMfaTokenSource() wraps a throwing function provider and keeps BRSErrors", async () => {
  _resetMfaRegistryForTesting();
  const cause = new TypeError("vault locked, last code 987654");
  const source = createMfaTokenSource(() => {
    throw cause;
  });
  const error = await assertRejects(
    () => source(serial()),
    BRSConfigurationError,
    "threw TypeError",
  );
  assertStrictEquals(error.cause, cause);
  assertStringIncludes(error.message, "vault locked");
  assertFalse(error.message.includes("987654"));

  const own = new BRSValidationError("Custom");
  const passthrough = createMfaTokenSource(() => Promise.reject(own));
  assertStrictEquals(await assertRejects(() => passthrough(serial())), own);
});

Deno.test("createMfaTokenSource() rejects a bad serial and bad function options", async () => {
  _resetMfaRegistryForTesting();
  const source = createMfaTokenSource(() => "123456");
  await assertRejects(() => source(""), BRSValidationError, "serial number");
  await assertRejects(
    () => source(42 as unknown as string),
    BRSValidationError,
    "got number",
  );
  try {
    createMfaTokenSource(
      () => "123456",
      "x" as unknown as Record<string, unknown>,
    );
    throw new Error("no error");
  } catch (error) {
    assert(error instanceof BRSValidationError);
  }
});

// ---------------------------------------------------------------- registry

Deno.test("MFA registry: concurrent sources with one serial never get the same code in one step", async () => {
  _resetMfaRegistryForTesting();
  const clock = fakeClock();
  _setRegistryClockForTesting(clock);
  try {
    const id = serial();
    const handedOut: { code: string; step: number }[] = [];
    const fixed = createMfaTokenSource(() => "424242");
    const other = createMfaTokenSource(async () => {
      await tick();
      return "424242";
    });
    await Promise.all([fixed, other, fixed].map(async (source) => {
      const code = await source(id);
      handedOut.push({ code, step: Math.floor(clock.now() / STEP) });
    }));
    assertEquals(handedOut.length, 3);
    const keys = new Set(handedOut.map((h) => `${h.step}:${h.code}`));
    assertEquals(keys.size, 3, "a code was handed out twice in one step");
    // The fixed code forced two waits for the next step, each up to a boundary.
    assertEquals(clock.sleeps.length, 2);
    for (const ms of clock.sleeps) assert(ms > 0 && ms <= STEP + 1_000);
  } finally {
    _resetMfaRegistryForTesting();
  }
});

Deno.test("MFA registry: TOTP codes from one device are all distinct and one provider call is in flight per serial", async () => {
  _resetMfaRegistryForTesting();
  const clock = fakeClock();
  _setRegistryClockForTesting(clock);
  try {
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const provider: MfaTokenFunction = async () => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await tick();
      inFlight--;
      return totp(SECRET, clock.now());
    };
    const id = serial();
    const sources = Array.from(
      { length: 5 },
      () => createMfaTokenSource(provider),
    );
    const codes = await Promise.all(sources.map((s) => s(id)));
    assertEquals(new Set(codes).size, 5);
    assertEquals(maxInFlight, 1);
    assertEquals(calls, 9); // 1 + 2 per later caller (used code, then next step)
  } finally {
    _resetMfaRegistryForTesting();
  }
});

Deno.test("MFA registry: different serials do not wait for each other", async () => {
  _resetMfaRegistryForTesting();
  let inFlight = 0;
  let maxInFlight = 0;
  const source = createMfaTokenSource(async (s) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await tick(5);
    inFlight--;
    return s.endsWith("a") ? "111111" : "222222";
  });
  const [a, b] = await Promise.all([
    source(serial() + "a"),
    source(serial() + "b"),
  ]);
  assertEquals([a, b], ["111111", "222222"]);
  assertEquals(maxInFlight, 2);
});

Deno.test("MFA registry: asking again after a rejected code gives a different code", async () => {
  _resetMfaRegistryForTesting();
  const clock = fakeClock();
  _setRegistryClockForTesting(clock);
  try {
    const source = createMfaTokenSource(() => totp(SECRET, clock.now()));
    const id = serial();
    const first = await source(id);
    const second = await source(id); // what a session does after AccessDenied
    assertNotEquals(first, second);
    assertEquals(second, totp(SECRET, clock.now()));
  } finally {
    _resetMfaRegistryForTesting();
  }
});

Deno.test("MFA registry: a provider stuck on a used code fails after a few steps", async () => {
  _resetMfaRegistryForTesting();
  let t = 1_700_000_000_000;
  // A clock that does not move: the provider keeps returning the used code.
  _setRegistryClockForTesting({ now: () => t, sleep: () => Promise.resolve() });
  try {
    const source = createMfaTokenSource(() => "555555");
    const id = serial();
    assertEquals(await source(id), "555555");
    const error = await assertRejects(
      () => source(id),
      BRSConfigurationError,
      "already used",
    );
    assertEquals(error.code, "MfaCodeReused");
    t += STEP;
    assertEquals(await source(id), "555555"); // the turn was released
  } finally {
    _resetMfaRegistryForTesting();
  }
});

Deno.test("MFA registry: aborting while waiting for the next step rejects with the reason and frees the turn", async () => {
  _resetMfaRegistryForTesting();
  const t = 1_700_000_000_000;
  let sleeping: (() => void) | undefined;
  _setRegistryClockForTesting({
    now: () => t,
    sleep: (_ms, signal) =>
      new Promise((_resolve, reject) => {
        sleeping = () => {};
        signal?.addEventListener("abort", () => reject(signal.reason), {
          once: true,
        });
      }),
  });
  try {
    const source = createMfaTokenSource(() => "777777");
    const id = serial();
    assertEquals(await source(id), "777777");
    const controller = new AbortController();
    const waiting = source(id, controller.signal);
    while (sleeping === undefined) await tick(1);
    const reason = new Error("give up");
    controller.abort(reason);
    assertStrictEquals(await assertRejects(() => waiting), reason);
    // The turn is free: another serial-mate gets through at once with a new code.
    const next = createMfaTokenSource(() => "888888");
    assertEquals(await next(id), "888888");
  } finally {
    _resetMfaRegistryForTesting();
  }
});

Deno.test("MFA registry: a queued caller can abort, a failed call frees the turn", async () => {
  _resetMfaRegistryForTesting();
  let release: ((code: string) => void) | undefined;
  const slow = createMfaTokenSource(() =>
    new Promise<string>((resolve) => {
      release = resolve;
    })
  );
  const failing = createMfaTokenSource(() => {
    throw new Error("no device");
  });
  const fast = createMfaTokenSource(() => "313131");
  const id = serial();
  const first = slow(id);
  while (release === undefined) await tick(1);
  const controller = new AbortController();
  const queued = fast(id, controller.signal);
  const failed = failing(id);
  const third = fast(id);
  controller.abort(new Error("queued abort"));
  await assertRejects(() => queued, Error, "queued abort");
  release("121212");
  assertEquals(await first, "121212");
  await assertRejects(() => failed, BRSConfigurationError, "no device");
  assertEquals(await third, "313131");
});

Deno.test("MFA registry: an aborted provider call keeps the turn until it settles and its code is not marked used", async () => {
  _resetMfaRegistryForTesting();
  let release: ((code: string) => void) | undefined;
  let calls = 0;
  const source = createMfaTokenSource(() => {
    calls++;
    if (calls === 1) {
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    }
    return "646464";
  });
  const id = serial();
  const controller = new AbortController();
  const aborted = source(id, controller.signal);
  while (release === undefined) await tick(1);
  controller.abort(new Error("stop"));
  await assertRejects(() => aborted, Error, "stop");
  const next = source(id);
  await tick(5);
  assertEquals(
    calls,
    1,
    "a second provider call started while the first was in flight",
  );
  release("646464");
  assertEquals(await next, "646464"); // the aborted call's code was never handed out
});

// ------------------------------------------------------ through local STS

const hasOathtool = HAS_OATHTOOL;

Deno.test({
  name:
    "createMfaTokenSource() with oathtool: two sessions assuming a role with one device concurrently never replay a code" +
    (hasOathtool ? "" : NEEDS_OATHTOOL),
  ignore: !hasOathtool,
  async fn(): Promise<void> {
    _resetMfaRegistryForTesting();
    const { startLocalSts } = await import("../src/testing/mod.ts");
    const { AssumeRoleCommand, STSClient } = await import(
      "@aws-sdk/client-sts"
    );
    const serialNumber = "arn:aws:iam::123456789012:mfa/oath-user";
    const roleArn = "arn:aws:iam::123456789012:role/mfa-only";
    await using sts = await startLocalSts({
      mfaDevices: { [serialNumber]: SECRET },
      mfaRequiredRoles: [roleArn],
    });
    const client = new STSClient({
      region: "us-east-1",
      endpoint: sts.url,
      credentials: sts.baseCredentials,
      maxAttempts: 1,
    });
    try {
      // Two "sessions", each with its own source, sharing one device.
      const sources = [0, 1].map(() =>
        createMfaTokenSource(["oathtool", "--totp", "-b", SECRET])
      );
      const used: string[] = [];
      const replies = await Promise.all(sources.map(async (source, i) => {
        const TokenCode = await source(serialNumber);
        used.push(TokenCode);
        return await client.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: `s${i}`,
            SerialNumber: serialNumber,
            TokenCode,
          }),
        );
      }));
      assertEquals(replies.length, 2);
      for (const reply of replies) assert(reply.Credentials?.AccessKeyId);
      assertNotEquals(used[0], used[1]);
      assertEquals(sts.requests.filter((r) => r.errorCode !== undefined), []);
      // The local STS does refuse a replayed code: the registry is what kept us out of it.
      const replay = await assertRejects(() =>
        client.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: "replay",
            SerialNumber: serialNumber,
            TokenCode: used[0]!,
          }),
        )
      );
      assertStringIncludes(
        String((replay as Error).message),
        "MultiFactorAuthentication failed",
      );
    } finally {
      client.destroy();
    }
  },
});
