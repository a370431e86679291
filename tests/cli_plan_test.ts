/**
 * Profiles resolved the way the AWS SDKs resolve them, through real CLI
 * processes against the local STS: broken or cyclic source profiles are
 * configuration errors (never the machine's identity), the base identity is
 * in the cache key, the self-referencing `[default]` makes one AssumeRole,
 * every hop has its own endpoint, the parser follows the shared profile-file
 * rules, the region of the environment wins, and `profiles`, "did you mean"
 * and `clear` behave.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import { makeCliEnv, ROLE_ARN, runCli } from "./fixtures/cli/helpers.ts";

const CP = ["--format", "credential-process"];
const OTHER_ROLE = "arn:aws:iam::123456789012:role/brs-cli-other";

function keys(k: { accessKeyId: string; secretAccessKey: string }): string {
  return `aws_access_key_id = ${k.accessKeyId}\naws_secret_access_key = ${k.secretAccessKey}\n`;
}

/** One line on stderr, `brs: error:`, holding every needle. */
function assertOneLine(stderr: string, ...needles: string[]): void {
  const lines = stderr.trim().split("\n");
  assertEquals(lines.length, 1, stderr);
  assertStringIncludes(lines[0]!, "brs: error: ");
  for (const needle of needles) assertStringIncludes(lines[0]!, needle);
}

/** Keys the local STS does not know. */
const STRANGER = {
  accessKeyId: "AKIASTRANGERSTRANGER",
  secretAccessKey: "strangerSecretstrangerSecret0123456789ab",
};

Deno.test("a broken source profile is exit 2 naming profile, file and key, with no STS call, even where web-identity or container variables would give the machine's identity", async (t) => {
  await using sts = await startLocalSts();
  // no base keys in the environment: a fall back would find the web identity
  // or container variables
  await using cli = await makeCliEnv();
  await Deno.writeTextFile(`${cli.dir}/token`, "not-a-token");
  const env = {
    ...cli.env,
    AWS_WEB_IDENTITY_TOKEN_FILE: `${cli.dir}/token`,
    AWS_ROLE_ARN: OTHER_ROLE,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: `${sts.url}/container`,
  };
  const cases: [string, string, string, string[]][] = [
    [
      "a missing secret",
      `[base]\naws_access_key_id = ${sts.baseCredentials.accessKeyId}\n`,
      "source_profile = base",
      ["'base'", "aws_secret_access_key", cli.env.AWS_SHARED_CREDENTIALS_FILE!],
    ],
    [
      "a missing access key id",
      `[base]\naws_secret_access_key = ${sts.baseCredentials.secretAccessKey}\n`,
      "source_profile = base",
      ["'base'", "aws_access_key_id", cli.env.AWS_SHARED_CREDENTIALS_FILE!],
    ],
    [
      "no keys at all",
      "[base]\nregion = us-east-1\n",
      "source_profile = base",
      ["'base'", "no credentials", cli.env.AWS_SHARED_CREDENTIALS_FILE!],
    ],
    [
      "a name that does not exist",
      "",
      "source_profile = bsae",
      ["'bsae'", "'source_profile' of profile 'dev'", "line 3"],
    ],
    [
      "a loop",
      "",
      "source_profile = loop\n[profile loop]\nrole_arn = arn:aws:iam::123456789012:role/loop\nsource_profile = dev",
      ["cycle", "'dev' -> 'loop' -> 'dev'"],
    ],
  ];
  for (const [what, credentials, source, needles] of cases) {
    await t.step(what, async () => {
      await Deno.writeTextFile(
        cli.env.AWS_SHARED_CREDENTIALS_FILE!,
        credentials,
      );
      await Deno.writeTextFile(
        cli.env.AWS_CONFIG_FILE!,
        `[profile dev]\nrole_arn = ${ROLE_ARN}\n${source}\nendpoint_url = ${sts.url}\n`,
      );
      const r = await runCli(["credentials", "--profile", "dev", ...CP], env);
      assertEquals(r.code, 2, r.stderr);
      assertOneLine(r.stderr, ...needles);
      assertEquals(r.stdout, "");
      assertEquals(sts.calls.total, 0);
      assert(!r.stderr.includes(sts.baseCredentials.secretAccessKey));
    });
  }
  await t.step("the did-you-mean of an unknown source profile", async () => {
    await Deno.writeTextFile(
      cli.env.AWS_SHARED_CREDENTIALS_FILE!,
      `[base]\n${keys(sts.baseCredentials)}`,
    );
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      `[profile dev]\nrole_arn = ${ROLE_ARN}\nsource_profile = bsae\n`,
    );
    const r = await runCli(["credentials", "--profile", "dev"], env);
    assertEquals(r.code, 2);
    assertOneLine(r.stderr, "did you mean 'base'?");
  });
});

Deno.test("the base identity is in the cache key: switched keys make a new AssumeRole, and an entry is never served to keys that did not create it", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  const run = (args: readonly string[]) =>
    runCli(["credentials", ...args, "--endpoint-url", sts.url, ...CP], cli.env);
  for (
    const [label, args, file, section] of [
      [
        "[default] keys and --role-arn",
        ["--role-arn", ROLE_ARN],
        "",
        "[default]",
      ],
      ["a source_profile", ["--profile", "dev"], "dev", "[base]"],
    ] as const
  ) {
    sts.resetCalls();
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      file === ""
        ? ""
        : `[profile dev]\nrole_arn = ${ROLE_ARN}\nsource_profile = base\nrole_session_name = via-profile\n`,
    );
    const write = (k: typeof STRANGER) =>
      Deno.writeTextFile(
        cli.env.AWS_SHARED_CREDENTIALS_FILE!,
        `${section}\n${keys(k)}`,
      );
    await write(sts.baseCredentials);
    const first = await run(args);
    assertEquals(first.code, 0, `${label}: ${first.stderr}`);
    assertEquals(sts.calls.AssumeRole, 1, label);
    // other keys, which the role does not trust: a real AssumeRole, refused
    await write(STRANGER);
    const switched = await run(args);
    assertEquals(switched.code, 1, `${label}: ${switched.stdout}`);
    assertEquals(switched.stdout, "");
    assertEquals(sts.calls.AssumeRole, 2, label);
    assertEquals(
      sts.requests.at(-1)?.accessKeyId,
      STRANGER.accessKeyId,
      label,
    );
    // the first keys again: their entry, no call
    await write(sts.baseCredentials);
    const back = await run(args);
    assertEquals(back.code, 0, back.stderr);
    assertEquals(
      JSON.parse(back.stdout).AccessKeyId,
      JSON.parse(first.stdout).AccessKeyId,
    );
    assertEquals(sts.calls.AssumeRole, 2, label);
  }
  // the cache files never hold the access key id in clear
  for await (const entry of Deno.readDir(`${cli.dir}/cache/brs`)) {
    if (!entry.isFile) continue;
    const text = await Deno.readTextFile(`${cli.dir}/cache/brs/${entry.name}`);
    assert(!text.includes(sts.baseCredentials.secretAccessKey), entry.name);
  }
});

Deno.test("the self-referencing [default] makes one AssumeRole with its keys, and a source profile with keys and a role uses its keys", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[default]\n${keys(sts.baseCredentials)}\n[both]\n${
      keys(sts.baseCredentials)
    }`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[default]\nrole_arn = ${ROLE_ARN}\nsource_profile = default\nendpoint_url = ${sts.url}\n\n` +
      `[profile both]\nrole_arn = arn:aws:iam::123456789012:role/never\nsource_profile = default\n\n` +
      `[profile top]\nrole_arn = ${OTHER_ROLE}\nsource_profile = both\nendpoint_url = ${sts.url}\n`,
  );
  const self = await runCli(["whoami", "--json"], cli.env);
  assertEquals(self.code, 0, self.stderr);
  assertStringIncludes(
    JSON.parse(self.stdout).Arn,
    "assumed-role/brs-cli-test/",
  );
  assertEquals(sts.calls.AssumeRole, 1);
  assertEquals(
    sts.requests.find((r) => r.action === "AssumeRole")?.accessKeyId,
    sts.baseCredentials.accessKeyId,
  );
  sts.resetCalls();
  const top = await runCli(["whoami", "--profile", "top", "--json"], cli.env);
  assertEquals(top.code, 0, top.stderr);
  assertStringIncludes(
    JSON.parse(top.stdout).Arn,
    "assumed-role/brs-cli-other/",
  );
  assertEquals(sts.calls.AssumeRole, 1);
});

Deno.test("every hop of a chain uses its own profile's endpoint ([services] or endpoint_url), and --debug names the leaf", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[base]\n${keys(sts.baseCredentials)}`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile inner]\nrole_arn = ${OTHER_ROLE}\nsource_profile = base\nservices = private\nregion = eu-west-2\n\n` +
      `[services private]\nsts =\n  endpoint_url = ${sts.url}\n\n` +
      `[profile outer]\nrole_arn = ${ROLE_ARN}\nsource_profile = inner\nendpoint_url = ${sts.url}\n`,
  );
  const r = await runCli(
    ["credentials", "--profile", "outer", "--debug", ...CP],
    cli.env,
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(sts.calls.AssumeRole, 2);
  assertStringIncludes(r.stderr, "base credentials from static keys");
  assertStringIncludes(r.stderr, "profile 'base'");
  assert(!r.stderr.includes(sts.baseCredentials.secretAccessKey));
  // the second AssumeRole is signed by the first's credentials
  const [first, second] = sts.requests.filter((c) => c.action === "AssumeRole");
  assertEquals(first?.accessKeyId, sts.baseCredentials.accessKeyId);
  assert(second?.accessKeyId?.startsWith("ASIA"), second?.accessKeyId);
});

Deno.test("the profile files follow the SDKs' rules: continuation lines, empty values, lower-cased keys, [profile default] over [default], and a role profile in ~/.aws/credentials", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[default]\nregion = eu-north-1\nrole_arn = arn:aws:iam::123456789012:role/never\n\n` +
      `[profile default]\nregion = eu-west-1\n\n` +
      `[profile dev]\nRole_Arn = ${ROLE_ARN}\nSource_Profile = base\ns3 =\n  max_concurrent_requests = 20\n  addressing_style = path\nOutput =\nendpoint_url = ${sts.url}\n`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[base]\n${
      keys(sts.baseCredentials)
    }\n[inline]\nrole_arn = ${OTHER_ROLE}\nsource_profile = base\nendpoint_url = ${sts.url}\n`,
  );
  const list = await runCli(["profiles", "--json"], cli.env);
  assertEquals(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as {
    name: string;
    kind: string;
    settings: Record<string, string>;
  }[];
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  assertEquals(byName.default?.settings, { region: "eu-west-1" });
  assertEquals(byName.dev?.settings.output, "");
  assertEquals(
    byName.dev?.settings.s3,
    "\nmax_concurrent_requests = 20\naddressing_style = path",
  );
  assertEquals(byName.dev?.settings.role_arn, ROLE_ARN);
  assertEquals(byName.inline?.kind, "role");
  const dev = await runCli(["whoami", "--profile", "dev", "--json"], cli.env);
  assertEquals(dev.code, 0, dev.stderr);
  assertStringIncludes(JSON.parse(dev.stdout).Arn, "brs-cli-test");
  const inline = await runCli(
    ["whoami", "--profile", "inline", "--json"],
    cli.env,
  );
  assertEquals(inline.code, 0, inline.stderr);
  assertStringIncludes(JSON.parse(inline.stdout).Arn, "brs-cli-other");
  // a broken line is named by file, profile and line, never shown
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile dev]\nrole_arn = ${ROLE_ARN}\nsource_profile = base\n[profile x]\nsecretline\n`,
  );
  const bad = await runCli(["credentials", "--profile", "dev"], cli.env);
  assertEquals(bad.code, 2);
  assertOneLine(bad.stderr, "line 5", "profile 'x'");
  assert(!bad.stderr.includes("secretline"), bad.stderr);
  // a NUL in a TOML key is escaped in the message; a wrong type never quotes the value
  const toml = `${cli.dir}/brs.toml`;
  await Deno.writeTextFile(toml, `[dev]\n"role\\u0000arn" = "x"\n`);
  const nul = await runCli(["profiles", "--config", toml], cli.env);
  assertEquals(nul.code, 2);
  assertOneLine(nul.stderr, "'role\\u0000arn'", "line 2");
  assert(!nul.stderr.includes("\u0000"));
  await Deno.writeTextFile(toml, `[dev]\nexternal_id = 123456789\n`);
  const typed = await runCli(["profiles", "--config", toml], cli.env);
  assertEquals(typed.code, 2);
  assertOneLine(typed.stderr, "'external_id' must be a string: got a number");
  assert(!typed.stderr.includes("123456789"));
  await Deno.writeTextFile(
    toml,
    `[dev]\nregion = "eu-west-1"\nregion = "eu-west-2"\n`,
  );
  const twice = await runCli(["profiles", "--config", toml], cli.env);
  assertEquals(twice.code, 2);
  assertOneLine(
    twice.stderr,
    "'region' is defined twice",
    "line 3",
    "first on line 2",
  );
});

Deno.test("AWS_REGION and AWS_DEFAULT_REGION win over the profile's region for the exec child, as the AWS CLI does", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  delete cli.env.AWS_REGION;
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[base]\n${keys(sts.baseCredentials)}`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile dev]\nrole_arn = ${ROLE_ARN}\nsource_profile = base\nendpoint_url = ${sts.url}\nregion = eu-west-3\n`,
  );
  const region = async (extra: Record<string, string>): Promise<string> => {
    const r = await runCli(
      ["exec", "--profile", "dev", "--", "sh", "-c", 'echo "$AWS_REGION"'],
      { ...cli.env, ...extra },
    );
    assertEquals(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  assertEquals(await region({}), "eu-west-3");
  assertEquals(
    await region({ AWS_DEFAULT_REGION: "ap-south-1" }),
    "ap-south-1",
  );
  assertEquals(await region({ AWS_REGION: "sa-east-1" }), "sa-east-1");
});

Deno.test("profiles shows kinds, chains and a name defined in two files; every command says 'did you mean'; clear runs no MFA allowlist check", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const toml = `${cli.dir}/brs.toml`;
  await Deno.writeTextFile(
    toml,
    `[shared]\nrole_arn = "${ROLE_ARN}"\n\n[mfa]\nrole_arn = "${ROLE_ARN}"\nserial_number = "arn:aws:iam::123456789012:mfa/me"\nmfa_command = ["/bin/not-allowed-otp"]\n`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[base]\n${keys(sts.baseCredentials)}`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile shared]\nregion = eu-west-1\n\n[profile sso]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Dev\n\n` +
      `[profile proc]\ncredential_process = /bin/false\n\n[profile imds]\nrole_arn = ${ROLE_ARN}\ncredential_source = Ec2InstanceMetadata\n\n[profile broken]\nrole_arn = ${ROLE_ARN}\nsource_profile = nowhere\n`,
  );
  const env = { ...cli.env, BRS_CONFIG_FILE: toml };
  const list = await runCli(["profiles"], env);
  assertEquals(list.code, 0, list.stderr);
  const text = list.stdout;
  for (
    const pattern of [
      /^shared +role +\S+brs-cli-test +keys of the environment -> brs-cli-test +\S+brs\.toml$/m,
      /^shared +config +- +/m,
      /^sso +sso +- +sso 123456789012\/Dev /m,
      /^proc +process +- +credential_process of proc /m,
      /^imds +role +\S+ +credential_source Ec2InstanceMetadata -> brs-cli-test /m,
      /^base +keys +- +keys of base /m,
      /^broken +role +\S+ +error \(see below\)/m,
      /^error: broken: .*'nowhere'/m,
      /^note: profile 'shared' is defined in \S+brs\.toml and in \S+aws_config/m,
    ]
  ) assert(pattern.test(text), `${pattern}\n${text}`);
  assert(!text.includes(sts.baseCredentials.secretAccessKey));
  for (const command of ["whoami", "credentials", "clear"]) {
    const r = await runCli([command, "--profile", "shraed"], env);
    assertEquals(r.code, 2, command);
    assertOneLine(r.stderr, "'shraed'", "did you mean 'shared'?");
  }
  const exec = await runCli(["exec", "--profile", "bsae", "--", "true"], env);
  assertEquals(exec.code, 2);
  assertOneLine(exec.stderr, "did you mean 'base'?");
  // the MFA command is not allowed: credentials refuse it, clear does not care
  const refused = await runCli(["credentials", "--profile", "mfa"], env);
  assertEquals(refused.code, 2, refused.stderr);
  const clear = await runCli(["clear", "--profile", "mfa"], env);
  assertEquals([clear.code, clear.stderr], [0, ""]);
  assertStringIncludes(clear.stdout, "Removed 0 cached credentials");
});

Deno.test("an instance-metadata source that fails is reported as that source failing, not as STS refusing the call", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile imds]\nrole_arn = ${ROLE_ARN}\ncredential_source = Ec2InstanceMetadata\nendpoint_url = ${sts.url}\n`,
  );
  const r = await runCli(["credentials", "--profile", "imds"], {
    ...cli.env,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9",
    AWS_EC2_METADATA_DISABLED: "false",
    AWS_METADATA_SERVICE_NUM_ATTEMPTS: "1",
    AWS_METADATA_SERVICE_TIMEOUT: "1",
  });
  assertEquals(r.code, 1, r.stderr);
  assertOneLine(
    r.stderr,
    "Cannot get base credentials from credential_source Ec2InstanceMetadata",
    "'credential_source' of profile 'imds'",
  );
  assert(!r.stderr.includes("STS refused"), r.stderr);
  assertEquals(sts.calls.total, 0);
});
