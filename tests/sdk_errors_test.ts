/**
 * Errors that come from the AWS SDK (STS replies, hangs, broken bodies)
 * reach users as typed `BRSError`s whose `cause` chain holds no SDK request
 * or response: the request headers carry the session token and the body the
 * web identity token or MFA code.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertStringIncludes,
} from "@std/assert";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import {
  BRSError,
  BRSIdentityError,
  BRSRefreshError,
  CustomRefreshableSession,
  STSRefreshableSession,
  WebIdentityRefreshableSession,
} from "../mod.ts";
import {
  type LocalSts,
  mintWebIdentityToken,
  startLocalSts,
  totp,
} from "../src/testing/mod.ts";
import { assertNoSecrets, rejectsWith, withWatchdog } from "./_helpers/scan.ts";
import { localStsOptions, recordEvents } from "./_helpers/sessions.ts";

const ROLE = "arn:aws:iam::123456789012:role/app";
const SERIAL = "arn:aws:iam::123456789012:mfa/alice";
const SERIAL_2 = "arn:aws:iam::123456789012:mfa/bob";
const MFA_SECRET = "JBSWY3DPEHPK3PXP";

/** Temporary credentials from the endpoint, in the SDK's shape, and the secrets to scan for. */
async function temporaryBase(sts: LocalSts): Promise<{
  secrets: string[];
  credentials: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
  };
}> {
  await using base = new STSRefreshableSession(localStsOptions(sts, {
    assumeRole: { RoleArn: ROLE, RoleSessionName: "base" },
  }));
  const b = await base.refreshableCredentials();
  return {
    secrets: [b.token, b.secretKey],
    credentials: {
      accessKeyId: b.accessKey,
      secretAccessKey: b.secretKey,
      sessionToken: b.token,
    },
  };
}

/** Every printed form of a value, hidden fields and the whole depth included. */
function printed(value: unknown): string[] {
  return [
    Deno.inspect(value, { showHidden: true, depth: Infinity }),
    JSON.stringify(value) ?? "",
    String(value),
  ];
}

/** The cause chain of an error, the error first. */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && out.length < 10;) {
    out.push(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return out;
}

/** No error of the chain keeps the SDK's response, request or raw body. */
function assertNoSdkResponse(error: unknown): void {
  for (const e of chain(error)) {
    if (typeof e !== "object" || e === null) continue;
    for (const key of ["$response", "$responseBodyText", "$request"]) {
      assert(!(key in e), `the cause chain keeps ${key}: ${Deno.inspect(e)}`);
    }
  }
}

function assertClean(
  error: unknown,
  secrets: string[],
  what: string,
): void {
  assertNoSdkResponse(error);
  const texts = chain(error).flatMap(printed);
  assertNoSecrets(texts, secrets, what);
  for (const text of texts) {
    assert(
      !text.includes("hidden field"),
      `${what} sends users to the SDK's hidden $response: ${text}`,
    );
  }
}

for (
  const [action, ErrorClass, code] of [
    ["GetCallerIdentity", BRSIdentityError, "IdentityTimeout"],
    ["AssumeRole", BRSRefreshError, "RefreshTimeout"],
  ] as const
) {
  Deno.test(`session.whoami() gives a ${ErrorClass.name} (${code}) after refreshTimeout when STS does not answer ${action}`, async () => {
    await using sts = await startLocalSts();
    await using session = new STSRefreshableSession(
      localStsOptions(sts, { refreshTimeout: 3 }),
    );
    if (action === "GetCallerIdentity") await session.refreshableCredentials();
    sts.injectFault({ kind: "hang", actions: [action] });
    const error = await withWatchdog(
      rejectsWith(() => session.whoami(), ErrorClass),
      `whoami() hangs while STS does not answer ${action}`,
      10_000,
    );
    assertEquals(error.code, code);
    assertStringIncludes(error.message, "3 s");
    if (action === "GetCallerIdentity") {
      assertStringIncludes(error.message, "GetCallerIdentity");
      assertStringIncludes(error.message, sts.url);
    }
    assertEquals(sts.calls.GetCallerIdentity, action === "AssumeRole" ? 0 : 1);
    sts.clearFaults();
    await session.refresh({ force: true });
    assertStringIncludes((await session.whoami()).Arn, ":assumed-role/app/");
  });
}

Deno.test("session.getIdentity() wraps an STS error in a BRSIdentityError whose cause holds no session token", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession(localStsOptions(sts));
  const credentials = await session.refreshableCredentials();
  sts.injectFault({ kind: "server-error", actions: ["GetCallerIdentity"] });
  const error = await rejectsWith(
    () => session.getIdentity(),
    BRSIdentityError,
  );
  assertEquals(error.code, "InternalFailure");
  assertStringIncludes(error.message, "GetCallerIdentity");
  assertStringIncludes(error.message, "InternalFailure");
  assertInstanceOf(error.cause, Error);
  assertEquals((error.cause as Error).name, "InternalFailure");
  assertEquals(
    (error.cause as { $metadata?: { httpStatusCode?: number } }).$metadata
      ?.httpStatusCode,
    500,
  );
  assertClean(error, [
    credentials.token,
    credentials.secretKey,
    sts.baseCredentials.secretAccessKey,
  ], "a whoami error");
});

Deno.test("session.whoami() maps a reply that is not STS XML to a typed error naming the endpoint", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession(localStsOptions(sts));
  const credentials = await session.refreshableCredentials();
  sts.injectFault({ kind: "malformed", actions: ["GetCallerIdentity"] });
  const error = await rejectsWith(() => session.whoami(), BRSIdentityError);
  assertEquals(error.code, "MalformedReply");
  assertStringIncludes(error.message, "not STS XML");
  assertStringIncludes(error.message, sts.url);
  assertClean(error, [credentials.token, credentials.secretKey], "whoami");
});

Deno.test("a refresh maps a reply that is not STS XML to a typed error", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession(localStsOptions(sts));
  sts.injectFault({ kind: "malformed", actions: ["AssumeRole"] });
  const error = await rejectsWith(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertEquals(error.code, "MalformedReply");
  assertStringIncludes(error.message, "not STS XML");
  assertStringIncludes(error.message, sts.url);
  assertClean(error, [sts.baseCredentials.secretAccessKey], "a refresh error");
});

Deno.test("a refresh error with temporary base credentials holds no base session token, in errors or events", async () => {
  await using sts = await startLocalSts();
  const { secrets, credentials } = await temporaryBase(sts);
  const texts: string[] = [];
  const details: unknown[] = [];
  await using session = new STSRefreshableSession(localStsOptions(sts, {
    stsClientConfig: { endpoint: sts.url, maxAttempts: 1, credentials },
  }));
  recordEvents(session, texts);
  session.addEventListener(
    "refresh-error",
    (e) => details.push((e as CustomEvent).detail),
  );
  for (const kind of ["server-error", "access-denied", "throttle"] as const) {
    sts.clearFaults();
    sts.injectFault({ kind, actions: ["AssumeRole"] });
    const error = await rejectsWith(
      () => session.refresh({ force: true }),
      BRSRefreshError,
    );
    assertClean(error, secrets, `a ${kind} refresh error`);
  }
  assert(details.length >= 3);
  for (const detail of details) {
    assertClean(
      (detail as { error: unknown }).error,
      secrets,
      "a refresh-error event",
    );
  }
  assertNoSecrets(
    [...texts, ...details.flatMap(printed)],
    secrets,
    "events",
  );
});

Deno.test("with mfaSession, GetSessionToken and AssumeRole errors hold no MFA code or MFA session token", async () => {
  await using sts = await startLocalSts({
    mfaDevices: { [SERIAL]: MFA_SECRET, [SERIAL_2]: MFA_SECRET },
    mfaRequiredRoles: ["*"],
  });
  const codes: string[] = [];
  const texts: string[] = [];
  const warnings: unknown[] = [];
  // Two devices: a code is good once per device and 30 s step.
  function mfaSession(serial: string): STSRefreshableSession {
    const session = new STSRefreshableSession(localStsOptions(sts, {
      assumeRole: { RoleArn: ROLE, SerialNumber: serial },
      mfaTokenProvider: () => {
        const code = totp(MFA_SECRET);
        codes.push(code);
        return code;
      },
      mfaSession: { durationSeconds: 43_200 },
    }));
    recordEvents(session, texts);
    session.addEventListener("warning", (e) => warnings.push(e));
    return session;
  }
  // GetSessionToken fails: its request body carries the MFA code.
  await using first = mfaSession(SERIAL);
  sts.injectFault({ kind: "server-error", actions: ["GetSessionToken"] });
  const error = await rejectsWith(
    () => first.refreshableCredentials(),
    BRSError,
  );
  assertClean(error, codes, "a GetSessionToken error");
  assert(warnings.length >= 1);
  // The MFA session works; AssumeRole, signed with its token, fails.
  sts.clearFaults();
  await using second = mfaSession(SERIAL_2);
  const good = await second.refreshableCredentials();
  sts.injectFault({ kind: "server-error", actions: ["AssumeRole"] });
  const refused = await rejectsWith(
    () => second.refresh({ force: true }),
    BRSRefreshError,
  );
  // AssumeRole was signed with the MFA session's token: no request or
  // response is kept in the chain, and no code or key is printed.
  assertClean(refused, [...codes, good.token, good.secretKey], "AssumeRole");
  assertNoSecrets(
    [...texts, ...warnings.flatMap(printed)],
    [...codes, good.token, good.secretKey],
    "events and warnings",
  );
});

Deno.test("a custom source that throws an SDK error gives refresh errors and events without its request", async () => {
  await using sts = await startLocalSts();
  const { secrets, credentials } = await temporaryBase(sts);
  const client = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    maxAttempts: 1,
    credentials,
  });
  const texts: string[] = [];
  const details: unknown[] = [];
  try {
    await using session = new CustomRefreshableSession({
      // A user function that lets the SDK's error through as it is.
      provider: async () => {
        await client.send(new GetCallerIdentityCommand({}));
        throw new Error("unreachable: the endpoint fails every call");
      },
    });
    recordEvents(session, texts);
    session.addEventListener(
      "refresh-error",
      (e) => details.push((e as CustomEvent).detail),
    );
    sts.injectFault({ kind: "server-error" });
    const error = await rejectsWith(
      () => session.refreshableCredentials(),
      BRSRefreshError,
    );
    assertEquals(error.code, "InternalFailure");
    assertClean(error, secrets, "a custom source's error");
    assert(details.length >= 1);
    for (const detail of details) {
      assertClean((detail as { error: unknown }).error, secrets, "event");
    }
    assertNoSecrets(texts, secrets, "events");
  } finally {
    client.destroy();
  }
});

Deno.test("a web identity refresh error holds no web identity token", async () => {
  await using sts = await startLocalSts();
  const token = mintWebIdentityToken();
  const texts: string[] = [];
  await using session = new WebIdentityRefreshableSession({
    assumeRoleWithWebIdentity: { RoleArn: ROLE, RoleSessionName: "pod" },
    webIdentityTokenProvider: () => token,
    stsClientConfig: { endpoint: sts.url, maxAttempts: 1 },
    region: "us-east-1",
  });
  recordEvents(session, texts);
  for (
    const kind of [
      "server-error",
      "malformed",
      "invalid-identity-token",
      "idp-communication-error",
    ] as const
  ) {
    sts.clearFaults();
    sts.injectFault({ kind, actions: ["AssumeRoleWithWebIdentity"] });
    const error = await rejectsWith(
      () => session.refresh({ force: true }),
      BRSRefreshError,
    );
    assertClean(error, [token], `a ${kind} web identity error`);
  }
  assertNoSecrets(texts, [token], "events");
});

Deno.test("a self-healing client's one-shot stream error holds no session token", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession(localStsOptions(sts));
  const c = await session.refreshableCredentials();
  const client = session.client(STSClient, {
    endpoint: sts.url,
    maxAttempts: 1,
  });
  sts.revoke(c.accessKey);
  const command = new GetCallerIdentityCommand({});
  // A one-shot stream in the input: the request cannot be sent twice.
  (command.input as Record<string, unknown>).Body = new ReadableStream();
  const error = await rejectsWith(() => client.send(command), BRSError);
  assertEquals(error.code, "ExpiredToken");
  assertClean(error, [c.token, c.secretKey], "a self-healing error");
});
