/**
 * Secret scan: every CLI command (spawned with narrow
 * flags, with and without `--debug`), the error paths of the hostile suite,
 * and the session's events, errors and inspect output are collected and
 * scanned for every secret handed out: the local STS base secret, every
 * issued secret key and session token, MFA codes and the TOTP seed.
 *
 * The one place secrets are printed on purpose is the stdout of
 * `credentials` (all formats): it is read for the secrets, not scanned.
 */

import { assert, assertEquals } from "@std/assert";
import { BRSError, STSRefreshableSession } from "../mod.ts";
import { startLocalSts, totp } from "../src/testing/mod.ts";
import { makeCliEnv, runCli } from "./fixtures/cli/helpers.ts";
import { HOSTILE_MODES, startHostileSts } from "./_helpers/hostile_sts.ts";
import { findSecrets } from "./_helpers/scan.ts";
import { HAS_OATHTOOL, NEEDS_OATHTOOL } from "./_helpers/tools.ts";

const ACCOUNT = "123456789012";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/scan`;
const MFA_ROLE = `arn:aws:iam::${ACCOUNT}:role/scan-mfa`;
const SERIAL = `arn:aws:iam::${ACCOUNT}:mfa/scanner`;
const SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const HOSTILE = new URL("./fixtures/hostile/", import.meta.url).pathname;

interface Collected {
  /** Where the text came from. */
  label: string;
  /** The text. */
  text: string;
}

/** Secrets found in cache files and in `credentials` output. */
function secretsOfJson(text: string, into: Set<string>): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return;
  }
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (
        typeof x === "string" &&
        /secret|token/i.test(k) && x.length >= 8
      ) into.add(x);
      walk(x);
    }
  };
  walk(value);
}

function secretsOfEnv(text: string, into: Set<string>): void {
  for (
    const m of text.matchAll(
      /AWS_(?:SECRET_ACCESS_KEY|SESSION_TOKEN)=['"]?([^'"\s]+)/g,
    )
  ) {
    into.add(m[1]!);
  }
}

async function secretsOfCache(dir: string, into: Set<string>): Promise<void> {
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".json")) {
        secretsOfJson(await Deno.readTextFile(`${dir}/${e.name}`), into);
      }
    }
  } catch {
    // no cache yet
  }
}

/** MFA codes of the seed around now (previous, current and next step). */
function codesAround(seed: string): string[] {
  const now = Date.now();
  return [-60_000, -30_000, 0, 30_000, 60_000].map((d) => totp(seed, now + d));
}

/** Digit-bounded hits of 6-digit codes (a code may also occur by chance in longer numbers). */
function codeHits(texts: Collected[], codes: string[]): string[] {
  const hits: string[] = [];
  for (const { label, text } of texts) {
    for (const code of codes) {
      if (new RegExp(`(?<![0-9])${code}(?![0-9])`).test(text)) {
        hits.push(`${label}: MFA code ${code.slice(0, 2)}****`);
      }
    }
  }
  return hits;
}

Deno.test("no CLI command, error path, event, error or inspect output leaks a secret (also with --debug)", async (t) => {
  await using sts = await startLocalSts({
    accountId: ACCOUNT,
    mfaDevices: Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`${SERIAL}-${i}`, SEED]).concat([[
        SERIAL,
        SEED,
      ]]),
    ),
    mfaRequiredRoles: [MFA_ROLE],
  });
  await using hostile = await startHostileSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const cacheDir = `${cli.env.XDG_CACHE_HOME}/brs`;
  const secrets = new Set<string>([sts.baseCredentials.secretAccessKey, SEED]);
  const collected: Collected[] = [];
  const codes = new Set<string>(["731946"]);
  let runs = 0;

  async function cli_(
    label: string,
    args: string[],
    stdoutHasSecrets = false,
  ): Promise<number> {
    const started = performance.now();
    const result = await runCli(args, cli.env);
    if (Deno.env.get("BRS_SCAN_TIMES")) {
      console.log(label, Math.round(performance.now() - started), result.code);
    }
    runs++;
    collected.push({ label: `${label} stderr`, text: result.stderr });
    if (stdoutHasSecrets) {
      secretsOfJson(result.stdout, secrets);
      secretsOfEnv(result.stdout, secrets);
    } else {
      collected.push({ label: `${label} stdout`, text: result.stdout });
    }
    await secretsOfCache(cacheDir, secrets);
    for (const c of codesAround(SEED)) codes.add(c);
    return result.code;
  }

  const base = ["--role-arn", ROLE, "--endpoint-url", sts.url];
  const failing = `${HOSTILE}code_then_fail.sh`;
  await Deno.writeTextFile(
    `${cli.dir}/allow.toml`,
    `[failing]
role_arn = "${MFA_ROLE}"
serial_number = "${SERIAL}"
endpoint_url = "${sts.url}"
mfa_command = ["${failing}", "731946"]
allowed_commands = ["${failing}"]
`,
  );
  // A device of its own per MFA run: a TOTP code is good once per 30 s step.
  let device = 0;
  const mfa = (): string[] => [
    "--role-arn",
    MFA_ROLE,
    "--endpoint-url",
    sts.url,
    "--serial-number",
    `${SERIAL}-${device++}`,
    "--mfa-command",
    `oathtool --totp -b ${SEED}`,
  ];
  for (const debug of [[], ["--debug"]]) {
    const d = debug.length > 0 ? " --debug" : "";
    assertEquals(
      await cli_(`credentials json${d}`, [
        "credentials",
        "--format",
        "json",
        ...base,
        ...debug,
      ], true),
      0,
    );
    assertEquals(
      await cli_(`credentials env${d}`, [
        "credentials",
        "--format",
        "env",
        ...base,
        ...debug,
      ], true),
      0,
    );
    assertEquals(
      await cli_(`credentials credential-process${d}`, [
        "credentials",
        "--format",
        "credential-process",
        ...base,
        ...debug,
      ], true),
      0,
    );
    assertEquals(await cli_(`whoami${d}`, ["whoami", ...base, ...debug]), 0);
    assertEquals(
      await cli_(`whoami --json${d}`, ["whoami", "--json", ...base, ...debug]),
      0,
    );
    assertEquals(
      await cli_(`whoami no-cache${d}`, [
        "whoami",
        "--no-cache",
        ...base,
        ...debug,
      ]),
      0,
    );
    assertEquals(
      await cli_(`exec${d}`, ["exec", ...base, ...debug, "--", "true"]),
      0,
    );
    assertEquals(
      await cli_(`exec --server${d}`, [
        "exec",
        "--server",
        ...base,
        ...debug,
        "--",
        "true",
      ]),
      0,
    );
    assertEquals(await cli_(`profiles${d}`, ["profiles", ...debug]), 0);
    // MFA: the command runs, its code is sent; nothing prints it.
    await t.step({
      name: `MFA through oathtool${d}${HAS_OATHTOOL ? "" : NEEDS_OATHTOOL}`,
      ignore: !HAS_OATHTOOL,
      fn: async () => {
        assertEquals(
          await cli_(`credentials mfa${d}`, [
            "credentials",
            "--no-cache",
            ...mfa(),
            ...debug,
          ], true),
          0,
        );
        assertEquals(
          await cli_(`whoami mfa${d}`, [
            "whoami",
            "--no-cache",
            ...mfa(),
            ...debug,
          ]),
          0,
        );
      },
    });

    // Error paths.
    sts.injectFault({ kind: "access-denied", times: 1 });
    assertEquals(
      await cli_(`access-denied${d}`, [
        "whoami",
        "--no-cache",
        ...base,
        ...debug,
      ]),
      1,
    );
    sts.injectFault({ kind: "malformed", times: 1 });
    assert(
      [1, 2].includes(
        await cli_(`malformed${d}`, [
          "whoami",
          "--no-cache",
          ...base,
          ...debug,
        ]),
      ),
    );
    sts.injectFault({ kind: "throttle" });
    assertEquals(
      await cli_(`throttle${d}`, ["whoami", "--no-cache", ...base, ...debug]),
      1,
    );
    sts.clearFaults();
    assertEquals(
      await cli_(`mfa fails after printing a code${d}`, [
        "whoami",
        "--no-cache",
        "--config",
        `${cli.dir}/allow.toml`,
        "--profile",
        "failing",
        ...debug,
      ]),
      2,
    );
    assertEquals(
      await cli_(`mfa not allowed${d}`, [
        "whoami",
        "--no-cache",
        ...mfa().slice(0, -2),
        "--mfa-command",
        "/bin/echo 731946",
        ...debug,
      ]),
      2,
    );
    for (
      const mode of HOSTILE_MODES.filter((m) =>
        m !== "slow-drip" && m !== "huge-body"
      )
    ) {
      hostile.mode = mode;
      await cli_(`hostile ${mode}${d}`, [
        "whoami",
        "--no-cache",
        "--role-arn",
        ROLE,
        "--endpoint-url",
        hostile.url,
        ...debug,
      ]);
    }
  }
  for (const s of hostile.secrets) secrets.add(s);

  // In-process: the session's events, errors and inspect output.
  const events: string[] = [];
  const issued: string[] = [];
  // One MFA refresh (a code is good once per step), then faults without MFA.
  {
    await using mfaSession = new STSRefreshableSession({
      assumeRole: {
        RoleArn: MFA_ROLE,
        SerialNumber: SERIAL,
        DurationSeconds: 900,
      },
      stsClientConfig: {
        endpoint: sts.url,
        region: "us-east-1",
        credentials: sts.baseCredentials,
        maxAttempts: 1,
      },
      mfaTokenProvider: () => {
        const code = totp(SEED);
        codes.add(code);
        return code;
      },
      region: "us-east-1",
    });
    mfaSession.addEventListener("refresh", (event) => {
      events.push(
        `mfa refresh: ${
          Deno.inspect((event as CustomEvent).detail, { depth: 8 })
        }`,
      );
    });
    const c = await mfaSession.refreshableCredentials();
    issued.push(c.secretKey, c.token);
    collected.push({
      label: "mfa session inspect",
      text: Deno.inspect(mfaSession, { depth: 8 }),
    });
  }
  await using session = new STSRefreshableSession({
    assumeRole: { RoleArn: ROLE, DurationSeconds: 900 },
    stsClientConfig: {
      endpoint: sts.url,
      region: "us-east-1",
      credentials: sts.baseCredentials,
      maxAttempts: 1,
    },
    region: "us-east-1",
  });
  for (const type of ["refresh", "refresh-error", "warning"]) {
    session.addEventListener(type, (event) => {
      const detail = (event as CustomEvent).detail;
      events.push(
        `${type}: ${Deno.inspect(detail, { depth: 8 })} ${
          JSON.stringify(detail)
        }`,
      );
    });
  }
  const first = await session.refreshableCredentials();
  issued.push(first.secretKey, first.token);
  const provider = await session.credentialProvider();
  issued.push(provider.secretAccessKey, provider.sessionToken ?? "");
  for (
    const kind of [
      "access-denied",
      "server-error",
      "malformed",
      "expired-token",
    ] as const
  ) {
    sts.injectFault({ kind, times: 1 });
    try {
      const c = await session.refresh({ force: true });
      issued.push(c.secretKey, c.token);
    } catch (error) {
      if (!(error instanceof BRSError)) throw error;
      collected.push({
        label: `refresh ${kind} error`,
        text: `${error.message}\n${Deno.inspect(error, { depth: 8 })}\n${
          JSON.stringify(error)
        }\n${String(error)}`,
      });
    }
  }
  sts.clearFaults();
  try {
    const again = await session.refresh({ force: true });
    issued.push(again.secretKey, again.token);
  } catch (error) {
    if (!(error instanceof BRSError)) throw error;
    collected.push({
      label: "last refresh error",
      text: Deno.inspect(error, { depth: 8 }),
    });
  }
  const me = await session.whoami();
  collected.push({ label: "whoami", text: JSON.stringify(me) });
  collected.push({
    label: "session inspect",
    text: Deno.inspect(session, { depth: 8 }),
  });
  collected.push({ label: "session JSON", text: JSON.stringify(session) });
  collected.push({ label: "session String", text: String(session) });
  collected.push({ label: "events", text: events.join("\n") });
  for (const s of issued) secrets.add(s);

  const all = [...secrets].filter((s) => s.length >= 8);
  assert(
    all.length >= 10,
    `too few secrets collected to mean anything: ${all.length}`,
  );
  const hits = findSecrets(collected.map((c) => c.text), all)
    .map((h) => `${collected[h.text]!.label}: ${h.secretPrefix}...`);
  hits.push(...codeHits(collected, [...codes]));
  console.log(
    `secret scan: ${runs} CLI runs, ${collected.length} texts, ${all.length} secrets and ${codes.size} MFA codes, ${hits.length} hits`,
  );
  assertEquals(hits, [], "secrets leaked");
});
