// MFA commands are allowed by the real binary, not by a name: a link named
// like an OTP tool that points at a shell, a tool planted in a directory
// another user can write, a program in a relative PATH entry. And no seed on
// any command line: the seed goes on stdin from a file checked like a secret.
// Each case runs real processes through the public createMfaTokenSource or
// STSRefreshableSession.

import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import {
  BRSConfigurationError,
  createMfaTokenSource,
  STSRefreshableSession,
} from "../mod.ts";
import { _resetMfaRegistryForTesting } from "../src/mfa/_mfa_registry.ts";
import { totp } from "../src/testing/totp.ts";
import {
  cmdlineOf,
  HAS_OATHTOOL,
  IS_ROOT,
  NEEDS_OATHTOOL,
} from "./_helpers/tools.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const fixture = (name: string): string => new URL(name, FIXTURES).pathname;
const ROOT = new URL("../", import.meta.url).pathname;
const SEED = "JBSWY3DPEHPK3PXP";
const NOBODY = 65534;

let counter = 0;
function serial(): string {
  return `arn:aws:iam::123456789012:mfa/binary-test-${++counter}`;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Runs tests/fixtures/mfa_permission_probe.ts with its own PATH and cwd. */
async function probe(
  argv: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--no-lock",
      `--config=${ROOT}deno.json`,
      "--allow-read",
      "--allow-env",
      "--allow-run",
      fixture("mfa_permission_probe.ts"),
      ...argv,
    ],
    env,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

Deno.test("an MFA command named like an OTP tool that links to a shell is refused by its real file, and nothing runs", async () => {
  _resetMfaRegistryForTesting();
  const dir = await Deno.makeTempDir({ prefix: "brs_mfa_link_" });
  try {
    const link = `${dir}/oathtool`;
    await Deno.symlink("/bin/sh", link);
    const real = await Deno.realPath("/bin/sh");
    const marker = `${dir}/ran`;
    const argv = [link, "-c", `touch ${marker}; echo 123456`];
    for (const options of [{}, { allowedCommands: [link] }]) {
      const source = createMfaTokenSource(argv, options);
      const error = await assertRejects(
        () => source(serial()),
        BRSConfigurationError,
      );
      assertEquals(error.code, "CommandNotAllowed");
      assertStringIncludes(error.message, "shell or interpreter");
      assertStringIncludes(error.message, `a link to '${real}'`);
      assertEquals(error.details.real, real);
      assertFalse(await exists(marker), "the shell ran");
    }
    // A bare name on PATH that links to a shell is refused the same way.
    const viaPath = await probe(["oathtool", "-c", `touch ${marker}`], {
      PATH: dir,
    }, dir);
    assertEquals(viaPath.code, "CommandNotAllowed");
    assertStringIncludes(String(viaPath.message), real);
    assertFalse(await exists(marker), "the shell ran");
    // The explicit choice: the interpreter's real path, listed and given.
    const chosen = createMfaTokenSource([real, "-c", "echo 654321"], {
      allowedCommands: [real],
    });
    assertEquals(await chosen(serial()), "654321");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "a fake OTP tool earlier in PATH, in a directory another user owns or can write, is refused and does not run",
  ignore: !IS_ROOT,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "brs_mfa_path_" });
    try {
      const marker = `${dir}/ran`;
      const bin = `${dir}/bin`;
      await Deno.mkdir(bin, { mode: 0o755 });
      await Deno.writeTextFile(
        `${bin}/op`,
        `#!/bin/sh\ntouch ${marker}\necho 123456\n`,
        { mode: 0o755 },
      );
      const env = { PATH: `${bin}:/usr/bin:/bin` };
      // Another user's directory.
      await Deno.chown(bin, NOBODY, NOBODY);
      const owned = await probe(
        ["op", "item", "get", "aws", "--otp"],
        env,
        dir,
      );
      assertEquals(owned.code, "CommandNotTrusted");
      assertStringIncludes(String(owned.message), `'${bin}'`);
      assertStringIncludes(String(owned.message), `uid ${NOBODY}`);
      // Our directory, but writable by everyone.
      await Deno.chown(bin, 0, 0);
      await Deno.chmod(bin, 0o777);
      const open = await probe(["op"], env, dir);
      assertEquals(open.code, "CommandNotTrusted");
      assertStringIncludes(String(open.message), "writable by other users");
      // The file itself planted by another user in our directory.
      await Deno.chmod(bin, 0o755);
      await Deno.chown(`${bin}/op`, NOBODY, NOBODY);
      const planted = await probe(["op"], env, dir);
      assertEquals(planted.code, "CommandNotTrusted");
      assertFalse(await exists(marker), "the planted tool ran");
      // The user's own tool in the user's own directory runs.
      await Deno.chown(`${bin}/op`, 0, 0);
      assertEquals(await probe(["op"], env, dir), { ok: true });
      assert(await exists(marker));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("an MFA command is never looked up in an empty, '.' or relative PATH entry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "brs_mfa_dot_" });
  try {
    const marker = `${dir}/ran`;
    await Deno.writeTextFile(
      `${dir}/ykman`,
      `#!/bin/sh\ntouch ${marker}\necho 123456\n`,
      { mode: 0o755 },
    );
    await Deno.mkdir(`${dir}/rel`);
    await Deno.copyFile(`${dir}/ykman`, `${dir}/rel/ykman`);
    await Deno.chmod(`${dir}/rel/ykman`, 0o755);
    for (const PATH of ["", ".", ":", "rel", "/nonexistent::rel:."]) {
      const result = await probe(["ykman", "oath", "code"], { PATH }, dir);
      assertEquals(result.code, "CommandNotFound", PATH);
      assertStringIncludes(String(result.message), "relative entries");
    }
    assertFalse(await exists(marker), "a program of the current directory ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "an MFA command reads its seed on stdin from a file: no seed on its command line in /proc, and the code is right" +
    (HAS_OATHTOOL ? "" : NEEDS_OATHTOOL),
  ignore: !HAS_OATHTOOL,
  async fn(): Promise<void> {
    _resetMfaRegistryForTesting();
    const dir = await Deno.makeTempDir({ prefix: "brs_mfa_seed_" });
    try {
      const seedFile = `${dir}/aws.seed`;
      await Deno.writeTextFile(seedFile, `${SEED}\n`, { mode: 0o600 });
      const script = fixture("mfa_stdin_wait.sh");
      const pidFile = `${dir}/pid`;
      const source = createMfaTokenSource([script, pidFile], {
        allowedCommands: [script],
        stdinFile: seedFile,
      });
      const pending = source(serial());
      let pid = "";
      for (let i = 0; i < 250 && pid === ""; i++) {
        pid = (await Deno.readTextFile(pidFile).catch(() => "")).trim();
        if (pid === "") await new Promise((r) => setTimeout(r, 20));
      }
      assert(pid !== "", "the MFA command did not start");
      const cmdline = await cmdlineOf(pid);
      // It runs by the absolute path of its real file, and holds no seed.
      assert(cmdline.includes(await Deno.realPath(script)), cmdline.join(" "));
      assertFalse(cmdline.join(" ").includes(SEED));
      assertFalse((await cmdlineOf(Deno.pid)).join(" ").includes(SEED));
      const before = totp(SEED);
      await Deno.writeTextFile(`${pidFile}.go`, "");
      const code = await pending;
      assert(code === before || code === totp(SEED), "wrong code");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("stdinFile is checked like a secret: a FIFO, a device, an open mode, a big file or another user's file is refused at once without its content", async () => {
  _resetMfaRegistryForTesting();
  const dir = await Deno.makeTempDir({ prefix: "brs_mfa_seedfile_" });
  try {
    const run = async (stdinFile: string): Promise<BRSConfigurationError> => {
      const source = createMfaTokenSource(["oathtool", "--totp", "-b", "-"], {
        stdinFile,
      });
      return await assertRejects(() => source(serial()), BRSConfigurationError);
    };
    const fifo = `${dir}/fifo`;
    const mkfifo = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(mkfifo.success);
    await Deno.chmod(fifo, 0o600);
    const started = performance.now();
    const onFifo = await run(fifo);
    assertEquals(onFifo.code, "SecretFileUnsafe");
    assertStringIncludes(onFifo.message, "not a regular file");
    assert(performance.now() - started < 5_000, "a FIFO made it wait");
    assertEquals((await run("/dev/zero")).code, "SecretFileUnsafe");
    const open = `${dir}/open.seed`;
    await Deno.writeTextFile(open, SEED, { mode: 0o644 });
    await Deno.chmod(open, 0o644);
    const wide = await run(open);
    assertStringIncludes(wide.message, "mode 0644");
    assertStringIncludes(wide.message, "chmod 600");
    const big = `${dir}/big.seed`;
    await Deno.writeTextFile(big, SEED.repeat(1000), { mode: 0o600 });
    assertStringIncludes((await run(big)).message, "more than 4096");
    assertEquals((await run(`${dir}/missing`)).code, "SecretFileNotFound");
    if (IS_ROOT) {
      const theirs = `${dir}/theirs.seed`;
      await Deno.writeTextFile(theirs, SEED, { mode: 0o600 });
      await Deno.chown(theirs, NOBODY, NOBODY);
      assertStringIncludes((await run(theirs)).message, `uid ${NOBODY}`);
    }
    for (const error of [wide]) {
      assertFalse(JSON.stringify(error).includes(SEED));
      assertFalse(Deno.inspect(error).includes(SEED));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("STSRefreshableSession warns once, without the value, when an MFA command's argument looks like a seed", async () => {
  const warnings: { code: string; message: string }[] = [];
  for (
    const provider of [
      ["oathtool", "--totp", "-b", SEED],
      `oathtool --totp -b ${SEED}`,
      ["oathtool", "--totp", "-b", "-"],
      ["ykman", "oath", "accounts", "code", "--single", "aws-production"],
    ]
  ) {
    const session = new STSRefreshableSession({
      assumeRole: {
        RoleArn: "arn:aws:iam::123456789012:role/seed-warning",
        SerialNumber: serial(),
      },
      region: "eu-west-1",
      mfaTokenProvider: provider,
    });
    const seen: { code: string; message: string }[] = [];
    session.addEventListener("warning", (event) => {
      const { code, message } = (event as CustomEvent).detail;
      seen.push({ code, message });
    });
    await Promise.resolve();
    await session.close();
    warnings.push(...seen.filter((w) => w.code === "MfaSeedInArguments"));
  }
  assertEquals(warnings.length, 2);
  for (const w of warnings) {
    assertStringIncludes(w.message, "Argument 3");
    assertStringIncludes(w.message, "stdinFile");
    assertFalse(w.message.includes(SEED));
    assertEquals(w.message.split("\n").length, 1);
  }
});

Deno.test("control characters of a command, an option key or a serial are escaped in messages", async () => {
  _resetMfaRegistryForTesting();
  const notAllowed = (() => {
    try {
      createMfaTokenSource(["oath\u0000tool\u001b[2J"]);
    } catch (error) {
      return error as BRSConfigurationError;
    }
    throw new Error("not refused");
  })();
  assertStringIncludes(notAllowed.message, "oath\\u0000tool\\u001b[2J");
  assertFalse(
    [...notAllowed.message].some((c) => c.charCodeAt(0) < 32),
  );
  try {
    createMfaTokenSource(["oathtool"], { ["time\u0007out"]: 1 });
    throw new Error("not refused");
  } catch (error) {
    assertStringIncludes((error as Error).message, "time\\u0007out");
  }
  const source = createMfaTokenSource(() => "12345");
  const error = await assertRejects(
    () => source("arn:aws:iam::123456789012:mfa/a\u202eb\nc"),
    BRSConfigurationError,
  );
  assertStringIncludes(error.message, "mfa/a\\u202eb\\u000ac");
});

Deno.test("_looksLikeSeed() finds base32 and hex seeds, not the words, ARNs and paths of OTP commands", async () => {
  const { _looksLikeSeed } = await import("../src/mfa/_seed_argument.ts");
  for (
    const seed of [
      SEED,
      "jbsw y3dp ehpk 3pxp",
      "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
      "3132333435363738393031323334353637383930",
    ]
  ) assertEquals(_looksLikeSeed(seed), true, seed);
  for (
    const arg of [
      "--totp",
      "-b",
      "-",
      "@/home/me/.config/brs/aws.seed",
      "accounts",
      "authentication",
      "keepassxc-database",
      "arn:aws:iam::123456789012:mfa/me",
      "personal/aws-root",
      "123456",
    ]
  ) assertEquals(_looksLikeSeed(arg), false, arg);
});
