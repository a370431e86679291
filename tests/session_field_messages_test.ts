// Messages a newcomer meets first: a misspelt option key, an attempt that
// times out. Each test builds real sessions (against the local STS where a
// fetch is needed) and checks the one-line message.
import {
  BRSConfigurationError,
  BRSIdentityError,
  BRSRefreshError,
  BRSValidationError,
  createRefreshableSession,
  CustomRefreshableSession,
  IoTRefreshableSession,
  STSRefreshableSession,
  WebIdentityRefreshableSession,
} from "@brs/session";
import { startLocalSts } from "@brs/session/testing";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { runSharedCacheWorkers } from "./_helpers/shared_cache_worker.ts";
import { makeCliEnv } from "./fixtures/cli/helpers.ts";

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

Deno.test("sharedCache: true with the guide's flags shares one refresh; without XDG_CACHE_HOME in --allow-env the warning names it", async () => {
  await using sts = await startLocalSts();
  const home = await Deno.makeTempDir();
  try {
    const cache = `${home}/xdg`;
    // The worker's own variables, beside the permission table's list.
    const env = "BRS_SC_URL,BRS_SC_KEY_ID,BRS_SC_SECRET,BRS_SC_ROLE";
    const base = "AWS_*,HOME,USERPROFILE,HOMEPATH,HOMEDRIVE,_X_AMZN_TRACE_ID";
    const flags = (list: string): string[] => [
      "--allow-net=127.0.0.1",
      `--allow-env=${list},${env}`,
      "--allow-sys=osRelease",
      `--allow-read=${cache}/brs`,
      `--allow-write=${cache}/brs`,
    ];
    const workerEnv = { HOME: home, XDG_CACHE_HOME: cache };
    const denied = await runSharedCacheWorkers(sts, ROLE, {
      processes: 2,
      directory: "default",
      flags: flags(base),
      env: workerEnv,
    });
    for (const report of denied) {
      assertEquals(report.error, undefined);
      assertEquals(report.warnings, ["SharedCacheUnavailable"]);
      const message = report.warningMessages[0]!;
      assertStringIncludes(
        message,
        "add XDG_CACHE_HOME and HOME to --allow-env",
      );
      assertEquals(message.includes("run again with"), false, message);
    }
    assertEquals(sts.calls.AssumeRole, 2);
    const allowed = await runSharedCacheWorkers(sts, ROLE, {
      processes: 2,
      directory: "default",
      flags: flags(`${base},XDG_CACHE_HOME`),
      env: workerEnv,
    });
    for (const report of allowed) {
      assertEquals(report.error, undefined);
      assertEquals(report.warnings, []);
    }
    assertEquals(sts.calls.AssumeRole, 3);
    assertEquals(new Set(allowed.map((r) => r.prefixes[0])).size, 1);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("getAvailableRegions() names a misspelt option instead of ignoring it", async () => {
  await using session = new CustomRefreshableSession({
    provider: () => ({
      accessKey: "ASIAEXAMPLE000000001",
      secretKey: "example-secret",
      token: "example-token",
      expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
    }),
  });
  const error = assertThrows(
    () =>
      session.getAvailableRegions(
        "iam",
        "aws",
        JSON.parse('{ "allownonregional": true }'),
      ),
    BRSValidationError,
  );
  assertEquals(
    error.message,
    "Cannot list regions as option 'allownonregional' is unknown: use allowNonRegional",
  );
  assertEquals(error.param, "allownonregional");
  assert(
    session.getAvailableRegions("iam", "aws", { allowNonRegional: true })
      .includes("aws-global"),
  );
});

Deno.test("a failed AssumeRole is one line with STS's code, its text in parentheses and what to do", async () => {
  await using sts = await startLocalSts();
  const cases: [
    "access-denied" | "expired-token" | "outage",
    RegExp,
  ][] = [
    [
      "access-denied",
      /^Cannot refresh credentials as the source failed with AccessDenied \(User: .+ is not authorized to perform: sts:AssumeRole\): check the role ARN and that the role's trust policy and the base identity's IAM policy allow the call; it is not retried until a caller asks again$/,
    ],
    [
      "expired-token",
      /^Cannot refresh credentials as the source failed with ExpiredToken \(The security token included in the request is expired\): the base credentials have expired: renew them/,
    ],
    [
      "outage",
      /^Cannot refresh credentials as the source failed with ServiceUnavailable \(Service is unavailable\. Please try again later\): it is retried with backoff \(the next attempt at retryAt\)$/,
    ],
  ];
  for (const [kind, expected] of cases) {
    sts.clearFaults();
    sts.injectFault({ kind, actions: ["AssumeRole"] });
    await using session = new STSRefreshableSession({
      assumeRole: { RoleArn: ROLE },
      region: "us-east-1",
      stsClientConfig: {
        endpoint: sts.url,
        credentials: sts.baseCredentials,
        maxAttempts: 1,
      },
    });
    const error = await assertRejects(
      () => session.refreshableCredentials(),
      BRSRefreshError,
    );
    assert(expected.test(error.message), error.message);
    assertEquals(error.message.split("\n").length, 1);
  }
});

Deno.test("whoami() refused for the session's own keys says so, not that the role lacks a permission", async () => {
  await using sts = await startLocalSts();
  // Keys the local STS never issued: GetCallerIdentity is refused with
  // InvalidClientTokenId, which no IAM permission would change.
  await using session = new CustomRefreshableSession({
    provider: () => ({
      accessKey: "ASIAEXAMPLE000000001",
      secretKey: "example-secret",
      token: "example-token",
      expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
    }),
    region: "us-east-1",
    stsClientConfig: { endpoint: sts.url },
  });
  const error = await assertRejects(() => session.whoami(), BRSIdentityError);
  assertEquals(error.code, "InvalidClientTokenId");
  assertStringIncludes(
    error.message,
    "STS refused the session's own credentials: check that the credential source and this STS endpoint belong together",
  );
  assertEquals(error.message.includes("permissions"), false, error.message);
  assertEquals(error.message.includes("example-secret"), false);
});

Deno.test({
  name:
    "an MFA command checked without --allow-read asks for --allow-read without a list, not for one path after another",
  ignore: (() => {
    try {
      Deno.statSync("/usr/bin/oathtool");
      return false;
    } catch {
      return true; // needs Debian's oathtool
    }
  })(),
  fn: async () => {
    await using sts = await startLocalSts();
    await using cliEnv = await makeCliEnv(undefined, { PATH: "/usr/bin:/bin" });
    const dir = cliEnv.dir;
    {
      const program = `${dir}/app.ts`;
      await Deno.writeTextFile(
        program,
        `import { STSRefreshableSession } from "@brs/session";
const session = new STSRefreshableSession({
  assumeRole: {
    RoleArn: "arn:aws:iam::123456789012:role/admin",
    SerialNumber: "arn:aws:iam::123456789012:mfa/alice",
  },
  region: "us-east-1",
  stsClientConfig: { endpoint: Deno.args[0], credentials: JSON.parse(Deno.args[1]) },
  mfaTokenProvider: ["oathtool", "--totp", "-b", "-"],
  mfaTokenProviderOptions: { stdinFile: Deno.args[2] },
});
try {
  await session.refreshableCredentials();
} catch (error) {
  console.log(JSON.stringify({ message: error.message, details: error.details }));
} finally {
  await session.close();
}
`,
      );
      const seed = `${dir}/seed`;
      await Deno.writeTextFile(seed, "JBSWY3DPEHPK3PXP\n", { mode: 0o600 });
      await Deno.chmod(seed, 0o600);
      const config = new URL("../deno.json", import.meta.url).pathname;
      // The mfaTokenProvider row of guide/permissions.md, with --allow-read
      // narrowed to the seed file and the file oathtool is.
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          `--config=${config}`,
          "--allow-net=127.0.0.1",
          "--allow-env=AWS_*,HOME,USERPROFILE,HOMEPATH,HOMEDRIVE,_X_AMZN_TRACE_ID,PATH",
          `--allow-read=${seed},/usr/bin/oathtool`,
          "--allow-sys=osRelease",
          "--allow-run=oathtool",
          program,
          sts.url,
          JSON.stringify(sts.baseCredentials),
          seed,
        ],
        env: cliEnv.env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim();
      const report = JSON.parse(text) as {
        message: string;
        details: { permission: string };
      };
      assertEquals(report.details.permission, "--allow-read");
      assertStringIncludes(
        report.message,
        "add --allow-read without a list to the deno command (the command's real file and every directory above it, up to /, are checked)",
      );
    }
  },
});

Deno.test("createRefreshableSession() with a literal method is typed as that class", async () => {
  await using session = createRefreshableSession({
    method: "custom",
    provider: () => ({
      accessKey: "ASIAEXAMPLE000000001",
      secretKey: "example-secret",
      token: "example-token",
      expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
    }),
  });
  // Compiles without a cast: the type is CustomRefreshableSession.
  const typed: CustomRefreshableSession = session;
  assert(typed instanceof CustomRefreshableSession);
  const sts = createRefreshableSession({
    method: "sts",
    assumeRole: { RoleArn: ROLE },
  });
  try {
    const arn: string = sts.assumeRole.RoleArn;
    assertEquals(arn, ROLE);
  } finally {
    await sts.close();
  }
  assertThrows(
    () =>
      createRefreshableSession({
        method: "sts",
        assumeRole: { RoleArn: ROLE },
        // @ts-expect-error: a misspelt option is still a compile error
        regoin: "eu-west-1",
      }),
    BRSValidationError,
    "option 'regoin' is unknown",
  );
});

Deno.test("a link named oathtool to a shell is refused even with the shell's real path listed; only the real path given as the command runs", async () => {
  await using sts = await startLocalSts();
  const dir = await Deno.makeTempDir({ prefix: "brs_field_link_" });
  try {
    const link = `${dir}/oathtool`;
    await Deno.symlink("/bin/sh", link);
    const real = await Deno.realPath("/bin/sh");
    const marker = `${dir}/ran`;
    const session = (command: string[]): STSRefreshableSession =>
      new STSRefreshableSession({
        assumeRole: {
          RoleArn: ROLE,
          SerialNumber: "arn:aws:iam::123456789012:mfa/field-link",
        },
        region: "us-east-1",
        stsClientConfig: {
          endpoint: sts.url,
          credentials: sts.baseCredentials,
        },
        mfaTokenProvider: command,
        mfaTokenProviderOptions: { allowedCommands: [real] },
      });
    {
      await using viaLink = session([link, "-c", `touch ${marker}`]);
      const error = await assertRejects(
        () => viaLink.refreshableCredentials(),
        BRSConfigurationError,
      );
      assertEquals(error.code, "CommandNotAllowed");
      assertStringIncludes(
        error.message,
        `give '${real}' itself as the command and list it`,
      );
      assertEquals(
        await Deno.stat(marker).then(() => true, () => false),
        false,
        "the shell ran through the link",
      );
    }
    {
      // The explicit choice runs (the local STS then refuses its code).
      await using chosen = session([real, "-c", `touch ${marker}`]);
      await assertRejects(() => chosen.refreshableCredentials());
      assert(await Deno.stat(marker).then(() => true, () => false));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("base credentials the AWS SDK cannot find: the message says where to look, not only that they are missing", async () => {
  await using sts = await startLocalSts();
  await using session = new STSRefreshableSession({
    assumeRole: { RoleArn: ROLE },
    region: "us-east-1",
    stsClientConfig: {
      endpoint: sts.url,
      maxAttempts: 1,
      // What the AWS SDK's default chain throws for a profile that is in
      // neither ~/.aws/config nor ~/.aws/credentials.
      credentials: () => {
        const error = new Error(
          "Could not load credentials from any providers",
        );
        error.name = "CredentialsProviderError";
        return Promise.reject(error);
      },
    },
  });
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertEquals(error.code, "CredentialsProviderError");
  assertStringIncludes(
    error.message,
    "(Could not load credentials from any providers): the AWS SDK found no usable base credentials: check the 'profile' option",
  );
  assertEquals(sts.calls.AssumeRole, 0);
});
