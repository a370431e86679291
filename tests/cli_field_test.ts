/**
 * The CLI with the ~/.aws files people already have: profile selection like
 * the AWS CLI, the credential_process loop guard, ~/.aws/config keys and
 * errors, the MFA prompt on a terminal, first contact without permissions,
 * and the CLI conventions (-h, help TOPIC, did you mean, clear, --format).
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import {
  mintWebIdentityToken,
  startLocalSts,
  totp,
} from "../src/testing/mod.ts";
import {
  CLI_FLAGS,
  CLI_PATH,
  cliCommand,
  credentialsArgs,
  debianAwsCli,
  keyLines,
  makeCliEnv,
  ROLE_ARN,
  ROOT,
  runCli,
} from "./fixtures/cli/helpers.ts";

const AWS = await debianAwsCli();
const SCRIPT = await _has("script", ["--version"]);
const OURS = "arn:aws:sts::123456789012:assumed-role/brs-cli-test/brs-cli";
const MFA_SERIAL = "arn:aws:iam::123456789012:mfa/brs-cli-test";
const MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

async function _has(program: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(program, {
      args,
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}

/**
 * Command lines of running processes that mention `text` (`ps`; Deno reads
 * /proc only with --allow-all). Without `ps`, an empty list.
 */
async function processesMentioning(text: string): Promise<string[]> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("ps", {
      args: ["-eo", "args"],
      stdout: "piped",
      stderr: "null",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
    l.includes(text)
  );
}

/**
 * Puts the base keys in `[default]` of ~/.aws/credentials and a
 * `[profile brs]` whose `credential_process` runs brs for `ROLE_ARN`.
 */
async function brsAsCredentialProcess(
  sts: { url: string; baseCredentials: Parameters<typeof keyLines>[0] },
  cli: { env: Record<string, string> },
): Promise<void> {
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[default]\n${keyLines(sts.baseCredentials)}`,
  );
  const process = cliCommand(
    credentialsArgs(sts.url, "--format", "credential-process"),
  ).join(" ");
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[default]\nregion = us-east-1\n\n[profile brs]\nregion = us-east-1\ncredential_process = ${process}\n`,
  );
}

function assertOneLine(stderr: string, ...needles: string[]): void {
  const lines = stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, stderr);
  for (const needle of needles) assertStringIncludes(stderr, needle);
}

Deno.test({
  name:
    `AWS_PROFILE=brs aws sts get-caller-identity works when [profile brs] runs brs as its credential_process and the base keys are in [default]${
      AWS ? "" : " (ignored: Debian's awscli is not installed)"
    }`,
  ignore: AWS === undefined,
  fn: async () => {
    await using sts = await startLocalSts();
    await using cli = await makeCliEnv();
    await brsAsCredentialProcess(sts, cli);
    const out = await new Deno.Command(AWS!, {
      args: [
        "sts",
        "get-caller-identity",
        "--endpoint-url",
        sts.url,
        "--query",
        "Arn",
        "--output",
        "text",
      ],
      env: { ...cli.env, AWS_PROFILE: "brs", AWS_PAGER: "" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertEquals(new TextDecoder().decode(out.stdout).trim(), OURS);
    assertEquals(sts.calls.AssumeRole, 1);
  },
});

Deno.test({
  name:
    `a credential_process loop through [default] fails at once with one line naming the loop and the fix${
      AWS ? "" : " (ignored: Debian's awscli is not installed)"
    }`,
  ignore: AWS === undefined,
  fn: async () => {
    await using sts = await startLocalSts();
    await using cli = await makeCliEnv();
    const process = cliCommand(
      credentialsArgs(sts.url, "--no-cache", "--format", "credential-process"),
    ).join(" ");
    // brs's own base chain finds [default], which runs brs again
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      `[default]\nregion = us-east-1\ncredential_process = ${process}\n`,
    );
    const out = await new Deno.Command(AWS!, {
      args: ["sts", "get-caller-identity", "--endpoint-url", sts.url],
      env: { ...cli.env, AWS_PAGER: "" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert(out.code !== 0);
    assertStringIncludes(stderr, "credential_process loop");
    assertEquals(sts.calls.AssumeRole, 0);
    // and nothing is left running
    assertEquals(await processesMentioning(sts.url), []);
  },
});

Deno.test("a brs started inside another brs's base-credential lookup stops at once with one line", async () => {
  await using cli = await makeCliEnv(undefined, {
    BRS_CREDENTIAL_LOOKUP: "4242",
  });
  const r = await runCli(["credentials", "--role-arn", ROLE_ARN], cli.env);
  assertEquals(r.code, 2);
  assertOneLine(
    r.stderr,
    "credential_process loop",
    "pid 4242",
    "source_profile",
  );
});

Deno.test("AWS_PROFILE selects a role profile of ~/.aws/config, even with a TOML [default], and its source_profile gives the base", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[base]\n${keyLines(sts.baseCredentials)}\n[default]\n${
      keyLines(sts.baseCredentials)
    }`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile dev]\nrole_arn = ${ROLE_ARN}\nsource_profile = base\nrole_session_name = from-aws-profile\nendpoint_url = ${sts.url}\nregion = eu-west-1\n`,
  );
  await Deno.mkdir(`${cli.dir}/config/brs`, { recursive: true });
  await Deno.writeTextFile(
    `${cli.dir}/config/brs/config.toml`,
    `[default]\nrole_arn = "arn:aws:iam::123456789012:role/other"\nendpoint_url = "${sts.url}"\n`,
  );
  for (const variable of ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"]) {
    const r = await runCli(["whoami", "--format", "json", "--no-cache"], {
      ...cli.env,
      [variable]: "dev",
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      JSON.parse(r.stdout).Arn,
      "arn:aws:sts::123456789012:assumed-role/brs-cli-test/from-aws-profile",
    );
  }
  // --profile wins over AWS_PROFILE
  const r = await runCli([
    "whoami",
    "--json",
    "--no-cache",
    "--profile",
    "default",
  ], { ...cli.env, AWS_PROFILE: "dev" });
  assertEquals(r.code, 0, r.stderr);
  assertMatch(JSON.parse(r.stdout).Arn, /assumed-role\/other\//);
});

Deno.test("one profile name never means two role profiles; unknown keys warn; a corrupt ~/.aws/config names file and line", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  await Deno.mkdir(`${cli.dir}/config/brs`, { recursive: true });
  await Deno.writeTextFile(
    `${cli.dir}/config/brs/config.toml`,
    `[dev]\nrole_arn = "${ROLE_ARN}"\n`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/other\n\n[profile app]\nrole_arn = ${ROLE_ARN}\ncredential_source = Environment\nendpoint_url = ${sts.url}\nrole_sesion_name = typo\n`,
  );
  const twice = await runCli(["credentials", "--profile", "dev"], cli.env);
  assertEquals(twice.code, 2);
  assertOneLine(
    twice.stderr,
    "names two role profiles",
    "config.toml",
    cli.env.AWS_CONFIG_FILE!,
  );
  const warned = await runCli(
    ["credentials", "--profile", "app", "--no-cache"],
    cli.env,
  );
  assertEquals(warned.code, 0, warned.stderr);
  assertOneLine(
    warned.stderr,
    "brs: warning:",
    "'role_sesion_name'",
    "'app'",
    `${cli.env.AWS_CONFIG_FILE}' line 8`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile app]\nrole_arn = ${ROLE_ARN}\nthis line is broken\n`,
  );
  const corrupt = await runCli(["credentials", "--profile", "app"], cli.env);
  assertEquals(corrupt.code, 2);
  assertOneLine(corrupt.stderr, `'${cli.env.AWS_CONFIG_FILE}' line 3`);
  assert(!corrupt.stderr.includes("this line is broken"));
});

Deno.test("a broken ~/.aws/credentials line is never quoted (it may be a secret), and 'key: value' lines of ~/.aws/config are read as the AWS CLI reads them", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile app]\nrole_arn: ${ROLE_ARN}\ncredential_source: Environment\nendpoint_url: ${sts.url}\n`,
  );
  const colon = await runCli(
    ["credentials", "--profile", "app", "--no-cache"],
    cli.env,
  );
  assertEquals(colon.code, 0, colon.stderr);
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[other]\naws_access_key_id = AKIAXXXXXXXXXXXXXXXX\n${secret}\n`,
  );
  const broken = await runCli(
    ["credentials", "--profile", "app", "--no-cache"],
    cli.env,
  );
  assertEquals(broken.code, 2);
  assertOneLine(
    broken.stderr,
    `'${cli.env.AWS_SHARED_CREDENTIALS_FILE}' line 3`,
  );
  for (const part of [secret, secret.slice(0, 20), secret.slice(20)]) {
    assert(!broken.stderr.includes(part), broken.stderr);
  }
});

Deno.test("credential_source = Environment and mfa_process of ~/.aws/config are honoured", async () => {
  await using sts = await startLocalSts({
    mfaDevices: { [MFA_SERIAL]: MFA_SECRET },
    mfaRequiredRoles: ["*"],
  });
  await using cli = await makeCliEnv(sts.baseCredentials);
  const seedFile = `${cli.dir}/mfa.seed`;
  await Deno.writeTextFile(seedFile, MFA_SECRET, { mode: 0o600 });
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile env]\nrole_arn = ${ROLE_ARN}\ncredential_source = Environment\nendpoint_url = ${sts.url}\nmfa_serial = ${MFA_SERIAL}\nmfa_process = oathtool --totp -b -\nmfa_stdin_file = ${seedFile}\n\n[profile bad]\nrole_arn = ${ROLE_ARN}\ncredential_source = Somewhere\n`,
  );
  if (await _has("oathtool", ["--version"])) {
    const r = await runCli(
      ["whoami", "--profile", "env", "--no-cache"],
      cli.env,
    );
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, OURS);
  }
  const bad = await runCli(["whoami", "--profile", "bad"], cli.env);
  assertEquals(bad.code, 2);
  assertOneLine(
    bad.stderr,
    "credential_source",
    "Environment, Ec2InstanceMetadata, EcsContainer",
    "Somewhere",
    "line 11",
  );
});

/** Runs the CLI under a pseudo-terminal (`script`), answering the MFA prompt with `answer`. */
async function underTerminal(
  args: string[],
  env: Record<string, string>,
  answer: string | string[],
): Promise<{ code: number; output: string }> {
  const answers = typeof answer === "string" ? [answer] : [...answer];
  const command = cliCommand(args).map((a) => `'${a}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env,
    clearEnv: true,
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  let output = "";
  const decoder = new TextDecoder();
  const reader = child.stdout.getReader();
  let answered = 0;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    output += decoder.decode(value);
    const prompts = output.split("MFA code for").length - 1;
    if (answered < prompts && answered < answers.length) {
      await writer.write(new TextEncoder().encode(answers[answered++]));
    }
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  await child.stderr.cancel();
  return { code: status.code, output };
}

Deno.test({
  name:
    `with a serial and no MFA command, brs asks for the code on the terminal; Ctrl-C there exits 130 and leaves no lock${
      SCRIPT ? "" : " (ignored: 'script' of util-linux is not installed)"
    }`,
  ignore: !SCRIPT,
  fn: async () => {
    await using sts = await startLocalSts({
      mfaDevices: { [MFA_SERIAL]: MFA_SECRET },
      mfaRequiredRoles: ["*"],
    });
    await using cli = await makeCliEnv(sts.baseCredentials);
    const args = credentialsArgs(sts.url, "--serial-number", MFA_SERIAL);
    const ok = await underTerminal(args, cli.env, `${totp(MFA_SECRET)}\n`);
    assertEquals(ok.code, 0, ok.output);
    assertStringIncludes(ok.output, `MFA code for ${MFA_SERIAL}: `);
    assertStringIncludes(ok.output, '"AccessKeyId"');
    assertEquals(sts.calls.AssumeRole, 1);
    const interrupted = await underTerminal(
      [...args, "--role-session-name", "other"],
      cli.env,
      "\x03",
    );
    assertEquals(interrupted.code, 130, interrupted.output);
    assertStringIncludes(interrupted.output, "brs: interrupted");
    assert(!interrupted.output.includes("Cannot refresh"), interrupted.output);
    const left = [...Deno.readDirSync(`${cli.dir}/cache/brs`)].filter((e) =>
      e.name.endsWith(".lock")
    );
    assertEquals(left, []);
    // a rejected code: the second prompt says so, the error gives CLI advice
    const wrong = ["000000", "111111"].filter((c) => c !== totp(MFA_SECRET));
    const rejected = await underTerminal(
      [...args, "--role-session-name", "third"],
      cli.env,
      // the same code twice is refused at the prompt at once
      [`${wrong[0]}\n`, `${wrong[0]}\n`, `${wrong[1]}\n`],
    );
    assertEquals(rejected.code, 1, rejected.output);
    assertStringIncludes(rejected.output, "STS rejected that code");
    assertStringIncludes(rejected.output, "That code was already used");
    assertStringIncludes(
      rejected.output,
      "run the command again with a new code",
    );
    assert(!rejected.output.includes("refresh("), rejected.output);
  },
});

Deno.test("without a terminal, a serial without MFA command is one error naming --mfa-command and mfa_process", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const r = await runCli(
    credentialsArgs(sts.url, "--serial-number", MFA_SERIAL),
    cli.env,
  );
  assertEquals(r.code, 2);
  assertOneLine(r.stderr, "no terminal", "--mfa-command", "mfa_process");
});

Deno.test("first contact: without permission flags, one line gives the whole command; --help shows the flags", async () => {
  await using cli = await makeCliEnv();
  const r = await runCli(["whoami", "--profile", "dev"], cli.env, []);
  assertEquals(r.code, 2);
  assertEquals(r.stdout, "");
  assertOneLine(
    r.stderr,
    "deno run --allow-net --allow-env --allow-read --allow-write --allow-run --allow-sys",
    `${CLI_PATH} whoami --profile dev`,
    // every flag of the suggested command is named, with why
    "(and --allow-net --allow-run once STS is called or a command runs)",
  );
  const help = await runCli(["whoami", "--help"], cli.env, []);
  assertEquals(help.code, 0, help.stderr);
  assertStringIncludes(
    help.stdout,
    "--allow-net --allow-env --allow-read --allow-write --allow-run",
  );
});

Deno.test("CLI conventions: -h everywhere, help TOPIC, did you mean, --format json everywhere, clear", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  for (
    const command of ["whoami", "credentials", "exec", "profiles", "clear"]
  ) {
    const short = await runCli([command, "-h"], cli.env);
    assertEquals(short.code, 0, short.stderr);
    assertStringIncludes(short.stdout, `Usage: brs ${command}`);
    const topic = await runCli(["help", command], cli.env);
    assertEquals(topic.stdout, short.stdout);
  }
  const typo = await runCli(["whoamj"], cli.env);
  assertEquals(typo.code, 2);
  assertOneLine(typo.stderr, "did you mean 'whoami'");
  const flag = await runCli(["credentials", "--rol-arn", ROLE_ARN], cli.env);
  assertEquals(flag.code, 2);
  assertOneLine(flag.stderr, "did you mean '--role-arn'");
  const role = ["--role-arn", ROLE_ARN, "--endpoint-url", sts.url];
  const whoami = await runCli(["whoami", "--format", "json", ...role], cli.env);
  assertEquals(JSON.parse(whoami.stdout).Arn, OURS);
  const alias = await runCli(["whoami", "--json", ...role], cli.env);
  assertEquals(alias.stdout, whoami.stdout);
  const profiles = await runCli(["profiles", "--format", "json"], cli.env);
  assertEquals(JSON.parse(profiles.stdout), []);
  const other = [...role, "--role-session-name", "second"];
  await runCli(["credentials", ...other], cli.env);
  assertEquals(sts.calls.AssumeRole, 2);
  // every entry of the role, whatever the session name
  const one = await runCli(["clear", ...other], cli.env);
  assertEquals(
    one.stdout,
    `Removed 2 cached credentials from ${cli.dir}/cache/brs\n`,
  );
  await runCli(["credentials", ...role], cli.env);
  assertEquals(sts.calls.AssumeRole, 3);
  const all = await runCli(["clear"], cli.env);
  assertEquals(
    all.stdout,
    `Removed 1 cached credential from ${cli.dir}/cache/brs\n`,
  );
  await runCli(["credentials", ...role], cli.env);
  assertEquals(sts.calls.AssumeRole, 4);
});

Deno.test("credential_source = EcsContainer takes the base credentials from the container endpoint", async () => {
  const { _startCredentialServer } = await import(
    "../src/cli/_credential_server.ts"
  );
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  await using server = await _startCredentialServer(() =>
    Promise.resolve({
      accessKey: sts.baseCredentials.accessKeyId,
      secretKey: sts.baseCredentials.secretAccessKey,
      token: "",
      expiryTime: new Date(Date.now() + 3600_000).toISOString(),
    })
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile ecs]\nrole_arn = ${ROLE_ARN}\ncredential_source = EcsContainer\nendpoint_url = ${sts.url}\nrole_session_name = from-ecs\n`,
  );
  const r = await runCli(["whoami", "--profile", "ecs", "--no-cache"], {
    ...cli.env,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: server.url,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: server.token,
  });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(
    r.stdout,
    "arn:aws:sts::123456789012:assumed-role/brs-cli-test/from-ecs",
  );
});

Deno.test("web_identity_token_file makes brs call AssumeRoleWithWebIdentity with the token file", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  await Deno.writeTextFile(`${cli.dir}/token`, mintWebIdentityToken());
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile irsa]\nrole_arn = ${ROLE_ARN}\nweb_identity_token_file = ${cli.dir}/token\nendpoint_url = ${sts.url}\n`,
  );
  const r = await runCli(
    ["credentials", "--profile", "irsa", "--no-cache"],
    cli.env,
  );
  assertEquals(
    sts.requests.map((q) => q.action),
    ["AssumeRoleWithWebIdentity"],
  );
  assertEquals([r.code, r.stderr], [0, ""]);
  assert(JSON.parse(r.stdout).AccessKeyId.startsWith("ASIA"));
});

Deno.test("a source_profile's keys are the base, whatever keys the environment holds, and nothing is warned", async () => {
  await using sts = await startLocalSts();
  // environment keys that STS does not know, and a source_profile with good keys
  await using cli = await makeCliEnv({
    accessKeyId: "AKIAUNKNOWNUNKNOWN00",
    secretAccessKey: "unknownSecretunknownSecret0123456789abcd",
  });
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[base]\n${keyLines(sts.baseCredentials)}`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile dev]\nrole_arn = ${ROLE_ARN}\nsource_profile = base\nendpoint_url = ${sts.url}\n`,
  );
  const r = await runCli(
    ["credentials", "--profile", "dev", "--no-cache"],
    cli.env,
  );
  assertEquals([r.code, r.stderr], [0, ""]);
  assertEquals(
    sts.requests.filter((c) => c.action === "AssumeRole").map((c) =>
      c.accessKeyId
    ),
    [sts.baseCredentials.accessKeyId],
  );
});

const PYTHON_BOTO3 = await _has("/usr/bin/python3", ["-c", "import boto3"]);
const JS_CHILD =
  new URL("./fixtures/cli/chain_child.ts", import.meta.url).pathname;

for (const client of ["boto3", "js"] as const) {
  const missing = client === "boto3" && !PYTHON_BOTO3
    ? " (ignored: /usr/bin/python3 has no boto3; apt-get install -y python3-boto3)"
    : "";
  Deno.test({
    name:
      `AWS_PROFILE=brs with a ${client} client works when [profile brs] runs brs as its credential_process${missing}`,
    ignore: missing !== "",
    fn: async () => {
      await using sts = await startLocalSts();
      await using cli = await makeCliEnv();
      await brsAsCredentialProcess(sts, cli);
      const command = client === "boto3"
        ? [
          "/usr/bin/python3",
          "-c",
          "import boto3, sys; print(boto3.client('sts', endpoint_url=sys.argv[1]).get_caller_identity()['Arn'])",
          sts.url,
        ]
        : [
          Deno.execPath(),
          "run",
          "--quiet",
          "--allow-net=127.0.0.1",
          "--allow-env",
          "--allow-read",
          "--allow-run",
          "--allow-sys",
          JS_CHILD,
          sts.url,
        ];
      const out = await new Deno.Command(command[0]!, {
        args: command.slice(1),
        env: { ...cli.env, AWS_PROFILE: "brs" },
        clearEnv: true,
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, stderr);
      assertEquals(
        new TextDecoder().decode(out.stdout).trim().split(" ")[0],
        OURS,
      );
      assertEquals(sts.calls.AssumeRole, 1);
    },
  });
}

Deno.test("deno task whoami works with XDG_CACHE_HOME set, and the install line from a clone gives a working brs", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const task = await new Deno.Command(Deno.execPath(), {
    args: [
      "task",
      "-q",
      "whoami",
      "--role-arn",
      ROLE_ARN,
      "--endpoint-url",
      sts.url,
    ],
    env: { ...cli.env, XDG_CACHE_HOME: `${cli.dir}/elsewhere` },
    clearEnv: true,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(task.code, 0, new TextDecoder().decode(task.stderr));
  assertStringIncludes(new TextDecoder().decode(task.stdout), OURS);
  assert([...Deno.readDirSync(`${cli.dir}/elsewhere/brs`)].length > 0);
  const install = await new Deno.Command(Deno.execPath(), {
    args: [
      "install",
      "-q",
      "-g",
      "--root",
      `${cli.dir}/root`,
      "-n",
      "brs",
      "--config",
      "deno.json",
      ...CLI_FLAGS,
      "./cli.ts",
    ],
    env: cli.env,
    clearEnv: true,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(install.code, 0, new TextDecoder().decode(install.stderr));
  const brs = await new Deno.Command(`${cli.dir}/root/bin/brs`, {
    args: ["whoami", "--role-arn", ROLE_ARN, "--endpoint-url", sts.url],
    env: cli.env,
    clearEnv: true,
    cwd: cli.dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(brs.code, 0, new TextDecoder().decode(brs.stderr));
  assertStringIncludes(new TextDecoder().decode(brs.stdout), OURS);
});

Deno.test("without --allow-write: credentials --no-cache works, and an exec child gets /dev/null for every AWS file", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const flags = CLI_FLAGS.filter((f) => !f.startsWith("--allow-write"));
  const role = [
    "--role-arn",
    ROLE_ARN,
    "--endpoint-url",
    sts.url,
    "--no-cache",
  ];
  const r = await runCli(["credentials", ...role], cli.env, flags);
  assertEquals(r.code, 0, r.stderr);
  const e = await runCli(["exec", ...role, "--", "env"], cli.env, flags);
  assertEquals(e.code, 0, e.stderr);
  for (
    const name of [
      "AWS_CONFIG_FILE",
      "AWS_SHARED_CREDENTIALS_FILE",
      "BOTO_CONFIG",
    ]
  ) {
    assertStringIncludes(e.stdout, `\n${name}=/dev/null\n`);
  }
});
