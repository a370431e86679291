/**
 * The CLI's bad inputs: each gives the right exit code and exactly one line
 * on stderr (`brs: error: ...`), nothing on stdout, never a stack trace.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import {
  CLI_FLAGS,
  type CliResult,
  makeCliEnv,
  ROLE_ARN,
  runCli,
} from "./fixtures/cli/helpers.ts";

function assertOneLineError(
  result: CliResult,
  code: number,
  ...needles: string[]
): void {
  const context =
    `exit ${result.code}, stderr: ${result.stderr}, stdout: ${result.stdout}`;
  assertEquals(result.code, code, context);
  assertEquals(result.stdout, "", context);
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, context);
  assertMatch(lines[0]!, /^brs: error: [A-Z]/, context);
  assert(
    !/\bat .*:\d+:\d+/.test(result.stderr),
    `stack trace in: ${result.stderr}`,
  );
  for (const needle of needles) {
    assertStringIncludes(lines[0]!, needle, context);
  }
}

interface Case {
  name: string;
  args: string[];
  code: number;
  needles: string[];
  flags?: readonly string[];
}

Deno.test("brs rejects bad input with one line on stderr and exit code 2 (usage, config, permission) or 1 (runtime)", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const dir = cli.dir;
  const file = (name: string, text: string): string => {
    Deno.writeTextFileSync(`${dir}/${name}`, text);
    return `${dir}/${name}`;
  };
  const broken = file(
    "broken.toml",
    `[dev]\nrole_arn = "${ROLE_ARN}"\nregion = [1,\n`,
  );
  const unknownKey = file(
    "unknown.toml",
    `[dev]\nrole_arn = "${ROLE_ARN}"\n\nrol_arn = "x"\n`,
  );
  const wrongType = file(
    "wrong.toml",
    `[dev]\nrole_arn = "${ROLE_ARN}"\nduration_seconds = "3600"\n`,
  );
  const badArnInFile = file(
    "badarn.toml",
    `[dev]\nregion = "us-east-1"\nrole_arn = "arn:aws:iam::1:role/x"\n`,
  );
  const notAllowed = file(
    "mfa.toml",
    `[dev]\nrole_arn = "${ROLE_ARN}"\nserial_number = "arn:aws:iam::123456789012:mfa/me"\nmfa_command = ["sh", "-c", "echo 123456"]\n`,
  );
  const good = file("good.toml", `[dev]\nrole_arn = "${ROLE_ARN}"\n`);
  const role = ["--role-arn", ROLE_ARN, "--endpoint-url", sts.url];
  const cases: Case[] = [
    {
      name: "unknown command",
      args: ["frobnicate"],
      code: 2,
      needles: ["Unknown command 'frobnicate'"],
    },
    {
      name: "unknown flag",
      args: ["whoami", "--bogus", ...role],
      code: 2,
      needles: ["'--bogus'", "whoami --help"],
    },
    {
      name: "missing value",
      args: ["credentials", "--profile"],
      code: 2,
      needles: ["'--profile' needs a value"],
    },
    {
      name: "flag given twice",
      args: ["credentials", ...role, "--region", "a-1", "--region", "b-2"],
      code: 2,
      needles: ["'--region' is given 2 times"],
    },
    {
      name: "bad ARN",
      args: ["credentials", "--role-arn", "arn:aws:s3:::bucket"],
      code: 2,
      needles: ["role ARN", "--role-arn", "arn:aws:s3:::bucket"],
    },
    {
      name: "bad duration (range)",
      args: ["credentials", ...role, "--duration-seconds", "12"],
      code: 2,
      needles: ["900 to 43200", "got 12"],
    },
    {
      name: "bad duration (not a number)",
      args: ["credentials", ...role, "--duration-seconds", "1h"],
      code: 2,
      needles: ["--duration-seconds", "'1h'"],
    },
    {
      name: "bad session name",
      args: ["credentials", ...role, "--role-session-name", "a b"],
      code: 2,
      needles: ["role session name", '"a b"'],
    },
    {
      name: "bad format",
      args: ["credentials", ...role, "--format", "xml"],
      code: 2,
      needles: ["'--format' must be one of", "'xml'"],
    },
    {
      name: "endpoint URL not http(s)",
      args: [
        "credentials",
        "--role-arn",
        ROLE_ARN,
        "--endpoint-url",
        "ftp://127.0.0.1/",
      ],
      code: 2,
      needles: ["http:// or https://", "ftp://127.0.0.1/"],
    },
    {
      name: "unknown profile",
      args: ["credentials", "--profile", "nope", "--config", good],
      code: 2,
      needles: ["profile 'nope'", good, "brs profiles"],
    },
    {
      name: "broken TOML",
      args: ["credentials", "--profile", "dev", "--config", broken],
      code: 2,
      needles: [broken, "line 4"],
    },
    {
      name: "unknown TOML key",
      args: ["profiles", "--config", unknownKey],
      code: 2,
      needles: [unknownKey, "line 4", "profile 'dev'", "unknown key 'rol_arn'"],
    },
    {
      name: "wrong TOML type",
      args: ["credentials", "--profile", "dev", "--config", wrongType],
      code: 2,
      needles: [
        wrongType,
        "line 3",
        "'duration_seconds'",
        "an integer",
        "must be an integer: got a string",
      ],
    },
    {
      name: "bad ARN in TOML",
      args: ["credentials", "--profile", "dev", "--config", badArnInFile],
      code: 2,
      needles: [badArnInFile, "line 3", "'role_arn' of profile 'dev'"],
    },
    {
      name: "missing --config file",
      args: ["profiles", "--config", `${dir}/missing.toml`],
      code: 2,
      needles: ["does not exist"],
    },
    {
      name: "MFA command not allowlisted",
      args: ["credentials", "--profile", "dev", "--config", notAllowed],
      code: 2,
      needles: ["'sh'", "allowlist", "allowed_commands"],
    },
    {
      name: "serial without MFA command",
      args: [
        "credentials",
        ...role,
        "--serial-number",
        "arn:aws:iam::123456789012:mfa/me",
      ],
      code: 2,
      needles: ["no terminal", "--mfa-command", "mfa_process"],
    },
    {
      name: "no role given",
      args: ["credentials"],
      code: 2,
      needles: ["--role-arn", "--profile"],
    },
    {
      name: "exec without command",
      args: ["exec", ...role],
      code: 2,
      needles: ["no command is given"],
    },
    {
      name: "exec of a missing program (127, as a shell)",
      args: ["exec", ...role, "--", "no-such-program-brs"],
      code: 127,
      needles: ["no-such-program-brs", "no such program"],
    },
    {
      name: "exec of a file that is not executable (126, an OS error)",
      args: ["exec", ...role, "--", file("not-executable.sh", "echo hi\n")],
      code: 126,
      needles: ["operating system refused", "not-executable.sh"],
    },
    {
      name: "missing read permission",
      args: ["profiles", "--config", good],
      flags: ["--allow-env"],
      code: 2,
      needles: ["Missing Deno permission", "--allow-read"],
    },
    {
      name: "missing net permission for the endpoint",
      args: [
        "credentials",
        "--role-arn",
        ROLE_ARN,
        "--endpoint-url",
        sts.url.replace("127.0.0.1", "localhost"),
        "--no-cache",
      ],
      code: 2,
      needles: ["Missing Deno permission", "--allow-net"],
    },
    {
      name: "STS unreachable (runtime)",
      args: [
        "credentials",
        "--role-arn",
        ROLE_ARN,
        "--endpoint-url",
        "http://127.0.0.1:9/",
        "--no-cache",
      ],
      code: 1,
      needles: [],
    },
  ];
  // A few at a time: the machine has two cores.
  const failures: string[] = [];
  for (let i = 0; i < cases.length; i += 4) {
    await Promise.all(
      cases.slice(i, i + 4).map(async (c) => {
        const result = await runCli(c.args, cli.env, c.flags ?? CLI_FLAGS);
        try {
          assertOneLineError(result, c.code, ...c.needles);
        } catch (error) {
          failures.push(`${c.name}: ${(error as Error).message}`);
        }
      }),
    );
  }
  assertEquals(failures, []);
  assert(cases.length >= 15);
});

Deno.test("brs answers an STS AccessDenied with exit code 1, and --debug adds the cause chain without a stack", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  sts.injectFault({ kind: "access-denied", actions: ["AssumeRole"] });
  const args = [
    "credentials",
    "--role-arn",
    ROLE_ARN,
    "--endpoint-url",
    sts.url,
    "--no-cache",
  ];
  const plain = await runCli(args, cli.env);
  assertOneLineError(plain, 1, "AccessDenied");
  const debug = await runCli([...args, "--debug"], cli.env);
  assertEquals(debug.code, 1);
  const lines = debug.stderr.trimEnd().split("\n");
  assertEquals(
    lines.filter((l) => l.startsWith("brs: error: ")).length,
    1,
    debug.stderr,
  );
  assert(
    lines.filter((l) => l.startsWith("brs: debug:   caused by ")).length >= 1,
    debug.stderr,
  );
  assert(lines.every((l) => /^brs: (error|debug): /.test(l)), debug.stderr);
  assert(!/\bat .*:\d+:\d+/.test(debug.stderr), debug.stderr);
  assert(!debug.stderr.includes(sts.baseCredentials.secretAccessKey));
});
