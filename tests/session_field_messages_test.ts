// Messages a newcomer meets first: a misspelt option key, an attempt that
// times out. Each test builds real sessions (against the local STS where a
// fetch is needed) and checks the one-line message.
import {
  BRSRefreshError,
  BRSValidationError,
  createRefreshableSession,
  CustomRefreshableSession,
  IoTRefreshableSession,
  STSRefreshableSession,
  WebIdentityRefreshableSession,
} from "@brs/session";
import { startLocalSts } from "@brs/session/testing";
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";

const ROLE = "arn:aws:iam::123456789012:role/app";

Deno.test("a misspelt option key is named as unknown before any other check of the options", () => {
  const cases: [string, () => unknown][] = [
    // Each misspelt key leaves a required option out: the message names the
    // misspelt key, not the missing one.
    [
      "assumeRol",
      () =>
        new STSRefreshableSession(
          { assumeRol: { RoleArn: ROLE } } as unknown as ConstructorParameters<
            typeof STSRefreshableSession
          >[0],
        ),
    ],
    [
      "provder",
      () =>
        new CustomRefreshableSession(
          { provder: () => ({}) } as unknown as ConstructorParameters<
            typeof CustomRefreshableSession
          >[0],
        ),
    ],
    [
      "webIdentityToken",
      () =>
        new WebIdentityRefreshableSession(
          {
            assumeRoleWithWebIdentity: { RoleArn: ROLE },
            webIdentityToken: () => "token",
          } as unknown as ConstructorParameters<
            typeof WebIdentityRefreshableSession
          >[0],
        ),
    ],
    [
      "assumeRoleWithWebidentity",
      () =>
        new WebIdentityRefreshableSession(
          {
            assumeRoleWithWebidentity: { RoleArn: ROLE },
            webIdentityTokenFile: "/run/token",
          } as unknown as ConstructorParameters<
            typeof WebIdentityRefreshableSession
          >[0],
        ),
    ],
    [
      "endpont",
      () =>
        new IoTRefreshableSession(
          {
            endpont: "example.iot.eu-west-1.amazonaws.com",
          } as unknown as ConstructorParameters<
            typeof IoTRefreshableSession
          >[0],
        ),
    ],
    [
      "regoin",
      () =>
        createRefreshableSession(
          JSON.parse(`{ "method": "custom", "regoin": "eu-west-1" }`),
        ),
    ],
  ];
  for (const [key, build] of cases) {
    const error = assertThrows(build, BRSValidationError);
    assertEquals(error.param, key);
    assert(
      error.message.includes(`option '${key}' is unknown: use one of `),
      error.message,
    );
    assertEquals(error.message.split("\n").length, 1);
  }
});

Deno.test("an attempt that outlives refreshTimeout is one line naming the option and what to check", async () => {
  await using sts = await startLocalSts();
  sts.injectFault({ kind: "hang", actions: ["AssumeRole"] });
  await using session = new STSRefreshableSession({
    assumeRole: { RoleArn: ROLE },
    region: "us-east-1",
    stsClientConfig: { endpoint: sts.url, credentials: sts.baseCredentials },
    refreshTimeout: 0.2,
  });
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertEquals(error.code, "RefreshTimeout");
  assertEquals(
    error.message,
    "Cannot refresh credentials as the attempt took longer than 0.2 s (refreshTimeout) and was aborted: check that the credential source answers (endpoint, network, proxy, MFA command), or raise refreshTimeout",
  );
});
