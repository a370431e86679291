/**
 * `brs exec` and `brs exec --server`: the child's own default credential
 * chain (AWS CLI v2, boto3, the JS SDK) resolves to exactly the credentials
 * brs gives it, whatever ~/.aws and the parent's environment hold: a
 * `[default]` role or keys, `AWS_PROFILE`, web-identity and container
 * variables. Region and unrelated settings still reach the child.
 */
import { assertEquals } from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import {
  boto3Python,
  type ChildClient,
  childCommand,
  CLI_FLAGS,
  debianAwsCli,
  keyLines,
  makeCliEnv,
  ROLE_ARN,
  runCli,
} from "./fixtures/cli/helpers.ts";

const AWS = await debianAwsCli();
const PYTHON = await boto3Python();
const TOOLS = { aws: AWS, python: PYTHON };
const OURS = "arn:aws:sts::123456789012:assumed-role/brs-cli-test/brs-cli";

const MISSING: Record<ChildClient, string | undefined> = {
  aws: AWS ? undefined : "Debian's awscli is not installed",
  boto3: PYTHON ? undefined : "/usr/bin/python3 has no boto3 (python3-boto3)",
  js: undefined,
};

/**
 * A parent whose ~/.aws and environment all point elsewhere: `[default]` in
 * ~/.aws/config assumes another role from `[base]` keys, `[default]` keys in
 * ~/.aws/credentials, and (in the "env" variant) AWS_PROFILE,
 * AWS_DEFAULT_PROFILE, web-identity and container variables.
 */
async function hostileParent(
  sts: {
    url: string;
    baseCredentials: { accessKeyId: string; secretAccessKey: string };
  },
  variant: "files" | "env",
): Promise<{ env: Record<string, string>; dir: string } & AsyncDisposable> {
  // brs's own base credentials: the environment's keys (they come first in
  // every chain, so the parent itself never touches the roles below)
  const cli = await makeCliEnv(sts.baseCredentials);
  const keys = keyLines(sts.baseCredentials);
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[default]\n${keys}\n[base]\n${keys}`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    "[default]\nregion = eu-west-3\noutput = json\n" +
      "role_arn = arn:aws:iam::123456789012:role/wrong-default\nsource_profile = base\n\n" +
      "[profile other]\nregion = eu-west-3\n" +
      "role_arn = arn:aws:iam::123456789012:role/wrong-profile\nsource_profile = base\n",
  );
  delete cli.env.AWS_REGION;
  if (variant === "env") {
    await Deno.writeTextFile(`${cli.dir}/token`, "not-a-real-token");
    Object.assign(cli.env, {
      AWS_PROFILE: "other",
      AWS_DEFAULT_PROFILE: "other",
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/wrong-web-identity",
      AWS_WEB_IDENTITY_TOKEN_FILE: `${cli.dir}/token`,
      AWS_ROLE_SESSION_NAME: "wrong",
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/wrong",
    });
  }
  return cli;
}

for (const variant of ["files", "env"] as const) {
  for (const server of [true, false]) {
    for (const client of ["aws", "boto3", "js"] as const) {
      const mode = server ? "exec --server" : "exec";
      Deno.test({
        name:
          `${mode}: a ${client} child resolves to the assumed role and keeps the region, whatever the parent's ~/.aws and ${
            variant === "env" ? "environment" : "files"
          } hold${MISSING[client] ? ` (ignored: ${MISSING[client]})` : ""}`,
        ignore: MISSING[client] !== undefined,
        fn: async () => {
          await using sts = await startLocalSts();
          await using cli = await hostileParent(sts, variant);
          const r = await runCli(
            [
              "exec",
              ...(server ? ["--server"] : []),
              "--role-arn",
              ROLE_ARN,
              "--endpoint-url",
              sts.url,
              "--",
              ...childCommand(client, sts.url, TOOLS),
            ],
            cli.env,
            CLI_FLAGS,
          );
          assertEquals(r.code, 0, r.stderr);
          const [arn, region] = r.stdout.trim().split(/\s+/);
          assertEquals(arn, OURS, r.stderr);
          if (client !== "aws") assertEquals(region, "eu-west-3");
        },
      });
    }
  }
}

Deno.test("exec tells the child it runs under brs (BRS_EXEC) and gives it no credential file, profile or web-identity variable", async () => {
  await using sts = await startLocalSts();
  await using cli = await hostileParent(sts, "env");
  const r = await runCli([
    "exec",
    "--server",
    "--role-arn",
    ROLE_ARN,
    "--endpoint-url",
    sts.url,
    "--",
    "env",
  ], cli.env);
  assertEquals(r.code, 0, r.stderr);
  const env = Object.fromEntries(
    r.stdout.trim().split("\n").map((
      l,
    ) => [l.split("=")[0], l.slice(l.indexOf("=") + 1)]),
  );
  for (
    const name of [
      "AWS_PROFILE",
      "AWS_DEFAULT_PROFILE",
      "AWS_ROLE_ARN",
      "AWS_WEB_IDENTITY_TOKEN_FILE",
      "AWS_ROLE_SESSION_NAME",
      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
      "AWS_ACCESS_KEY_ID",
    ]
  ) assertEquals(env[name], undefined, name);
  // the profile AWS_PROFILE selected (its role_arn is overridden by --role-arn)
  assertEquals(env.BRS_EXEC, "other");
  assertEquals(env.AWS_REGION, "eu-west-3");
  const config = await Deno.readTextFile(env.AWS_CONFIG_FILE!).catch(() =>
    "(gone)"
  );
  // the generated files live as long as the child only
  assertEquals(config, "(gone)");
});
