/**
 * SSO (IAM Identity Center) profiles through real CLI processes, against the
 * local SSO portal and STS: an SSO profile as the target and as the source of
 * a role, the token cache of `aws sso login`, a missing or expired token as
 * one line telling the user to log in, and `exec --server` children under
 * the AWS CLI, boto3 and the JS SDK resolving to the served role.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startLocalSso, startLocalSts } from "../src/testing/mod.ts";
import {
  boto3Python,
  type ChildClient,
  childCommand,
  type CliEnv,
  debianAwsCli,
  makeCliEnv,
  ROLE_ARN,
  runCli,
} from "./fixtures/cli/helpers.ts";

const AWS = await debianAwsCli();
const PYTHON = await boto3Python();
const CP = ["--format", "credential-process"];
const ACCOUNT = "123456789012";
const SSO_ROLE = "Developer";

/** Where Deno keeps its cache, so that a test HOME does not move it. */
function denoDir(): string {
  return Deno.env.get("DENO_DIR") ||
    `${Deno.env.get("HOME")}/.cache/deno`;
}

/** A test HOME with an sso-session profile, a legacy SSO profile and role profiles on top. */
async function ssoEnv(
  stsUrl: string,
  ssoUrl: string,
  startUrl: string,
): Promise<{ cli: CliEnv; env: Record<string, string> }> {
  const cli = await makeCliEnv();
  const env: Record<string, string> = {
    ...cli.env,
    HOME: cli.dir,
    DENO_DIR: denoDir(),
    AWS_ENDPOINT_URL_SSO: ssoUrl,
    AWS_ENDPOINT_URL_SSO_OIDC: ssoUrl,
    AWS_ENDPOINT_URL_STS: stsUrl,
  };
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile sso-dev]\nsso_session = my-sso\nsso_account_id = ${ACCOUNT}\nsso_role_name = ${SSO_ROLE}\nregion = eu-west-1\n\n` +
      `[sso-session my-sso]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n\n` +
      `[profile sso-legacy]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\nsso_account_id = ${ACCOUNT}\nsso_role_name = ${SSO_ROLE}\n\n` +
      `[profile app]\nrole_arn = ${ROLE_ARN}\nsource_profile = sso-dev\nendpoint_url = ${stsUrl}\n`,
  );
  return { cli, env };
}

Deno.test("an SSO profile works as the target and as the source of a role, from the token cache of 'aws sso login', cached across processes", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({
    sts,
    accounts: { [ACCOUNT]: [SSO_ROLE] },
  });
  const { cli, env } = await ssoEnv(sts.url, sso.url, sso.startUrl);
  await using _cli = cli;
  // no token yet: one line telling the user what to run, exit 2, no call
  const missing = await runCli(["credentials", "--profile", "sso-dev"], env);
  assertEquals(missing.code, 2, missing.stderr);
  assertEquals(missing.stderr.trim().split("\n").length, 1, missing.stderr);
  assertStringIncludes(missing.stderr, "run 'aws sso login --profile sso-dev'");
  assertEquals(sso.calls.total, 0);
  const login = await sso.login({ home: cli.dir, sessionName: "my-sso" });
  const first = await runCli(
    ["credentials", "--profile", "sso-dev", "--debug", ...CP],
    env,
  );
  assertEquals(first.code, 0, first.stderr);
  assertStringIncludes(first.stderr, "base credentials from SSO");
  assert(!first.stderr.includes(login.accessToken), "no token in messages");
  assertEquals(sso.calls.GetRoleCredentials, 1);
  const again = await runCli(
    ["credentials", "--profile", "sso-dev", "--debug", ...CP],
    env,
  );
  assertEquals(again.code, 0, again.stderr);
  // warm: from the cache, no AWS SDK module loaded
  assertStringIncludes(again.stderr, "from cache");
  assert(!again.stderr.includes("loading the AWS SDK"), again.stderr);
  assertEquals(
    JSON.parse(again.stdout).AccessKeyId,
    JSON.parse(first.stdout).AccessKeyId,
  );
  assertEquals(sso.calls.GetRoleCredentials, 1, "the second run is warm");
  const who = await runCli(["whoami", "--profile", "sso-dev", "--json"], env);
  assertEquals(who.code, 0, who.stderr);
  assertStringIncludes(
    JSON.parse(who.stdout).Arn,
    `assumed-role/AWSReservedSSO_${SSO_ROLE}_`,
  );
  // as the source of a role: one AssumeRole signed with the SSO credentials
  const role = await runCli(["whoami", "--profile", "app", "--json"], env);
  assertEquals(role.code, 0, role.stderr);
  assertStringIncludes(
    JSON.parse(role.stdout).Arn,
    "assumed-role/brs-cli-test/",
  );
  assertEquals(sts.calls.AssumeRole, 1);
  // a legacy profile (sso_start_url) reads the token cached under the start URL
  await sso.login({ home: cli.dir });
  const legacy = await runCli(
    ["credentials", "--profile", "sso-legacy", ...CP],
    env,
  );
  assertEquals(legacy.code, 0, legacy.stderr);
  // an expired token: one line, exit 2
  await sso.login({
    home: cli.dir,
    sessionName: "my-sso",
    lifetimeSeconds: -60,
  });
  const expired = await runCli(
    ["credentials", "--profile", "sso-dev", "--no-cache"],
    env,
  );
  assertEquals(expired.code, 2, expired.stderr);
  assertEquals(expired.stderr.trim().split("\n").length, 1, expired.stderr);
  assertStringIncludes(expired.stderr, "expired");
  assertStringIncludes(expired.stderr, "aws sso login --profile sso-dev");
});

Deno.test("whoami of an SSO profile calls the STS endpoint of that profile or of --endpoint-url, never the endpoint_url of [default]", async () => {
  await using sts = await startLocalSts();
  // [default] points elsewhere: the AWS SDK reads its endpoint_url for any
  // client not told otherwise
  await using decoy = await startLocalSts();
  await using sso = await startLocalSso({
    sts,
    accounts: { [ACCOUNT]: [SSO_ROLE] },
  });
  const { cli, env } = await ssoEnv(sts.url, sso.url, sso.startUrl);
  await using _cli = cli;
  delete env.AWS_ENDPOINT_URL_STS;
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[default]\nregion = us-east-1\nendpoint_url = ${decoy.url}\n\n` +
      `[profile sso-dev]\nsso_session = my-sso\nsso_account_id = ${ACCOUNT}\nsso_role_name = ${SSO_ROLE}\nendpoint_url = ${sts.url}\n\n` +
      `[profile sso-flag]\nsso_session = my-sso\nsso_account_id = ${ACCOUNT}\nsso_role_name = ${SSO_ROLE}\n\n` +
      `[sso-session my-sso]\nsso_start_url = ${sso.startUrl}\nsso_region = us-east-1\n`,
  );
  await sso.login({ home: cli.dir, sessionName: "my-sso" });
  const own = await runCli(["whoami", "--profile", "sso-dev", "--json"], env);
  assertEquals(own.code, 0, own.stderr);
  assertStringIncludes(
    JSON.parse(own.stdout).Arn,
    `assumed-role/AWSReservedSSO_${SSO_ROLE}_`,
  );
  const flag = await runCli(
    ["whoami", "--profile", "sso-flag", "--endpoint-url", sts.url, "--json"],
    env,
  );
  assertEquals(flag.code, 0, flag.stderr);
  assertEquals(sts.calls.GetCallerIdentity, 2);
  assertEquals(decoy.calls.total, 0, "no call to [default]'s endpoint_url");
});

const MISSING: Record<ChildClient, string | undefined> = {
  aws: AWS ? undefined : "Debian's awscli is not installed",
  boto3: PYTHON ? undefined : "/usr/bin/python3 has no boto3 (python3-boto3)",
  js: undefined,
};

for (const target of ["sso-dev", "app"] as const) {
  for (const client of ["aws", "boto3", "js"] as const) {
    Deno.test({
      name: `exec --server with the ${
        target === "app" ? "role on top of an SSO profile" : "SSO profile"
      }: a ${client} child resolves to the served role${
        MISSING[client] ? ` (ignored: ${MISSING[client]})` : ""
      }`,
      ignore: MISSING[client] !== undefined,
      fn: async () => {
        await using sts = await startLocalSts();
        await using sso = await startLocalSso({
          sts,
          accounts: { [ACCOUNT]: [SSO_ROLE] },
        });
        const { cli, env } = await ssoEnv(sts.url, sso.url, sso.startUrl);
        await using _cli = cli;
        await sso.login({ home: cli.dir, sessionName: "my-sso" });
        const r = await runCli(
          [
            "exec",
            "--server",
            "--profile",
            target,
            "--",
            ...childCommand(client, sts.url, { aws: AWS, python: PYTHON }),
          ],
          env,
        );
        assertEquals(r.code, 0, r.stderr);
        const arn = r.stdout.trim().split(/\s+/)[0]!;
        assertStringIncludes(
          arn,
          target === "app"
            ? "assumed-role/brs-cli-test/"
            : `assumed-role/AWSReservedSSO_${SSO_ROLE}_`,
        );
      },
    });
  }
}
