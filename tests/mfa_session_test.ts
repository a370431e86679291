import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  AssumeRoleCommand,
  GetSessionTokenCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import {
  BRSConfigurationError,
  BRSRefreshError,
  BRSValidationError,
  STSRefreshableSession,
  type STSRefreshableSessionOptions,
} from "../mod.ts";
import { type LocalSts, startLocalSts, totp } from "../src/testing/mod.ts";
import { localStsOptions } from "./_helpers/sessions.ts";

const SECRET = "JBSWY3DPEHPK3PXP";
const SERIAL = "arn:aws:iam::123456789012:mfa/alice";
const ROLE = "arn:aws:iam::123456789012:role/admin";

async function mfaSts(): Promise<LocalSts> {
  return await startLocalSts({
    mfaDevices: { [SERIAL]: SECRET },
    mfaRequiredRoles: [ROLE],
  });
}

function options(
  sts: LocalSts,
  extra: Partial<STSRefreshableSessionOptions> = {},
): STSRefreshableSessionOptions {
  return localStsOptions(sts, {
    assumeRole: {
      RoleArn: ROLE,
      RoleSessionName: "alice",
      SerialNumber: SERIAL,
    },
    mfaSession: { durationSeconds: 43_200 },
    ...extra,
  });
}

Deno.test("STSRefreshableSession with mfaSession asks one MFA code for many role refreshes of a role that requires MFA", async () => {
  await using sts = await mfaSts();
  let prompts = 0;
  await using session = new STSRefreshableSession(options(sts, {
    mfaTokenProvider: () => {
      prompts++;
      return totp(SECRET);
    },
  }));
  const first = await session.refreshableCredentials();
  for (let i = 0; i < 3; i++) await session.refresh({ force: true });
  const last = await session.refreshableCredentials();
  assert(first.accessKey !== last.accessKey);
  assertEquals(prompts, 1);
  assertEquals(sts.calls.GetSessionToken, 1);
  assertEquals(sts.calls.AssumeRole, 4);
  // AssumeRole was signed with the MFA session's key, not the base key, and sent no code.
  const assumes = sts.requests.filter((r) => r.action === "AssumeRole");
  assert(assumes.every((r) => r.accessKeyId?.startsWith("ASIA")));
  assert(assumes.every((r) => r.status === 200));
  const me = await session.whoami();
  assertEquals(me.Arn, "arn:aws:sts::123456789012:assumed-role/admin/alice");
  assertStringIncludes(
    String(session),
    '"mfaSession":{"durationSeconds":43200}',
  );
});

Deno.test("STSRefreshableSession with mfaSession and deferRefresh: false fetches both at once", async () => {
  await using sts = await mfaSts();
  await using session = new STSRefreshableSession(options(sts, {
    assumeRole: {
      RoleArn: ROLE,
      RoleSessionName: "alice",
      SerialNumber: SERIAL,
      TokenCode: totp(SECRET),
    },
    deferRefresh: false,
  }));
  const credentials = await session.refreshableCredentials();
  assert(credentials.accessKey.startsWith("ASIA"));
  assertEquals(sts.calls.GetSessionToken, 1);
  assertEquals(sts.calls.AssumeRole, 1);
});

Deno.test("STSRefreshableSession: a refused MFA session is a typed, non-recoverable error without the code", async () => {
  await using sts = await mfaSts();
  const codes: string[] = [];
  await using session = new STSRefreshableSession(options(sts, {
    mfaTokenProvider: () => {
      const code = String(codes.length + 100_000);
      codes.push(code);
      return code;
    },
  }));
  const warnings: string[] = [];
  session.addEventListener("warning", (e) => {
    warnings.push(JSON.stringify((e as CustomEvent).detail));
  });
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertEquals(error.code, "MfaRejected");
  assertEquals(warnings.length, 1);
  assertStringIncludes(warnings[0]!, "MfaSessionRefreshError");
  assertEquals(error.details.recoverable, false);
  assertStringIncludes(error.message, SERIAL);
  assertEquals(codes.length, 2); // a rejected code is asked once more, never retried
  assertEquals(sts.calls.GetSessionToken, 2);
  assertEquals(sts.calls.AssumeRole, 0);
  const printed = error.message + Deno.inspect(error, { depth: 10 }) +
    JSON.stringify(error) + Deno.inspect(session) + JSON.stringify(session) +
    warnings.join("\n");
  for (const code of codes) assert(!printed.includes(code));
});

Deno.test("STSRefreshableSession rejects bad mfaSession settings with errors that name them", () => {
  const base = {
    assumeRole: { RoleArn: ROLE, SerialNumber: SERIAL },
    mfaTokenProvider: () => "123456",
  };
  const cases: [Record<string, unknown>, typeof BRSValidationError, string][] =
    [
      [
        { ...base, mfaSession: { durationSeconds: 60 } },
        BRSValidationError,
        "'mfaSession.durationSeconds' must be an integer from 900 to 129600: got 60",
      ],
      [
        { ...base, mfaSession: { duration: 900 } },
        BRSValidationError,
        "'mfaSession.duration' is unknown",
      ],
      [
        { ...base, mfaSession: true },
        BRSValidationError,
        "'mfaSession' must be an object",
      ],
      [
        { assumeRole: { RoleArn: ROLE }, mfaSession: {} },
        BRSConfigurationError,
        "'mfaSession' needs an MFA device and a code",
      ],
      [
        { assumeRole: { RoleArn: ROLE, SerialNumber: SERIAL }, mfaSession: {} },
        BRSConfigurationError,
        "set 'assumeRole.SerialNumber' and 'mfaTokenProvider'",
      ],
    ];
  for (const [given, ErrorClass, text] of cases) {
    assertThrows(
      () => new STSRefreshableSession(given as never),
      ErrorClass,
      text,
    );
  }
});

Deno.test("local STS carries the MFA context of GetSessionToken into AssumeRole, and only then", async () => {
  await using sts = await mfaSts();
  const base = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    credentials: sts.baseCredentials,
    maxAttempts: 1,
  });
  try {
    for (const withMfa of [false, true]) {
      const { Credentials: c } = await base.send(
        new GetSessionTokenCommand(
          withMfa ? { SerialNumber: SERIAL, TokenCode: totp(SECRET) } : {},
        ),
      );
      const session = new STSClient({
        region: "us-east-1",
        endpoint: sts.url,
        maxAttempts: 1,
        credentials: {
          accessKeyId: c!.AccessKeyId!,
          secretAccessKey: c!.SecretAccessKey!,
          sessionToken: c!.SessionToken!,
        },
      });
      try {
        const assume = session.send(
          new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: "alice" }),
        );
        if (withMfa) {
          const reply = await assume;
          assert(reply.Credentials?.AccessKeyId?.startsWith("ASIA"));
        } else {
          const error = await assertRejects(() => assume);
          assertEquals((error as Error).name, "AccessDenied");
        }
      } finally {
        session.destroy();
      }
    }
  } finally {
    base.destroy();
  }
});
