/**
 * The CLI's MFA command keeps the TOTP seed off every command line: the seed
 * goes on the command's stdin from `--mfa-stdin-file` / `mfa_stdin_file`, a
 * seed-like argument is warned about, `--debug` says which file runs, and a
 * stdin file open to other users is refused. Real CLI processes against the
 * local STS; /proc is read as any user of the machine could read it.
 */
import {
  assert,
  assertEquals,
  assertFalse,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import { cmdlineOf, HAS_OATHTOOL, NEEDS_OATHTOOL } from "./_helpers/tools.ts";
import {
  CLI_FLAGS,
  CLI_PATH,
  credentialsArgs,
  makeCliEnv,
  ROLE_ARN,
  ROOT,
  runCli,
} from "./fixtures/cli/helpers.ts";

const SERIAL = "arn:aws:iam::123456789012:mfa/brs-seed-test";
const SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ";
const WAIT_SCRIPT =
  new URL("./fixtures/mfa_stdin_wait.sh", import.meta.url).pathname;

function mfaSts(): ReturnType<typeof startLocalSts> {
  return startLocalSts({
    mfaDevices: { [SERIAL]: SEED },
    mfaRequiredRoles: ["*"],
  });
}

Deno.test({
  name:
    "brs feeds the seed of --mfa-stdin-file to 'oathtool --totp -b -', and --debug names the file that runs" +
    (HAS_OATHTOOL ? "" : NEEDS_OATHTOOL),
  ignore: !HAS_OATHTOOL,
  async fn(): Promise<void> {
    await using sts = await mfaSts();
    await using cli = await makeCliEnv(sts.baseCredentials);
    const seedFile = `${cli.dir}/aws.seed`;
    await Deno.writeTextFile(seedFile, `${SEED}\n`, { mode: 0o600 });
    const r = await runCli(
      credentialsArgs(
        sts.url,
        "--serial-number",
        SERIAL,
        "--mfa-command",
        "oathtool --totp -b -",
        "--mfa-stdin-file",
        seedFile,
        "--no-cache",
        "--debug",
      ),
      cli.env,
    );
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /"AccessKeyId":\s*"ASIA/);
    const real = await Deno.realPath(
      (Deno.env.get("PATH") ?? "").split(":").map((d) => `${d}/oathtool`)
        .find((p) => {
          try {
            return Deno.statSync(p).isFile;
          } catch {
            return false;
          }
        })!,
    );
    assertStringIncludes(
      r.stderr,
      `brs: debug: MFA command 'oathtool' runs ${real}`,
    );
    assertStringIncludes(r.stderr, `stdin from ${seedFile}`);
    assertFalse(r.stderr.includes(SEED));
    assertFalse(r.stderr.includes("warning"), r.stderr);
    assertEquals(sts.calls.AssumeRole, 1);
  },
});

Deno.test({
  name:
    "with mfa_stdin_file no seed is on brs's command line or on the MFA command's, read in /proc while it runs" +
    (HAS_OATHTOOL ? "" : NEEDS_OATHTOOL),
  ignore: !HAS_OATHTOOL,
  async fn(): Promise<void> {
    await using sts = await mfaSts();
    await using cli = await makeCliEnv(sts.baseCredentials);
    const seedFile = `${cli.dir}/aws.seed`;
    await Deno.writeTextFile(seedFile, SEED, { mode: 0o600 });
    const pidFile = `${cli.dir}/mfa.pid`;
    await Deno.writeTextFile(
      `${cli.dir}/profiles.toml`,
      `[dev]\nrole_arn = "${ROLE_ARN}"\nendpoint_url = "${sts.url}"\nserial_number = "${SERIAL}"\nmfa_command = ["${WAIT_SCRIPT}", "${pidFile}"]\nallowed_commands = ["${WAIT_SCRIPT}"]\nmfa_stdin_file = "${seedFile}"\n`,
    );
    const brs = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        ...CLI_FLAGS,
        CLI_PATH,
        "credentials",
        "--config",
        `${cli.dir}/profiles.toml`,
        "--profile",
        "dev",
        "--no-cache",
      ],
      env: cli.env,
      clearEnv: true,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let pid = "";
    for (let i = 0; i < 1500 && pid === ""; i++) {
      pid = (await Deno.readTextFile(pidFile).catch(() => "")).trim();
      if (pid === "") await new Promise((r) => setTimeout(r, 20));
    }
    assert(pid !== "", "the MFA command did not start");
    const mfaLine = (await cmdlineOf(pid)).join(" ");
    const brsLine = (await cmdlineOf(brs.pid)).join(" ");
    assertStringIncludes(mfaLine, WAIT_SCRIPT);
    assertStringIncludes(brsLine, CLI_PATH);
    assertFalse(mfaLine.includes(SEED), mfaLine);
    assertFalse(brsLine.includes(SEED), brsLine);
    await Deno.writeTextFile(`${pidFile}.go`, "");
    const out = await brs.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assertFalse(stderr.includes(SEED));
    assertEquals(sts.calls.AssumeRole, 1);
  },
});

Deno.test("brs warns in one line, without the value, when the MFA command carries a seed, and refuses a stdin file others can read", async () => {
  await using sts = await mfaSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const args = credentialsArgs(
    sts.url,
    "--serial-number",
    SERIAL,
    "--no-cache",
  );
  const warned = await runCli([
    ...args,
    "--mfa-command",
    `oathtool --totp -b ${SEED}`,
  ], cli.env);
  const lines = warned.stderr.split("\n").filter((l) =>
    l.startsWith("brs: warning:")
  );
  assertEquals(lines.length, 1, warned.stderr);
  assertStringIncludes(
    lines[0]!,
    "Argument 3 of the MFA command looks like a TOTP seed",
  );
  assertStringIncludes(lines[0]!, "--mfa-stdin-file");
  assertFalse(warned.stderr.includes(SEED));

  const callsBefore = sts.calls.AssumeRole ?? 0;
  const open = `${cli.dir}/open.seed`;
  await Deno.writeTextFile(open, SEED);
  await Deno.chmod(open, 0o644);
  const refused = await runCli([
    ...args,
    "--mfa-command",
    "oathtool --totp -b -",
    "--mfa-stdin-file",
    open,
  ], cli.env);
  assertEquals(refused.code, 2, refused.stderr);
  assertStringIncludes(refused.stderr, "mode 0644");
  assertStringIncludes(refused.stderr, `chmod 600 '${open}'`);
  // named as the user wrote it, not as the library option
  assertStringIncludes(refused.stderr, "mfa_stdin_file (--mfa-stdin-file)");
  assertFalse(refused.stderr.includes("mfaTokenProviderOptions"));
  assertFalse(refused.stderr.includes(SEED));
  assertEquals(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  assertEquals(sts.calls.AssumeRole ?? 0, callsBefore);

  const alone = await runCli([
    ...args.filter((a) => a !== SERIAL && a !== "--serial-number"),
    "--mfa-stdin-file",
    open,
  ], cli.env);
  assertEquals(alone.code, 2, alone.stderr);
  assertStringIncludes(alone.stderr, "no MFA command reads it");
});

Deno.test("brs escapes control characters of a flag value in its one-line error", async () => {
  await using cli = await makeCliEnv();
  const r = await runCli(
    ["whoami", "--profile", "dev\u0007\u001b]0;owned\u0007x"],
    cli.env,
  );
  assertEquals(r.code, 2, r.stderr);
  assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  assertFalse(
    [...r.stderr].some((c) => c.charCodeAt(0) < 32 && c !== "\n"),
    r.stderr,
  );
  assertStringIncludes(r.stderr, "dev\\u0007\\u001b]0;owned");
});
