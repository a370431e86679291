import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import { fromTokenFile } from "@aws-sdk/credential-providers";
import {
  BRSConfigurationError,
  BRSRefreshError,
  BRSValidationError,
  createRefreshableSession,
  WebIdentityRefreshableSession,
  type WebIdentityRefreshableSessionOptions,
} from "../mod.ts";
import {
  LOCAL_WEB_IDENTITY_ISSUER,
  type LocalSts,
  mintWebIdentityToken,
  startLocalSts,
} from "../src/testing/mod.ts";
import { assertNoSecrets } from "./_helpers/scan.ts";
import {
  ManualClock,
  printedForms,
  recordEvents,
} from "./_helpers/sessions.ts";

const ROLE = "arn:aws:iam::123456789012:role/web";

function options(
  sts: LocalSts,
  extra: Partial<WebIdentityRefreshableSessionOptions> = {},
): WebIdentityRefreshableSessionOptions {
  return {
    assumeRoleWithWebIdentity: { RoleArn: ROLE, RoleSessionName: "pod" },
    stsClientConfig: { endpoint: sts.url, maxAttempts: 1 },
    region: "us-east-1",
    ...extra,
  };
}

async function tokenFile(token = mintWebIdentityToken()): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "brs-token-" });
  await Deno.writeTextFile(path, token);
  return path;
}

Deno.test("WebIdentityRefreshableSession signs real SDK calls as the assumed role, one STS call for 1000 callers", async () => {
  await using sts = await startLocalSts();
  // A trailing newline (as `echo` writes) is trimmed.
  const file = await tokenFile(`${mintWebIdentityToken()}\n`);
  try {
    await using session = new WebIdentityRefreshableSession(
      options(sts, { webIdentityTokenFile: file }),
    );
    const all = await Promise.all(
      Array.from({ length: 1000 }, () => session.credentialProvider()),
    );
    assertEquals(new Set(all.map((c) => c.accessKeyId)).size, 1);
    assertEquals(sts.calls.AssumeRoleWithWebIdentity, 1);
    const client = session.client(STSClient, { endpoint: sts.url });
    const me = await client.send(new GetCallerIdentityCommand({}));
    assertEquals(me.Arn, "arn:aws:sts::123456789012:assumed-role/web/pod");
    const identity = await session.whoami();
    assertEquals(identity.Arn, me.Arn);
    // The call is unsigned: no Authorization header reached the endpoint.
    const record = sts.requests.find((r) =>
      r.action === "AssumeRoleWithWebIdentity"
    );
    assertEquals(record?.accessKeyId, undefined);
    assertEquals(record?.status, 200);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("WebIdentityRefreshableSession reads the token file again at every refresh", async () => {
  await using sts = await startLocalSts();
  const file = await tokenFile();
  try {
    await using session = new WebIdentityRefreshableSession(
      options(sts, { webIdentityTokenFile: file }),
    );
    const first = await session.refreshableCredentials();
    // The provider rotates the token: a token from another issuer now.
    await Deno.writeTextFile(
      file,
      mintWebIdentityToken({ issuer: "https://elsewhere.example" }),
    );
    const error = await assertRejects(
      () => session.refresh({ force: true }),
      BRSRefreshError,
    );
    assertEquals(error.code, "InvalidIdentityToken");
    assertStringIncludes(error.message, "No OpenIDConnect provider found");
    await Deno.writeTextFile(file, mintWebIdentityToken());
    const second = await session.refresh({ force: true });
    assert(second.accessKey !== first.accessKey);
    assertEquals(sts.calls.AssumeRoleWithWebIdentity, 3);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("WebIdentityRefreshableSession calls a token function once per refresh, with a signal", async () => {
  await using sts = await startLocalSts();
  let calls = 0;
  let sawSignal = false;
  await using session = createRefreshableSession({
    method: "web-identity",
    ...options(sts, {
      webIdentityTokenProvider: ({ signal }) => {
        calls++;
        sawSignal = signal instanceof AbortSignal;
        return Promise.resolve(
          mintWebIdentityToken({ subject: `run-${calls}` }),
        );
      },
    }),
  });
  assertInstanceOf(session, WebIdentityRefreshableSession);
  await Promise.all(
    Array.from({ length: 100 }, () => session.refreshableCredentials()),
  );
  await session.refresh({ force: true });
  assertEquals(calls, 2);
  assert(sawSignal);
  assertEquals(sts.calls.AssumeRoleWithWebIdentity, 2);
});

Deno.test("WebIdentityRefreshableSession: a rejected or expired token reaches callers at once as a typed, non-recoverable error", async () => {
  await using sts = await startLocalSts();
  const cases: [string, string, string][] = [
    [
      mintWebIdentityToken({ audience: "someone-else" }),
      "InvalidIdentityToken",
      "Incorrect token audience",
    ],
    [
      mintWebIdentityToken({ key: "not-the-provider-key" }),
      "InvalidIdentityToken",
      "signature",
    ],
    [
      mintWebIdentityToken({ expiresIn: -60 }),
      "ExpiredTokenException",
      "Token expired",
    ],
    ["not.a.jwt", "InvalidIdentityToken", "not a valid JWT"],
  ];
  for (const [token, code, text] of cases) {
    await using session = new WebIdentityRefreshableSession(
      options(sts, { webIdentityTokenProvider: () => token }),
    );
    const error = await assertRejects(
      () => session.refreshableCredentials(),
      BRSRefreshError,
    );
    assertEquals(error.code, code);
    assertStringIncludes(error.message, text);
    assertEquals(error.details.recoverable, false);
    assertNoSecrets(
      [error.message, Deno.inspect(error), JSON.stringify(error)],
      [token],
      `the ${code} error`,
    );
  }
});

Deno.test("WebIdentityRefreshableSession retries IDPCommunicationError with backoff and keeps working credentials", async () => {
  await using sts = await startLocalSts();
  const clock = new ManualClock();
  await using session = new WebIdentityRefreshableSession(
    options(sts, {
      webIdentityTokenProvider: () => mintWebIdentityToken(),
      clock,
    }),
  );
  const events: string[] = [];
  session.addEventListener("refresh-error", (e) => {
    events.push((e as CustomEvent).detail.error.code);
  });
  sts.injectFault({ kind: "idp-communication-error", times: 1 });
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertEquals(error.code, "IDPCommunicationError");
  assertEquals(error.details.recoverable, true);
  assert(error.retryAt !== undefined);
  // Within the backoff: the failure is answered without a new STS call.
  await assertRejects(() => session.refreshableCredentials(), BRSRefreshError);
  assertEquals(sts.calls.AssumeRoleWithWebIdentity, 1);
  clock.offset += 120_000;
  const ok = await session.refreshableCredentials();
  assertMatch(ok.accessKey, /^ASIA/);
  assertEquals(sts.calls.AssumeRoleWithWebIdentity, 2);
  assertEquals(events, ["IDPCommunicationError"]);
  // IDPRejectedClaim is not retried.
  sts.injectFault({ kind: "idp-rejected-claim", times: 1 });
  const rejected = await assertRejects(
    () => session.refresh({ force: true }),
    BRSRefreshError,
  );
  assertEquals(rejected.code, "IDPRejectedClaim");
  assertEquals(rejected.details.recoverable, false);
});

Deno.test("WebIdentityRefreshableSession: a missing, empty or wrong token file gives a typed error naming the option", async () => {
  await using sts = await startLocalSts();
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, string | undefined, string][] = [
      [`${dir}/missing`, undefined, "does not exist"],
      [`${dir}/empty`, "  \n", "is empty"],
      [dir, undefined, "is a directory"],
      [`${dir}/huge`, "x".repeat(20_001), "at most 20000"],
    ];
    for (const [path, content, text] of cases) {
      if (content !== undefined) await Deno.writeTextFile(path, content);
      await using session = new WebIdentityRefreshableSession(
        options(sts, { webIdentityTokenFile: path }),
      );
      const error = await assertRejects(
        () => session.refreshableCredentials(),
        BRSConfigurationError,
      );
      assertEquals(error.param, "webIdentityTokenFile");
      assertStringIncludes(error.message, path);
      assertStringIncludes(error.message, text);
    }
    assertEquals(sts.calls.AssumeRoleWithWebIdentity, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WebIdentityRefreshableSession: a token file outside --allow-read names the flag to add", async () => {
  await using sts = await startLocalSts();
  const file = await tokenFile();
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const mod = new URL("../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { WebIdentityRefreshableSession } from "${mod}";
await using session = new WebIdentityRefreshableSession({
  assumeRoleWithWebIdentity: { RoleArn: "${ROLE}" },
  webIdentityTokenFile: "${file}",
  stsClientConfig: { endpoint: "${sts.url}" },
  region: "us-east-1",
});
try { await session.refreshableCredentials(); } catch (e) { console.log(e.name, e.param, e.message); }
`,
    );
    const repo = new URL("..", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        `--config=${repo}deno.json`,
        "--allow-net=127.0.0.1",
        "--allow-env",
        `--allow-read=${repo},${script}`,
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertStringIncludes(stdout, "BRSConfigurationError webIdentityTokenFile");
    assertStringIncludes(stdout, `--allow-read=${file}`);
  } finally {
    await Deno.remove(file);
    await Deno.remove(script);
  }
});

Deno.test("WebIdentityRefreshableSession rejects bad options with errors that name them", () => {
  const role = { RoleArn: ROLE };
  const bad: [unknown, typeof BRSValidationError, string][] = [
    [
      {
        assumeRoleWithWebIdentity: { RoleArn: "nope" },
        webIdentityTokenFile: "/t",
      },
      BRSValidationError,
      "'assumeRoleWithWebIdentity.RoleArn' must be an IAM role ARN",
    ],
    [
      {
        assumeRoleWithWebIdentity: { ...role, ExternalId: "x1" },
        webIdentityTokenFile: "/t",
      },
      BRSValidationError,
      "'assumeRoleWithWebIdentity.ExternalId' is not an AssumeRoleWithWebIdentity parameter",
    ],
    [
      {
        assumeRoleWithWebIdentity: { ...role, DurationSeconds: 60 },
        webIdentityTokenFile: "/t",
      },
      BRSValidationError,
      "'assumeRoleWithWebIdentity.DurationSeconds' must be an integer from 900 to 43200: got 60",
    ],
    [
      { assumeRoleWithWebIdentity: role, webIdentityTokenFile: 42 },
      BRSValidationError,
      "'webIdentityTokenFile' must be the path of the token file",
    ],
    [
      { assumeRoleWithWebIdentity: role, webIdentityTokenProvider: "token" },
      BRSValidationError,
      "'webIdentityTokenProvider' must be a function",
    ],
    [
      {
        assumeRoleWithWebIdentity: role,
        webIdentityTokenFile: "/t",
        webIdentityTokenProvider: () => "t",
      },
      BRSConfigurationError,
      "both 'webIdentityTokenFile' and 'webIdentityTokenProvider' are set",
    ],
    [
      {
        assumeRoleWithWebIdentity: role,
        webIdentityTokenFile: "/t",
        tokenFile: "/t",
      },
      BRSValidationError,
      "tokenFile",
    ],
    [
      { assumeRoleWithWebIdentity: "arn", webIdentityTokenFile: "/t" },
      BRSValidationError,
      "'assumeRoleWithWebIdentity' must be an object",
    ],
  ];
  for (const [given, ErrorClass, text] of bad) {
    assertThrows(
      () => new WebIdentityRefreshableSession(given as never),
      ErrorClass,
      text,
    );
  }
});

Deno.test("WebIdentityRefreshableSession: a token function that returns no string is a typed error", async () => {
  await using sts = await startLocalSts();
  await using session = new WebIdentityRefreshableSession(
    options(sts, { webIdentityTokenProvider: () => 42 as never }),
  );
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSValidationError,
    "'webIdentityTokenProvider' must return the OIDC token as a string: got number",
  );
  assertEquals(error.param, "webIdentityTokenProvider");
  assertEquals(sts.calls.AssumeRoleWithWebIdentity, 0);
});

Deno.test("WebIdentityRefreshableSession never shows the token or the credentials in inspect, JSON, events or errors", async () => {
  await using sts = await startLocalSts();
  const token = mintWebIdentityToken({ subject: "secret-subject-claims" });
  const file = await tokenFile(token);
  const texts: string[] = [];
  try {
    await using session = new WebIdentityRefreshableSession(
      options(sts, { webIdentityTokenFile: file }),
    );
    recordEvents(session, texts);
    const credentials = await session.refreshableCredentials();
    sts.injectFault({ kind: "invalid-identity-token", times: 1 });
    const error = await assertRejects(
      () => session.refresh({ force: true }),
      BRSRefreshError,
    );
    texts.push(...printedForms(session, error));
    assertStringIncludes(texts.join("\n"), file);
    const [header, payload, signature] = token.split(".");
    assertNoSecrets(texts, [
      token,
      payload!,
      signature!,
      `${header}.${payload}`,
      credentials.secretKey,
      credentials.token,
    ], "printed session, events and errors");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("local STS answers AssumeRoleWithWebIdentity like AWS, also to the SDK's own fromTokenFile", async () => {
  await using sts = await startLocalSts({
    webIdentity: {
      audiences: ["my-audience"],
      issuers: [LOCAL_WEB_IDENTITY_ISSUER],
      key: "k1",
    },
  });
  const client = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    maxAttempts: 1,
  });
  const token = mintWebIdentityToken({
    audience: "my-audience",
    key: "k1",
    subject: "sub-1",
  });
  try {
    const reply = await client.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: ROLE,
        RoleSessionName: "direct",
        WebIdentityToken: token,
      }),
    );
    assertEquals(reply.SubjectFromWebIdentityToken, "sub-1");
    assertEquals(reply.Audience, "my-audience");
    assertEquals(reply.Provider, "oidc.brs.localhost");
    assertEquals(
      reply.AssumedRoleUser?.Arn,
      "arn:aws:sts::123456789012:assumed-role/web/direct",
    );
    const missing = await assertRejects(() =>
      client.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: ROLE,
          WebIdentityToken: token,
        } as never),
      )
    );
    assertEquals((missing as Error).name, "ValidationError");
    assertStringIncludes((missing as Error).message, "roleSessionName");
    assert(!(missing as Error).message.includes(token));
    const wrongAudience = await assertRejects(() =>
      client.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: ROLE,
          RoleSessionName: "direct",
          WebIdentityToken: mintWebIdentityToken({ key: "k1" }),
        }),
      )
    );
    assertEquals(
      (wrongAudience as Error).name,
      "InvalidIdentityTokenException",
    );
  } finally {
    client.destroy();
  }
  const file = await tokenFile(token);
  try {
    const provider = fromTokenFile({
      roleArn: ROLE,
      webIdentityTokenFile: file,
      roleSessionName: "sdk",
      clientConfig: { endpoint: sts.url, region: "us-east-1" },
    });
    const identity = await provider();
    assertMatch(identity.accessKeyId, /^ASIA/);
  } finally {
    await Deno.remove(file);
  }
  assertEquals(sts.calls.AssumeRoleWithWebIdentity, 4);
});
