/**
 * Every CLI command and format, spawned as a real process with narrow
 * permissions against the local STS endpoint.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertStringIncludes,
} from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import {
  CLI_FLAGS,
  CLI_PATH,
  makeCliEnv,
  ROLE_ARN,
  ROOT,
  runCli,
} from "./fixtures/cli/helpers.ts";

const ASSUMED_ARN =
  "arn:aws:sts::123456789012:assumed-role/brs-cli-test/brs-cli";

Deno.test("brs --help, --version and every command's --help exit 0", async () => {
  await using cli = await makeCliEnv();
  const version =
    (await import("../deno.json", { with: { type: "json" } })).default.version;
  const results = await Promise.all([
    runCli(["--version"], cli.env),
    runCli(["--help"], cli.env),
    runCli(["whoami", "--help"], cli.env),
    runCli(["credentials", "--help"], cli.env),
  ]);
  const more = await Promise.all([
    runCli(["exec", "--help"], cli.env),
    runCli(["profiles", "--help"], cli.env),
  ]);
  const [v, help, ...commands] = [...results, ...more];
  assertEquals(v!.stdout, `brs ${version}\n`);
  assertStringIncludes(help!.stdout, "Commands:");
  for (
    const [i, name] of ["whoami", "credentials", "exec", "profiles"].entries()
  ) {
    assertEquals(commands[i]!.code, 0);
    assertStringIncludes(commands[i]!.stdout, `Usage: brs ${name}`);
  }
  assertEquals(results.map((r) => r.code), [0, 0, 0, 0]);
});

Deno.test("cli.ts imports no AWS SDK module statically (the warm path never loads the SDK)", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", CLI_PATH],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const queue = [new URL(`file://${CLI_PATH}`).href];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    for (const dep of bySpecifier.get(next)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) queue.push(dep.code.specifier);
    }
  }
  const static_ = [...seen];
  assert(static_.some((s) => s.endsWith("/src/cli/main.ts")));
  assertEquals(
    static_.filter((s) => /@aws-sdk|@smithy|sts_session/.test(s)),
    [],
  );
  // ... and the SDK is reachable, but only through import()
  const dynamic = info.modules.flatMap((m) =>
    (m.dependencies ?? []).filter((d) => d.isDynamic).map((d) =>
      d.code?.specifier ?? ""
    )
  );
  assert(dynamic.some((s) => s.includes("sts_session.ts")), dynamic.join(", "));
});

Deno.test("brs whoami, credentials (json, env, credential-process), profiles and exec work against the local STS", async (t) => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const role = ["--role-arn", ROLE_ARN, "--endpoint-url", sts.url];

  let keyId = "";
  await t.step(
    "credentials --format json (cold) calls AssumeRole once",
    async () => {
      const r = await runCli(["credentials", ...role], cli.env);
      assertEquals([r.code, r.stderr], [0, ""]);
      const json = JSON.parse(r.stdout);
      assertEquals(Object.keys(json), [
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
      ]);
      assertMatch(json.AccessKeyId, /^ASIA/);
      assert(Date.parse(json.Expiration) > Date.now());
      keyId = json.AccessKeyId;
      assertEquals(sts.calls.AssumeRole, 1);
    },
  );

  await t.step(
    "credentials --format credential-process (warm) reuses the cache",
    async () => {
      const r = await runCli([
        "credentials",
        ...role,
        "--format",
        "credential-process",
      ], cli.env);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trimEnd().split("\n").length, 1);
      const json = JSON.parse(r.stdout);
      assertEquals(Object.keys(json), [
        "Version",
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
      ]);
      assertEquals([json.Version, json.AccessKeyId], [1, keyId]);
      assertEquals(sts.calls.AssumeRole, 1);
    },
  );

  await t.step(
    "warm path runs without net permission and does not load the AWS SDK",
    async () => {
      const flags = CLI_FLAGS.filter((f) => !f.startsWith("--allow-net"));
      const r = await runCli(
        ["credentials", ...role, "--format", "credential-process", "--debug"],
        cli.env,
        flags,
      );
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stderr, "from cache");
      assertStringIncludes(
        r.stderr,
        `credentials ${keyId.slice(0, 4)}...${keyId.slice(-8)} from cache`,
      );
      assert(!r.stderr.includes("loading the AWS SDK"), r.stderr);
      assertEquals(JSON.parse(r.stdout).AccessKeyId, keyId);
    },
  );

  await t.step("credentials --format env prints export lines", async () => {
    const r = await runCli(
      ["credentials", ...role, "--format", "env"],
      cli.env,
    );
    assertEquals(r.code, 0, r.stderr);
    const names = r.stdout.trimEnd().split("\n").map((l) =>
      l.match(/^export (\w+)=/)?.[1]
    );
    assertEquals(names, [
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_CREDENTIAL_EXPIRATION",
    ]);
    assertStringIncludes(r.stdout, `export AWS_ACCESS_KEY_ID=${keyId}\n`);
  });

  await t.step("--no-cache makes a new AssumeRole call", async () => {
    const r = await runCli(["credentials", ...role, "--no-cache"], cli.env);
    assertEquals(r.code, 0, r.stderr);
    assertNotEquals(JSON.parse(r.stdout).AccessKeyId, keyId);
    assertEquals(sts.calls.AssumeRole, 2);
  });

  await t.step(
    "whoami prints the assumed role (human and --json)",
    async () => {
      const [human, json] = await Promise.all([
        runCli(["whoami", ...role], cli.env),
        runCli(["whoami", ...role, "--json"], cli.env),
      ]);
      assertEquals(human.code, 0, human.stderr);
      assertStringIncludes(human.stdout, "Account: 123456789012\n");
      assertStringIncludes(human.stdout, `Arn:     ${ASSUMED_ARN}\n`);
      assertMatch(human.stdout, /UserId: {2}AROA\w+:brs-cli\n/);
      // The key id by its kind and last 8 characters, which tell keys of one
      // account apart (the first 8 are the same for all of them).
      assertStringIncludes(
        human.stdout,
        `Key id:  ${keyId.slice(0, 4)}...${keyId.slice(-8)}\n`,
      );
      assertEquals(json.code, 0, json.stderr);
      const identity = JSON.parse(json.stdout);
      assertEquals([identity.Account, identity.Arn], [
        "123456789012",
        ASSUMED_ARN,
      ]);
    },
  );

  await t.step(
    "exec gives the child fresh keys and passes its exit code through",
    async () => {
      const r = await runCli([
        "exec",
        ...role,
        "--region",
        "eu-west-1",
        "--",
        "sh",
        "-c",
        'echo "$AWS_ACCESS_KEY_ID ${AWS_SECRET_ACCESS_KEY:+secret} ${AWS_SESSION_TOKEN:+token} $AWS_REGION ${AWS_SECURITY_TOKEN:-nolegacy}"; exit 7',
      ], { ...cli.env, AWS_SECURITY_TOKEN: "should-be-removed" });
      assertEquals(r.code, 7, r.stderr);
      assertMatch(r.stdout, /^ASIA\w+ secret token eu-west-1 nolegacy\n$/);
    },
  );

  await t.step(
    "TOML and ~/.aws/config profiles: listed, and used with flags winning",
    async () => {
      await Deno.writeTextFile(
        `${cli.dir}/profiles.toml`,
        `[dev]\nrole_arn = "${ROLE_ARN}"\nendpoint_url = "${sts.url}"\nduration_seconds = 3600\nrole_session_name = "from-toml"\n`,
      );
      await Deno.writeTextFile(
        cli.env.AWS_CONFIG_FILE!,
        `[profile awsrole]\nrole_arn = arn:aws:iam::123456789012:role/from-aws-config\nsource_profile = base\nregion = us-east-1\n\n[profile base]\nregion = us-east-1\n`,
      );
      await Deno.writeTextFile(
        cli.env.AWS_SHARED_CREDENTIALS_FILE!,
        `[base]\naws_access_key_id = ${sts.baseCredentials.accessKeyId}\naws_secret_access_key = ${sts.baseCredentials.secretAccessKey}\n`,
      );
      const env: Record<string, string> = {
        ...cli.env,
        BRS_CONFIG_FILE: `${cli.dir}/profiles.toml`,
      };
      const list = await runCli(["profiles"], env);
      assertEquals(list.code, 0, list.stderr);
      assertMatch(
        list.stdout,
        /^dev +role +arn:aws:iam::123456789012:role\/brs-cli-test +keys of the environment -> brs-cli-test +\S+\/profiles\.toml$/m,
      );
      assertMatch(
        list.stdout,
        /^awsrole +role +arn:aws:iam::123456789012:role\/from-aws-config +keys of base -> from-aws-config +\S+\/aws_config$/m,
      );
      // every profile is listed, with its kind
      assertMatch(
        list.stdout,
        /^base +keys +- +keys of base +\S+\/aws_config, \S+\/aws_credentials$/m,
      );
      const listJson = JSON.parse(
        (await runCli(["profiles", "--json"], env)).stdout,
      );
      assertEquals(listJson.map((p: { name: string }) => p.name), [
        "dev",
        "awsrole",
        "base",
      ]);
      // settings as parsed and merged from both files; secrets only as present
      const base = listJson.find((p: { name: string }) => p.name === "base");
      assertEquals(base.settings, {
        region: "us-east-1",
        aws_access_key_id: sts.baseCredentials.accessKeyId,
        aws_secret_access_key: "(present)",
      });
      assert(
        !JSON.stringify(listJson).includes(sts.baseCredentials.secretAccessKey),
      );

      const toml = await runCli(["whoami", "--profile", "dev", "--json"], env);
      assertEquals(toml.code, 0, toml.stderr);
      assertEquals(
        JSON.parse(toml.stdout).Arn,
        "arn:aws:sts::123456789012:assumed-role/brs-cli-test/from-toml",
      );
      const flagWins = await runCli([
        "whoami",
        "--profile",
        "dev",
        "--role-session-name",
        "from-flag",
        "--json",
      ], env);
      assertEquals(
        JSON.parse(flagWins.stdout).Arn,
        "arn:aws:sts::123456789012:assumed-role/brs-cli-test/from-flag",
      );

      // the base keys come from source_profile only: none in the environment
      const noKeys: Record<string, string> = { ...env };
      delete noKeys.AWS_ACCESS_KEY_ID;
      delete noKeys.AWS_SECRET_ACCESS_KEY;
      const aws = await runCli([
        "whoami",
        "--profile",
        "awsrole",
        "--endpoint-url",
        sts.url,
        "--json",
      ], noKeys);
      assertEquals(aws.code, 0, aws.stderr);
      assertEquals(
        JSON.parse(aws.stdout).Arn,
        "arn:aws:sts::123456789012:assumed-role/from-aws-config/brs-cli",
      );
    },
  );
});

Deno.test("brs exec forwards SIGTERM to the child and passes its exit code through", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...CLI_FLAGS,
      CLI_PATH,
      "exec",
      "--role-arn",
      ROLE_ARN,
      "--endpoint-url",
      sts.url,
      "--",
      "sh",
      "-c",
      'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.1; done',
    ],
    env: cli.env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // a safety net so that a broken forwarder fails the test instead of hanging it
  const guard = setTimeout(() => process.kill("SIGKILL"), 60_000);
  const reader = process.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let seen = "";
  while (!seen.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  process.kill("SIGTERM");
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  const status = await process.status;
  clearTimeout(guard);
  await process.stderr.cancel();
  assertEquals(seen, "ready\ngot-term\n");
  assertEquals(status.code, 42);
});

Deno.test("brs <command> --version prints the version like brs --version (a shared flag)", async () => {
  await using cli = await makeCliEnv();
  const version =
    (await import("../deno.json", { with: { type: "json" } })).default.version;
  const results = await Promise.all(
    ["whoami", "credentials", "exec", "profiles"].map((name) =>
      runCli([name, "--version"], cli.env)
    ),
  );
  for (const r of results) {
    assertEquals([r.code, r.stdout, r.stderr], [0, `brs ${version}\n`, ""]);
  }
});
