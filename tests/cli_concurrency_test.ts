/**
 * The cross-process cache of the CLI: 16 processes started together make one
 * STS call and run the MFA command once; a corrupt cache file and a stale
 * lock are survived.
 */
import { assert, assertEquals } from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import {
  credentialsArgs,
  makeCliEnv,
  ROLE_ARN,
  runCli,
} from "./fixtures/cli/helpers.ts";
import { HAS_OATHTOOL, NEEDS_OATHTOOL } from "./_helpers/tools.ts";

const MFA_SERIAL = "arn:aws:iam::123456789012:mfa/brs-cli-test";
const MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const MFA_SCRIPT =
  new URL("./fixtures/cli/mfa_counter.sh", import.meta.url).pathname;

Deno.test({
  name:
    "16 cold `credentials --format credential-process` processes make 1 AssumeRole call and run the MFA command once" +
    (HAS_OATHTOOL ? "" : NEEDS_OATHTOOL),
  ignore: !HAS_OATHTOOL,
  fn: async () => {
    await using sts = await startLocalSts({
      mfaDevices: { [MFA_SERIAL]: MFA_SECRET },
      mfaRequiredRoles: ["*"],
      latencyMs: 200,
    });
    await using cli = await makeCliEnv(sts.baseCredentials);
    const counter = `${cli.dir}/mfa_runs`;
    const seedFile = `${cli.dir}/mfa.seed`;
    await Deno.writeTextFile(seedFile, MFA_SECRET, { mode: 0o600 });
    await Deno.writeTextFile(
      `${cli.dir}/config.toml`,
      [
        "[mfa]",
        `role_arn = "${ROLE_ARN}"`,
        `endpoint_url = "${sts.url}"`,
        `serial_number = "${MFA_SERIAL}"`,
        `mfa_command = ["${MFA_SCRIPT}", "${counter}"]`,
        `mfa_stdin_file = "${seedFile}"`,
        `allowed_commands = ["${MFA_SCRIPT}"]`,
        "",
      ].join("\n"),
    );
    const env = { ...cli.env, BRS_CONFIG_FILE: `${cli.dir}/config.toml` };
    const results = await Promise.all(
      Array.from(
        { length: 16 },
        () =>
          runCli([
            "credentials",
            "--profile",
            "mfa",
            "--format",
            "credential-process",
          ], env),
      ),
    );
    for (const r of results) assertEquals([r.code, r.stderr], [0, ""]);
    const keys = new Set(results.map((r) => JSON.parse(r.stdout).AccessKeyId));
    assertEquals(keys.size, 1);
    assertEquals(sts.calls.AssumeRole, 1);
    const runs = (await Deno.readTextFile(counter)).trim().split("\n").length;
    assertEquals(runs, 1);
  },
});

Deno.test("brs replaces a corrupt cache file and breaks a stale lock", async (t) => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const args = credentialsArgs(sts.url, "--format", "credential-process");
  const first = await runCli(args, cli.env);
  assertEquals(first.code, 0, first.stderr);
  const dir = `${cli.env.XDG_CACHE_HOME}/brs`;
  // the entry (its .label next to it names the role and profile)
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
    n.endsWith(".json")
  );
  assertEquals(files.length, 1);
  const cacheFile = `${dir}/${files[0]}`;
  const lockFile = cacheFile.replace(/\.json$/, ".lock");

  await t.step("a corrupt cache file is ignored and replaced", async () => {
    await Deno.writeTextFile(
      cacheFile,
      '{"version": 1, "kind": "brs-credentials", trunc',
    );
    const r = await runCli(args, cli.env);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(sts.calls.AssumeRole, 2);
    assertEquals(
      JSON.parse(await Deno.readTextFile(cacheFile)).kind,
      "brs-credentials",
    );
    assertEquals((await Deno.stat(cacheFile)).mode! & 0o777, 0o600);
  });

  await t.step("a lock left by a killed process is broken", async () => {
    const child = new Deno.Command("sleep", { args: ["60"] }).spawn();
    child.kill("SIGKILL");
    await child.status;
    await Deno.remove(cacheFile);
    await Deno.writeTextFile(
      lockFile,
      JSON.stringify({ pid: child.pid, time: Date.now(), nonce: "killed" }),
      { mode: 0o600 },
    );
    const r = await runCli(args, cli.env);
    assertEquals([r.code, r.stderr], [0, ""]);
    assertEquals(sts.calls.AssumeRole, 3);
    assert(![...Deno.readDirSync(dir)].some((e) => e.name.endsWith(".lock")));
  });

  await t.step(
    "a lock of a live process older than the bound is broken",
    async () => {
      await Deno.remove(cacheFile);
      // our own pid is alive; the time is 10 minutes old
      await Deno.writeTextFile(
        lockFile,
        JSON.stringify({
          pid: Deno.pid,
          time: Date.now() - 600_000,
          nonce: "old",
        }),
        { mode: 0o600 },
      );
      const r = await runCli(args, cli.env);
      assertEquals([r.code, r.stderr], [0, ""]);
      assertEquals(sts.calls.AssumeRole, 4);
    },
  );
});
