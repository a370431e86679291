/**
 * Hostile STS replies: a raw `Deno.serve` on 127.0.0.1
 * answers AssumeRole in broken ways. Each case must give a typed error (or a
 * safe refusal), keep credentials that still work, and never hang.
 */

import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import {
  BRSError,
  BRSRefreshError,
  type RefreshErrorEventDetail,
  STSRefreshableSession,
} from "../mod.ts";
import {
  type HostileMode,
  type HostileSts,
  type MovableClock,
  movableClock,
  startHostileSts,
} from "./_helpers/hostile_sts.ts";
import { startLocalSts } from "../src/testing/mod.ts";
import { assertNoSecrets, rejectsWith, withWatchdog } from "./_helpers/scan.ts";

const BASE_SECRET = "hostileBaseSecret/0123456789abcdefghijkl";

function newSession(
  sts: HostileSts,
  clock: MovableClock,
  extra: Record<string, unknown> = {},
): STSRefreshableSession {
  return new STSRefreshableSession({
    assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
    region: "us-east-1",
    clock,
    stsClientConfig: {
      endpoint: sts.url,
      region: "us-east-1",
      credentials: {
        accessKeyId: "AKIAHOSTILETEST00001",
        secretAccessKey: BASE_SECRET,
      },
      maxAttempts: 1,
      requestHandler: {
        requestTimeout: 3_000,
        connectionTimeout: 1_000,
        throwOnRequestTimeout: true,
      },
    },
    ...extra,
  });
}

/** The modes that must end in a typed error (slow-drip and far-future have tests of their own). */
const FAILING: readonly HostileMode[] = [
  "malformed-xml",
  "missing-fields",
  "expired",
  "unparseable-expiration",
  "error-body-200",
  "huge-body",
  "reset",
  "redirect",
  "redirect-other-host",
];

for (const mode of FAILING) {
  Deno.test(`STSRefreshableSession gives a typed error and keeps working credentials when STS replies ${mode}`, async () => {
    await using sts = await startHostileSts();
    const clock = movableClock();
    await using session = newSession(sts, clock);
    const errors: RefreshErrorEventDetail[] = [];
    session.addEventListener("refresh-error", (event) => {
      errors.push((event as CustomEvent<RefreshErrorEventDetail>).detail);
    });

    const good = await session.refreshableCredentials();
    sts.mode = mode;
    // Into the mandatory window (300 s left of 3600 s): callers wait for one attempt.
    clock.advance(3_300_000);
    const before = sts.calls;
    const got = await withWatchdog(
      Promise.all(
        Array.from({ length: 25 }, () => session.refreshableCredentials()),
      ),
      `callers hung on ${mode}`,
    );
    for (const credentials of got) assertEquals(credentials, good);
    assertEquals(sts.calls - before, 1, "one STS attempt for 25 callers");
    assertEquals(errors.length, 1);
    assertInstanceOf(errors[0]!.error, BRSRefreshError);

    // A forced refresh reports the typed error.
    const forced = await withWatchdog(
      rejectsWith(() => session.refresh({ force: true }), BRSError),
      `forced refresh hung on ${mode}`,
    );
    assertInstanceOf(forced, BRSRefreshError);
    // Still the good credentials while they are valid.
    assertEquals(await session.refreshableCredentials(), good);

    // Past expiry: a typed error at once, never the expired credentials.
    clock.advance(400_000);
    await withWatchdog(
      rejectsWith(() => session.refreshableCredentials(), BRSRefreshError),
      `expired callers hung on ${mode}`,
    );
    assertEquals(sts.redirectTargetCalls, 0, "a redirect is never followed");

    const secrets = [BASE_SECRET, ...sts.secrets];
    assertNoSecrets(
      [
        forced.message,
        Deno.inspect(forced, { depth: 6 }),
        JSON.stringify(forced),
        ...errors.map((e) => Deno.inspect(e, { depth: 6 })),
        Deno.inspect(session),
        JSON.stringify(session),
      ],
      secrets,
    );
  });
}

Deno.test("STSRefreshableSession gives a typed error on a hostile first reply and recovers when STS does", async () => {
  await using sts = await startHostileSts();
  const clock = movableClock();
  for (const mode of FAILING) {
    sts.mode = mode;
    await using session = newSession(sts, clock);
    const error = await withWatchdog(
      rejectsWith(() => session.refreshableCredentials(), BRSRefreshError),
      `first fetch hung on ${mode}`,
    );
    assert(error.retryAt instanceof Date, `retryAt on ${mode}`);
    assertNoSecrets(
      [error.message, Deno.inspect(error, { depth: 6 })],
      [BASE_SECRET, ...sts.secrets],
    );
    sts.mode = "good";
    const credentials = await session.refresh({ force: true });
    assert(credentials.accessKey.startsWith("ASIA"));
  }
});

Deno.test("STSRefreshableSession does not trust an Expiration far beyond the requested duration", async () => {
  await using sts = await startHostileSts();
  const clock = movableClock();
  sts.mode = "far-future";
  await using session = newSession(sts, clock);
  const warnings: string[] = [];
  session.addEventListener("warning", (event) => {
    warnings.push((event as CustomEvent<{ code: string }>).detail.code);
  });
  const first = await session.refreshableCredentials();
  assertEquals(warnings, ["ExpirationCapped"]);
  // The session must still refresh within the requested lifetime (3600 s by default).
  assert(
    Date.parse(first.expiryTime) <= clock.now() + 3_700_000,
    `expiry ${first.expiryTime} was taken as is`,
  );
  sts.mode = "good";
  clock.advance(3_600_000);
  const second = await session.refreshableCredentials();
  assert(
    second.accessKey !== first.accessKey,
    "no refresh after the requested lifetime",
  );
});

Deno.test("STSRefreshableSession bounds a refresh whose reply body drips forever", async () => {
  await using sts = await startHostileSts();
  const clock = movableClock();
  await using session = newSession(sts, clock, { refreshTimeout: 2 });
  const good = await session.refreshableCredentials();
  sts.mode = "slow-drip";
  clock.advance(3_300_000);
  // The caller gets the good credentials once the attempt is aborted.
  const got = await withWatchdog(
    session.refreshableCredentials(),
    "a dripping body held the caller",
  );
  assertEquals(got, good);
  clock.advance(400_000);
  const error = await withWatchdog(
    rejectsWith(() => session.refreshableCredentials(), BRSRefreshError),
    "a dripping body held an expired caller",
  );
  assertEquals(error.code, "RefreshTimeout");
});

Deno.test("STSRefreshableSession keeps working credentials through every fault of the local STS", async () => {
  await using sts = await startLocalSts();
  const kinds = [
    "throttle",
    "server-error",
    "access-denied",
    "drop",
    "hang",
    "outage",
    "expired-token",
    "malformed",
  ] as const;
  for (const kind of kinds) {
    const clock = movableClock();
    await using session = new STSRefreshableSession({
      assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
      region: "us-east-1",
      clock,
      refreshTimeout: 2,
      stsClientConfig: {
        endpoint: sts.url,
        region: "us-east-1",
        credentials: sts.baseCredentials,
        maxAttempts: 1,
      },
    });
    const good = await session.refreshableCredentials();
    sts.injectFault({ kind, actions: ["AssumeRole"] });
    clock.advance(3_300_000);
    const before = sts.calls.AssumeRole;
    const got = await withWatchdog(
      Promise.all(
        Array.from({ length: 20 }, () => session.refreshableCredentials()),
      ),
      `callers hung on ${kind}`,
    );
    for (const credentials of got) assertEquals(credentials, good);
    assert(sts.calls.AssumeRole - before <= 1, `${kind}: more than one call`);
    clock.advance(400_000);
    await withWatchdog(
      rejectsWith(() => session.refreshableCredentials(), BRSRefreshError),
      `expired callers hung on ${kind}`,
    );
    sts.clearFaults();
    const recovered = await session.refresh({ force: true });
    assert(recovered.accessKey !== good.accessKey, `${kind}: no recovery`);
  }
});
