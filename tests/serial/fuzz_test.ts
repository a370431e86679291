/**
 * Property-based fuzzing of every parser and validator that
 * takes user input: CLI arguments, TOML profiles, ~/.aws/config profiles,
 * session options (AssumeRoleConfig included), MFA command strings and
 * command output, provider replies and cache files.
 *
 * Property: any input ends in success or a documented typed error (exit code
 * 2 for a CLI usage error), never an uncaught exception, a stack trace, a
 * hang or a secret in the output.
 *
 * CI runs a fixed seed and few runs; `deno task fuzz` runs many more:
 * `BRS_FUZZ_RUNS` (runs per property) and `BRS_FUZZ_SEED` (seed; `random`
 * for a new one each time).
 */

import { _ASSUME_ROLE_KEYS } from "../../src/sources/_assume_role_config.ts";
import fc from "fast-check";
import { assert, assertEquals } from "@std/assert";
import {
  BRSConfigurationError,
  BRSError,
  BRSValidationError,
  createRefreshableSession,
  CustomRefreshableSession,
  STSRefreshableSession,
} from "../../mod.ts";
import { _splitCommand } from "../../src/mfa/_split_command.ts";
import { createMfaTokenSource } from "../../src/mfa/mfa.ts";
import {
  _runTokenCommand,
  _validateCommandOptions,
} from "../../src/mfa/_mfa_runner.ts";
import { FileCache } from "../../src/cache/file_cache.ts";
import {
  cliSandbox,
  SANDBOX_BASE,
  STACK_FRAME,
} from "../_helpers/cli_harness.ts";
import { assertNoSecrets, withWatchdog } from "../_helpers/scan.ts";
import {
  HOSTILE_MODES,
  type HostileMode,
  startHostileSts,
} from "../_helpers/hostile_sts.ts";

const RUNS = Number(
  Deno.env.get("BRS_FUZZ_RUNS") ??
    (Deno.env.get("BRS_FUZZ_LONG") ? "2000" : "120"),
);
const SEED_ENV = Deno.env.get("BRS_FUZZ_SEED") ?? "20261127";
const SEED = SEED_ENV === "random" ? Date.now() % 2 ** 31 : Number(SEED_ENV);
/** Cases run per property, for the README figures. */
const TRIED: Record<string, number> = {};
/** Exit codes of the fuzzed CLI argument lists (to see how deep they got). */
const EXIT_CODES: Record<number, number> = {};

function params(runs = RUNS): fc.Parameters<unknown> {
  return { seed: SEED, numRuns: runs, endOnFailure: true };
}

function count(name: string): void {
  TRIED[name] = (TRIED[name] ?? 0) + 1;
}

const TESTS = new URL("..", import.meta.url).pathname;
const ECHO_ARG = `${TESTS}fixtures/hostile/print_arg.sh`;

/** Strings that break naive parsers. */
const nasty = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom(
    "",
    " ",
    "\n",
    "\u0000",
    "--",
    "-",
    "=",
    "--=",
    "'",
    '"',
    "\\",
    "$(id)",
    "`id`",
    "a;b",
    "a|b",
    "a && b",
    "${HOME}",
    "%s%n",
    "../../etc/passwd",
    "\u202e",
    "😀",
    "NaN",
    "Infinity",
    "-1",
    "1e309",
    "0x10",
    "900",
    "43201",
    "arn:aws:iam::123456789012:role/app",
    "arn:aws:iam::123456789012:mfa/me",
    "http://127.0.0.1:1",
    "https://sts.evil.example",
    "file:///etc/passwd",
    "__proto__",
    "constructor",
  ),
);

// ---------------------------------------------------------------------------
// CLI arguments
// ---------------------------------------------------------------------------

const cliToken = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "whoami",
      "credentials",
      "profiles",
      "exec",
      "help",
      "--help",
      "-h",
      "--version",
      "--debug",
      "--json",
      "--format",
      "--profile",
      "--role-arn",
      "--role-session-name",
      "--serial-number",
      "--mfa-command",
      "--duration-seconds",
      "--region",
      "--endpoint-url",
      "--config",
      "--external-id",
      "--no-cache",
      "--server",
      "--",
      "-x",
      "--no-such-flag",
      "--format=env",
      "--role-arn=arn:aws:iam::123456789012:role/app",
    ),
  },
  { weight: 2, arbitrary: nasty },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "json",
      "env",
      "credential-process",
      "yaml",
      "oathtool --totp -b JBSWY3DPEHPK3PXP",
      "/nonexistent/mfa-tool",
    ),
  },
);

/** Commands a fuzzed `exec` may run: harmless or missing. */
function safeArgs(args: string[]): string[] {
  const i = args.indexOf("--");
  if (i === -1) return args;
  return [...args.slice(0, i), "--", "/nonexistent/brs-fuzz-child"];
}

/**
 * Mostly valid command lines (a command, a role and the hostile endpoint)
 * with fuzzed extra tokens: these reach the refresh, the output and `exec`.
 */
function nearlyValid(url: string): fc.Arbitrary<string[]> {
  return fc.tuple(
    fc.constantFrom("whoami", "credentials", "exec", "profiles"),
    fc.oneof(fc.constant([]), fc.array(cliToken, { maxLength: 3 })),
    fc.boolean(),
  ).map(([command, extra, server]) => [
    command,
    "--role-arn",
    "arn:aws:iam::123456789012:role/app",
    "--endpoint-url",
    url,
    "--no-cache",
    // exec runs its first positional word: only flags are added there.
    ...extra.filter((t) =>
      t !== "--" && (command !== "exec" || t.startsWith("-"))
    ),
    ...(command === "exec"
      ? [...(server ? ["--server"] : []), "--", "/nonexistent/brs-fuzz-child"]
      : []),
  ]);
}

Deno.test("CLI main() ends every argument list in exit 0, 1 or 2 with one clean line and no stack trace", async () => {
  await using sandbox = await cliSandbox();
  await using sts = await startHostileSts();
  const modes = fc.constantFrom<HostileMode>(
    "good",
    "good",
    ...HOSTILE_MODES.filter((m) => m !== "slow-drip" && m !== "huge-body"),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.array(cliToken, { maxLength: 8 }), nearlyValid(sts.url)),
      modes,
      async (raw, mode) => {
        count("cli arguments");
        sts.mode = mode;
        const args = safeArgs(raw);
        const run = await withWatchdog(
          sandbox.run(args),
          `main(${JSON.stringify(args)})`,
        );
        EXIT_CODES[run.code] = (EXIT_CODES[run.code] ?? 0) + 1;
        // exec returns its child's code: a missing program is 127 (or 1/2).
        const allowed = args.includes("exec") ? [0, 1, 2, 127] : [0, 1, 2];
        assert(
          allowed.includes(run.code),
          `exit code ${run.code} for ${JSON.stringify(args)}: ${run.stderr}`,
        );
        assert(
          !STACK_FRAME.test(run.stderr),
          `stack trace for ${JSON.stringify(args)}:\n${run.stderr}`,
        );
        if (run.code !== 0) {
          // An error line on stderr, or (no arguments at all) the usage text
          // there.
          assert(
            run.stderr.startsWith("brs: ") || run.stderr.includes("Usage:"),
            `no clean error for ${JSON.stringify(args)}: ${run.stderr}`,
          );
        }
        // `credentials` prints issued secrets on stdout on purpose.
        const texts = args.includes("credentials")
          ? [run.stderr]
          : [run.stdout, run.stderr];
        assertNoSecrets(texts, [SANDBOX_BASE.secretAccessKey, ...sts.secrets]);
      },
    ),
    params(),
  );
});

Deno.test("CLI main() gives exit code 2 for an unknown flag or a bad flag value", async () => {
  await using sandbox = await cliSandbox();
  const command = fc.constantFrom("whoami", "credentials", "profiles", "exec");
  const badFlag = fc.string({ minLength: 1, maxLength: 12 })
    .filter((s) => /^[a-z][a-z0-9-]*$/.test(s))
    .map((s) => `--zz-${s}`);
  await fc.assert(
    fc.asyncProperty(command, badFlag, async (cmd, flag) => {
      count("cli usage errors");
      const run = await sandbox.run([cmd, flag]);
      assertEquals(run.code, 2, `${cmd} ${flag}: ${run.stderr}`);
      assert(!STACK_FRAME.test(run.stderr));
    }),
    params(Math.max(20, Math.floor(RUNS / 4))),
  );
  const badValue = fc.oneof(
    fc.string({ maxLength: 10 }).filter((s) =>
      !/^\d+$/.test(s.trim()) || s.trim() === ""
    ),
    fc.constantFrom("-1", "1.5", "1e3", "0", "899", "43201", "NaN"),
  );
  await fc.assert(
    fc.asyncProperty(badValue, async (value) => {
      count("cli usage errors");
      const run = await sandbox.run([
        "credentials",
        "--role-arn",
        "arn:aws:iam::123456789012:role/app",
        "--duration-seconds",
        value,
        "--endpoint-url",
        "http://127.0.0.1:1",
      ]);
      assertEquals(
        run.code,
        2,
        `--duration-seconds ${JSON.stringify(value)}: ${run.stderr}`,
      );
    }),
    params(Math.max(20, Math.floor(RUNS / 4))),
  );
});

// ---------------------------------------------------------------------------
// TOML profiles and ~/.aws/config
// ---------------------------------------------------------------------------

const tomlKey = fc.oneof(
  fc.constantFrom(
    "role_arn",
    "role_session_name",
    "serial_number",
    "mfa_command",
    "allowed_commands",
    "duration_seconds",
    "region",
    "source_profile",
    "endpoint_url",
    "external_id",
    "advisory_timeout",
    "mandatory_timeout",
  ),
  fc.string({ minLength: 1, maxLength: 8 }).filter((s) => /^[a-z_]+$/.test(s)),
);

function tomlString(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Values that are safe to run: MFA commands are missing or harmless. */
const tomlValue = fc.oneof(
  nasty.map(tomlString),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) =>
    n.toString().includes(".") || n.toString().includes("e")
      ? n.toString()
      : `${n}.0`
  ),
  fc.boolean().map(String),
  fc.constantFrom(
    "1979-05-27T07:32:00Z",
    '["oathtool", "--totp", "-b", "JBSWY3DPEHPK3PXP"]',
    '["/nonexistent/tool"]',
    '["echo", "123456"]',
    '"echo 654321"',
    '["oathtool", "/nonexistent/tool", "echo"]',
    "[1, 2]",
    "[]",
    "{ a = 1 }",
    '"http://127.0.0.1:1"',
    "3600",
    "900",
  ),
);

const tomlProfile = fc.record({
  name: fc.oneof(
    fc.constantFrom("dev", "prod", "a.b", "x y"),
    fc.string({ minLength: 1, maxLength: 6 }),
  ),
  entries: fc.array(fc.tuple(tomlKey, tomlValue), { maxLength: 6 }),
});

function tomlText(
  profiles: { name: string; entries: [string, string][] }[],
): string {
  return profiles.map(({ name, entries }) => {
    const seen = new Set<string>();
    const lines = entries.filter(([k]) => !seen.has(k) && seen.add(k))
      .map(([k, v]) => `${k} = ${v}`);
    return `[${tomlString(name)}]\n${lines.join("\n")}\n`;
  }).join("\n");
}

const tomlFile = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.array(tomlProfile, { maxLength: 3 }).map(tomlText),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "[dev\nrole_arn=",
      "role_arn = 1",
      "[[dev]]\nx=1",
      "[dev]\n[dev]\n",
      "\u0000",
      'a = "\\uD800"',
    ),
  },
);

Deno.test("CLI profiles and whoami end every TOML profiles file in exit 0, 1 or 2 without a stack trace", async () => {
  await using sandbox = await cliSandbox();
  await fc.assert(
    fc.asyncProperty(tomlFile, async (text) => {
      count("TOML profiles files");
      await Deno.writeTextFile(sandbox.tomlPath, text);
      const listed = await sandbox.run([
        "profiles",
        "--config",
        sandbox.tomlPath,
      ]);
      assert(
        [0, 2].includes(listed.code),
        `profiles: ${listed.code} ${listed.stderr}\n${text}`,
      );
      assert(!STACK_FRAME.test(listed.stderr), listed.stderr);
      const name = text.match(/^\["((?:[^"\\]|\\.)*)"\]/m)?.[1] ?? "dev";
      const who = await withWatchdog(
        sandbox.run([
          "whoami",
          "--config",
          sandbox.tomlPath,
          "--profile",
          name,
          "--endpoint-url",
          "http://127.0.0.1:1",
          "--no-cache",
        ]),
        `whoami with TOML:\n${text}`,
      );
      assert(
        [1, 2].includes(who.code),
        `whoami: ${who.code} ${who.stderr}\n${text}`,
      );
      assert(!STACK_FRAME.test(who.stderr), who.stderr);
      assertNoSecrets([listed.stderr, who.stderr, who.stdout], [
        SANDBOX_BASE.secretAccessKey,
      ]);
    }),
    params(),
  );
});

const iniKey = fc.oneof(
  fc.constantFrom(
    "role_arn",
    "source_profile",
    "mfa_serial",
    "duration_seconds",
    "region",
    "role_session_name",
    "external_id",
    "endpoint_url",
    "aws_access_key_id",
    "aws_secret_access_key",
  ),
  fc.string({ minLength: 1, maxLength: 8 }),
);
const iniValue = fc.oneof(
  nasty.map((s) => s.replace(/[\r\n]/g, " ")),
  fc.constantFrom(
    "arn:aws:iam::123456789012:role/app",
    "default",
    "900",
    "3600",
    "-5",
    "abc",
  ),
);
const iniFile = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.array(
      fc.record({
        header: fc.oneof(
          fc.constantFrom(
            "default",
            "profile dev",
            "profile prod",
            "sso-session x",
            "profile",
            "profile  spaced ",
          ),
          fc.string({ maxLength: 10 }).map((s) => s.replace(/[\r\n\]]/g, "")),
        ),
        entries: fc.array(fc.tuple(iniKey, iniValue), { maxLength: 5 }),
      }),
      { maxLength: 3 },
    ).map((sections) =>
      sections.map(({ header, entries }) =>
        `[${header}]\n${
          entries.map(([k, v]) => `${k.replace(/[\r\n=\[]/g, "")} = ${v}`).join(
            "\n",
          )
        }\n`
      ).join("")
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);

Deno.test("CLI profiles and whoami end every ~/.aws/config in exit 0, 1 or 2 without a stack trace", async () => {
  await using sandbox = await cliSandbox();
  await fc.assert(
    fc.asyncProperty(iniFile, async (text) => {
      count("~/.aws/config files");
      await Deno.writeTextFile(sandbox.awsConfigPath, text);
      const listed = await sandbox.run(["profiles"]);
      assert(
        [0, 2].includes(listed.code),
        `profiles: ${listed.code} ${listed.stderr}\n${text}`,
      );
      assert(!STACK_FRAME.test(listed.stderr), listed.stderr);
      const who = await withWatchdog(
        sandbox.run([
          "whoami",
          "--profile",
          "dev",
          "--endpoint-url",
          "http://127.0.0.1:1",
          "--no-cache",
        ]),
        `whoami with ~/.aws/config:\n${text}`,
      );
      assert(
        [1, 2].includes(who.code),
        `whoami: ${who.code} ${who.stderr}\n${text}`,
      );
      assert(!STACK_FRAME.test(who.stderr), who.stderr);
      assertNoSecrets([listed.stderr, listed.stdout, who.stderr], [
        SANDBOX_BASE.secretAccessKey,
      ]);
    }),
    params(),
  );
});

// ---------------------------------------------------------------------------
// Session options and AssumeRoleConfig
// ---------------------------------------------------------------------------

const SECRET_MARK = "fuzzSecretValue/0123456789";
const CODE_MARK = "482913";

const assumeRoleArb = fc.dictionary(
  fc.oneof(
    fc.constantFrom(..._ASSUME_ROLE_KEYS),
    fc.string({ maxLength: 8 }),
  ),
  fc.oneof(
    nasty,
    fc.anything({ maxDepth: 2 }),
    fc.integer({ min: -1, max: 50_000 }),
    fc.constantFrom(
      [{ arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }],
      [{ Key: "k", Value: "v" }],
    ),
  ),
  { maxKeys: 6 },
).chain((o) =>
  // The MFA code marker only ever goes into TokenCode (any other field is not a secret).
  fc.option(
    fc.constantFrom(
      CODE_MARK,
      `${CODE_MARK}7`,
      ` ${CODE_MARK}`,
      `x${CODE_MARK}`,
      Number(CODE_MARK),
    ),
    { nil: undefined },
  )
    .map((code) => ({
      RoleArn: "arn:aws:iam::123456789012:role/app",
      ...Object.fromEntries(
        Object.entries(o).filter(([k]) => k !== "TokenCode"),
      ),
      ...(code === undefined ? {} : { TokenCode: code }),
    }))
);

const sessionOptionsArb = fc.record(
  {
    assumeRole: fc.oneof({ weight: 5, arbitrary: assumeRoleArb }, {
      weight: 1,
      arbitrary: fc.anything({ maxDepth: 1 }),
    }),
    stsClientConfig: fc.oneof(
      fc.constant({
        endpoint: "http://127.0.0.1:1",
        region: "us-east-1",
        credentials: { accessKeyId: "AKIAFUZZ", secretAccessKey: SECRET_MARK },
        maxAttempts: 1,
      }),
      fc.anything({ maxDepth: 1 }),
    ),
    mfaTokenProvider: fc.oneof(
      nasty,
      fc.array(nasty, { maxLength: 4 }),
      fc.constant(() => CODE_MARK),
      fc.constantFrom(
        ["oathtool", "--totp", "-b", "JBSWY3DPEHPK3PXP"],
        "oathtool --totp",
      ),
    ),
    mfaTokenProviderOptions: fc.oneof(
      fc.anything({ maxDepth: 1 }),
      fc.record({
        timeoutMs: fc.oneof(fc.integer({ min: -5, max: 100_000 }), nasty),
        cwd: nasty,
        env: fc.dictionary(nasty, nasty, { maxKeys: 2 }),
        clearEnv: fc.anything({ maxDepth: 0 }),
        allowedCommands: fc.array(nasty, { maxLength: 2 }),
        shell: fc.boolean(),
        stdout: fc.constant("inherit"),
      }, { requiredKeys: [] }),
    ),
    deferRefresh: fc.anything({ maxDepth: 0 }),
    advisoryTimeout: fc.oneof(fc.double(), fc.integer(), nasty),
    mandatoryTimeout: fc.oneof(fc.double(), fc.integer(), nasty),
    region: nasty,
    profile: nasty,
    cache: fc.oneof(
      fc.anything({ maxDepth: 1 }),
      fc.record({
        evictionPolicy: fc.oneof(fc.constantFrom("LRU", "LFU"), nasty),
        maxSize: fc.oneof(fc.integer({ min: -2, max: 5 }), nasty),
      }, { requiredKeys: [] }),
    ),
    unknownKey: fc.anything({ maxDepth: 0 }),
  },
  { requiredKeys: ["assumeRole"] },
);

function checkTypedError(error: unknown, input: unknown): void {
  if (
    !(error instanceof BRSValidationError ||
      error instanceof BRSConfigurationError)
  ) {
    throw new Error(
      `Not a documented typed error: ${Deno.inspect(error)} for ${
        Deno.inspect(input, { depth: 4 })
      }`,
    );
  }
  const texts = [
    error.message,
    Deno.inspect(error, { depth: 5 }),
    JSON.stringify(error),
  ];
  assertNoSecrets(texts, [SECRET_MARK, CODE_MARK], "a validation error");
  assert(!STACK_FRAME.test(error.message), error.message);
}

Deno.test("STSRefreshableSession validates any options with a session or a BRSValidationError / BRSConfigurationError", async () => {
  await fc.assert(
    fc.asyncProperty(sessionOptionsArb, async (options) => {
      count("session options");
      let session: STSRefreshableSession | undefined;
      try {
        // deferRefresh false would start a fetch: keep it off the fuzzed path.
        session = new STSRefreshableSession(
          { ...options, deferRefresh: true } as never,
        );
      } catch (error) {
        checkTypedError(error, options);
        return;
      }
      assertNoSecrets([
        Deno.inspect(session, { depth: 5 }),
        JSON.stringify(session),
        String(session),
      ], [SECRET_MARK, CODE_MARK]);
      await session.close();
    }),
    params(RUNS * 4),
  );
});

Deno.test("createRefreshableSession and CustomRefreshableSession validate any options with a typed error", async () => {
  const custom = fc.record({
    method: fc.oneof(
      fc.constantFrom("sts", "custom", "STS", "iam", ""),
      nasty,
      fc.anything({ maxDepth: 0 }),
    ),
    provider: fc.oneof(
      fc.constant(() => ({
        accessKey: "A",
        secretKey: SECRET_MARK,
        token: "t",
        expiryTime: "2099-01-01T00:00:00Z",
      })),
      fc.anything({ maxDepth: 1 }),
    ),
    providerOptions: fc.anything({ maxDepth: 1 }),
    advisoryTimeout: fc.oneof(fc.integer(), nasty),
    region: nasty,
    extra: fc.anything({ maxDepth: 0 }),
  }, { requiredKeys: [] });
  await fc.assert(
    fc.asyncProperty(custom, async (options) => {
      count("session options");
      for (
        const make of [
          () => createRefreshableSession(options as never),
          () => new CustomRefreshableSession(options as never),
        ]
      ) {
        let session;
        try {
          session = make();
        } catch (error) {
          checkTypedError(error, options);
          continue;
        }
        await session.close();
      }
    }),
    params(RUNS * 2),
  );
});

// ---------------------------------------------------------------------------
// What a credential provider returns (the custom session's input)
// ---------------------------------------------------------------------------

const providerReply = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.record({
    accessKey: fc.oneof(
      fc.constant("ASIAFUZZ"),
      nasty,
      fc.anything({ maxDepth: 0 }),
    ),
    secretKey: fc.oneof(fc.constant(SECRET_MARK), fc.anything({ maxDepth: 0 })),
    token: fc.oneof(
      fc.constant("fuzzTokenValue0123456789"),
      fc.anything({ maxDepth: 0 }),
    ),
    expiryTime: fc.oneof(
      fc.date({ noInvalidDate: false }).map((d) =>
        Number.isNaN(d.getTime()) ? "bad" : d.toISOString()
      ),
      nasty,
      fc.anything({ maxDepth: 0 }),
    ),
  }, { requiredKeys: [] }),
  fc.record({
    accessKeyId: fc.oneof(fc.constant("ASIAFUZZ"), nasty),
    secretAccessKey: fc.oneof(fc.constant(SECRET_MARK), nasty),
    sessionToken: fc.oneof(
      fc.constant("fuzzTokenValue0123456789"),
      fc.anything({ maxDepth: 0 }),
    ),
    expiration: fc.oneof(
      fc.date({ noInvalidDate: false }),
      nasty,
      fc.anything({ maxDepth: 0 }),
    ),
  }, { requiredKeys: [] }),
);

Deno.test("CustomRefreshableSession turns any provider reply into credentials or a BRSError", async () => {
  await fc.assert(
    fc.asyncProperty(providerReply, fc.boolean(), async (reply, throws) => {
      count("provider replies");
      await using session = new CustomRefreshableSession({
        provider: () => {
          if (throws) throw reply;
          return reply as never;
        },
      });
      try {
        const c = await withWatchdog(
          session.refreshableCredentials(),
          "provider reply",
        );
        assert(typeof c.accessKey === "string" && c.accessKey.length > 0);
        assert(typeof c.secretKey === "string" && c.secretKey.length > 0);
        assert(!Number.isNaN(Date.parse(c.expiryTime)));
        assert(
          Date.parse(c.expiryTime) > Date.now(),
          "expired credentials handed out",
        );
      } catch (error) {
        if (!(error instanceof BRSError)) {
          throw new Error(`Not a BRSError: ${Deno.inspect(error)}`);
        }
        assertNoSecrets([error.message, JSON.stringify(error)], [
          SECRET_MARK,
          "fuzzTokenValue0123456789",
        ]);
      }
    }),
    params(RUNS * 2),
  );
});

// ---------------------------------------------------------------------------
// MFA command strings, options and output
// ---------------------------------------------------------------------------

const commandString = fc.oneof(
  nasty,
  fc.array(
    fc.oneof(
      nasty,
      fc.constantFrom(
        "'",
        '"',
        "\\",
        " ",
        "\t",
        "|",
        ";",
        "&",
        "$(",
        "`",
        ">",
        "<",
        "2>",
        "#",
        "~",
        "*",
      ),
    ),
    { maxLength: 8 },
  ).map((a) => a.join("")),
);

Deno.test("the MFA command splitter returns words or a BRSValidationError, and never lets a shell operator through", () => {
  fc.assert(
    fc.property(commandString, (text) => {
      count("MFA command strings");
      let words: string[];
      try {
        words = _splitCommand(text);
      } catch (error) {
        checkTypedError(error, text);
        return;
      }
      assert(Array.isArray(words) && words.every((w) => typeof w === "string"));
      // Unquoted operators are refused, so a bare operator word never comes back.
      for (const op of ["|", ";", "&&", "||", ">", "<", "`"]) {
        if (
          !text.includes("'") && !text.includes('"') && !text.includes("\\")
        ) {
          assert(
            !words.includes(op),
            `operator ${op} came through from ${JSON.stringify(text)}`,
          );
        }
      }
    }),
    params(RUNS * 8),
  );
});

Deno.test("createMfaTokenSource validates any provider and options with a typed error", () => {
  const provider = fc.oneof(
    commandString,
    fc.array(nasty, { maxLength: 4 }),
    fc.anything({ maxDepth: 1 }),
  );
  const options = fc.oneof(
    fc.anything({ maxDepth: 2 }),
    fc.dictionary(
      fc.constantFrom(
        "timeoutMs",
        "cwd",
        "env",
        "clearEnv",
        "allowedCommands",
        "stdout",
        "shell",
        "detached",
        "uid",
        "signal",
      ),
      fc.anything({ maxDepth: 1 }),
      { maxKeys: 4 },
    ),
  );
  fc.assert(
    fc.property(provider, options, (p, o) => {
      count("MFA providers and options");
      try {
        const source = createMfaTokenSource(p as never, o as never);
        assertEquals(typeof source, "function");
      } catch (error) {
        checkTypedError(error, { p, o });
      }
      try {
        _validateCommandOptions(o);
      } catch (error) {
        checkTypedError(error, o);
      }
    }),
    params(RUNS * 8),
  );
});

Deno.test("the MFA output parser takes the last standalone 6-digit group or says no code, never echoing the output", async () => {
  const options = _validateCommandOptions({
    allowedCommands: [ECHO_ARG],
    timeoutMs: 10_000,
  });
  const output = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.array(
      fc.oneof(
        fc.stringMatching(/^\d{1,8}$/),
        fc.constantFrom(
          " ",
          "\n",
          "-",
          "a",
          "_",
          "\t",
          "é",
          "٣٤٥٦٧٨",
          "１２３４５６",
        ),
      ),
      { maxLength: 12 },
    ).map((a) => a.join("")),
    fc.constantFrom(
      "123456",
      "code: 123456\n",
      "1234567",
      "123456789012",
      "a123456",
      "123456b",
      "111111 222222",
      "12345\n6",
    ),
  ).filter((s) => !s.includes("\u0000"));
  await fc.assert(
    fc.asyncProperty(output, async (text) => {
      count("MFA command outputs");
      const expected = [
        ...text.matchAll(/(?<![0-9A-Za-z_])[0-9]{6}(?![0-9A-Za-z_])/g),
      ].at(-1)?.[0];
      try {
        const code = await _runTokenCommand([ECHO_ARG, text], options);
        assertEquals(code, expected, `output ${JSON.stringify(text)}`);
        assert(/^\d{6}$/.test(code));
      } catch (error) {
        if (!(error instanceof BRSConfigurationError)) {
          throw new Error(`Not typed: ${Deno.inspect(error)}`);
        }
        assertEquals(
          error.code,
          "NoTokenInOutput",
          `${error.code} for ${JSON.stringify(text)}`,
        );
        assertEquals(
          expected,
          undefined,
          `a code was missed in ${JSON.stringify(text)}`,
        );
        const digits = text.match(/\d{6,}/g) ?? [];
        assertNoSecrets(
          [error.message, JSON.stringify(error)],
          digits,
          "an MFA error",
        );
      }
    }),
    params(Math.max(30, Math.floor(RUNS / 2))),
  );
});

// ---------------------------------------------------------------------------
// Cache files
// ---------------------------------------------------------------------------

Deno.test("FileCache.read() turns any cache file into an entry or nothing, never an exception", async () => {
  const directory = await Deno.makeTempDir({ prefix: "brs_fuzz_cache_" });
  try {
    const cache = new FileCache({ directory });
    const key = await FileCache.keyOf({ role: "fuzz" });
    const valid = {
      version: 1,
      kind: "brs-credentials",
      key,
      obtainedAt: new Date().toISOString(),
      credentials: {
        accessKey: "ASIAFUZZ",
        secretKey: SECRET_MARK,
        token: "tok",
        expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
      },
    };
    const mutated = fc.record({
      path: fc.constantFrom(
        "version",
        "kind",
        "key",
        "obtainedAt",
        "credentials",
        "credentials.accessKey",
        "credentials.secretKey",
        "credentials.token",
        "credentials.expiryTime",
      ),
      value: fc.oneof(fc.anything({ maxDepth: 2 }), nasty),
    }).map(({ path, value }) => {
      const copy = structuredClone(valid) as Record<string, unknown>;
      const parts = path.split(".");
      const target = parts.length === 2
        ? copy.credentials as Record<string, unknown>
        : copy;
      target[parts.at(-1)!] = value;
      return JSON.stringify(copy);
    });
    const file = fc.oneof(
      mutated,
      fc.string({ maxLength: 200 }),
      fc.json(),
      fc.constantFrom(
        "",
        "{",
        "null",
        "[]",
        JSON.stringify(valid).slice(0, 50),
      ),
    );
    await fc.assert(
      fc.asyncProperty(file, async (text) => {
        count("cache files");
        await Deno.writeTextFile(`${directory}/${key}.json`, text, {
          mode: 0o600,
        });
        await Deno.chmod(`${directory}/${key}.json`, 0o600);
        const entry = await cache.read(key);
        if (entry !== undefined) {
          const c = entry.credentials;
          for (
            const v of [
              c.accessKey,
              c.secretKey,
              c.token,
              c.expiryTime,
              entry.obtainedAt,
            ]
          ) {
            assertEquals(typeof v, "string");
          }
          assert(!Number.isNaN(Date.parse(c.expiryTime)));
        }
      }),
      params(RUNS * 2),
    );
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("fuzzing summary", async () => {
  const total = Object.values(TRIED).reduce((a, b) => a + b, 0);
  const report = Deno.env.get("BRS_FUZZ_REPORT");
  if (report) {
    await Deno.writeTextFile(
      report,
      JSON.stringify(
        { seed: SEED, runs: RUNS, total, perTarget: TRIED },
        null,
        2,
      ),
    );
  }
  console.log(
    `bad inputs tried: ${total} (seed ${SEED}) ${JSON.stringify(TRIED)}`,
  );
  console.log(`CLI argument exit codes: ${JSON.stringify(EXIT_CODES)}`);
});
