/**
 * What a new user reads: every CLI error is one house-style line (what was
 * wrong, what to do) without SDK or library jargon, MFA trouble is said in
 * CLI terms, `clear` finds every entry of a role or profile, and
 * `[services x]` sections of ~/.aws/config give the STS endpoint.
 */
import {
  assert,
  assertEquals,
  assertLess,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { startLocalSts, totp } from "../src/testing/mod.ts";
import {
  credentialsArgs,
  makeCliEnv,
  ROLE_ARN,
  runCli,
  waitForRoomInTotpStep,
} from "./fixtures/cli/helpers.ts";

const MFA_SERIAL = "arn:aws:iam::123456789012:mfa/brs-cli-test";
const MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, stderr);
  return lines[0]!;
}

async function hasOathtool(): Promise<boolean> {
  try {
    return (await new Deno.Command("oathtool", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}

Deno.test("an unreadable STS reply is one line without SDK jargon; --debug adds the SDK's error", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const role = ["--role-arn", ROLE_ARN, "--endpoint-url", sts.url];
  sts.injectFault({ kind: "malformed" });
  const r = await runCli(["credentials", ...role], cli.env);
  assertEquals(r.code, 1, r.stderr);
  assertEquals(r.stdout, "");
  const line = oneLine(r.stderr);
  assertMatch(
    line,
    /^brs: error: Cannot refresh credentials as the STS endpoint '[^']+' sent a reply to AssumeRole that is not STS XML/,
  );
  assertStringIncludes(line, "--endpoint-url");
  for (
    const jargon of ["$response", "@aws-sdk", "Deserialization", "{error}"]
  ) {
    assert(!line.includes(jargon), line);
  }
  const debug = await runCli(["credentials", ...role, "--debug"], cli.env);
  assertEquals(debug.code, 1, debug.stderr);
  assertMatch(debug.stderr, /^brs: debug: +caused by .*XML parse error/m);
  sts.clearFaults();
  sts.injectFault({ kind: "access-denied" });
  const denied = await runCli(["credentials", ...role], cli.env);
  assertEquals(denied.code, 1);
  assertStringIncludes(
    oneLine(denied.stderr),
    "STS refused the call with AccessDenied",
  );
  assertStringIncludes(denied.stderr, "trust policy");
});

Deno.test("an MFA command with a pipe names the fix for a command line: a script in the allowlist", async () => {
  await using cli = await makeCliEnv();
  const r = await runCli([
    "credentials",
    "--role-arn",
    ROLE_ARN,
    "--serial-number",
    MFA_SERIAL,
    "--mfa-command",
    `oathtool --totp -b ${MFA_SECRET} | cat`,
  ], cli.env);
  assertEquals(r.code, 2, r.stderr);
  const line = oneLine(r.stderr);
  assertStringIncludes(line, "shell operators are not supported");
  assertStringIncludes(line, "allowed_commands");
  assertStringIncludes(line, "BRS_ALLOWED_COMMANDS");
  assert(!line.includes("string[]"), line);
});

Deno.test({
  name:
    "mfa_process of ~/.aws/config runs a custom tool once BRS_ALLOWED_COMMANDS allows it",
  ignore: !(await hasOathtool()),
  fn: async () => {
    await using sts = await startLocalSts({
      mfaDevices: { [MFA_SERIAL]: MFA_SECRET },
      mfaRequiredRoles: ["*"],
    });
    await using cli = await makeCliEnv(sts.baseCredentials);
    const script = `${cli.dir}/my-otp`;
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\noathtool --totp -b ${MFA_SECRET} | cat\n`,
      { mode: 0o755 },
    );
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      `[profile dev]\nrole_arn = ${ROLE_ARN}\ncredential_source = Environment\nendpoint_url = ${sts.url}\nmfa_serial = ${MFA_SERIAL}\nmfa_process = ${script}\n`,
    );
    const refused = await runCli(["credentials", "--profile", "dev"], cli.env);
    assertEquals(refused.code, 2, refused.stderr);
    const line = oneLine(refused.stderr);
    assertStringIncludes(line, "BRS_ALLOWED_COMMANDS");
    assert(!line.includes("mfaTokenProviderOptions"), line);
    const ok = await runCli(["credentials", "--profile", "dev"], {
      ...cli.env,
      BRS_ALLOWED_COMMANDS: `/nowhere/else:${script}`,
    });
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(sts.calls.AssumeRole, 1);
  },
});

Deno.test("an MFA command whose codes STS rejects: one line for the wait of the next code, then CLI advice", async () => {
  await using sts = await startLocalSts({
    mfaDevices: { [MFA_SERIAL]: MFA_SECRET },
    mfaRequiredRoles: ["*"],
  });
  await using cli = await makeCliEnv(sts.baseCredentials);
  const script = `${cli.dir}/wrong-otp`;
  await Deno.writeTextFile(script, "#!/bin/sh\necho 000000\n", {
    mode: 0o755,
  });
  if (totp(MFA_SECRET) === "000000") return; // one step in a million
  // the two tries of one run must fall in one 30 s step
  await waitForRoomInTotpStep();
  const r = await runCli(
    credentialsArgs(
      sts.url,
      "--serial-number",
      MFA_SERIAL,
      "--mfa-command",
      script,
    ),
    { ...cli.env, BRS_ALLOWED_COMMANDS: script },
  );
  assertEquals(r.code, 1, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 2, r.stderr);
  assertMatch(
    lines[0]!,
    /^brs: waiting \d+ s for the next MFA code \(the last one was used\)$/,
  );
  assertMatch(lines[1]!, /^brs: error: STS rejected the MFA code for '/);
  assertStringIncludes(lines[1]!, "run the command again with a new code");
  assertStringIncludes(lines[1]!, "mfa_process");
  assert(!r.stderr.includes("refresh("), r.stderr);
  assert(!r.stderr.includes("000000"), "the MFA code is never printed");
});

Deno.test("clear --role-arn and clear --profile remove every entry of the role or profile", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const other = "arn:aws:iam::123456789012:role/other";
  await Deno.writeTextFile(
    `${cli.dir}/profiles.toml`,
    `[dev]\nrole_arn = "${other}"\nendpoint_url = "${sts.url}"\n`,
  );
  const env = { ...cli.env, BRS_CONFIG_FILE: `${cli.dir}/profiles.toml` };
  const role = ["--role-arn", ROLE_ARN, "--endpoint-url", sts.url];
  // five cache entries, written by five processes at once
  const runs = await Promise.all([
    ["credentials", ...role],
    ["credentials", ...role, "--role-session-name", "second"],
    ["credentials", ...role, "--duration-seconds", "1800"],
    ["credentials", "--profile", "dev"],
    ["credentials", "--profile", "dev", "--role-session-name", "second"],
  ].map((args) => runCli(args, env)));
  assertEquals(runs.map((r) => r.code), [0, 0, 0, 0, 0]);
  assertEquals(sts.calls.AssumeRole, 5);
  const cache = `${cli.dir}/cache/brs`;
  const byRole = await runCli(["clear", "--role-arn", ROLE_ARN], env);
  assertEquals(byRole.code, 0, byRole.stderr);
  assertEquals(byRole.stdout, `Removed 3 cached credentials from ${cache}\n`);
  const byProfile = await runCli(["clear", "--profile", "dev"], env);
  assertEquals(
    byProfile.stdout,
    `Removed 2 cached credentials from ${cache}\n`,
  );
  assertEquals([...Deno.readDirSync(cache)].map((e) => e.name), []);
});

Deno.test("brs without arguments is a usage error: the help goes to stderr, exit code 2", async () => {
  await using cli = await makeCliEnv();
  const r = await runCli([], cli.env);
  assertEquals(r.code, 2);
  assertEquals(r.stdout, "");
  assertStringIncludes(r.stderr, "Usage: brs <command>");
  const help = await runCli(["--help"], cli.env);
  assertEquals([help.code, help.stderr], [0, ""]);
  assertStringIncludes(help.stdout, "Usage: brs <command>");
});

Deno.test("the loop guard is one short line naming the loop and the fix", async () => {
  await using cli = await makeCliEnv();
  const nested = await runCli(["credentials", "--role-arn", ROLE_ARN], {
    ...cli.env,
    BRS_CREDENTIAL_LOOKUP: "4242",
  });
  assertEquals(nested.code, 2);
  const line = oneLine(nested.stderr);
  assertLess(line.length, 250, line);
  assertStringIncludes(line, "credential_process loop");
  assertStringIncludes(line, "source_profile");
  // [default] runs a credential_process that fails (as a nested brs would)
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    "[default]\nregion = us-east-1\ncredential_process = false\n",
  );
  const failed = await runCli(credentialsArgs("http://127.0.0.1:9"), cli.env);
  assertEquals(failed.code, 2, failed.stderr);
  const loop = oneLine(failed.stderr);
  assertLess(loop.length - cli.env.AWS_CONFIG_FILE!.length, 250, loop);
  assertStringIncludes(loop, "credential_process loop");
  assertStringIncludes(loop, "profile 'default'");
});

Deno.test("a [services x] section of ~/.aws/config gives the STS endpoint of a profile with services = x", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile dev]\nrole_arn = ${ROLE_ARN}\ncredential_source = Environment\nservices = local\n\n[services local]\nsts =\n  endpoint_url = ${sts.url}\ns3 =\n  endpoint_url = http://127.0.0.1:9\n`,
  );
  const r = await runCli(["whoami", "--profile", "dev", "--json"], cli.env);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  assertStringIncludes(JSON.parse(r.stdout).Arn, "assumed-role/brs-cli-test");
  assertEquals(sts.calls.AssumeRole, 1);
});
