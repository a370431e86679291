// The MFA command runner (src/mfa/_mfa_runner.ts) and the command-string splitter,
// exercised with real processes through the public createMfaTokenSource.

import {
  assert,
  assertEquals,
  assertFalse,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  BRSConfigurationError,
  BRSValidationError,
  createMfaTokenSource,
} from "../mod.ts";
import { _splitCommand } from "../src/mfa/_split_command.ts";
import { HAS_OATHTOOL, NEEDS_OATHTOOL, onPath } from "./_helpers/tools.ts";
import { _resetMfaRegistryForTesting } from "../src/mfa/_mfa_registry.ts";

const ROOT = new URL("../", import.meta.url);
const FIXTURES = new URL("./fixtures/", import.meta.url);
const fixture = (name: string): string => new URL(name, FIXTURES).pathname;
const SECRET = "JBSWY3DPEHPK3PXP";

const hasOathtool = HAS_OATHTOOL;
const hasPs = await onPath("ps");

let serialCounter = 0;
/** A serial of its own per call, so the process-wide registry never links two tests. */
function serial(): string {
  return `arn:aws:iam::123456789012:mfa/command-test-${++serialCounter}`;
}

/** The first `oathtool` on PATH, as brs finds it. */
async function whichOathtool(): Promise<string> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir.startsWith("/")) continue;
    const path = `${dir}/oathtool`;
    if (await Deno.stat(path).then((i) => i.isFile, () => false)) return path;
  }
  throw new Error("oathtool not on PATH");
}

async function rejectsConfig(
  promise: Promise<unknown>,
  code: string,
): Promise<BRSConfigurationError> {
  const error = await assertRejects(() => promise, BRSConfigurationError);
  assertEquals(error.code, code, error.message);
  return error;
}

/** Lines of `ps` whose command line contains `needle` (this test's process excluded). */
async function processesMatching(needle: string): Promise<string[]> {
  const { stdout } = await new Deno.Command("ps", {
    args: ["-eo", "pid,args"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout).split("\n").filter((l) =>
    l.includes(needle) && !l.includes("ps -eo")
  );
}

// ---------------------------------------------------------------- real runs

Deno.test({
  name:
    "createMfaTokenSource() runs oathtool --totp and returns the RFC 6238 code" +
    (hasOathtool ? "" : NEEDS_OATHTOOL),
  ignore: !hasOathtool,
  async fn(): Promise<void> {
    _resetMfaRegistryForTesting();
    const { totp } = await import("../src/testing/totp.ts");
    const source = createMfaTokenSource(["oathtool", "--totp", "-b", SECRET]);
    const before = totp(SECRET);
    const code = await source(serial());
    const after = totp(SECRET);
    assert(code === before || code === after, "code differs from totp()");
  },
});

Deno.test({
  name: "createMfaTokenSource() runs a command string split without a shell" +
    (hasOathtool ? "" : NEEDS_OATHTOOL),
  ignore: !hasOathtool,
  async fn(): Promise<void> {
    _resetMfaRegistryForTesting();
    const source = createMfaTokenSource(`oathtool --totp -b '${SECRET}'`);
    assertEquals((await source(serial())).length, 6);
    const byPath = createMfaTokenSource([
      "/usr/bin/oathtool",
      "--totp",
      "-b",
      SECRET,
    ]);
    if (await Deno.stat("/usr/bin/oathtool").then(() => true, () => false)) {
      assertEquals((await byPath(serial())).length, 6);
    }
  },
});

Deno.test("createMfaTokenSource() takes the last standalone 6-digit group of stdout", async () => {
  _resetMfaRegistryForTesting();
  const source = createMfaTokenSource(
    [
      "echo",
      "1234567 333333 abc654321 111111x x111111 2024-11-27 444444\nnext: 222222 9999999",
    ],
    { allowedCommands: ["echo"] },
  );
  assertEquals(await source(serial()), "222222");
});

Deno.test("createMfaTokenSource() fails with exit code and stderr head when the command exits non-zero", async () => {
  _resetMfaRegistryForTesting();
  const source = createMfaTokenSource(["false"], {
    allowedCommands: ["false"],
  });
  const error = await rejectsConfig(source(serial()), "CommandFailed");
  assertStringIncludes(error.message, "exited with code 1");
  assertEquals(error.details.exitCode, 1);
  assertEquals(error.details.command, "false");

  const script = fixture("mfa_fail.sh");
  const failing = createMfaTokenSource([script], { allowedCommands: [script] });
  const error2 = await rejectsConfig(failing(serial()), "CommandFailed");
  assertEquals(error2.details.exitCode, 3);
  const head = String(error2.details.stderrHead);
  assertEquals(head.split("\n").length, 3);
  assertStringIncludes(head, "device not found");
  assertFalse(head.includes("654321"), "a code-like number leaked from stderr");
  assertFalse(
    error2.message.includes("123456"),
    "stdout leaked into the message",
  );
  assertFalse(JSON.stringify(error2).includes("123456"));
});

Deno.test({
  name:
    "createMfaTokenSource() kills a command at timeoutMs and leaves no process behind",
  async fn(): Promise<void> {
    _resetMfaRegistryForTesting();
    const source = createMfaTokenSource(["sleep", "7.391"], {
      allowedCommands: ["sleep"],
      timeoutMs: 200,
    });
    const error = await rejectsConfig(source(serial()), "CommandTimeout");
    assertEquals(error.details.timeoutMs, 200);
    assertEquals(error.details.signal, "SIGTERM");
    assertStringIncludes(error.message, "200 ms");
    if (hasPs) assertEquals(await processesMatching("sleep 7.391"), []);
  },
});

Deno.test("createMfaTokenSource() SIGKILLs a command that ignores SIGTERM", async () => {
  _resetMfaRegistryForTesting();
  const script = fixture("mfa_ignore_term.sh");
  const source = createMfaTokenSource([script], {
    allowedCommands: [script],
    timeoutMs: 200,
  });
  const error = await rejectsConfig(source(serial()), "CommandTimeout");
  assertEquals(error.details.signal, "SIGKILL");
  if (hasPs) assertEquals(await processesMatching("mfa_ignore_term.sh"), []);
});

Deno.test("createMfaTokenSource() stops a command when the signal aborts", async () => {
  _resetMfaRegistryForTesting();
  const source = createMfaTokenSource(["sleep", "7.392"], {
    allowedCommands: ["sleep"],
  });
  const controller = new AbortController();
  const promise = source(serial(), controller.signal);
  const reason = new Error("stop");
  setTimeout(() => controller.abort(reason), 50);
  const error = await assertRejects(() => promise);
  assertEquals(error, reason);
  // The caller is released at once; the command gets SIGTERM in the same
  // tick and is gone within moments, long before its 7 s.
  if (hasPs) {
    let left = await processesMatching("sleep 7.392");
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      left = await processesMatching("sleep 7.392");
    }
    assertEquals(left, []);
  }
});

Deno.test("createMfaTokenSource() reports a missing binary", async () => {
  _resetMfaRegistryForTesting();
  const source = createMfaTokenSource(["brs-no-such-otp-tool"], {
    allowedCommands: ["brs-no-such-otp-tool"],
  });
  const error = await rejectsConfig(source(serial()), "CommandNotFound");
  assertStringIncludes(
    error.message,
    "'brs-no-such-otp-tool' as it was not found",
  );
});

Deno.test("createMfaTokenSource() kills a command whose output is too large", async () => {
  _resetMfaRegistryForTesting();
  const script = fixture("mfa_big_output.sh");
  const source = createMfaTokenSource([script], { allowedCommands: [script] });
  const error = await rejectsConfig(source(serial()), "CommandOutputTooLarge");
  assertStringIncludes(error.message, "output too large");
  assertFalse(JSON.stringify(error).includes("0123456789abcdef"));
});

Deno.test("createMfaTokenSource() reports a command that prints no code, without its stdout", async () => {
  _resetMfaRegistryForTesting();
  const source = createMfaTokenSource(["echo", "code 12345 or 1234567"], {
    allowedCommands: ["echo"],
  });
  const error = await rejectsConfig(source(serial()), "NoTokenInOutput");
  assertFalse(error.message.includes("12345"));
  assertEquals(error.details.exitCode, 0);
});

Deno.test("createMfaTokenSource() passes env, clearEnv and cwd to the command", async () => {
  _resetMfaRegistryForTesting();
  const script = fixture("mfa_env.sh");
  const withEnv = createMfaTokenSource([script], {
    allowedCommands: [script],
    env: { MFA_TEST_CODE: "135790" },
  });
  assertEquals(await withEnv(serial()), "135790");
  const cleared = createMfaTokenSource([script], {
    allowedCommands: [script],
    env: { MFA_TEST_CODE: "246801", BRS_EXPECT_CLEAR_ENV: "1" },
    clearEnv: true,
  });
  assertEquals(await cleared(serial()), "246801");
  const dir = fixture("");
  const inCwd = createMfaTokenSource([script], {
    allowedCommands: [script],
    cwd: dir,
    env: { MFA_TEST_CODE: "975310", BRS_EXPECT_CWD: dir.replace(/\/$/, "") },
  });
  assertEquals(await inCwd(serial()), "975310");
});

// ------------------------------------------------------------- allowlist

Deno.test("createMfaTokenSource() refuses shells and interpreters unless listed", () => {
  for (
    const argv of [
      ["sh", "-c", "echo 123456"],
      ["bash", "-c", "echo 123456"],
      ["zsh"],
      ["env", "oathtool"],
      ["python3", "-c", "print(123456)"],
      ["python"],
      ["node"],
      ["deno", "eval", "1"],
      ["perl"],
      ["ruby"],
      ["sudo", "oathtool"],
      ["/bin/sh", "-c", "x"],
      ["/usr/bin/env", "x"],
    ]
  ) {
    const error = assertThrows(
      () => createMfaTokenSource(argv),
      BRSConfigurationError,
    );
    assertStringIncludes(error.message, `'${argv[0]}'`);
    assertStringIncludes(
      error.message,
      "mfaTokenProviderOptions.allowedCommands",
    );
    assertStringIncludes(error.message, "allowed_commands");
    assertEquals(error.details.command, argv[0]);
  }
  // Listed by name, a shell is still refused: only its real path allows it
  // (tests/mfa_binary_test.ts runs one that way).
  for (const name of ["sh", "bash", "python3", "env"]) {
    assertThrows(
      () =>
        createMfaTokenSource([name, "-c", "echo 123456"], {
          allowedCommands: [name],
        }),
      BRSConfigurationError,
      "shell or interpreter",
    );
  }
});

Deno.test("createMfaTokenSource() allows built-in tools by name or absolute path, relative paths only when listed", () => {
  for (
    const name of [
      "ykman",
      "oathtool",
      "op",
      "bw",
      "gopass",
      "pass",
      "keepassxc-cli",
    ]
  ) {
    createMfaTokenSource([name]);
    createMfaTokenSource([`/opt/tools/${name}`]);
  }
  assertThrows(
    () => createMfaTokenSource(["./oathtool"]),
    BRSConfigurationError,
    "relative paths",
  );
  assertThrows(
    () => createMfaTokenSource(["bin/ykman"]),
    BRSConfigurationError,
  );
  createMfaTokenSource(["./my-otp"], { allowedCommands: ["./my-otp"] });
  createMfaTokenSource(["/opt/x/my-otp"], {
    allowedCommands: ["/opt/x/my-otp"],
  });
  createMfaTokenSource(["/opt/x/my-otp"], { allowedCommands: ["my-otp"] });
  // An exact path lists only that path, not the bare name or other directories.
  assertThrows(
    () =>
      createMfaTokenSource(["my-otp"], { allowedCommands: ["/opt/x/my-otp"] }),
    BRSConfigurationError,
  );
  assertThrows(
    () =>
      createMfaTokenSource(["/tmp/my-otp"], {
        allowedCommands: ["/opt/x/my-otp"],
      }),
    BRSConfigurationError,
  );
  assertThrows(() => createMfaTokenSource(["2fa"]), BRSConfigurationError);
  assertThrows(() => createMfaTokenSource(["totp-cli"]), BRSConfigurationError);
});

// --------------------------------------------------------------- options

Deno.test("createMfaTokenSource() rejects forbidden and unknown command options, naming the key", () => {
  for (
    const key of [
      "stdout",
      "stderr",
      "stdin",
      "shell",
      "detached",
      "uid",
      "gid",
      "windowsRawArguments",
      "timeout",
      "allowCommands",
    ]
  ) {
    const error = assertThrows(
      () => createMfaTokenSource(["oathtool"], { [key]: true }),
      BRSValidationError,
    );
    assertStringIncludes(error.message, `'mfaTokenProviderOptions.${key}'`);
    assertEquals(error.param, `mfaTokenProviderOptions.${key}`);
  }
});

Deno.test("createMfaTokenSource() validates command option values", () => {
  for (const timeoutMs of [0, -1, 1.5, Number.NaN, Infinity, "100", null]) {
    assertThrows(
      () => createMfaTokenSource(["oathtool"], { timeoutMs }),
      BRSValidationError,
      "timeoutMs",
    );
  }
  assertThrows(
    () => createMfaTokenSource(["oathtool"], { cwd: "" }),
    BRSValidationError,
    "cwd",
  );
  assertThrows(
    () => createMfaTokenSource(["oathtool"], { cwd: 1 }),
    BRSValidationError,
    "cwd",
  );
  assertThrows(
    () => createMfaTokenSource(["oathtool"], { env: "A=1" }),
    BRSValidationError,
    "env",
  );
  const error = assertThrows(
    () => createMfaTokenSource(["oathtool"], { env: { OP_SESSION: 987654 } }),
    BRSValidationError,
  );
  assertStringIncludes(error.message, "env.OP_SESSION");
  assertFalse(error.message.includes("987654"), "an env value was echoed");
  assertThrows(
    () => createMfaTokenSource(["oathtool"], { clearEnv: "yes" }),
    BRSValidationError,
    "clearEnv",
  );
  assertThrows(
    () => createMfaTokenSource(["oathtool"], { allowedCommands: "sh" }),
    BRSValidationError,
  );
  assertThrows(
    () => createMfaTokenSource(["oathtool"], { allowedCommands: [""] }),
    BRSValidationError,
  );
  assertThrows(
    () =>
      createMfaTokenSource(
        ["oathtool"],
        [] as unknown as Record<string, unknown>,
      ),
    BRSValidationError,
  );
  createMfaTokenSource(["oathtool"], {
    timeoutMs: 1,
    cwd: "/",
    env: {},
    clearEnv: false,
    allowedCommands: [],
  });
});

Deno.test("createMfaTokenSource() validates the provider's form", () => {
  assertThrows(() => createMfaTokenSource([]), BRSValidationError, "empty");
  assertThrows(
    () => createMfaTokenSource(["oathtool", 1 as unknown as string]),
    BRSValidationError,
    "item 1",
  );
  assertThrows(
    () => createMfaTokenSource(42 as unknown as string),
    BRSValidationError,
    "got number",
  );
  assertThrows(() => createMfaTokenSource(""), BRSValidationError, "empty");
  assertThrows(() => createMfaTokenSource("   "), BRSValidationError, "empty");
  assertThrows(() => createMfaTokenSource([""]), BRSValidationError, "empty");
});

// -------------------------------------------------------------- splitting

Deno.test("_splitCommand() splits on whitespace and honours quotes and escapes", () => {
  assertEquals(_splitCommand("ykman oath accounts code --single aws"), [
    "ykman",
    "oath",
    "accounts",
    "code",
    "--single",
    "aws",
  ]);
  assertEquals(_splitCommand("  op\titem  get  "), ["op", "item", "get"]);
  assertEquals(_splitCommand(`op item get 'My | Item; $(x) "q"' --otp`), [
    "op",
    "item",
    "get",
    `My | Item; $(x) "q"`,
    "--otp",
  ]);
  assertEquals(_splitCommand(`bw get totp "My \\"Work\\" Item \\\\ \\$ \\a"`), [
    "bw",
    "get",
    "totp",
    `My "Work" Item \\ $ \\a`,
  ]);
  assertEquals(_splitCommand(`pass otp a\\ b\\|c\\;d`), [
    "pass",
    "otp",
    "a b|c;d",
  ]);
  assertEquals(_splitCommand(`gopass otp ''`), ["gopass", "otp", ""]);
  assertEquals(_splitCommand(`a"b"'c'd`), ["abcd"]);
  assertEquals(_splitCommand(`oathtool x$ 10$`), ["oathtool", "x$", "10$"]);
});

Deno.test("createMfaTokenSource() refuses every shell operator in a command string, naming it, and runs nothing", () => {
  const cases: [string, string][] = [
    ["oathtool -b X | tee /tmp/log", "'|'"],
    ["oathtool -b X|tee", "'|'"],
    ["oathtool -b X; rm -rf /", "';'"],
    ["oathtool -b X && echo", "'&&'"],
    ["oathtool -b X || echo", "'||'"],
    ["oathtool -b X &", "'&'"],
    ["oathtool -b $(cat secret)", "'$('"],
    ["oathtool -b ${SECRET}", "'${'"],
    ["oathtool -b `cat secret`", "'`'"],
    ["oathtool -b X > /tmp/out", "'>'"],
    ["oathtool -b X >> /tmp/out", "'>>'"],
    ["oathtool -b X 2> /dev/null", "'2>'"],
    ["oathtool -b X 2>/dev/null", "'2>'"],
    ["oathtool -b X < /dev/null", "'<'"],
    [`oathtool -b "$(cat secret)"`, "'$('"],
    ['oathtool -b "`id`"', "'`'"],
  ];
  for (const [command, operator] of cases) {
    const error = assertThrows(
      () => createMfaTokenSource(command),
      BRSValidationError,
      undefined,
      command,
    );
    assertStringIncludes(error.message, operator, command);
    assertFalse(error.message.includes("secret"), "the command was echoed");
  }
  assertThrows(
    () => createMfaTokenSource("oathtool -b $SECRET"),
    BRSValidationError,
    "variable",
  );
  assertThrows(
    () => createMfaTokenSource("oathtool\nrm -rf /"),
    BRSValidationError,
    "newline",
  );
  assertThrows(
    () => createMfaTokenSource("oathtool 'abc"),
    BRSValidationError,
    "unbalanced single quote",
  );
  assertThrows(
    () => createMfaTokenSource(`oathtool "abc`),
    BRSValidationError,
    "unbalanced double quote",
  );
  assertThrows(
    () => createMfaTokenSource("oathtool abc\\"),
    BRSValidationError,
    "trailing backslash",
  );
  // `a2>b` still redirects in a shell (`a2` then `>`).
  assertThrows(
    () => createMfaTokenSource("oathtool a2>b"),
    BRSValidationError,
    "'>'",
  );
});

// ------------------------------------------------------------ permissions

Deno.test("createMfaTokenSource() names the exact --allow-run flag when the run permission is missing", async () => {
  const probe = fixture("mfa_permission_probe.ts");
  async function runProbe(
    flags: string[],
    argv: string[],
  ): Promise<Record<string, unknown>> {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--no-lock",
        ...flags,
        "--allow-read",
        "--allow-env",
        probe,
        ...argv,
      ],
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    return JSON.parse(new TextDecoder().decode(stdout));
  }
  // The flag named is the absolute path brs runs (the file found on PATH,
  // after links): right whatever PATH Deno started with.
  const dir = await Deno.makeTempDir({ prefix: "brs_probe_" });
  const script = `${dir}/oathtool`;
  await Deno.copyFile(fixture("mfa_env.sh"), script);
  await Deno.chmod(script, 0o755);
  const other = await runProbe(["--allow-run=oathtool"], [script]);
  await Deno.remove(dir, { recursive: true });
  assertEquals(other.ok, false);
  assertEquals(other.name, "BRSConfigurationError");
  assertEquals(other.code, "PermissionDenied");
  assertStringIncludes(String(other.message), `--allow-run=${script}`);

  if (hasOathtool) {
    const real = await Deno.realPath(
      (await Deno.permissions.query({ name: "env", variable: "PATH" }))
          .state === "granted"
        ? await whichOathtool()
        : "/usr/bin/oathtool",
    );
    const none = await runProbe([], ["oathtool", "--totp", "-b", "-"]);
    assertStringIncludes(String(none.message), `--allow-run=${real}`);
  }

  if (hasOathtool) {
    // --allow-run=oathtool grants the file Deno found on PATH at start,
    // which is the file brs finds and runs.
    const granted = await runProbe(["--allow-run=oathtool"], [
      "oathtool",
      "--totp",
      "-b",
      SECRET,
    ]);
    assertEquals(granted, { ok: true });
  }
});

// ------------------------------------------------------------ one door

Deno.test("only the MFA runner and the exec child module start processes (Deno.Command / Deno.run)", async () => {
  const files: string[] = [];
  async function walk(dir: URL): Promise<void> {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await walk(url);
      else if (entry.name.endsWith(".ts")) files.push(url.pathname);
    }
  }
  await walk(new URL("src/", ROOT));
  for (const top of ["cli.ts", "mod.ts"]) {
    const path = new URL(top, ROOT).pathname;
    if (await Deno.stat(path).then(() => true, () => false)) files.push(path);
  }
  const pattern =
    /\bDeno\s*\.\s*(Command|run)\b|\bDeno\s*\[\s*["'](Command|run)["']\s*\]/;
  const offenders: string[] = [];
  for (const path of files) {
    if (pattern.test(await Deno.readTextFile(path))) {
      offenders.push(path.slice(ROOT.pathname.length));
    }
  }
  assertEquals(offenders.sort(), [
    "src/cli/_exec_child.ts",
    "src/mfa/_mfa_runner.ts",
  ]);
  assertInstanceOf(files, Array);
});

Deno.test("a refused pipe and an empty command suggest ykman 4's 'ykman oath accounts code'", () => {
  for (const command of ["ykman oath accounts code aws | tail -1", "  "]) {
    const error = assertThrows(
      () => _splitCommand(command),
      BRSValidationError,
    );
    assertStringIncludes(error.message, "oath");
    assertStringIncludes(
      error.message.replaceAll('", "', " ").replaceAll('"', ""),
      "ykman oath accounts code",
    );
  }
});
