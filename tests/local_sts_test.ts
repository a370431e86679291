import {
  type LocalSts,
  type LocalStsFault,
  startLocalSts,
  totp,
} from "@brs/session/testing";
import {
  AssumeRoleCommand,
  type Credentials,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
  STSServiceException,
} from "@aws-sdk/client-sts";
import { SignatureV4 } from "@smithy/signature-v4";
import { Hash } from "@smithy/hash-node";
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";

const ROLE = "arn:aws:iam::111122223333:role/team/app";
const MFA_SERIAL = "arn:aws:iam::123456789012:mfa/alice";
const MFA_SECRET = "JBSWY3DPEHPK3PXP";

/** An STS client of the local endpoint (no retries unless asked). */
function clientOf(
  sts: LocalSts,
  credentials:
    | { accessKeyId: string; secretAccessKey: string; sessionToken?: string }
    | Credentials = sts.baseCredentials,
  maxAttempts = 1,
): STSClient & Disposable {
  const identity = "AccessKeyId" in credentials
    ? {
      accessKeyId: credentials.AccessKeyId!,
      secretAccessKey: credentials.SecretAccessKey!,
      sessionToken: credentials.SessionToken!,
    }
    : credentials;
  const client = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    credentials: identity,
    maxAttempts,
  });
  return Object.assign(client, {
    [Symbol.dispose]: () => client.destroy(),
  });
}

async function assumeRole(
  sts: LocalSts,
  input: Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]> = {},
): Promise<Credentials> {
  using client = clientOf(sts);
  const reply = await client.send(
    new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "s1", ...input }),
  );
  return reply.Credentials!;
}

/** The STS error a call rejects with. */
async function stsError(
  promise: Promise<unknown>,
): Promise<STSServiceException> {
  const error = await assertRejects(() => promise);
  assertInstanceOf(error, STSServiceException);
  return error;
}

/** Sends a raw request and returns status, headers and body. */
async function raw(
  sts: LocalSts,
  init: RequestInit & { path?: string } = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(`${sts.url}${init.path ?? "/"}`, init);
  return {
    status: response.status,
    headers: response.headers,
    body: await response.text(),
  };
}

function xmlValue(body: string, element: string): string | undefined {
  return new RegExp(`<${element}>([^<]*)</${element}>`).exec(body)?.[1];
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };

Deno.test("startLocalSts() issues role credentials whose identity is the assumed role", async () => {
  await using sts = await startLocalSts();
  using base = clientOf(sts);
  const reply = await base.send(
    new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "build-42" }),
  );
  const credentials = reply.Credentials!;
  assertMatch(credentials.AccessKeyId!, /^ASIA[A-Z2-7]{16}$/);
  assertEquals(credentials.SecretAccessKey!.length, 40);
  assert(credentials.SessionToken!.length > 100);
  const lifetime = credentials.Expiration!.getTime() - Date.now();
  assert(lifetime > 3000_000 && lifetime <= 3600_000, `lifetime ${lifetime}`);
  assertEquals(
    reply.AssumedRoleUser?.Arn,
    "arn:aws:sts::111122223333:assumed-role/app/build-42",
  );
  assertMatch(
    reply.AssumedRoleUser!.AssumedRoleId!,
    /^AROA[A-Z2-7]{17}:build-42$/,
  );

  using assumed = clientOf(sts, credentials);
  const identity = await assumed.send(new GetCallerIdentityCommand({}));
  assertEquals(
    identity.Arn,
    "arn:aws:sts::111122223333:assumed-role/app/build-42",
  );
  assertEquals(identity.Account, "111122223333");
  assertEquals(identity.UserId, reply.AssumedRoleUser!.AssumedRoleId);

  // The role id is stable per role, across sessions and servers.
  await using other = await startLocalSts();
  const again = await (async () => {
    using client = clientOf(other);
    return await client.send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "other" }),
    );
  })();
  assertEquals(
    again.AssumedRoleUser!.AssumedRoleId!.split(":")[0],
    reply.AssumedRoleUser!.AssumedRoleId!.split(":")[0],
  );
});

Deno.test("startLocalSts() answers GetCallerIdentity with the base key as the base user", async () => {
  await using sts = await startLocalSts({
    accountId: "210987654321",
    baseUserName: "ci-bot",
    baseCredentials: {
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    },
  });
  assertEquals(sts.baseCredentials.accessKeyId, "AKIAIOSFODNN7EXAMPLE");
  assertMatch(sts.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  using client = clientOf(sts);
  const identity = await client.send(new GetCallerIdentityCommand({}));
  assertEquals(identity.Arn, "arn:aws:iam::210987654321:user/ci-bot");
  assertEquals(identity.Account, "210987654321");
  assertMatch(identity.UserId!, /^AIDA[A-Z2-7]{17}$/);
});

Deno.test("startLocalSts() picks a random base key per server", async () => {
  await using a = await startLocalSts();
  await using b = await startLocalSts();
  assertMatch(a.baseCredentials.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
  assertNotEquals(a.baseCredentials.accessKeyId, b.baseCredentials.accessKeyId);
  assertNotEquals(a.url, b.url);
});

Deno.test("GetSessionToken issues credentials of the base user and refuses session credentials", async () => {
  await using sts = await startLocalSts();
  using base = clientOf(sts);
  const { Credentials: session } = await base.send(
    new GetSessionTokenCommand({ DurationSeconds: 900 }),
  );
  const lifetime = session!.Expiration!.getTime() - Date.now();
  assert(lifetime > 800_000 && lifetime <= 900_000, `lifetime ${lifetime}`);
  using client = clientOf(sts, session!);
  const identity = await client.send(new GetCallerIdentityCommand({}));
  assertEquals(identity.Arn, "arn:aws:iam::123456789012:user/brs-local");

  const error = await stsError(client.send(new GetSessionTokenCommand({})));
  assertEquals(error.name, "AccessDenied");
  assertEquals(error.$metadata.httpStatusCode, 403);

  const invalid = await stsError(
    base.send(new GetSessionTokenCommand({ DurationSeconds: 129601 })),
  );
  assertEquals(invalid.name, "ValidationError");
  assertEquals(
    invalid.message,
    "1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600",
  );
});

Deno.test("AssumeRole with temporary credentials chains roles for at most 1 hour", async () => {
  await using sts = await startLocalSts();
  const first = await assumeRole(sts);
  using chained = clientOf(sts, first);
  const reply = await chained.send(
    new AssumeRoleCommand({
      RoleArn: "arn:aws-cn:iam::444455556666:role/next",
      RoleSessionName: "hop",
    }),
  );
  using next = clientOf(sts, reply.Credentials!);
  const identity = await next.send(new GetCallerIdentityCommand({}));
  assertEquals(
    identity.Arn,
    "arn:aws-cn:sts::444455556666:assumed-role/next/hop",
  );

  const error = await stsError(
    chained.send(
      new AssumeRoleCommand({
        RoleArn: ROLE,
        RoleSessionName: "long",
        DurationSeconds: 7200,
      }),
    ),
  );
  assertEquals(error.name, "ValidationError");
  assertStringIncludes(error.message, "1 hour session limit");
});

Deno.test("a request signed with a wrong secret is refused with SignatureDoesNotMatch", async () => {
  await using sts = await startLocalSts();
  using client = clientOf(sts, {
    accessKeyId: sts.baseCredentials.accessKeyId,
    secretAccessKey: "not-the-secret",
  });
  const error = await stsError(client.send(new GetCallerIdentityCommand({})));
  assertEquals(error.name, "SignatureDoesNotMatch");
  assertEquals(error.$fault, "client");
  assertEquals(error.$metadata.httpStatusCode, 403);
  assertStringIncludes(
    error.message,
    "does not match the signature you provided",
  );
  assertEquals(sts.requests.at(-1)?.errorCode, "SignatureDoesNotMatch");

  // The secret of an issued key is checked too.
  const issued = await assumeRole(sts);
  using wrong = clientOf(sts, { ...issued, SecretAccessKey: "x".repeat(40) });
  const again = await stsError(wrong.send(new GetCallerIdentityCommand({})));
  assertEquals(again.name, "SignatureDoesNotMatch");
});

Deno.test("a request with an unknown access key is refused with InvalidClientTokenId", async () => {
  await using sts = await startLocalSts();
  using client = clientOf(sts, {
    accessKeyId: "AKIAUNKNOWNUNKNOWN00",
    secretAccessKey: "secret",
  });
  const error = await stsError(client.send(new GetCallerIdentityCommand({})));
  assertEquals(error.name, "InvalidClientTokenId");
  assertEquals(error.$metadata.httpStatusCode, 403);
  assertEquals(
    error.message,
    "The security token included in the request is invalid.",
  );
});

Deno.test("a temporary key with a missing or wrong session token is refused with InvalidClientTokenId", async () => {
  await using sts = await startLocalSts();
  const issued = await assumeRole(sts);
  using missing = clientOf(sts, {
    accessKeyId: issued.AccessKeyId!,
    secretAccessKey: issued.SecretAccessKey!,
  });
  assertEquals(
    (await stsError(missing.send(new GetCallerIdentityCommand({})))).name,
    "InvalidClientTokenId",
  );
  using wrong = clientOf(sts, { ...issued, SessionToken: "AAAA" });
  assertEquals(
    (await stsError(wrong.send(new GetCallerIdentityCommand({})))).name,
    "InvalidClientTokenId",
  );
  // The base key with a session token is not valid either.
  using base = clientOf(sts, { ...sts.baseCredentials, sessionToken: "AAAA" });
  assertEquals(
    (await stsError(base.send(new GetCallerIdentityCommand({})))).name,
    "InvalidClientTokenId",
  );
});

Deno.test("expire() makes issued keys answer ExpiredToken", async () => {
  await using sts = await startLocalSts();
  const first = await assumeRole(sts);
  const second = await assumeRole(sts);
  using one = clientOf(sts, first);
  using two = clientOf(sts, second);
  sts.expire(first.AccessKeyId!);
  const error = await stsError(one.send(new GetCallerIdentityCommand({})));
  assertEquals(error.name, "ExpiredToken");
  assertEquals(error.$metadata.httpStatusCode, 403);
  assertEquals(
    error.message,
    "The security token included in the request is expired",
  );
  await two.send(new GetCallerIdentityCommand({}));

  sts.expire();
  assertEquals(
    (await stsError(two.send(new GetCallerIdentityCommand({})))).name,
    "ExpiredToken",
  );
  // The base key never expires.
  using base = clientOf(sts);
  await base.send(new GetCallerIdentityCommand({}));
  assertThrows(
    () => sts.expire("ASIANOTISSUED0000000"),
    TypeError,
    "not issued",
  );
});

Deno.test("AssumeRole validates its parameters like AWS (ValidationError)", async () => {
  await using sts = await startLocalSts();
  using client = clientOf(sts);
  const cases: [
    Partial<ConstructorParameters<typeof AssumeRoleCommand>[0]>,
    string,
  ][] = [
    [
      { RoleArn: "arn:aws:iam::1234:role/app-xxxxxx" },
      "1 validation error detected: Value 'arn:aws:iam::1234:role/app-xxxxxx' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern",
    ],
    [
      { RoleArn: "short" },
      "Value 'short' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
    ],
    [
      { RoleSessionName: "a" },
      "Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
    ],
    [
      { RoleSessionName: "x".repeat(65) },
      "at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64",
    ],
    [
      { RoleSessionName: "no spaces" },
      "Value 'no spaces' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    ],
    [
      { DurationSeconds: 899 },
      "Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    ],
    [
      { DurationSeconds: 43201 },
      "Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
    ],
    [
      { RoleSessionName: "a", DurationSeconds: 1 },
      "2 validation errors detected: Value 'a' at 'roleSessionName'",
    ],
  ];
  for (const [input, message] of cases) {
    const error = await stsError(
      client.send(
        new AssumeRoleCommand({
          RoleArn: ROLE,
          RoleSessionName: "s1",
          ...input,
        }),
      ),
    );
    assertEquals(error.name, "ValidationError", JSON.stringify(input));
    assertEquals(error.$metadata.httpStatusCode, 400);
    assertStringIncludes(error.message, message);
  }
  // The longest session name and the extreme durations are fine.
  await client.send(
    new AssumeRoleCommand({
      RoleArn: ROLE,
      RoleSessionName: "a+=,.@-_".padEnd(64, "z"),
      DurationSeconds: 43200,
    }),
  );
  await client.send(
    new AssumeRoleCommand({
      RoleArn: ROLE,
      RoleSessionName: "s1",
      DurationSeconds: 900,
    }),
  );
});

Deno.test("credentialLifetimeSeconds sets every lifetime and allows short DurationSeconds", async () => {
  await using sts = await startLocalSts({ credentialLifetimeSeconds: 5 });
  const credentials = await assumeRole(sts, { DurationSeconds: 60 });
  const lifetime = credentials.Expiration!.getTime() - Date.now();
  assert(lifetime > 0 && lifetime <= 5000, `lifetime ${lifetime}`);

  sts.credentialLifetimeSeconds = 120;
  const longer = await assumeRole(sts, { DurationSeconds: 1 });
  const longerLifetime = longer.Expiration!.getTime() - Date.now();
  assert(longerLifetime > 60_000 && longerLifetime <= 120_000);

  sts.credentialLifetimeSeconds = undefined;
  const error = await stsError(assumeRole(sts, { DurationSeconds: 60 }));
  assertEquals(error.name, "ValidationError");
  assertThrows(() => {
    sts.credentialLifetimeSeconds = -1;
  }, TypeError);
});

Deno.test("AssumeRole with MFA accepts a valid TOTP code once and refuses replays and wrong codes", async () => {
  await using sts = await startLocalSts({
    mfaDevices: {
      [MFA_SERIAL]: MFA_SECRET,
      "GAHT12345678": "GEZDGNBVGY3TQOJQ",
    },
    mfaRequiredRoles: [ROLE],
  });
  using client = clientOf(sts);
  const code = totp(MFA_SECRET);
  const reply = await client.send(
    new AssumeRoleCommand({
      RoleArn: ROLE,
      RoleSessionName: "alice",
      SerialNumber: MFA_SERIAL,
      TokenCode: code,
    }),
  );
  assert(reply.Credentials?.AccessKeyId);

  const replay = await stsError(
    client.send(
      new AssumeRoleCommand({
        RoleArn: ROLE,
        RoleSessionName: "alice",
        SerialNumber: MFA_SERIAL,
        TokenCode: code,
      }),
    ),
  );
  assertEquals(replay.name, "AccessDenied");
  assertEquals(replay.$metadata.httpStatusCode, 403);
  assertEquals(
    replay.message,
    "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
  );

  const wrongCode = String((Number(totp(MFA_SECRET)) + 500_000) % 1_000_000)
    .padStart(6, "0");
  const wrong = await stsError(
    client.send(
      new AssumeRoleCommand({
        RoleArn: ROLE,
        RoleSessionName: "alice",
        SerialNumber: MFA_SERIAL,
        TokenCode: wrongCode,
      }),
    ),
  );
  assertEquals(wrong.name, "AccessDenied");

  const unknown = await stsError(
    client.send(
      new AssumeRoleCommand({
        RoleArn: ROLE,
        RoleSessionName: "alice",
        SerialNumber: "arn:aws:iam::123456789012:mfa/mallory",
        TokenCode: "123456",
      }),
    ),
  );
  assertEquals(unknown.name, "AccessDenied");
  assertStringIncludes(unknown.message, "unable to validate MFA code");

  const without = await stsError(
    client.send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "alice" }),
    ),
  );
  assertEquals(without.name, "AccessDenied");
  assertEquals(
    without.message,
    `User: arn:aws:iam::123456789012:user/brs-local is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`,
  );

  const noCode = await stsError(
    client.send(
      new AssumeRoleCommand({
        RoleArn: ROLE,
        RoleSessionName: "alice",
        SerialNumber: MFA_SERIAL,
      }),
    ),
  );
  assertEquals(noCode.name, "AccessDenied");

  const badFormat = await stsError(
    client.send(
      new AssumeRoleCommand({
        RoleArn: ROLE,
        RoleSessionName: "alice",
        SerialNumber: MFA_SERIAL,
        TokenCode: "12ab56",
      }),
    ),
  );
  assertEquals(badFormat.name, "ValidationError");
  assert(!badFormat.message.includes("12ab56"), "the code is not echoed");

  // A device given by id works, and roles not listed need no MFA.
  await client.send(
    new AssumeRoleCommand({
      RoleArn: ROLE,
      RoleSessionName: "bob",
      SerialNumber: "GAHT12345678",
      TokenCode: totp("GEZDGNBVGY3TQOJQ"),
    }),
  );
  await client.send(
    new AssumeRoleCommand({
      RoleArn: "arn:aws:iam::111122223333:role/open",
      RoleSessionName: "bob",
    }),
  );
});

Deno.test("mfaRequiredRoles ['*'] requires MFA for every role and GetSessionToken checks codes", async () => {
  await using sts = await startLocalSts({
    mfaDevices: { [MFA_SERIAL]: MFA_SECRET },
    mfaRequiredRoles: ["*"],
  });
  using client = clientOf(sts);
  const error = await stsError(
    assumeRole(sts, { RoleArn: "arn:aws:iam::999988887777:role/any" }),
  );
  assertEquals(error.name, "AccessDenied");
  // The previous step's code is accepted too (±1 step).
  const previous = totp(MFA_SECRET, Date.now() - 30_000);
  await client.send(
    new GetSessionTokenCommand({
      SerialNumber: MFA_SERIAL,
      TokenCode: previous,
    }),
  );
  const replay = await stsError(
    client.send(
      new GetSessionTokenCommand({
        SerialNumber: MFA_SERIAL,
        TokenCode: previous,
      }),
    ),
  );
  assertEquals(replay.name, "AccessDenied");
});

Deno.test("injectFault() answers with each fault kind the SDK maps to its errors", async () => {
  await using sts = await startLocalSts();
  using client = clientOf(sts);
  const cases: [LocalStsFault["kind"], string, number, "client" | "server"][] =
    [
      ["throttle", "Throttling", 400, "client"],
      ["server-error", "InternalFailure", 500, "server"],
      ["access-denied", "AccessDenied", 403, "client"],
      ["outage", "ServiceUnavailable", 503, "server"],
      ["expired-token", "ExpiredToken", 403, "client"],
    ];
  for (const [kind, name, status, fault] of cases) {
    sts.injectFault({ kind, times: 1 });
    const error = await stsError(client.send(new GetCallerIdentityCommand({})));
    assertEquals(error.name, name, kind);
    assertEquals(error.$metadata.httpStatusCode, status, kind);
    assertEquals(error.$fault, fault, kind);
    assertEquals(sts.requests.at(-1)?.fault, kind);
    // `times: 1`: the next request is answered normally.
    await client.send(new GetCallerIdentityCommand({}));
  }
  sts.injectFault({ kind: "throttle", times: 1 });
  const throttled = await stsError(
    client.send(new GetCallerIdentityCommand({})),
  );
  assertEquals(throttled.message, "Rate exceeded");

  sts.injectFault({ kind: "malformed", times: 1 });
  const malformed = await assertRejects(() =>
    client.send(new GetCallerIdentityCommand({}))
  );
  assertInstanceOf(malformed, Error);
  assertStringIncludes(malformed.message, "XML");
  assertEquals(sts.requests.at(-1)?.status, 200);
});

Deno.test("injectFault() limits faults by times and actions until clearFaults()", async () => {
  await using sts = await startLocalSts();
  using client = clientOf(sts);
  sts.injectFault({ kind: "outage" });
  for (let i = 0; i < 3; i++) {
    assertEquals(
      (await stsError(client.send(new GetCallerIdentityCommand({})))).name,
      "ServiceUnavailable",
    );
  }
  sts.clearFaults();
  await client.send(new GetCallerIdentityCommand({}));

  sts.injectFault({ kind: "throttle", times: 2, actions: ["AssumeRole"] });
  await client.send(new GetCallerIdentityCommand({}));
  assertEquals((await stsError(assumeRole(sts))).name, "Throttling");
  assertEquals((await stsError(assumeRole(sts))).name, "Throttling");
  await assumeRole(sts);

  // With retries, the SDK retries a throttled request and succeeds.
  sts.injectFault({ kind: "throttle", times: 1 });
  using retrying = clientOf(sts, sts.baseCredentials, 2);
  const reply = await retrying.send(new GetCallerIdentityCommand({}));
  assertEquals(reply.$metadata.attempts, 2);

  assertThrows(() => sts.injectFault({ kind: "nope" as "drop" }), TypeError);
  assertThrows(() => sts.injectFault({ kind: "drop", times: 0 }), TypeError);
});

Deno.test("a drop fault closes the connection without a reply", async () => {
  await using sts = await startLocalSts();
  using client = clientOf(sts);
  await client.send(new GetCallerIdentityCommand({})); // a kept-alive connection
  sts.injectFault({ kind: "drop", times: 1 });
  const error = await assertRejects(() =>
    client.send(new GetCallerIdentityCommand({}))
  );
  assertInstanceOf(error, Error);
  assert(!(error instanceof STSServiceException));
  assertEquals(sts.requests.at(-1)?.fault, "drop");
  assertEquals(sts.requests.at(-1)?.status, 0);
  await client.send(new GetCallerIdentityCommand({}));
  assertEquals(sts.calls.GetCallerIdentity, 3);
});

Deno.test("a hang fault never answers until the client aborts, and close() still returns", async () => {
  const sts = await startLocalSts();
  using client = clientOf(sts);
  sts.injectFault({ kind: "hang" });
  const controller = new AbortController();
  const pending = client.send(new GetCallerIdentityCommand({}), {
    abortSignal: controller.signal,
  });
  while (sts.calls.total === 0) await new Promise((r) => setTimeout(r, 5));
  controller.abort();
  await assertRejects(() => pending);

  // A second hanging request is ended by close().
  const second = client.send(new GetCallerIdentityCommand({}));
  while (sts.calls.total === 1) await new Promise((r) => setTimeout(r, 5));
  await sts.close();
  await assertRejects(() => second);
  await sts.close(); // idempotent
});

Deno.test("latencyMs delays replies and close() cuts the wait short", async () => {
  const sts = await startLocalSts({ latencyMs: 20 });
  using client = clientOf(sts);
  await client.send(new GetCallerIdentityCommand({}));
  sts.latencyMs = 3_600_000;
  assertEquals(sts.latencyMs, 3_600_000);
  const pending = client.send(new GetCallerIdentityCommand({}));
  while (sts.calls.total === 1) await new Promise((r) => setTimeout(r, 5));
  await sts.close();
  await assertRejects(() => pending);
  assertThrows(() => {
    sts.latencyMs = -1;
  }, TypeError);
});

Deno.test("dateSkewSeconds shifts the Date header and Expiration like a server with a wrong clock", async () => {
  await using sts = await startLocalSts({ dateSkewSeconds: 7200 });
  const { headers } = await raw(sts, {
    method: "POST",
    headers: FORM,
    body: "Action=GetCallerIdentity&Version=2011-06-15",
  });
  const skew = new Date(headers.get("date")!).getTime() - Date.now();
  assert(Math.abs(skew - 7200_000) < 300_000, `skew ${skew}`);
  const credentials = await assumeRole(sts);
  const lifetime = credentials.Expiration!.getTime() - Date.now();
  assert(
    Math.abs(lifetime - (7200 + 3600) * 1000) < 300_000,
    `lifetime ${lifetime}`,
  );
  // The key itself lives its real hour: it works now.
  using client = clientOf(sts, credentials);
  await client.send(new GetCallerIdentityCommand({}));
  sts.dateSkewSeconds = 0;
  const after = await raw(sts, {
    method: "POST",
    headers: FORM,
    body: "Action=GetCallerIdentity&Version=2011-06-15",
  });
  assert(
    Math.abs(new Date(after.headers.get("date")!).getTime() - Date.now()) <
      300_000,
  );
});

Deno.test("maxRequestSkewSeconds refuses stale signatures and the SDK corrects its clock from the Date header", async () => {
  await using sts = await startLocalSts({
    dateSkewSeconds: 3600,
    maxRequestSkewSeconds: 900,
  });
  using client = clientOf(sts);
  const error = await stsError(client.send(new GetCallerIdentityCommand({})));
  assertEquals(error.name, "SignatureDoesNotMatch");
  assertStringIncludes(error.message, "Signature expired");
  // The SDK took the server's clock offset from the Date header of the error.
  const identity = await client.send(new GetCallerIdentityCommand({}));
  assertEquals(identity.Account, "123456789012");
});

Deno.test("calls counts requests per action, requests logs them without secrets, resetCalls() zeroes both", async () => {
  await using sts = await startLocalSts();
  using client = clientOf(sts);
  const credentials = await assumeRole(sts);
  await client.send(new GetCallerIdentityCommand({}));
  await client.send(new GetCallerIdentityCommand({}));
  await client.send(new GetSessionTokenCommand({}));
  sts.injectFault({ kind: "throttle", times: 1 });
  await stsError(assumeRole(sts));
  assertEquals({ ...sts.calls }, {
    AssumeRole: 2,
    GetCallerIdentity: 2,
    GetSessionToken: 1,
    AssumeRoleWithWebIdentity: 0,
    total: 5,
  });
  assertEquals(sts.requests.length, 5);
  assertEquals(sts.requests.map((r) => r.action), [
    "AssumeRole",
    "GetCallerIdentity",
    "GetCallerIdentity",
    "GetSessionToken",
    "AssumeRole",
  ]);
  assertEquals(sts.requests[0]!.status, 200);
  assertEquals(sts.requests[0]!.accessKeyId, sts.baseCredentials.accessKeyId);
  assertEquals(sts.requests[4]!.errorCode, "Throttling");
  const printed = JSON.stringify(sts.requests) + JSON.stringify(sts) +
    Deno.inspect(sts, { depth: 10 });
  assert(!printed.includes(sts.baseCredentials.secretAccessKey));
  assert(!printed.includes(credentials.SecretAccessKey!));
  assert(!printed.includes(credentials.SessionToken!));
  assertStringIncludes(Deno.inspect(sts), sts.url);

  const live = sts.calls;
  sts.resetCalls();
  assertEquals(live.total, 0);
  assertEquals(sts.requests.length, 0);
});

Deno.test("malformed requests get AWS error XML, never a crash", async () => {
  await using sts = await startLocalSts();
  const cases: [RequestInit & { path?: string }, number, string][] = [
    [
      { method: "POST", headers: FORM, body: "Version=2011-06-15" },
      400,
      "MissingAction",
    ],
    [
      { method: "POST", headers: FORM, body: "Action=Nope&Version=2011-06-15" },
      400,
      "InvalidAction",
    ],
    [
      {
        method: "POST",
        headers: FORM,
        body: "Action=GetFederationToken&Version=2011-06-15",
      },
      400,
      "InvalidAction",
    ],
    [
      { method: "POST", headers: FORM, body: "Action=GetCallerIdentity" },
      400,
      "InvalidAction",
    ],
    [
      {
        method: "POST",
        headers: FORM,
        body: "Action=GetCallerIdentity&Version=2000-01-01",
      },
      400,
      "InvalidAction",
    ],
    [
      { method: "POST", headers: FORM, body: "Action=%zz&Version=2011-06-15" },
      400,
      "MalformedQueryString",
    ],
    [
      {
        method: "POST",
        headers: FORM,
        body: "Action=GetCallerIdentity&Version=2011-06-15",
      },
      403,
      "MissingAuthenticationToken",
    ],
    [
      { method: "GET", path: "/?Action=GetCallerIdentity&Version=2011-06-15" },
      403,
      "MissingAuthenticationToken",
    ],
    [
      {
        method: "POST",
        headers: { ...FORM, authorization: "Basic abc" },
        body: "Action=GetCallerIdentity&Version=2011-06-15",
      },
      400,
      "IncompleteSignature",
    ],
    [
      {
        method: "POST",
        headers: {
          ...FORM,
          authorization:
            "AWS4-HMAC-SHA256 Credential=AKIAX/20240101/us-east-1/sts/aws4_request",
        },
        body: "Action=GetCallerIdentity&Version=2011-06-15",
      },
      400,
      "IncompleteSignature",
    ],
    [{ method: "PUT", body: "x" }, 405, "MethodNotAllowed"],
    [
      { method: "POST", headers: FORM, body: "A".repeat(70_000) },
      413,
      "RequestEntityTooLarge",
    ],
  ];
  for (const [init, status, code] of cases) {
    const reply = await raw(sts, init);
    assertEquals(
      [reply.status, xmlValue(reply.body, "Code")],
      [status, code],
      String(init.body ?? init.path).slice(0, 80),
    );
    assertStringIncludes(reply.body, "<ErrorResponse");
    assertEquals(xmlValue(reply.body, "Type"), "Sender");
    assertEquals(
      xmlValue(reply.body, "RequestId"),
      reply.headers.get("x-amzn-requestid"),
    );
    assert(reply.headers.get("date"));
    assertEquals(reply.headers.get("content-type"), "text/xml");
  }
  // Not HTTP at all: a 400 and the server keeps serving.
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: Number(new URL(sts.url).port),
  });
  await conn.write(new TextEncoder().encode("HELLO\r\n\r\n"));
  const buffer = new Uint8Array(1024);
  const n = await conn.read(buffer);
  conn.close();
  assertStringIncludes(
    new TextDecoder().decode(buffer.subarray(0, n ?? 0)),
    "HTTP/1.1 400",
  );
  using client = clientOf(sts);
  await client.send(new GetCallerIdentityCommand({}));
});

Deno.test("a SigV4-signed GET query request is served", async () => {
  await using sts = await startLocalSts();
  const url = new URL(sts.url);
  const signer = new SignatureV4({
    credentials: sts.baseCredentials,
    region: "eu-west-1",
    service: "sts",
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = await signer.sign({
    method: "GET",
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
    headers: { host: url.host },
  });
  const headers = { ...signed.headers };
  delete headers.host;
  const reply = await raw(sts, {
    path: "/?Action=GetCallerIdentity&Version=2011-06-15",
    headers,
  });
  assertEquals(reply.status, 200);
  assertStringIncludes(
    reply.body,
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">',
  );
  assertEquals(
    xmlValue(reply.body, "Arn"),
    "arn:aws:iam::123456789012:user/brs-local",
  );
  assertEquals(
    xmlValue(reply.body, "RequestId"),
    reply.headers.get("x-amzn-requestid"),
  );
});

Deno.test("startLocalSts() refuses invalid options with a TypeError", async () => {
  await assertRejects(
    () => startLocalSts({ mfaDevices: { "dev": "not base32!" } }),
    TypeError,
    "MFA device 'dev'",
  );
  await assertRejects(() => startLocalSts({ port: -1 }), TypeError, "'port'");
  await assertRejects(
    () => startLocalSts({ accountId: "12" }),
    TypeError,
    "'accountId'",
  );
  await assertRejects(
    () => startLocalSts({ credentialLifetimeSeconds: 0 }),
    TypeError,
    "'credentialLifetimeSeconds'",
  );
});

Deno.test("close() is idempotent and [Symbol.asyncDispose] frees the port", async () => {
  const sts = await startLocalSts();
  using client = clientOf(sts);
  await client.send(new GetCallerIdentityCommand({}));
  await Promise.all([sts.close(), sts.close()]);
  await sts[Symbol.asyncDispose]();
  await assertRejects(() => client.send(new GetCallerIdentityCommand({})));
  // The port is free again.
  await using again = await startLocalSts({
    port: Number(new URL(sts.url).port),
  });
  assertEquals(again.url, sts.url);
});

Deno.test("totp() computes RFC 6238 codes and refuses invalid secrets", () => {
  const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // "12345678901234567890"
  assertEquals(totp(secret, 59_000), "287082");
  assertEquals(totp(secret, 1_111_111_109_000), "081804");
  assertEquals(totp(secret, 1_234_567_890_000), "005924");
  assertEquals(totp(secret, 20_000_000_000_000), "353130");
  assertEquals(totp(secret.toLowerCase(), 59_000), "287082");
  assertThrows(() => totp("not base32!"), TypeError, "base32");
  assertThrows(() => totp(secret, Number.NaN), TypeError, "timeMs");
});
