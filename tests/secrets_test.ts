import { assert, assertRejects } from "@std/assert";
import {
  BRSRefreshError,
  CustomRefreshableSession,
  STSRefreshableSession,
} from "../mod.ts";
import { startLocalSts } from "../src/testing/mod.ts";

const SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYSECRET";
const TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN";
const MFA_CODE = "918273";

function assertNoSecret(text: string, secrets: string[], where: string): void {
  for (const secret of secrets) {
    assert(!text.includes(secret), `${where} shows a secret: ${text}`);
  }
}

function printed(value: unknown): string[] {
  return [
    Deno.inspect(value, { depth: 10, showHidden: true }),
    JSON.stringify(value) ?? "",
    String(value),
  ];
}

Deno.test("A custom session never shows its secrets when printed, in events or in errors", async () => {
  let mode: "ok" | "expired" | "fail" = "ok";
  const seen: unknown[] = [];
  await using session = new CustomRefreshableSession({
    provider: () => {
      if (mode === "fail") throw new Error("provider broke");
      return {
        accessKey: "ASIASECRETSTEST1",
        secretKey: SECRET,
        token: TOKEN,
        expiryTime: new Date(Date.now() + (mode === "ok" ? 3_600_000 : -1))
          .toISOString(),
      };
    },
  });
  for (const type of ["refresh", "refresh-error", "warning"]) {
    session.addEventListener(type, (e) => seen.push((e as CustomEvent).detail));
  }
  const credentials = await session.refreshableCredentials();
  assert(credentials.secretKey === SECRET); // what the caller asked for
  for (const text of printed(session)) {
    assertNoSecret(text, [SECRET, TOKEN], "session");
  }
  mode = "expired";
  const error = await assertRejects(
    () => session.refresh({ force: true }),
    BRSRefreshError,
  );
  mode = "fail";
  const error2 = await assertRejects(
    () => session.refresh({ force: true }),
    BRSRefreshError,
  );
  for (const e of [error, error2]) {
    for (const text of [...printed(e), e.message, e.stack ?? ""]) {
      assertNoSecret(text, [SECRET, TOKEN], "error");
    }
  }
  assert(seen.length >= 3);
  for (const detail of seen) {
    for (const text of printed(detail)) {
      assertNoSecret(text, [SECRET, TOKEN], "event");
    }
  }
  for (const text of printed(session)) {
    assertNoSecret(text, [SECRET, TOKEN], "session");
  }
});

Deno.test("An STS session never shows secret keys, tokens or MFA codes", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/secrets-test";
  await using sts = await startLocalSts({
    mfaDevices: { [serial]: "JBSWY3DPEHPK3PXP" },
    mfaRequiredRoles: ["*"],
  });
  const seen: unknown[] = [];
  await using session = new STSRefreshableSession({
    assumeRole: {
      RoleArn: "arn:aws:iam::123456789012:role/app",
      SerialNumber: serial,
      TokenCode: MFA_CODE,
    },
    stsClientConfig: {
      endpoint: sts.url,
      credentials: sts.baseCredentials,
      maxAttempts: 1,
    },
    region: "us-east-1",
  });
  for (const type of ["refresh", "refresh-error", "warning"]) {
    session.addEventListener(type, (e) => seen.push((e as CustomEvent).detail));
  }
  const secrets = [sts.baseCredentials.secretAccessKey, MFA_CODE];
  for (const text of printed(session)) assertNoSecret(text, secrets, "session");
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  for (const text of [...printed(error), error.message]) {
    assertNoSecret(text, secrets, "error");
  }
  for (const detail of seen) {
    for (const text of printed(detail)) assertNoSecret(text, secrets, "event");
  }
  assert(seen.length >= 1);
});

Deno.test("An STS session's printed form after a refresh holds no secret key or token", async () => {
  await using sts = await startLocalSts();
  const seen: unknown[] = [];
  await using session = new STSRefreshableSession({
    assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
    stsClientConfig: { endpoint: sts.url, credentials: sts.baseCredentials },
    region: "us-east-1",
  });
  session.addEventListener(
    "refresh",
    (e) => seen.push((e as CustomEvent).detail),
  );
  const c = await session.refreshableCredentials();
  const secrets = [c.secretKey, c.token, sts.baseCredentials.secretAccessKey];
  for (const text of printed(session)) assertNoSecret(text, secrets, "session");
  for (const detail of seen) {
    for (const text of printed(detail)) {
      assertNoSecret(text, [...secrets, c.accessKey], "event");
    }
  }
});
