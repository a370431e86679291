/**
 * What a new user met in a field test, through the real CLI: every error is
 * one line that says what was wrong, where, and what to do (HOME unset, a
 * cycle of source profiles, base keys STS does not know, broken TOML, a
 * misspelt key), `profiles --json` says where a chain starts, and the help
 * says what each flag does.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { startLocalSso, startLocalSts, totp } from "../src/testing/mod.ts";
import {
  cliCommand,
  credentialsArgs,
  keyLines,
  makeCliEnv,
  ROLE_ARN,
  runCli,
  waitForRoomInTotpStep,
} from "./fixtures/cli/helpers.ts";

function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, stderr);
  assert(!/^\s+at /m.test(stderr), stderr);
  return lines[0]!;
}

Deno.test("with HOME unset and no AWS_CONFIG_FILE, a missing profile says that HOME is not set and what to set", async () => {
  await using cli = await makeCliEnv();
  const env = { ...cli.env };
  delete env.HOME;
  delete env.AWS_CONFIG_FILE;
  delete env.AWS_SHARED_CREDENTIALS_FILE;
  const r = await runCli(["whoami", "--profile", "dev"], env);
  assertEquals(r.code, 2, r.stderr);
  const line = oneLine(r.stderr);
  assertStringIncludes(line, "Cannot find profile 'dev'");
  assertStringIncludes(line, "HOME is not set");
  assertStringIncludes(line, "AWS_CONFIG_FILE");
  assertStringIncludes(line, "AWS_SHARED_CREDENTIALS_FILE");
  // with HOME set, the usual advice
  const withHome = await runCli(["whoami", "--profile", "dev"], cli.env);
  assertEquals(withHome.code, 2);
  assert(!withHome.stderr.includes("HOME is not set"), withHome.stderr);
  assertStringIncludes(withHome.stderr, "brs profiles");
});

Deno.test("a cycle of source profiles names the file and line of the source_profile that closes it", async () => {
  await using cli = await makeCliEnv();
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile cyc-a]\nrole_arn = ${ROLE_ARN}\nsource_profile = cyc-b\n\n[profile cyc-b]\nrole_arn = ${ROLE_ARN}\nsource_profile = cyc-a\n`,
  );
  const r = await runCli(["whoami", "--profile", "cyc-a"], cli.env);
  assertEquals(r.code, 2, r.stderr);
  const line = oneLine(r.stderr);
  assertStringIncludes(line, "'cyc-a' -> 'cyc-b' -> 'cyc-a'");
  assertStringIncludes(
    line,
    `closed by 'source_profile' of profile 'cyc-b' in '${cli.env.AWS_CONFIG_FILE}' line 7`,
  );
  assertStringIncludes(line, "point one source_profile at");
});

Deno.test("base keys STS does not know: the line names where they are set; a failing GetCallerIdentity is not 'Cannot get credentials'", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv();
  const wrong = {
    accessKeyId: "AKIAFIELDTESTWRONG01",
    secretAccessKey: "wrongSecretKeyOfTheFieldTest0123456789ab",
  };
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile dev]\nrole_arn = ${ROLE_ARN}\nsource_profile = base\nendpoint_url = ${sts.url}\n`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[base]\n${keyLines(wrong)}`,
  );
  const role = await runCli(["credentials", "--profile", "dev"], cli.env);
  assertEquals(role.code, 1, role.stderr);
  const line = oneLine(role.stderr);
  assertMatch(
    line,
    /^brs: error: Cannot get credentials as STS refused the base credentials with (InvalidClientTokenId|SignatureDoesNotMatch)/,
  );
  assertStringIncludes(
    line,
    `renew the keys of profile 'base' of '${cli.env.AWS_SHARED_CREDENTIALS_FILE}'`,
  );
  assert(!line.includes(wrong.secretAccessKey), line);

  // whoami: the role is assumed, then GetCallerIdentity fails
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[base]\n${keyLines(sts.baseCredentials)}`,
  );
  sts.injectFault({ kind: "access-denied", actions: ["GetCallerIdentity"] });
  const who = await runCli(["whoami", "--profile", "dev"], cli.env);
  assertEquals(who.code, 1, who.stderr);
  const whoLine = oneLine(who.stderr);
  assert(!whoLine.includes("Cannot get credentials"), whoLine);
  assertMatch(whoLine, /^brs: error: Cannot get the identity /);
});

Deno.test("profiles --json: the chain starts with its leaf, source_profile is the profile's own key", async () => {
  await using cli = await makeCliEnv();
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile chain2]\nrole_arn = arn:aws:iam::123456789012:role/two\nsource_profile = dev\n\n[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/one\nsource_profile = base\n`,
  );
  await Deno.writeTextFile(
    cli.env.AWS_SHARED_CREDENTIALS_FILE!,
    `[base]\n${
      keyLines({
        accessKeyId: "AKIAFIELDTESTBASE001",
        secretAccessKey: "baseSecretKeyOfTheFieldTest0123456789abc",
      })
    }`,
  );
  const r = await runCli(["profiles", "--json"], cli.env);
  assertEquals(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
  const chain2 = rows.find((row) => row.name === "chain2")!;
  assertEquals(chain2.source_profile, "dev");
  assertEquals(chain2.chain, ["keys of base", "one", "two"]);
  assertEquals(chain2.leaf, {
    kind: "keys",
    profile: "base",
    origin:
      `the keys of profile 'base' of '${cli.env.AWS_SHARED_CREDENTIALS_FILE}'`,
  });
  assert(!("base" in chain2), r.stdout);
  assertEquals(
    rows.find((row) => row.name === "base")!.source_profile,
    undefined,
  );
  // the text listing keeps its CHAIN column
  const text = await runCli(["profiles"], cli.env);
  assertMatch(text.stdout, /^chain2 +role +\S+ +keys of base -> one -> two /m);
});

Deno.test("help: --region names the profile's region, --debug the plan and cache, clear lists only its flags", async () => {
  await using cli = await makeCliEnv();
  const whoami = await runCli(["whoami", "--help"], cli.env);
  assertEquals(whoami.code, 0);
  assertMatch(
    whoami.stdout,
    /--region REGION +region of STS and of children \(default: \$AWS_REGION,\s+\$AWS_DEFAULT_REGION, the profile's region, us-east-1\)/,
  );
  assertMatch(whoami.stdout, /--debug +print the profile's plan and the cache/);
  assertStringIncludes(whoami.stdout, "BRS_REFRESH_TIMEOUT=SECONDS");
  const clear = await runCli(["clear", "--help"], cli.env);
  assertEquals(clear.code, 0);
  for (const flag of ["--all", "--profile", "--role-arn", "--config"]) {
    assertStringIncludes(clear.stdout, flag);
  }
  for (
    const flag of [
      "--duration-seconds",
      "--mfa-command",
      "--no-cache",
      "--serial-number",
      "--mfa-stdin-file",
      "--external-id",
    ]
  ) assert(!clear.stdout.includes(flag), `${flag} in clear --help`);
});

Deno.test("broken TOML says what to do and never repeats a value; a misspelt key gets a did-you-mean", async () => {
  await using cli = await makeCliEnv();
  const toml = `${cli.dir}/config.toml`;
  await Deno.writeTextFile(toml, `[dev]\nrole_arn = "${ROLE_ARN}"\n[broken\n`);
  const r = await runCli(["whoami", "--config", toml], cli.env);
  assertEquals(r.code, 2, r.stderr);
  const line = oneLine(r.stderr);
  assertMatch(line, /Cannot parse config file '[^']+' on line 3: /);
  assertStringIncludes(line, "fix the TOML syntax there");
  // the parser's text would quote the whole line of a broken value
  const secret = "hunter2SecretValueOfTheFieldTest";
  await Deno.writeTextFile(
    toml,
    `[dev]\nrole_arn = "${ROLE_ARN}"\nexternal_id = ${secret}\n`,
  );
  const value = await runCli(["whoami", "--config", toml], cli.env);
  assertEquals(value.code, 2, value.stderr);
  assert(!value.stderr.includes(secret), value.stderr);
  assertStringIncludes(oneLine(value.stderr), "fix the TOML syntax there");
  // TOML: an unknown key is an error with a did-you-mean
  await Deno.writeTextFile(
    toml,
    `[dev]\nrole_arn = "${ROLE_ARN}"\nserial_numbr = "arn:aws:iam::123456789012:mfa/x"\n`,
  );
  const typo = await runCli(["whoami", "--config", toml], cli.env);
  assertEquals(typo.code, 2, typo.stderr);
  assertStringIncludes(
    oneLine(typo.stderr),
    "unknown key 'serial_numbr' (did you mean 'serial_number'?)",
  );
  // ~/.aws/config: an unknown key is a warning with a did-you-mean
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile dev]\nrole_arn = ${ROLE_ARN}\ncredential_source = Environment\nmfa_serail = arn:aws:iam::123456789012:mfa/x\n`,
  );
  const warn = await runCli(
    ["whoami", "--profile", "dev", "--endpoint-url", "http://127.0.0.1:9"],
    cli.env,
  );
  assertMatch(
    warn.stderr,
    /^brs: warning: Ignoring unknown key 'mfa_serail' .* \(did you mean 'mfa_serial'\?\)$/m,
  );
});

Deno.test("profiles: a name in both the TOML file and ~/.aws/config says which one is refused and how to fix it", async () => {
  await using cli = await makeCliEnv();
  const toml = `${cli.dir}/config.toml`;
  await Deno.writeTextFile(toml, `[dev]\nrole_arn = "${ROLE_ARN}"\n`);
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/other\ncredential_source = Environment\n`,
  );
  const r = await runCli(["profiles", "--config", toml], cli.env);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(
    r.stdout,
    /^note: profile 'dev' is defined in .*: every command refuses --profile dev as both have a role_arn; rename one of them$/m,
  );
  const refused = await runCli(
    ["whoami", "--profile", "dev", "--config", toml],
    cli.env,
  );
  assertEquals(refused.code, 2);
  assertStringIncludes(oneLine(refused.stderr), "rename one of them");
});

Deno.test("an SSO portal endpoint that answers with HTML: one line naming the SSO endpoint and what to check", async () => {
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({
    sts,
    accounts: { "123456789012": ["Developer"] },
  });
  await using html = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response("<html><body>Sign in</body></html>", {
        headers: { "content-type": "text/html" },
      }),
  );
  const htmlUrl = `http://127.0.0.1:${html.addr.port}`;
  await using cli = await makeCliEnv();
  const env = {
    ...cli.env,
    HOME: cli.dir,
    AWS_ENDPOINT_URL_SSO: htmlUrl,
    AWS_ENDPOINT_URL_STS: sts.url,
  };
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile sso-dev]\nsso_session = my-sso\nsso_account_id = 123456789012\nsso_role_name = Developer\n\n[sso-session my-sso]\nsso_start_url = ${sso.startUrl}\nsso_region = us-east-1\n`,
  );
  await sso.login({ home: cli.dir, sessionName: "my-sso" });
  const r = await runCli(["credentials", "--profile", "sso-dev"], env);
  assertEquals(r.code, 1, r.stderr);
  const line = oneLine(r.stderr);
  assert(!line.includes("SyntaxError"), line);
  assert(!line.includes("Unexpected token"), line);
  assertStringIncludes(line, htmlUrl);
  assertStringIncludes(line, "AWS_ENDPOINT_URL_SSO");
  assertStringIncludes(line, "sso_region");
  assertStringIncludes(line, "not the portal's JSON");
  // --debug keeps the parser's words for whoever wants them
  const debug = await runCli(
    ["credentials", "--profile", "sso-dev", "--debug"],
    env,
  );
  assertEquals(debug.code, 1);
  assertStringIncludes(debug.stderr, "SyntaxError");
});

Deno.test("a credential_process that runs brs for itself: the inner brs's reason is in the line, its stderr under --debug", async () => {
  await using cli = await makeCliEnv();
  const inner = cliCommand([
    "credentials",
    "--profile",
    "app",
    "--format",
    "credential-process",
  ]).join(" ");
  await Deno.writeTextFile(
    cli.env.AWS_CONFIG_FILE!,
    `[profile loop]\ncredential_process = ${inner}\n\n[profile app]\nrole_arn = ${ROLE_ARN}\nsource_profile = loop\nendpoint_url = http://127.0.0.1:9\n`,
  );
  const r = await runCli(["credentials", "--profile", "app"], cli.env);
  assertEquals(r.code, 2, r.stderr);
  const line = oneLine(r.stderr);
  assertStringIncludes(line, "'credential_process' of profile 'loop'");
  assertStringIncludes(
    line,
    "as the brs it runs failed: Cannot get credentials inside the base-credential lookup of another brs",
  );
  assertStringIncludes(
    line,
    "a credential_process loop: give brs base credentials",
  );
  const debug = await runCli(
    ["credentials", "--profile", "app", "--debug"],
    cli.env,
  );
  assertEquals(debug.code, 2);
  // the child's stderr, under the SDK's "Command failed"
  assertMatch(
    debug.stderr,
    /^brs: debug: +caused by \S+: Command failed: .* brs: error: Cannot get credentials inside/m,
  );
});

Deno.test("an STS that accepts and never answers: one line after BRS_REFRESH_TIMEOUT naming the endpoint and what to check", async () => {
  await using cli = await makeCliEnv({
    accessKeyId: "AKIAFIELDTESTHANG001",
    secretAccessKey: "hangSecretKeyOfTheFieldTest0123456789abc",
  });
  // accepts every connection, reads nothing, answers nothing
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch { /* closed */ }
  })();
  const url = `http://127.0.0.1:${listener.addr.port}`;
  try {
    const started = Date.now();
    const r = await runCli(
      credentialsArgs(url),
      { ...cli.env, BRS_REFRESH_TIMEOUT: "2" },
    );
    const elapsed = Date.now() - started;
    assertEquals(r.code, 1, r.stderr);
    const line = oneLine(r.stderr);
    assertStringIncludes(
      line,
      `Cannot get credentials as STS at '${url}' did not answer within 2 s`,
    );
    for (const what of ["--endpoint-url", "network", "proxy"]) {
      assertStringIncludes(line, what);
    }
    assertStringIncludes(line, "BRS_REFRESH_TIMEOUT");
    assertEquals(line.match(/Cannot/g)?.length, 1, line);
    assert(elapsed < 30_000, `took ${elapsed} ms`);
  } finally {
    listener.close();
    await accepting;
    for (const conn of held) conn.close();
  }
  // a bad value is a usage error before any call
  for (const bad of ["0", "abc", "1.5", "3601"]) {
    const r = await runCli(
      credentialsArgs(url),
      { ...cli.env, BRS_REFRESH_TIMEOUT: bad },
    );
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(
      oneLine(r.stderr),
      `Cannot use BRS_REFRESH_TIMEOUT as it must be a whole number of seconds from 1 to 3600: got '${bad}'`,
    );
  }
});

Deno.test("an MFA stdin file opened to others while the code repeats: the file is reported at once, without a wait", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/brs-field-test";
  const seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
  await using sts = await startLocalSts({
    mfaDevices: { [serial]: seed },
    mfaRequiredRoles: ["*"],
  });
  await using cli = await makeCliEnv(sts.baseCredentials);
  if (totp(seed) === "000000") return; // one step in a million
  const seedFile = `${cli.dir}/aws.seed`;
  await Deno.writeTextFile(seedFile, `${seed}\n`, { mode: 0o600 });
  // prints a code STS rejects; on its second run, opens the seed file to others
  const script = `${cli.dir}/otp`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\ncat >/dev/null\nif [ -e "${cli.dir}/ran" ]; then chmod 644 "${seedFile}"; fi\ntouch "${cli.dir}/ran"\necho 000000\n`,
    { mode: 0o755 },
  );
  // the two runs must fall in one 30 s step
  await waitForRoomInTotpStep();
  const r = await runCli(
    credentialsArgs(
      sts.url,
      "--serial-number",
      serial,
      "--mfa-command",
      script,
      "--mfa-stdin-file",
      seedFile,
    ),
    { ...cli.env, BRS_ALLOWED_COMMANDS: script },
  );
  assertEquals(r.code, 2, r.stderr);
  assert(!r.stderr.includes("waiting"), r.stderr);
  const line = oneLine(r.stderr);
  assertStringIncludes(line, seedFile);
  assert(!line.includes(seed), line);
});
