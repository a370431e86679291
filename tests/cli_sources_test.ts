/**
 * The CLI's web identity profiles (`role_arn` + `web_identity_token_file`)
 * and MFA sessions (`mfa_session_duration`), through real CLI processes
 * against the local STS: one STS call across processes, one MFA code for
 * several role profiles, and one-line typed errors for bad input.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  mintWebIdentityToken,
  startLocalSts,
  totp,
} from "../src/testing/mod.ts";
import {
  CLI_FLAGS,
  makeCliEnv,
  ROLE_ARN,
  runCli,
} from "./fixtures/cli/helpers.ts";
import { HAS_OATHTOOL, IS_ROOT, NEEDS_OATHTOOL } from "./_helpers/tools.ts";
import { assertNoSecrets } from "./_helpers/scan.ts";

const MFA_SERIAL = "arn:aws:iam::123456789012:mfa/brs-cli-test";
const MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const WRONG_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU";
const MFA_SCRIPT =
  new URL("./fixtures/cli/mfa_counter.sh", import.meta.url).pathname;
const OTHER_ROLE = "arn:aws:iam::123456789012:role/brs-cli-other";
/** One line on stderr, `brs: error:`, no stack trace, holding every needle. */
function assertOneLine(stderr: string, ...needles: string[]): void {
  const lines = stderr.trim().split("\n");
  assertEquals(lines.length, 1, stderr);
  assertStringIncludes(lines[0]!, "brs: error: ");
  for (const needle of needles) assertStringIncludes(lines[0]!, needle);
}

const CP = ["--format", "credential-process"];

/** A local STS with the test's MFA device, where every role needs MFA. */
function _mfaSts(latencyMs = 0): ReturnType<typeof startLocalSts> {
  return startLocalSts({
    mfaDevices: { [MFA_SERIAL]: MFA_SECRET },
    mfaRequiredRoles: ["*"],
    latencyMs,
  });
}

/**
 * Writes a TOML file with two role profiles, `dev` and `ops`, sharing one MFA
 * device, `mfa_session_duration` and a counted MFA command.
 *
 * @returns The environment to run the CLI with and the counter file.
 */
async function _twoRoleProfiles(
  dir: string,
  env: Record<string, string>,
  stsUrl: string,
): Promise<{ env: Record<string, string>; counter: string }> {
  const counter = `${dir}/mfa_runs`;
  const seedFile = `${dir}/mfa.seed`;
  await Deno.writeTextFile(seedFile, MFA_SECRET, { mode: 0o600 });
  const shared = [
    `endpoint_url = "${stsUrl}"`,
    `serial_number = "${MFA_SERIAL}"`,
    `mfa_session_duration = 43200`,
    `mfa_command = ["${MFA_SCRIPT}", "${counter}"]`,
    `mfa_stdin_file = "${seedFile}"`,
    `allowed_commands = ["${MFA_SCRIPT}"]`,
  ];
  await Deno.writeTextFile(
    `${dir}/config.toml`,
    [
      "[dev]",
      `role_arn = "${ROLE_ARN}"`,
      ...shared,
      "[ops]",
      `role_arn = "${OTHER_ROLE}"`,
      ...shared,
      "",
    ].join("\n"),
  );
  return { env: { ...env, BRS_CONFIG_FILE: `${dir}/config.toml` }, counter };
}

/** How many times the counted MFA command ran. */
async function _mfaRuns(counter: string): Promise<number> {
  return (await Deno.readTextFile(counter)).trim().split("\n").length;
}

/** A warm `credentials` run without --allow-net: from the cache, no AWS SDK module loaded. */
async function assertWarm(
  profile: string,
  env: Record<string, string>,
  accessKeyId: string,
): Promise<void> {
  const r = await runCli(
    ["credentials", "--profile", profile, ...CP, "--debug"],
    env,
    CLI_FLAGS.filter((f) => !f.startsWith("--allow-net")),
  );
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stderr, "from cache");
  assert(!r.stderr.includes("loading the AWS SDK"), r.stderr);
  assertEquals(JSON.parse(r.stdout).AccessKeyId, accessKeyId);
}

for (const kind of ["aws", "toml"] as const) {
  Deno.test(`a web identity profile of ${kind === "aws" ? "~/.aws/config" : "the TOML file"} assumes the role with the token file, cached across processes, with no base credentials`, async () => {
    await using sts = await startLocalSts();
    await using cli = await makeCliEnv(); // no base credentials at all
    const token = `${cli.dir}/token`;
    await Deno.writeTextFile(token, `${mintWebIdentityToken()}\n`);
    const env = { ...cli.env, BRS_CONFIG_FILE: `${cli.dir}/config.toml` };
    if (kind === "aws") {
      await Deno.writeTextFile(
        cli.env.AWS_CONFIG_FILE!,
        `[profile irsa]\nrole_arn = ${ROLE_ARN}\nweb_identity_token_file = ${token}\nrole_session_name = pod-1\nduration_seconds = 1800\nendpoint_url = ${sts.url}\n`,
      );
      await Deno.writeTextFile(env.BRS_CONFIG_FILE, "");
    } else {
      await Deno.writeTextFile(
        env.BRS_CONFIG_FILE,
        `[irsa]\nrole_arn = "${ROLE_ARN}"\nweb_identity_token_file = "${token}"\nrole_session_name = "pod-1"\nduration_seconds = 1800\nendpoint_url = "${sts.url}"\n`,
      );
    }
    const first = await runCli(
      ["credentials", "--profile", "irsa", ...CP],
      env,
    );
    assertEquals([first.code, first.stderr], [0, ""]);
    const second = await runCli(
      ["credentials", "--profile", "irsa", ...CP],
      env,
    );
    assertEquals([second.code, second.stderr], [0, ""]);
    const a = JSON.parse(first.stdout);
    assertEquals(JSON.parse(second.stdout).AccessKeyId, a.AccessKeyId);
    assertEquals(sts.calls.AssumeRoleWithWebIdentity, 1);
    assertEquals(sts.calls.AssumeRole + sts.calls.GetSessionToken, 0);
    // duration_seconds reached STS
    const left = Date.parse(a.Expiration) - Date.now();
    assert(left > 1700_000 && left <= 1800_000, `${left}`);
    await assertWarm("irsa", env, a.AccessKeyId);
    const who = await runCli(["whoami", "--profile", "irsa"], env);
    assertEquals(who.code, 0, who.stderr);
    assertStringIncludes(
      who.stdout,
      "arn:aws:sts::123456789012:assumed-role/brs-cli-test/pod-1",
    );
    for (const entry of Deno.readDirSync(`${cli.dir}/cache/brs`)) {
      const mode = Deno.statSync(`${cli.dir}/cache/brs/${entry.name}`).mode!;
      assertEquals(mode & 0o077, 0, entry.name);
    }
  });
}

Deno.test("a web identity profile reads its token file again at each refresh", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  const token = `${cli.dir}/token`;
  const refused = mintWebIdentityToken({ issuer: "https://elsewhere.example" });
  await Deno.writeTextFile(token, refused);
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile irsa]\nrole_arn = ${ROLE_ARN}\nweb_identity_token_file = ${token}\nendpoint_url = ${sts.url}\n`,
  );
  const bad = await runCli(["credentials", "--profile", "irsa"], cli.env);
  assertEquals(bad.code, 1);
  assertOneLine(bad.stderr, "InvalidIdentityToken");
  assert(!bad.stderr.includes(refused) && !bad.stdout.includes(refused));
  // The identity provider rotates the file: the next refresh uses it.
  await Deno.writeTextFile(token, mintWebIdentityToken());
  const good = await runCli(["credentials", "--profile", "irsa"], cli.env);
  assertEquals([good.code, good.stderr], [0, ""]);
  assertEquals(sts.calls.AssumeRoleWithWebIdentity, 2);
});

Deno.test("bad web identity input ends in one typed line with exit code 2 and never the token", async (t) => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  const token = `${cli.dir}/token`;
  const secret = mintWebIdentityToken();
  const profile = (extra: string, file = token): string =>
    `[profile irsa]\nrole_arn = ${ROLE_ARN}\nweb_identity_token_file = ${file}\nendpoint_url = ${sts.url}\n${extra}`;
  const cases: [string, () => Promise<void>, string[]][] = [
    [
      "a missing token file",
      () => Deno.writeTextFile(cli.env.AWS_CONFIG_FILE!, profile("")),
      [
        "web identity token file",
        token,
        "'web_identity_token_file' of profile 'irsa'",
        "line 3",
      ],
    ],
    [
      "an empty token file",
      async () => {
        await Deno.writeTextFile(token, "  \n");
        await Deno.writeTextFile(cli.env.AWS_CONFIG_FILE!, profile(""));
      },
      ["is empty", token],
    ],
    [
      "a bad duration",
      async () => {
        await Deno.writeTextFile(token, secret);
        await Deno.writeTextFile(
          cli.env.AWS_CONFIG_FILE!,
          profile("duration_seconds = 60\n"),
        );
      },
      ["duration", "900 to 43200", "60", "line 5"],
    ],
    [
      "a source_profile next to the token file",
      () =>
        Deno.writeTextFile(
          cli.env.AWS_CONFIG_FILE!,
          profile("source_profile = base\n"),
        ),
      ["web_identity_token_file and source_profile", "remove"],
    ],
    [
      "an MFA session next to the token file",
      () =>
        Deno.writeTextFile(
          cli.env.AWS_CONFIG_FILE!,
          profile(`mfa_serial = ${MFA_SERIAL}\nmfa_session_duration = 3600\n`),
        ),
      ["web_identity_token_file and mfa_serial, mfa_session_duration"],
    ],
  ];
  cases.push([
    "a directory as the token file",
    () => Deno.writeTextFile(cli.env.AWS_CONFIG_FILE!, profile("", cli.dir)),
    ["is a directory", "'web_identity_token_file' of profile 'irsa'"],
  ]);
  if (!IS_ROOT) {
    cases.push([
      "an unreadable token file",
      async () => {
        await Deno.writeTextFile(token, secret);
        await Deno.chmod(token, 0o000);
        await Deno.writeTextFile(cli.env.AWS_CONFIG_FILE!, profile(""));
      },
      ["web identity token file", token],
    ]);
  }
  for (const [name, setup, needles] of cases) {
    await t.step(name, async () => {
      await Deno.remove(token).catch(() => {});
      await setup();
      const r = await runCli(["credentials", "--profile", "irsa"], cli.env);
      assertEquals(r.code, 2, r.stderr);
      assertEquals(r.stdout, "");
      assertOneLine(r.stderr, ...needles);
      assert(!r.stderr.includes(secret));
    });
  }
  await t.step("an empty path in the TOML file", async () => {
    const toml = `${cli.dir}/config.toml`;
    await Deno.writeTextFile(
      toml,
      `[ci]\nrole_arn = "${ROLE_ARN}"\nweb_identity_token_file = ""\n`,
    );
    const r = await runCli(
      ["credentials", "--profile", "ci", "--config", toml],
      cli.env,
    );
    assertEquals(r.code, 2, r.stderr);
    assertOneLine(
      r.stderr,
      "'web_identity_token_file' of profile 'ci'",
      "line 3",
      "empty",
    );
  });
  assertEquals(sts.calls.total, 0);
});

Deno.test({
  name:
    "two role profiles sharing one mfa_serial and mfa_session_duration ask one MFA code across processes (TOML, counted MFA command)" +
    (HAS_OATHTOOL ? "" : NEEDS_OATHTOOL),
  ignore: !HAS_OATHTOOL,
  fn: async () => {
    await using sts = await _mfaSts();
    await using cli = await makeCliEnv(sts.baseCredentials);
    const { env, counter } = await _twoRoleProfiles(cli.dir, cli.env, sts.url);
    const dev = await runCli(["credentials", "--profile", "dev", ...CP], env);
    assertEquals([dev.code, dev.stderr], [0, ""]);
    const ops = await runCli(["credentials", "--profile", "ops", ...CP], env);
    assertEquals([ops.code, ops.stderr], [0, ""]);
    assert(
      JSON.parse(dev.stdout).AccessKeyId !== JSON.parse(ops.stdout).AccessKeyId,
    );
    assertEquals(sts.calls.GetSessionToken, 1);
    assertEquals(sts.calls.AssumeRole, 2);
    assertEquals(await _mfaRuns(counter), 1);
    // The MFA session and both roles are cached, 0600, without the code.
    const dir = `${cli.dir}/cache/brs`;
    const files = [...Deno.readDirSync(dir)].filter((e) =>
      e.name.endsWith(".json")
    );
    assertEquals(files.length, 3);
    for (const file of files) {
      assertEquals(Deno.statSync(`${dir}/${file.name}`).mode! & 0o777, 0o600);
    }
    const again = await runCli(["whoami", "--profile", "ops"], env);
    assertEquals(again.code, 0, again.stderr);
    assertStringIncludes(again.stdout, "assumed-role/brs-cli-other/brs-cli");
    assertEquals([sts.calls.GetSessionToken, sts.calls.AssumeRole], [1, 2]);
  },
});

Deno.test({
  name:
    "4 processes for two role profiles started together make 1 GetSessionToken and run the MFA command once" +
    (HAS_OATHTOOL ? "" : NEEDS_OATHTOOL),
  ignore: !HAS_OATHTOOL,
  fn: async () => {
    await using sts = await _mfaSts(150);
    await using cli = await makeCliEnv(sts.baseCredentials);
    const { env, counter } = await _twoRoleProfiles(cli.dir, cli.env, sts.url);
    const results = await Promise.all(
      ["dev", "ops", "dev", "ops"].map((name) =>
        runCli(["credentials", "--profile", name, ...CP], env)
      ),
    );
    for (const r of results) assertEquals([r.code, r.stderr], [0, ""]);
    const keys = new Set(results.map((r) => JSON.parse(r.stdout).AccessKeyId));
    assertEquals(keys.size, 2);
    assertEquals(sts.calls.GetSessionToken, 1);
    assertEquals(sts.calls.AssumeRole, 2);
    assertEquals(await _mfaRuns(counter), 1);
  },
});

Deno.test({
  name:
    "mfa_session_duration in ~/.aws/config: two role profiles, one source, one GetSessionToken across processes, no unknown-key warning" +
    (HAS_OATHTOOL ? "" : NEEDS_OATHTOOL),
  ignore: !HAS_OATHTOOL,
  fn: async () => {
    await using sts = await _mfaSts();
    await using cli = await makeCliEnv();
    const keys =
      `aws_access_key_id = ${sts.baseCredentials.accessKeyId}\naws_secret_access_key = ${sts.baseCredentials.secretAccessKey}\n`;
    await Deno.writeTextFile(
      cli.env.AWS_SHARED_CREDENTIALS_FILE!,
      `[base]\n${keys}`,
    );
    // The seed on oathtool's stdin, never on a command line.
    const seedFile = `${cli.dir}/mfa.seed`;
    await Deno.writeTextFile(seedFile, MFA_SECRET, { mode: 0o600 });
    const shared =
      `source_profile = base\nendpoint_url = ${sts.url}\nmfa_serial = ${MFA_SERIAL}\nmfa_process = oathtool --totp -b -\nmfa_stdin_file = ${seedFile}\nmfa_session_duration = 3600\n`;
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      `[profile dev]\nrole_arn = ${ROLE_ARN}\n${shared}\n[profile ops]\nrole_arn = ${OTHER_ROLE}\n${shared}`,
    );
    const accessKeys: string[] = [];
    for (const name of ["dev", "ops", "dev"]) {
      const r = await runCli(
        ["credentials", "--profile", name, ...CP],
        cli.env,
      );
      assertEquals([r.code, r.stderr], [0, ""], name);
      accessKeys.push(JSON.parse(r.stdout).AccessKeyId);
    }
    assertEquals(accessKeys[2], accessKeys[0]);
    await assertWarm("ops", cli.env, accessKeys[1]!);
    assertEquals(sts.calls.GetSessionToken, 1);
    assertEquals(sts.calls.AssumeRole, 2);
    assertEquals(
      sts.requests.filter((q) => q.action === "GetSessionToken").length,
      1,
    );
  },
});

Deno.test({
  name:
    "a refused MFA session and bad mfa_session_duration values end in one typed line, never the code" +
    (HAS_OATHTOOL ? "" : NEEDS_OATHTOOL),
  ignore: !HAS_OATHTOOL,
  fn: async (t) => {
    await using sts = await _mfaSts();
    await using cli = await makeCliEnv(sts.baseCredentials);
    const profile = (extra: string): string =>
      `[profile dev]\nrole_arn = ${ROLE_ARN}\ncredential_source = Environment\nendpoint_url = ${sts.url}\n${extra}`;
    await t.step("a wrong code: exit 1, MfaSessionRefused", async () => {
      const seedFile = `${cli.dir}/wrong.seed`;
      await Deno.writeTextFile(seedFile, WRONG_SECRET, { mode: 0o600 });
      await Deno.writeTextFile(
        cli.env.AWS_CONFIG_FILE!,
        profile(
          `mfa_serial = ${MFA_SERIAL}\nmfa_process = oathtool --totp -b -\nmfa_stdin_file = ${seedFile}\nmfa_session_duration = 3600\n`,
        ),
      );
      const r = await runCli(["credentials", "--profile", "dev"], cli.env);
      const code = totp(WRONG_SECRET);
      assertEquals(r.code, 1, r.stderr);
      assertOneLine(r.stderr, "MFA session", MFA_SERIAL, "refused");
      assert(!r.stderr.includes(code), "the MFA code leaked");
      assertNoSecrets([r.stdout, r.stderr], [
        sts.baseCredentials.secretAccessKey,
      ]);
      assertEquals([sts.calls.GetSessionToken, sts.calls.AssumeRole], [1, 0]);
      const debug = await runCli(
        ["credentials", "--profile", "dev", "--debug"],
        cli.env,
      );
      assertStringIncludes(debug.stderr, "MfaSessionRefused");
      assert(!debug.stderr.includes(totp(WRONG_SECRET)));
    });
    const bad: [string, string, string[]][] = [
      ["too short", "mfa_session_duration = 60\n", ["900 to 129600", "60"]],
      ["not a number", "mfa_session_duration = 12h\n", [
        "mfa_session_duration",
        "integer",
        "line 6",
      ]],
    ];
    for (const [name, line, needles] of bad) {
      await t.step(`${name}: exit 2`, async () => {
        await Deno.writeTextFile(
          cli.env.AWS_CONFIG_FILE!,
          profile(`mfa_serial = ${MFA_SERIAL}\n${line}`),
        );
        const r = await runCli(["credentials", "--profile", "dev"], cli.env);
        assertEquals(r.code, 2, r.stderr);
        assertOneLine(r.stderr, ...needles);
      });
    }
    await t.step("no MFA device: exit 2", async () => {
      await Deno.writeTextFile(
        cli.env.AWS_CONFIG_FILE!,
        profile("mfa_session_duration = 3600\n"),
      );
      const r = await runCli(["credentials", "--profile", "dev"], cli.env);
      assertEquals(r.code, 2, r.stderr);
      assertOneLine(r.stderr, "no MFA device", "mfa_serial");
    });
    await t.step("a TOML string: exit 2", async () => {
      await Deno.writeTextFile(
        `${cli.dir}/config.toml`,
        `[dev]\nrole_arn = "${ROLE_ARN}"\nmfa_session_duration = "12h"\n`,
      );
      const r = await runCli(
        [
          "credentials",
          "--profile",
          "dev",
          "--config",
          `${cli.dir}/config.toml`,
        ],
        cli.env,
      );
      assertEquals(r.code, 2, r.stderr);
      assertOneLine(r.stderr, "mfa_session_duration", "an integer", "line 3");
    });
    assertEquals(sts.calls.GetSessionToken, 2);
  },
});
