/**
 * The local IAM Identity Center portal (`startLocalSso`) and the token cache
 * (`writeSsoTokenCache`), through the clients that really read them: the AWS
 * SDK's own `fromSSO` with a real `~/.aws/config` in a temporary HOME, and
 * the role credentials it returns signing calls to the local STS.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertFalse,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { fromSSO } from "@aws-sdk/credential-providers";
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "../../mod.ts";
import { getSSOTokenFilepath } from "@smithy/shared-ini-file-loader";
import { debianAwsCli } from "../fixtures/cli/helpers.ts";
import { IS_ROOT } from "../_helpers/tools.ts";
import {
  type LocalSso,
  type LocalSts,
  startLocalSso,
  startLocalSts,
  writeSsoTokenCache,
} from "../../src/testing/mod.ts";

const ENV_NAMES = [
  "HOME",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_PROFILE",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_SSO",
  "AWS_ENDPOINT_URL_SSO_OIDC",
  "AWS_MAX_ATTEMPTS",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
];

/**
 * A temporary HOME with `~/.aws/config` holding a legacy SSO profile
 * (`legacy`) and an `sso_session` one (`modern`, session `SESSION`), both
 * for the portal's first account and `AdministratorAccess`, with the
 * process environment pointing the AWS SDK at it and at the portal. Restores
 * the environment and removes the directory on dispose.
 */
class SsoHome implements AsyncDisposable {
  readonly home: string;
  readonly session: string;
  readonly #saved = new Map<string, string | undefined>();

  private constructor(home: string, session: string) {
    this.home = home;
    this.session = session;
  }

  static async create(
    sso: LocalSso,
    sts: LocalSts,
    extraConfig = "",
  ): Promise<SsoHome> {
    const home = await Deno.makeTempDir({ prefix: "brs-sso-home-" });
    // A session name of its own: the SDK keeps per-session refresh state.
    const session = `brs-${crypto.randomUUID().slice(0, 8)}`;
    const fixture = new SsoHome(home, session);
    await Deno.mkdir(`${home}/.aws`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/.aws/config`,
      [
        "[profile legacy]",
        `sso_start_url = ${sso.startUrl}`,
        `sso_region = ${sso.region}`,
        `sso_account_id = ${sts.accountId}`,
        "sso_role_name = AdministratorAccess",
        "",
        "[profile modern]",
        `sso_session = ${session}`,
        `sso_account_id = ${sts.accountId}`,
        "sso_role_name = AdministratorAccess",
        "",
        `[sso-session ${session}]`,
        `sso_start_url = ${sso.startUrl}`,
        `sso_region = ${sso.region}`,
        "sso_registration_scopes = sso:account:access",
        "",
        extraConfig,
      ].join("\n"),
    );
    for (const name of ENV_NAMES) fixture.#saved.set(name, Deno.env.get(name));
    for (const name of ENV_NAMES) Deno.env.delete(name);
    Deno.env.set("HOME", home);
    Deno.env.set("AWS_CONFIG_FILE", `${home}/.aws/config`);
    Deno.env.set("AWS_SHARED_CREDENTIALS_FILE", `${home}/.aws/credentials`);
    Deno.env.set("AWS_ENDPOINT_URL_SSO", sso.url);
    Deno.env.set("AWS_ENDPOINT_URL_SSO_OIDC", sso.url);
    return fixture;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const [name, value] of this.#saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
    await Deno.remove(this.home, { recursive: true });
  }
}

/** GetCallerIdentity on the local STS, signed with `credentials`. */
async function callerArn(
  sts: LocalSts,
  credentials: AwsCredentialIdentity,
): Promise<string | undefined> {
  const client = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    credentials,
    maxAttempts: 1,
  });
  try {
    return (await client.send(new GetCallerIdentityCommand({}))).Arn;
  } finally {
    client.destroy();
  }
}

function sha1Hex(text: string): Promise<string> {
  return crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)).then(
    (d) =>
      [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join(
        "",
      ),
  );
}

for (const kind of ["legacy", "modern"] as const) {
  Deno.test(`fromSSO with a ${kind} SSO profile gets role credentials from the portal that the local STS accepts`, async () => {
    await using sts = await startLocalSts({ accountId: "111122223333" });
    await using sso = await startLocalSso({ sts, userName: "alice" });
    await using fixture = await SsoHome.create(sso, sts);
    const login = await sso.login({
      home: fixture.home,
      sessionName: kind === "modern" ? fixture.session : undefined,
    });
    // The file is where the SDK itself looks for it.
    assertEquals(
      login.path,
      getSSOTokenFilepath(kind === "modern" ? fixture.session : sso.startUrl),
    );
    const credentials = await fromSSO({ profile: kind })();
    assertMatch(credentials.accessKeyId, /^ASIA/);
    assert(credentials.expiration!.getTime() > Date.now() + 3000_000);
    const role = sso.roleArn("111122223333", "AdministratorAccess");
    assertMatch(
      role,
      /^arn:aws:iam::111122223333:role\/aws-reserved\/sso\.amazonaws\.com\/AWSReservedSSO_AdministratorAccess_[0-9a-f]{16}$/,
    );
    assertEquals(
      await callerArn(sts, credentials),
      `arn:aws:sts::111122223333:assumed-role/${role.split("/").at(-1)}/alice`,
    );
    assertEquals(sso.calls.GetRoleCredentials, 1);
    assertEquals(sso.calls.CreateToken, 0);
    // Issued by the STS directly: no STS action was called for them.
    assertEquals(sts.calls.AssumeRole, 0);
    assertEquals(sts.calls.GetCallerIdentity, 1);
  });
}

Deno.test("SSO role credentials assume a further role on the local STS (role chaining)", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts });
  await using fixture = await SsoHome.create(sso, sts);
  await sso.login({ home: fixture.home, sessionName: fixture.session });
  const credentials = await fromSSO({ profile: "modern" })();
  const client = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    credentials,
  });
  try {
    const reply = await client.send(
      new AssumeRoleCommand({
        RoleArn: "arn:aws:iam::123456789012:role/deploy",
        RoleSessionName: "chained",
      }),
    );
    assertEquals(
      reply.AssumedRoleUser?.Arn,
      "arn:aws:sts::123456789012:assumed-role/deploy/chained",
    );
  } finally {
    client.destroy();
  }
});

Deno.test("the SDK refreshes an sso_session token near expiry through the portal's OIDC CreateToken and rewrites the cache", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts });
  await using fixture = await SsoHome.create(sso, sts);
  // Within the SDK's 5-minute window: it trades the refresh token first.
  const login = await sso.login({
    home: fixture.home,
    sessionName: fixture.session,
    lifetimeSeconds: 120,
  });
  const credentials = await fromSSO({ profile: "modern" })();
  assertMatch((await callerArn(sts, credentials))!, /AWSReservedSSO_/);
  assertEquals(sso.calls.CreateToken, 1);
  assertEquals(sso.calls.GetRoleCredentials, 1);
  const cached = JSON.parse(await Deno.readTextFile(login.path));
  assertNotEquals(cached.accessToken, login.accessToken);
  assertNotEquals(cached.refreshToken, login.refreshToken);
  assert(Date.parse(cached.expiresAt) > Date.now() + 3600_000);
  // The old access token still works until it expires; the used refresh
  // token does not work twice.
  const reuse = await fetch(`${sso.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      clientId: login.clientId,
      clientSecret: login.clientSecret,
      grantType: "refresh_token",
      refreshToken: login.refreshToken,
    }),
  });
  assertEquals(reuse.status, 400);
  assertEquals(
    reuse.headers.get("x-amzn-errortype")?.split(":")[0],
    "InvalidGrantException",
  );
  assertEquals((await reuse.json()).error, "invalid_grant");
});

Deno.test("an expired token in the cache fails in the SDK with 'aws sso login' advice, before any portal call", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts });
  await using fixture = await SsoHome.create(sso, sts);
  await sso.login({ home: fixture.home, lifetimeSeconds: -60 });
  const error = await assertRejects(() => fromSSO({ profile: "legacy" })());
  assertStringIncludes((error as Error).message, "has expired");
  assertStringIncludes((error as Error).message, "aws sso login");
  assertEquals(sso.calls.total, 0);
});

Deno.test("a token the portal expired, an unknown token and a missing token are 401 UnauthorizedException", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts });
  await using fixture = await SsoHome.create(sso, sts);
  const login = await sso.login({ home: fixture.home });
  sso.expireToken(login.accessToken);
  for (const _ of [1, 2]) {
    const error = await assertRejects(() => fromSSO({ profile: "legacy" })());
    assertEquals((error as Error).name, "CredentialsProviderError");
    assertEquals(
      (error as Error).message,
      "UnauthorizedException: Session token not found or invalid",
    );
    // An unknown token next, valid as far as the cache file says.
    await writeSsoTokenCache({
      home: fixture.home,
      startUrl: sso.startUrl,
      region: sso.region,
      accessToken: "aoa-not-minted-by-this-portal",
      expiresAt: new Date(Date.now() + 3600_000),
    });
  }
  const reply = await fetch(
    `${sso.url}/federation/credentials?role_name=AdministratorAccess&account_id=${sts.accountId}`,
  );
  assertEquals(reply.status, 401);
  assertEquals(await reply.json(), {
    message: "Session token not found or invalid",
  });
  assertEquals(sso.calls.GetRoleCredentials, 3);
  assertEquals(
    sso.requests.map((r) => r.errorCode),
    Array(3).fill("UnauthorizedException"),
  );
  // Logout ends a token too.
  const other = sso.mintToken();
  const logout = await fetch(`${sso.url}/logout`, {
    method: "POST",
    headers: { "x-amz-sso_bearer_token": other.accessToken },
  });
  await logout.body?.cancel();
  assertEquals(logout.status, 200);
  const after = await fetch(`${sso.url}/assignment/accounts`, {
    headers: { "x-amz-sso_bearer_token": other.accessToken },
  });
  await after.body?.cancel();
  assertEquals(after.status, 401);
});

Deno.test("an account or role the user has no access to is 403 ForbiddenException 'No access'", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts });
  await using fixture = await SsoHome.create(
    sso,
    sts,
    [
      "[profile other-account]",
      "sso_start_url = https://brs-local.awsapps.com/start",
      "sso_region = us-east-1",
      "sso_account_id = 999988887777",
      "sso_role_name = AdministratorAccess",
      "",
      "[profile other-role]",
      "sso_start_url = https://brs-local.awsapps.com/start",
      "sso_region = us-east-1",
      `sso_account_id = ${sts.accountId}`,
      "sso_role_name = ReadOnly",
    ].join("\n"),
  );
  await sso.login({ home: fixture.home });
  for (const profile of ["other-account", "other-role"]) {
    const error = await assertRejects(() => fromSSO({ profile })());
    assertEquals((error as Error).message, "ForbiddenException: No access");
  }
  assertEquals(
    sso.requests.map((r) => [r.status, r.errorCode]),
    [[403, "ForbiddenException"], [403, "ForbiddenException"]],
  );
});

Deno.test("a portal outage fails fromSSO after the SDK's retries, each one counted", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts });
  await using fixture = await SsoHome.create(sso, sts);
  await sso.login({ home: fixture.home });
  sso.injectFault({ kind: "outage", operations: ["GetRoleCredentials"] });
  const error = await assertRejects(() => fromSSO({ profile: "legacy" })());
  assertStringIncludes((error as Error).message, "ServiceUnavailableException");
  // The SDK's standard retry mode: 3 attempts of a 503.
  assertEquals(sso.calls.GetRoleCredentials, 3);
  assert(sso.requests.every((r) => r.status === 503 && r.fault === "outage"));
  sso.clearFaults();
  assertMatch((await fromSSO({ profile: "legacy" })()).accessKeyId, /^ASIA/);
});

Deno.test("throttling, a dropped connection and a hang are answered as faults, then the portal recovers", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts });
  const { accessToken } = sso.mintToken();
  const url =
    `${sso.url}/federation/credentials?role_name=AdministratorAccess&account_id=${sts.accountId}`;
  const headers = { "x-amz-sso_bearer_token": accessToken };
  sso.injectFault({ kind: "throttle", times: 1 });
  const throttled = await fetch(url, { headers });
  assertEquals(throttled.status, 429);
  assertEquals(
    throttled.headers.get("x-amzn-errortype")?.split(":")[0],
    "TooManyRequestsException",
  );
  await throttled.body?.cancel();
  sso.injectFault({ kind: "drop", times: 1 });
  await assertRejects(() => fetch(url, { headers }));
  sso.injectFault({ kind: "hang", times: 1 });
  await assertRejects(() =>
    fetch(url, { headers, signal: AbortSignal.timeout(200) })
  );
  const ok = await fetch(url, { headers });
  assertEquals(ok.status, 200);
  await ok.body?.cancel();
  assertEquals(
    sso.requests.map((r) => r.fault ?? r.status),
    ["throttle", "drop", "hang", 200],
  );
});

Deno.test("ListAccounts and ListAccountRoles list the configured accounts and permission sets", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({
    sts,
    accounts: {
      "111122223333": ["Admin", "ReadOnly"],
      "444455556666": ["Developer"],
    },
  });
  const headers = { "x-amz-sso_bearer_token": sso.mintToken().accessToken };
  const accounts = await (await fetch(`${sso.url}/assignment/accounts`, {
    headers,
  })).json();
  assertEquals(
    accounts.accountList.map((a: { accountId: string }) => a.accountId),
    ["111122223333", "444455556666"],
  );
  const roles = await (await fetch(
    `${sso.url}/assignment/roles?account_id=111122223333`,
    { headers },
  )).json();
  assertEquals(roles.roleList, [
    { roleName: "Admin", accountId: "111122223333" },
    { roleName: "ReadOnly", accountId: "111122223333" },
  ]);
  const forbidden = await fetch(
    `${sso.url}/assignment/roles?account_id=123456789012`,
    { headers },
  );
  await forbidden.body?.cancel();
  assertEquals(forbidden.status, 403);
  const missing = await fetch(`${sso.url}/federation/credentials`, {
    headers,
  });
  assertEquals(missing.status, 400);
  assertStringIncludes((await missing.json()).message, "roleName");
  assertEquals(sso.calls.ListAccounts, 1);
  assertEquals(sso.calls.ListAccountRoles, 2);
  assertEquals(sso.calls.total, 4);
});

Deno.test("role credentials live credentialLifetimeSeconds, and the local STS expires them", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts, credentialLifetimeSeconds: 5 });
  await using fixture = await SsoHome.create(sso, sts);
  await sso.login({ home: fixture.home });
  const credentials = await fromSSO({ profile: "legacy" })();
  const lifetime = credentials.expiration!.getTime() - Date.now();
  assert(lifetime <= 5000 && lifetime > 2000, `lifetime ${lifetime} ms`);
  sts.expire(credentials.accessKeyId);
  const error = await assertRejects(() => callerArn(sts, credentials));
  assertEquals((error as Error).name, "ExpiredToken");
});

Deno.test("writeSsoTokenCache writes the AWS CLI's format where the SDK reads it: SHA-1 of the session name or the start URL", async () => {
  const home = await Deno.makeTempDir({ prefix: "brs-sso-cache-" });
  try {
    const modern = await writeSsoTokenCache({
      home,
      sessionName: "my-sso",
      startUrl: "https://d-1234567890.awsapps.com/start",
      region: "eu-west-1",
      accessToken: "aoa-token",
      expiresAt: new Date("2030-01-02T03:04:05.678Z"),
      clientId: "client-id",
      clientSecret: "client-secret",
      registrationExpiresAt: new Date("2030-03-02T03:04:05Z"),
      refreshToken: "aor-refresh",
    });
    assertEquals(
      modern,
      `${home}/.aws/sso/cache/${await sha1Hex("my-sso")}.json`,
    );
    assertEquals(
      await Deno.readTextFile(modern),
      '{"startUrl": "https://d-1234567890.awsapps.com/start", "region": "eu-west-1", "accessToken": "aoa-token", "expiresAt": "2030-01-02T03:04:05Z", "clientId": "client-id", "clientSecret": "client-secret", "registrationExpiresAt": "2030-03-02T03:04:05Z", "refreshToken": "aor-refresh"}',
    );
    const legacy = await writeSsoTokenCache({
      home,
      startUrl: "https://d-1234567890.awsapps.com/start",
      region: "eu-west-1",
      accessToken: "aoa-token",
      expiresAt: new Date("2030-01-02T03:04:05Z"),
    });
    assertEquals(
      legacy,
      `${home}/.aws/sso/cache/${await sha1Hex(
        "https://d-1234567890.awsapps.com/start",
      )}.json`,
    );
    // The same names as the SDK's own (which hashes under $HOME).
    for (
      const [path, key] of <[string, string][]> [[modern, "my-sso"], [
        legacy,
        "https://d-1234567890.awsapps.com/start",
      ]]
    ) {
      assertEquals(
        path.split("/").at(-1),
        getSSOTokenFilepath(key).split("/").at(-1),
      );
    }
    assertEquals((await Deno.stat(legacy)).mode! & 0o777, 0o600);
    assertEquals(
      (await Deno.stat(`${home}/.aws/sso/cache`)).mode! & 0o777,
      0o700,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("writeSsoTokenCache replaces a link planted at the file's name and refuses a linked directory", async () => {
  const home = await Deno.makeTempDir({ prefix: "brs-sso-cache-" });
  const victim = await Deno.makeTempFile({ prefix: "brs-sso-victim-" });
  try {
    const options = {
      home,
      startUrl: "https://example.awsapps.com/start",
      region: "us-east-1",
      accessToken: "aoa-token",
      expiresAt: new Date(Date.now() + 3600_000),
    };
    const path = await writeSsoTokenCache(options);
    await Deno.remove(path);
    await Deno.symlink(victim, path);
    await writeSsoTokenCache(options);
    assertEquals(await Deno.readTextFile(victim), "");
    assertFalse((await Deno.lstat(path)).isSymlink);

    const other = await Deno.makeTempDir({ prefix: "brs-sso-home-" });
    try {
      await Deno.mkdir(`${other}/.aws/sso`, { recursive: true });
      const target = await Deno.makeTempDir({ prefix: "brs-sso-target-" });
      await Deno.symlink(target, `${other}/.aws/sso/cache`);
      await assertRejects(
        () => writeSsoTokenCache({ ...options, home: other }),
        TypeError,
        "is not a directory",
      );
      assertEquals([...Deno.readDirSync(target)], []);
      await Deno.remove(target);
    } finally {
      await Deno.remove(other, { recursive: true });
    }
    await assertRejects(
      () => writeSsoTokenCache({ ...options, accessToken: "" }),
      TypeError,
      "'accessToken' must be a non-empty string",
    );
    await assertRejects(
      () => writeSsoTokenCache({ ...options, expiresAt: new Date(NaN) }),
      TypeError,
      "'expiresAt' must be a valid Date",
    );
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(victim);
  }
});

Deno.test("writeSsoTokenCache refuses a world-writable cache directory, a directory at the file's name and one owned by another user", async () => {
  const home = await Deno.makeTempDir({ prefix: "brs-sso-cache-" });
  try {
    const options = {
      home,
      startUrl: "https://example.awsapps.com/start",
      region: "us-east-1",
      accessToken: "aoa-token",
      expiresAt: new Date(Date.now() + 3600_000),
    };
    const path = await writeSsoTokenCache(options);
    const cache = `${home}/.aws/sso/cache`;
    await Deno.chmod(cache, 0o777);
    await assertRejects(
      () => writeSsoTokenCache(options),
      TypeError,
      `'${cache}' is writable by every user: chmod o-w it`,
    );
    await Deno.chmod(cache, 0o700);
    await Deno.remove(path);
    await Deno.mkdir(path);
    await assertRejects(
      () => writeSsoTokenCache(options),
      TypeError,
      `'${path}' is a directory: remove it`,
    );
    await Deno.remove(path);
    if (IS_ROOT) {
      // Root writing into a directory that "nobody" could swap files in.
      await Deno.chown(`${home}/.aws/sso`, 65534, 65534);
      await assertRejects(
        () => writeSsoTokenCache(options),
        TypeError,
        `'${home}/.aws/sso' is owned by another user (uid 65534)`,
      );
    }
    // Nothing was left behind by the refused writes.
    assertEquals([...Deno.readDirSync(cache)], []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the portal's handle, requests and errors never show a token or a key", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts });
  await using fixture = await SsoHome.create(sso, sts);
  const login = await sso.login({
    home: fixture.home,
    sessionName: fixture.session,
  });
  const credentials = await fromSSO({ profile: "modern" })();
  sso.expireToken();
  const error = await assertRejects(() => fromSSO({ profile: "legacy" })());
  const printed = [
    Deno.inspect(sso, { depth: 10 }),
    JSON.stringify(sso),
    Deno.inspect(sso.requests, { depth: 10 }),
    JSON.stringify(sso.requests),
    Deno.inspect(error, { depth: 10 }),
  ].join("\n");
  for (
    const secret of [
      login.accessToken,
      login.refreshToken,
      login.clientSecret,
      credentials.secretAccessKey,
      credentials.sessionToken!,
    ]
  ) {
    assertFalse(printed.includes(secret));
  }
  assertStringIncludes(printed, sso.url);
});

Deno.test("startLocalSso refuses invalid options with a TypeError naming the option", async () => {
  await using sts = await startLocalSts();
  const cases: [Record<string, unknown>, string][] = [
    [{}, "'sts' must be a running local STS"],
    [{ sts: { url: sts.url, accountId: "123456789012" } }, "'sts' must be"],
    [{ sts, port: 70000 }, "'port'"],
    [{ sts, region: "moon" }, "'region'"],
    [{ sts, startUrl: "not a url" }, "'startUrl'"],
    [{ sts, userName: "a" }, "'userName'"],
    [{ sts, accounts: { "12": ["Admin"] } }, "12-digit"],
    [{ sts, accounts: { "123456789012": ["bad role"] } }, "permission set"],
    [{ sts, tokenLifetimeSeconds: 0 }, "'tokenLifetimeSeconds'"],
    [{ sts, credentialLifetimeSeconds: -1 }, "'credentialLifetimeSeconds'"],
    [{ sts, latencyMs: -1 }, "'latencyMs'"],
  ];
  for (const [options, message] of cases) {
    await assertRejects(
      // deno-lint-ignore no-explicit-any
      () => startLocalSso(options as any),
      TypeError,
      message,
    );
  }
  await using sso = await startLocalSso({ sts });
  assertThrows(
    () => sso.injectFault({ kind: "explode" as "outage" }),
    TypeError,
    "'kind'",
  );
  assertThrows(
    () => sso.injectFault({ kind: "outage", operations: ["AssumeRole"] }),
    TypeError,
    "'operations'",
  );
  assertThrows(() => sso.expireToken("aoa-unknown"), TypeError, "not minted");
  assertThrows(() => sso.roleArn("123456789012", "Nope"), TypeError, "Nope");
});

Deno.test("the portal runs with --allow-net=127.0.0.1 and read/write of the temporary HOME (the STS and the SDK beside it: --allow-env --allow-sys=osRelease)", async () => {
  const home = await Deno.makeTempDir({ prefix: "brs-sso-perm-" });
  try {
    const script = new URL(
      "../fixtures/permissions/sso_portal.ts",
      import.meta.url,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        `--config=${new URL("../../deno.json", import.meta.url).pathname}`,
        "--allow-net=127.0.0.1",
        "--allow-env",
        `--allow-read=${home}`,
        `--allow-write=${home}`,
        "--allow-sys=osRelease",
        script.pathname,
        JSON.stringify({ home }),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert(out.success, stderr);
    assertMatch(
      new TextDecoder().decode(out.stdout),
      /^ok arn:aws:sts::123456789012:assumed-role\/AWSReservedSSO_AdministratorAccess_[0-9a-f]{16}\/brs-local-user\n$/,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

// ---- botocore: Debian's AWS CLI v2 and boto3 -------------------------------

const AWS = await debianAwsCli();
const BOTO3_PYTHON = await new Deno.Command("/usr/bin/python3", {
  args: ["-c", "import boto3"],
  stdout: "null",
  stderr: "null",
}).output().then((out) => out.success, () => false);

/**
 * Points botocore's SSO clients at the portal. botocore from 1.31 (AWS CLI
 * from 2.13) honours `AWS_ENDPOINT_URL_SSO`; Debian's older ones do not, so
 * the portal's URL also goes into the SSO services' endpoint rules in the
 * user model directory (`~/.aws/models`, read before botocore's own data).
 * Every other https request goes to a dead proxy on 127.0.0.1, so nothing
 * can leave the machine if a client ignores both.
 */
async function botocoreEnv(
  home: string,
  sso: LocalSso,
): Promise<Record<string, string>> {
  for (const service of ["sso", "sso-oidc"]) {
    const dir = `${home}/.aws/models/${service}/2019-06-10`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/endpoint-rule-set-1.json`,
      JSON.stringify({
        version: "1.0",
        parameters: {
          Region: { builtIn: "AWS::Region", required: false, type: "String" },
          UseDualStack: {
            builtIn: "AWS::UseDualStack",
            required: true,
            default: false,
            type: "Boolean",
          },
          UseFIPS: {
            builtIn: "AWS::UseFIPS",
            required: true,
            default: false,
            type: "Boolean",
          },
          Endpoint: {
            builtIn: "SDK::Endpoint",
            required: false,
            type: "String",
          },
        },
        rules: [{
          conditions: [],
          endpoint: { url: sso.url, properties: {}, headers: {} },
          type: "endpoint",
        }],
      }),
    );
  }
  return {
    HOME: home,
    PATH: "/usr/bin:/bin",
    AWS_CONFIG_FILE: `${home}/.aws/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/.aws/credentials`,
    AWS_ENDPOINT_URL_SSO: sso.url,
    AWS_ENDPOINT_URL_SSO_OIDC: sso.url,
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    HTTPS_PROXY: "http://127.0.0.1:9",
  };
}

async function botocoreCallerArn(
  client: "aws" | "boto3",
  profile: string,
  sts: LocalSts,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, ...args] = client === "aws"
    ? [
      AWS!,
      "sts",
      "get-caller-identity",
      "--profile",
      profile,
      "--endpoint-url",
      sts.url,
      "--query",
      "Arn",
      "--output",
      "text",
    ]
    : [
      "/usr/bin/python3",
      "-c",
      "import boto3, sys; s = boto3.session.Session(profile_name=sys.argv[1]); " +
      "print(s.client('sts', endpoint_url=sys.argv[2]).get_caller_identity()['Arn'])",
      profile,
      sts.url,
    ];
  const out = await new Deno.Command(command!, {
    args,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout).trim(),
    stderr: decoder.decode(out.stderr),
  };
}

for (const client of ["aws", "boto3"] as const) {
  const missing = client === "aws"
    ? (AWS
      ? ""
      : " (ignored: needs Debian's awscli; apt-get install -y awscli)")
    : (BOTO3_PYTHON
      ? ""
      : " (ignored: /usr/bin/python3 has no boto3; apt-get install -y python3-boto3)");
  Deno.test({
    name: `${
      client === "aws" ? "the AWS CLI v2" : "boto3"
    } gets SSO role credentials from the portal for legacy and sso_session profiles, and maps its errors${missing}`,
    ignore: missing !== "",
    async fn(): Promise<void> {
      await using sts = await startLocalSts();
      await using sso = await startLocalSso({ sts, userName: "bob" });
      await using fixture = await SsoHome.create(sso, sts);
      const env = await botocoreEnv(fixture.home, sso);
      await sso.login({ home: fixture.home });
      await sso.login({ home: fixture.home, sessionName: fixture.session });
      const role = sso.roleArn(sts.accountId, "AdministratorAccess").split("/")
        .at(-1);
      for (const profile of ["legacy", "modern"]) {
        const run = await botocoreCallerArn(client, profile, sts, env);
        assertEquals(run.code, 0, run.stderr);
        assertEquals(
          run.stdout,
          `arn:aws:sts::${sts.accountId}:assumed-role/${role}/bob`,
        );
      }
      assertEquals(sso.calls.GetRoleCredentials, 2);
      if (client === "aws") {
        // What a credential_process consumer gets from the AWS CLI.
        const out = await new Deno.Command(AWS!, {
          args: [
            "configure",
            "export-credentials",
            "--profile",
            "modern",
            "--format",
            "process",
          ],
          env,
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert(out.success, new TextDecoder().decode(out.stderr));
        const exported = JSON.parse(new TextDecoder().decode(out.stdout));
        assertEquals(exported.Version, 1);
        assertEquals(
          await callerArn(sts, {
            accessKeyId: exported.AccessKeyId,
            secretAccessKey: exported.SecretAccessKey,
            sessionToken: exported.SessionToken,
          }),
          `arn:aws:sts::${sts.accountId}:assumed-role/${role}/bob`,
        );
      }
      sso.expireToken();
      if (client === "aws") {
        // The AWS CLI keeps the role credentials in ~/.aws/cli/cache until
        // they expire: no portal call while they are fresh.
        assertEquals(
          (await botocoreCallerArn(client, "legacy", sts, env)).code,
          0,
        );
        assertEquals(sso.calls.GetRoleCredentials, 2);
        await Deno.remove(`${fixture.home}/.aws/cli/cache`, {
          recursive: true,
        });
      }
      const refused = await botocoreCallerArn(client, "legacy", sts, env);
      assertNotEquals(refused.code, 0);
      // The AWS CLI turns the portal's UnauthorizedException into its own
      // advice; boto3 shows the error as it came.
      assertStringIncludes(
        refused.stderr,
        client === "aws"
          ? "The SSO session associated with this profile has expired or is otherwise invalid. To refresh this SSO session run aws sso login with the corresponding profile."
          : "An error occurred (UnauthorizedException) when calling the GetRoleCredentials operation: Session token not found or invalid",
      );
      assertEquals(sso.calls.GetRoleCredentials, 3);
    },
  });
}

Deno.test({
  name: `the AWS CLI v2's own 'aws sso' commands read the portal's replies${
    AWS ? "" : " (ignored: needs Debian's awscli; apt-get install -y awscli)"
  }`,
  ignore: !AWS,
  async fn(): Promise<void> {
    await using sts = await startLocalSts();
    await using sso = await startLocalSso({
      sts,
      accounts: { [sts.accountId]: ["Admin", "ReadOnly"] },
    });
    const home = await Deno.makeTempDir({ prefix: "brs-sso-cli-" });
    try {
      // The token goes in a file, not in the process arguments.
      const input = `${home}/token.json`;
      await Deno.writeTextFile(
        input,
        JSON.stringify({ accessToken: sso.mintToken().accessToken }),
        { mode: 0o600 },
      );
      const run = (args: string[]): Promise<Deno.CommandOutput> =>
        new Deno.Command(AWS!, {
          args: [
            "sso",
            ...args,
            "--cli-input-json",
            `file://${input}`,
            "--endpoint-url",
            sso.url,
            "--region",
            sso.region,
            "--output",
            "json",
          ],
          env: { HOME: home, PATH: "/usr/bin:/bin" },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
      const aws = async (...args: string[]): Promise<unknown> => {
        const out = await run(args);
        assert(out.success, new TextDecoder().decode(out.stderr));
        return JSON.parse(new TextDecoder().decode(out.stdout));
      };
      const forbidden = await run([
        "get-role-credentials",
        "--role-name",
        "Admin",
        "--account-id",
        "999988887777",
      ]);
      assertStringIncludes(
        new TextDecoder().decode(forbidden.stderr),
        "An error occurred (ForbiddenException) when calling the GetRoleCredentials operation: No access",
      );
      assertEquals(await aws("list-accounts"), {
        accountList: [{
          accountId: sts.accountId,
          accountName: `account-${sts.accountId}`,
          emailAddress: `aws+${sts.accountId}@example.com`,
        }],
      });
      assertEquals(
        await aws("list-account-roles", "--account-id", sts.accountId),
        {
          roleList: [
            { roleName: "Admin", accountId: sts.accountId },
            { roleName: "ReadOnly", accountId: sts.accountId },
          ],
        },
      );
      const reply = await aws(
        "get-role-credentials",
        "--role-name",
        "ReadOnly",
        "--account-id",
        sts.accountId,
      ) as {
        roleCredentials: {
          accessKeyId: string;
          secretAccessKey: string;
          sessionToken: string;
          expiration: number;
        };
      };
      // Milliseconds since the epoch, as the real portal sends it.
      assert(
        Math.abs(reply.roleCredentials.expiration - Date.now() - 3600_000) <
          60_000,
      );
      assertMatch(
        (await callerArn(sts, {
          accessKeyId: reply.roleCredentials.accessKeyId,
          secretAccessKey: reply.roleCredentials.secretAccessKey,
          sessionToken: reply.roleCredentials.sessionToken,
        }))!,
        /assumed-role\/AWSReservedSSO_ReadOnly_[0-9a-f]{16}\//,
      );
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
