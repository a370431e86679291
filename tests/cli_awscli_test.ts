/**
 * The real AWS CLI v2 (Debian's `awscli` package) uses `brs credentials
 * --format credential-process` as its `credential_process` and calls the
 * local STS with the assumed role.
 */
import { assertEquals } from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import {
  cliCommand,
  debianAwsCli,
  keyLines,
  makeCliEnv,
  ROLE_ARN,
} from "./fixtures/cli/helpers.ts";

const AWS = await debianAwsCli();

Deno.test({
  name: AWS
    ? "the AWS CLI v2 gets the assumed role through credential_process = brs credentials --format credential-process"
    : "the AWS CLI v2 credential_process test (SKIPPED: Debian's awscli is not installed; apt-get install -y awscli)",
  ignore: AWS === undefined,
  fn: async () => {
    await using sts = await startLocalSts();
    await using cli = await makeCliEnv();
    // base keys for brs come from a source profile, not from the environment
    await Deno.writeTextFile(
      cli.env.AWS_SHARED_CREDENTIALS_FILE!,
      `[base]\n${keyLines(sts.baseCredentials)}`,
    );
    await Deno.writeTextFile(
      `${cli.dir}/brs.toml`,
      `[app]\nrole_arn = "${ROLE_ARN}"\nsource_profile = "base"\nendpoint_url = "${sts.url}"\nrole_session_name = "via-aws-cli"\n`,
    );
    const command = cliCommand([
      "credentials",
      "--profile",
      "app",
      "--format",
      "credential-process",
    ]);
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      `[profile base]\nregion = us-east-1\n\n[profile brs]\nregion = us-east-1\ncredential_process = ${
        command.join(" ")
      }\n`,
    );
    const env = {
      ...cli.env,
      BRS_CONFIG_FILE: `${cli.dir}/brs.toml`,
      AWS_PAGER: "",
    };
    const out = await new Deno.Command(AWS!, {
      args: [
        "sts",
        "get-caller-identity",
        "--profile",
        "brs",
        "--endpoint-url",
        sts.url,
        "--output",
        "json",
      ],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    const identity = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(
      identity.Arn,
      "arn:aws:sts::123456789012:assumed-role/brs-cli-test/via-aws-cli",
    );
    assertEquals(sts.calls.AssumeRole, 1);
    assertEquals(sts.calls.GetCallerIdentity, 1);
  },
});
