import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import {
  BRSConfigurationError,
  BRSRefreshError,
  BRSValidationError,
  type RefreshErrorEventDetail,
  STSRefreshableSession,
  type STSRefreshableSessionOptions,
  type WarningEventDetail,
} from "../mod.ts";
import { startLocalSts, totp } from "../src/testing/mod.ts";
import { localStsOptions as options } from "./_helpers/sessions.ts";

const ROLE = "arn:aws:iam::123456789012:role/app";

/** Real wall clock; monotonic clock the test moves by hand. */
class SteppedClock {
  offset = 0;
  now = (): number => Date.now();
  monotonic = (): number => performance.now() + this.offset;
}

Deno.test("STSRefreshableSession.whoami() returns the assumed role's identity, signed with the assumed key", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession(options(sts));
  const identity = await session.whoami();
  assertEquals(
    identity.Arn,
    "arn:aws:sts::123456789012:assumed-role/app/brs-session",
  );
  assertEquals(identity.Account, "123456789012");
  const gci = sts.requests.filter((r) => r.action === "GetCallerIdentity");
  assertEquals(gci.length, 1);
  assertNotEquals(gci[0]!.accessKeyId, sts.baseCredentials.accessKeyId);
  assertMatch(gci[0]!.accessKeyId!, /^ASIA/);
  assertEquals(await session.getIdentity(), identity);
});

Deno.test("STSRefreshableSession makes one AssumeRole call for 10 000 cold concurrent callers", async () => {
  await using sts = await startLocalSts({ latencyMs: 20 });
  await using session = new STSRefreshableSession(options(sts));
  const all = await Promise.all(
    Array.from({ length: 10_000 }, () => session.refreshableCredentials()),
  );
  assertEquals(sts.calls.AssumeRole, 1);
  assert(all.every((c) => c.accessKey === all[0]!.accessKey));
  assertMatch(
    all[0]!.expiryTime,
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  );
});

Deno.test("STSRefreshableSession.credentialProvider makes an SDK client sign with the new key right after refresh({ force: true })", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession(options(sts));
  const client = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    credentials: session.credentialProvider,
  });
  try {
    await client.send(new GetCallerIdentityCommand({}));
    const first = sts.requests.at(-1)!.accessKeyId!;
    const refreshed = await session.refresh({ force: true });
    assertNotEquals(refreshed.accessKey, first);
    await client.send(new GetCallerIdentityCommand({}));
    assertEquals(sts.requests.at(-1)!.accessKeyId, refreshed.accessKey);
    assertEquals(sts.calls.AssumeRole, 2);
  } finally {
    client.destroy();
  }
});

Deno.test("STSRefreshableSession.client() is cached and signs with the refreshed key", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession(options(sts));
  const client = session.client(STSClient, { endpoint: sts.url });
  assertStrictEquals(
    session.client(STSClient, { endpoint: sts.url, region: undefined }),
    client,
  );
  await client.send(new GetCallerIdentityCommand({}));
  const refreshed = await session.refresh({ force: true });
  const reply = await client.send(new GetCallerIdentityCommand({}));
  assertEquals(sts.requests.at(-1)!.accessKeyId, refreshed.accessKey);
  assertMatch(reply.Arn!, /assumed-role\/app\/brs-session$/);
});

Deno.test("STSRefreshableSession keeps working credentials through throttling, 5xx and outages, then raises BRSRefreshError once expired", async () => {
  await using sts = await startLocalSts();
  const clock = new SteppedClock();
  await using session = new STSRefreshableSession(options(sts, { clock }));
  const errors: RefreshErrorEventDetail[] = [];
  session.addEventListener("refresh-error", (e) => {
    errors.push((e as CustomEvent<RefreshErrorEventDetail>).detail);
  });
  const old = await session.refreshableCredentials();
  // 5 min before expiry (1 h credentials): mandatory window.
  clock.offset = 55 * 60_000;
  for (const kind of ["throttle", "server-error", "outage"] as const) {
    sts.injectFault({ kind, actions: ["AssumeRole"] });
    const before = sts.calls.AssumeRole;
    const got = await Promise.all(
      Array.from({ length: 100 }, () => session.refreshableCredentials()),
    );
    assert(got.every((c) => c.accessKey === old.accessKey), kind);
    assert(sts.calls.AssumeRole - before <= 1, kind);
    sts.clearFaults();
    clock.offset += 61_000; // past any backoff (at most 60 s)
  }
  assertEquals(errors.length, 3);
  assert(
    errors.every((e) =>
      e.error instanceof BRSRefreshError && e.retryAt instanceof Date
    ),
  );
  // Past the expiry with STS still down: a typed error at once, no call per caller.
  sts.injectFault({ kind: "outage", actions: ["AssumeRole"] });
  clock.offset = 61 * 60_000;
  const before = sts.calls.AssumeRole;
  const results = await Promise.allSettled(
    Array.from({ length: 100 }, () => session.refreshableCredentials()),
  );
  assertEquals(sts.calls.AssumeRole - before, 1);
  for (const r of results) {
    if (r.status !== "rejected") throw new Error("expected a rejection");
    assertInstanceOf(r.reason, BRSRefreshError);
    assertEquals(r.reason.code, "ServiceUnavailable");
    assertInstanceOf(r.reason.retryAt, Date);
  }
  // STS is back: after the backoff the next caller gets new credentials.
  sts.clearFaults();
  clock.offset += 61_000;
  const fresh = await session.refreshableCredentials();
  assertNotEquals(fresh.accessKey, old.accessKey);
});

Deno.test("STSRefreshableSession raises AccessDenied at once, without retries", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession({
    ...options(sts),
    stsClientConfig: { endpoint: sts.url, credentials: sts.baseCredentials }, // SDK default retries
  });
  sts.injectFault({ kind: "access-denied", actions: ["AssumeRole"] });
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertEquals(error.code, "AccessDenied");
  assertEquals(error.details.recoverable, false);
  assertEquals(sts.calls.AssumeRole, 1);
  await assertRejects(() => session.whoami(), BRSRefreshError);
  assertEquals(sts.calls.AssumeRole, 1); // within the 1 s hold-off
});

Deno.test("STSRefreshableSession deadlines ignore a server clock off by ±10 minutes (lifetime from the Date header)", async () => {
  for (const skew of [-600, 0, 600, -3_700]) {
    await using sts = await startLocalSts({ dateSkewSeconds: skew });
    const warnings: WarningEventDetail[] = [];
    await using session = new STSRefreshableSession(
      options(sts, { assumeRole: { RoleArn: ROLE, DurationSeconds: 900 } }),
    );
    session.addEventListener("warning", (e) => {
      warnings.push((e as CustomEvent<WarningEventDetail>).detail);
    });
    const credentials = await session.refreshableCredentials();
    assertEquals(warnings.length, 1, `skew ${skew}`);
    assertEquals(warnings[0]!.code, "WindowsScaled");
    assertMatch(warnings[0]!.message, /live only 900 s/, `skew ${skew}`);
    // Fast path: no further call.
    await session.refreshableCredentials();
    assertEquals(sts.calls.AssumeRole, 1);
    assertEquals(
      (await session.refreshableCredentials()).accessKey,
      credentials.accessKey,
    );
  }
});

Deno.test("STSRefreshableSession.invalidate() after ExpiredToken replies makes one refresh", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession(options(sts));
  // A client without self-healing (which would invalidate by itself).
  const client = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    maxAttempts: 1,
    credentials: session.credentialProvider,
  });
  const { accessKey } = await session.refreshableCredentials();
  sts.expire(accessKey);
  const failures = await Promise.allSettled(
    Array.from(
      { length: 20 },
      () => client.send(new GetCallerIdentityCommand({})),
    ),
  );
  assert(failures.every((f) => f.status === "rejected"));
  const invalidated = Array.from(
    { length: 1000 },
    () => session.invalidate(accessKey),
  );
  assertEquals(invalidated.filter(Boolean).length, 1);
  const reply = await client.send(new GetCallerIdentityCommand({}));
  assertMatch(reply.Arn!, /assumed-role/);
  assertEquals(sts.calls.AssumeRole, 2);
  assertNotEquals(sts.requests.at(-1)!.accessKeyId, accessKey);
  client.destroy();
});

Deno.test("STSRefreshableSession with deferRefresh: false fetches at once and close() leaves nothing running", async () => {
  await using sts = await startLocalSts();
  const session = new STSRefreshableSession(
    options(sts, { deferRefresh: false }),
  );
  const refreshed = new Promise((resolve) =>
    session.addEventListener("refresh", resolve, { once: true })
  );
  await refreshed;
  assertEquals(sts.calls.AssumeRole, 1);
  await session.refreshableCredentials();
  assertEquals(sts.calls.AssumeRole, 1);
  await session.close();
  await session.close();
  const error = await assertRejects(() => session.refreshableCredentials());
  assertEquals((error as BRSRefreshError).code, "SessionClosed");
  assertThrows(() => session.client(STSClient));
});

Deno.test("STSRefreshableSession asks the MFA provider on every refresh", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/mfa-ok";
  const secret = "JBSWY3DPEHPK3PXP";
  await using sts = await startLocalSts({
    mfaDevices: { [serial]: secret },
    mfaRequiredRoles: ["*"],
  });
  const asked: string[] = [];
  await using session = new STSRefreshableSession(options(sts, {
    assumeRole: { RoleArn: ROLE, SerialNumber: serial },
    mfaTokenProvider: (s) => {
      asked.push(s);
      return totp(secret);
    },
  }));
  const identity = await session.whoami();
  assertMatch(identity.Arn, /assumed-role\/app\/brs-session$/);
  assertEquals(asked, [serial]);
});

Deno.test("STSRefreshableSession re-asks once for a rejected MFA code, then gives up with MfaRejected", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/mfa-bad";
  await using sts = await startLocalSts({
    mfaDevices: { [serial]: "JBSWY3DPEHPK3PXP" },
    mfaRequiredRoles: ["*"],
  });
  let n = 0;
  await using session = new STSRefreshableSession(options(sts, {
    assumeRole: { RoleArn: ROLE, SerialNumber: serial },
    mfaTokenProvider: () => String(++n).padStart(6, "0"), // wrong codes
  }));
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertEquals(error.code, "MfaRejected");
  assertEquals(error.param, "mfaTokenProvider");
  assertEquals(n, 2);
  assertEquals(sts.calls.AssumeRole, 2);
});

Deno.test("STSRefreshableSession with a static TokenCode that STS rejects fails with MfaRejected and no retry", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/mfa-static";
  await using sts = await startLocalSts({
    mfaDevices: { [serial]: "JBSWY3DPEHPK3PXP" },
    mfaRequiredRoles: ["*"],
  });
  await using session = new STSRefreshableSession(options(sts, {
    assumeRole: { RoleArn: ROLE, SerialNumber: serial, TokenCode: "000000" },
  }));
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertEquals(error.code, "MfaRejected");
  assertEquals(error.param, "assumeRole.TokenCode");
  assertEquals(sts.calls.AssumeRole, 1);
  assert(!error.message.includes("000000"));
});

Deno.test("STSRefreshableSession warns when both an MFA provider and a TokenCode are set (the provider wins)", async () => {
  const warnings: WarningEventDetail[] = [];
  const session = new STSRefreshableSession({
    assumeRole: {
      RoleArn: ROLE,
      SerialNumber: "arn:aws:iam::123456789012:mfa/me",
      TokenCode: "123456",
    },
    mfaTokenProvider: () => "654321",
  });
  session.addEventListener("warning", (e) => {
    warnings.push((e as CustomEvent<WarningEventDetail>).detail);
  });
  await Promise.resolve();
  assertEquals(warnings.length, 1);
  assertEquals(warnings[0]!.code, "MfaTokenCodeIgnored");
  assert(!warnings[0]!.message.includes("123456"));
  await session.close();
});

Deno.test("STSRefreshableSession accepts role ARNs of every partition", async () => {
  for (
    const arn of [
      "arn:aws:iam::123456789012:role/app",
      "arn:aws-cn:iam::123456789012:role/app",
      "arn:aws-us-gov:iam::123456789012:role/path/to/app",
      "arn:aws-iso:iam::123456789012:role/app",
      "arn:aws-iso-b:iam::123456789012:role/app",
    ]
  ) {
    const session = new STSRefreshableSession({ assumeRole: { RoleArn: arn } });
    assertEquals(session.assumeRole.RoleArn, arn);
    assertEquals(session.assumeRole.RoleSessionName, "brs-session");
    await session.close();
  }
});

Deno.test("STSRefreshableSession rejects bad options with errors that name the parameter and the value", () => {
  const cases: [unknown, new (...a: never[]) => Error, string][] = [
    [
      { assumeRole: { RoleArn: "not-an-arn" } },
      BRSValidationError,
      `'assumeRole.RoleArn' must be an IAM role ARN such as arn:aws:iam::123456789012:role/app: got "not-an-arn"`,
    ],
    [
      { assumeRole: { RoleArn: "arn:aws:iam::123456789012:user/bob" } },
      BRSValidationError,
      "'assumeRole.RoleArn'",
    ],
    [{}, BRSValidationError, "'assumeRole' must be an object"],
    [
      { assumeRole: { RoleArn: ROLE, DurationSeconds: 12 } },
      BRSValidationError,
      "'assumeRole.DurationSeconds' must be an integer from 900 to 43200: got 12",
    ],
    [
      { assumeRole: { RoleArn: ROLE, DurationSeconds: 43201 } },
      BRSValidationError,
      "got 43201",
    ],
    [
      { assumeRole: { RoleArn: ROLE, DurationSeconds: 1000.5 } },
      BRSValidationError,
      "got 1000.5",
    ],
    [
      { assumeRole: { RoleArn: ROLE, RoleSessionName: "a" } },
      BRSValidationError,
      `'assumeRole.RoleSessionName' must be 2-64 characters of letters, digits and +=,.@_-: got "a"`,
    ],
    [
      { assumeRole: { RoleArn: ROLE, RoleSessionName: "has space" } },
      BRSValidationError,
      `got "has space"`,
    ],
    [
      { assumeRole: { RoleArn: ROLE, RoleSesionName: "typo" } },
      BRSValidationError,
      "'assumeRole.RoleSesionName' is not an AssumeRole parameter",
    ],
    [
      { assumeRole: { RoleArn: ROLE, Policy: "{not json" } },
      BRSValidationError,
      "'assumeRole.Policy'",
    ],
    [
      { assumeRole: { RoleArn: ROLE, Tags: [{ Key: "a" }] } },
      BRSValidationError,
      "'assumeRole.Tags'",
    ],
    [
      { assumeRole: { RoleArn: ROLE, SerialNumber: 5 } },
      BRSValidationError,
      "'assumeRole.SerialNumber'",
    ],
    [
      { assumeRole: { RoleArn: ROLE }, advisoryTimeout: -1 },
      BRSValidationError,
      "'advisoryTimeout' must be a number of seconds >= 0: got -1",
    ],
    [
      { assumeRole: { RoleArn: ROLE }, mandatoryTimeout: "10" },
      BRSValidationError,
      `'mandatoryTimeout' must be a number of seconds >= 0: got "10"`,
    ],
    [
      {
        assumeRole: { RoleArn: ROLE },
        advisoryTimeout: 600,
        mandatoryTimeout: 900,
      },
      BRSValidationError,
      "'mandatoryTimeout' must be <= 'advisoryTimeout': current values are 900 and 600",
    ],
    [
      { assumeRole: { RoleArn: ROLE }, deferRefresh: "no" },
      BRSValidationError,
      `'deferRefresh' must be a boolean: got "no"`,
    ],
    [
      { assumeRole: { RoleArn: ROLE }, defer_refresh: false },
      BRSValidationError,
      "option 'defer_refresh' is unknown",
    ],
    [
      { assumeRole: { RoleArn: ROLE }, region: 5 },
      BRSValidationError,
      "'region' must be a non-empty string: got 5",
    ],
    [
      { assumeRole: { RoleArn: ROLE }, stsClientConfig: "x" },
      BRSValidationError,
      "'stsClientConfig' must be an object",
    ],
    [
      { assumeRole: { RoleArn: ROLE }, clock: {} },
      BRSValidationError,
      "'clock' must be an object with now() and monotonic()",
    ],
    [
      { assumeRole: { RoleArn: ROLE }, mfaTokenProvider: () => "123456" },
      BRSConfigurationError,
      "'mfaTokenProvider' is set but 'assumeRole.SerialNumber' is not",
    ],
    [
      { assumeRole: { RoleArn: ROLE, TokenCode: "123456" } },
      BRSConfigurationError,
      "'assumeRole.TokenCode' is set but 'assumeRole.SerialNumber' is not",
    ],
    [
      { assumeRole: { RoleArn: ROLE }, mfaTokenProviderOptions: {} },
      BRSConfigurationError,
      "'mfaTokenProviderOptions' is set but 'mfaTokenProvider' is not",
    ],
    [
      {
        assumeRole: {
          RoleArn: ROLE,
          SerialNumber: "arn:aws:iam::123456789012:mfa/me",
        },
        mfaTokenProvider: ["sh", "-c", "echo 123456"],
      },
      BRSConfigurationError,
      "sh",
    ],
    [
      {
        assumeRole: {
          RoleArn: ROLE,
          SerialNumber: "arn:aws:iam::123456789012:mfa/me",
        },
        mfaTokenProvider: () => "1",
        mfaTokenProviderOptions: 5,
      },
      BRSValidationError,
      "mfaTokenProviderOptions",
    ],
  ];
  for (const [opts, ErrorClass, text] of cases) {
    const error = assertThrows(
      () => new STSRefreshableSession(opts as STSRefreshableSessionOptions),
      ErrorClass,
    );
    assert(
      error.message.includes(text),
      `${JSON.stringify(opts)}: ${error.message}`,
    );
    assert(!error.message.endsWith("."), error.message);
  }
  // A TokenCode is a secret: its value is never echoed.
  const error = assertThrows(
    () =>
      new STSRefreshableSession({
        assumeRole: {
          RoleArn: ROLE,
          SerialNumber: "arn:aws:iam::123456789012:mfa/me",
          TokenCode: "12345x",
        },
      }),
    BRSValidationError,
  );
  assert(!error.message.includes("12345x"));
  assert(!JSON.stringify(error).includes("12345x"));
});

Deno.test("STSRefreshableSession never sends a static TokenCode twice and takes a new one", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/mfa-static-reuse";
  const secret = "JBSWY3DPEHPK3PXP";
  await using sts = await startLocalSts({
    mfaDevices: { [serial]: secret },
    mfaRequiredRoles: ["*"],
  });
  const now = Date.now();
  await using session = new STSRefreshableSession(options(sts, {
    assumeRole: {
      RoleArn: ROLE,
      SerialNumber: serial,
      TokenCode: totp(secret, now),
    },
  }));
  await session.refreshableCredentials();
  assertEquals(sts.calls.AssumeRole, 1);
  const error = await assertRejects(
    () => session.refresh({ force: true }),
    BRSRefreshError,
    "'assumeRole.TokenCode' was already used",
  );
  assertEquals(error.code, "MfaCodeUsed");
  assertEquals(error.param, "assumeRole.TokenCode");
  assertEquals(sts.calls.AssumeRole, 1);
  // The user sets a new code (the next 30 s step's): it is used.
  session.assumeRole.TokenCode = totp(secret, now + 30_000);
  await session.refresh({ force: true });
  assertEquals(sts.calls.AssumeRole, 2);
});
