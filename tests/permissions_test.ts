/**
 * The permission tables of guide/permissions.md, proven: the page is the one
 * source. For each row of its first table, a real program (a fixture of
 * tests/fixtures/permissions/, the README's test example, or the CLI) runs in
 * a subprocess with exactly the row's flags and must succeed, and must fail
 * without any one of them. The second table must give the flags deno.json's
 * tasks give.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { startLocalIotCredentials, startLocalSts } from "../src/testing/mod.ts";
import { mintWebIdentityToken } from "../src/testing/web_identity_token.ts";
import { HAVE_OPENSSL, makeTestPki } from "./_helpers/pki.ts";
import { HAS_OATHTOOL } from "./_helpers/tools.ts";
import { makeCliEnv, ROLE_ARN, runCli } from "./fixtures/cli/helpers.ts";

const ROOT = new URL("../", import.meta.url);
const PAGE = new URL("guide/permissions.md", ROOT);
const FIXTURES = new URL("tests/fixtures/permissions/", ROOT);
const SEED = "JBSWY3DPEHPK3PXP";
// One device per program: a code is good once, and both run in the same step.
const MFA_COMMAND_SERIAL = "arn:aws:iam::123456789012:mfa/probe-command";
const MFA_SESSION_SERIAL = "arn:aws:iam::123456789012:mfa/probe-session";

/** One row of a table: the entry point (its first code span) and its flags. */
interface Row {
  entry: string;
  flags: string[];
}

/**
 * The rows of every table of the page whose second column is one code span
 * of flags.
 */
function tables(markdown: string): Row[][] {
  const out: Row[][] = [];
  let current: Row[] | undefined;
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("|")) {
      current = undefined;
      continue;
    }
    const cells = line.slice(1, -1).split(/\s\|\s?/).map((c) => c.trim());
    if (current === undefined) {
      current = [];
      out.push(current);
      continue; // the header
    }
    if (/^-+$/.test(cells[0] ?? "")) continue;
    const entry = cells[0]?.match(/`([^`]+)`/)?.[1];
    const flags = cells[1]?.match(/^`([^`]+)`$/)?.[1];
    if (entry === undefined || flags === undefined) {
      throw new Error(`guide/permissions.md: a row without flags: ${line}`);
    }
    current.push({ entry, flags: flags.split(/\s+/) });
  }
  return out.filter((t) => t.length > 0);
}

/** What a run gave. */
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The Deno cache of this process, for the children (their HOME differs). */
async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/** Runs up to `limit` jobs at a time. */
async function pool<T>(
  jobs: (() => Promise<T>)[],
  limit: number,
): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

/** A row's test program: runs it with the given (substituted) flags. */
interface Probe {
  run(flags: string[]): Promise<Result>;
  /** Why it cannot run here, if it cannot. */
  missing?: string;
}

Deno.test("guide/permissions.md: every entry point runs with exactly its flags and fails without any one of them", async () => {
  const entryPoints = tables(await Deno.readTextFile(PAGE))[0] ?? [];
  assert(entryPoints.length > 0, "guide/permissions.md has no table");

  const home = await Deno.makeTempDir({ prefix: "brs-permissions-" });
  await using sts = await startLocalSts({
    mfaDevices: { [MFA_COMMAND_SERIAL]: SEED, [MFA_SESSION_SERIAL]: SEED },
    mfaRequiredRoles: ["arn:aws:iam::123456789012:role/admin"],
  });
  const pki = HAVE_OPENSSL ? await makeTestPki("thing-1") : undefined;
  const iot = pki === undefined ? undefined : await startLocalIotCredentials({
    sts,
    serverCertificate: pki.serverCert,
    serverKey: pki.serverKey,
    clientCaCertificates: [pki.ca],
    roleAliases: { "device-role": "arn:aws:iam::123456789012:role/device" },
  });
  const readme = new URL(
    `.readme_example_${crypto.randomUUID()}.ts`,
    FIXTURES,
  );
  try {
    await Deno.mkdir(`${home}/.aws`);
    await Deno.writeTextFile(
      `${home}/.aws/credentials`,
      `[default]\naws_access_key_id = ${sts.baseCredentials.accessKeyId}\naws_secret_access_key = ${sts.baseCredentials.secretAccessKey}\n`,
    );
    await Deno.writeTextFile(`${home}/mfa.seed`, SEED, { mode: 0o600 });
    await Deno.writeTextFile(`${home}/token`, mintWebIdentityToken());
    await Deno.writeTextFile(`${home}/ca.pem`, pki?.ca ?? "");
    // The README's test example, as a user would save and run it.
    const example = (await Deno.readTextFile(new URL("README.md", ROOT)))
      .match(/```ts\n([\s\S]*?)```/)?.[1];
    assert(example?.includes("startLocalSts"), "README's test example");
    await Deno.writeTextFile(readme, example ?? "");

    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: home,
      DENO_DIR: await denoDir(),
      NO_COLOR: "1",
    };
    const substitute = (flag: string): string =>
      flag.replaceAll("STS_HOST", "127.0.0.1")
        .replaceAll("IOT_HOST", "localhost")
        .replaceAll("$HOME", home)
        .replaceAll("TOKEN_FILE", `${home}/token`)
        .replaceAll("CERT_FILE", pki?.deviceCertFile ?? "")
        .replaceAll("KEY_FILE", pki?.deviceKeyFile ?? "")
        .replaceAll("CA_FILE", `${home}/ca.pem`);
    const program = (
      file: string | URL,
      input: unknown,
      extraEnv: Record<string, string> = {},
    ): Probe["run"] =>
    async (flags) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--no-prompt",
          ...flags.map(substitute),
          typeof file === "string"
            ? new URL(file, FIXTURES).pathname
            : file.pathname,
          JSON.stringify(input),
        ],
        cwd: ROOT.pathname,
        clearEnv: true,
        env: { ...env, ...extraEnv },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: output.code,
        stdout: new TextDecoder().decode(output.stdout),
        stderr: new TextDecoder().decode(output.stderr),
      };
    };
    const cli = (args: string[]): Probe["run"] => async (flags) => {
      // A fresh cache each time: a warm one would hide a missing flag.
      await using dir = await makeCliEnv(sts.baseCredentials, {
        DENO_DIR: env.DENO_DIR,
      });
      const result = await runCli(args, dir.env, flags.map(substitute));
      return result.code === 0 ? { ...result, stdout: "ok" } : result;
    };
    const role = ["--role-arn", ROLE_ARN, "--endpoint-url", sts.url];
    const keys = { url: sts.url, ...sts.baseCredentials };

    const probes: Record<string, Probe> = {
      "STSRefreshableSession": {
        run: program("sts_session.ts", { url: sts.url }),
      },
      "mfaTokenProvider": {
        run: program("mfa_command.ts", {
          url: sts.url,
          serial: MFA_COMMAND_SERIAL,
          seedFile: `${home}/mfa.seed`,
        }),
        missing: HAS_OATHTOOL
          ? undefined
          : "oathtool (apt-get install oathtool)",
      },
      "mfaSession": {
        run: program("mfa_session.ts", {
          url: sts.url,
          serial: MFA_SESSION_SERIAL,
          seed: SEED,
        }),
      },
      "CustomRefreshableSession": { run: program("custom_session.ts", keys) },
      "WebIdentityRefreshableSession": {
        run: program("web_identity_session.ts", { url: sts.url }, {
          AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/app",
          AWS_WEB_IDENTITY_TOKEN_FILE: `${home}/token`,
        }),
      },
      "IoTRefreshableSession": {
        run: program("iot_session.ts", {
          endpoint: iot?.url,
          certificate: pki?.deviceCertFile,
          privateKey: pki?.deviceKeyFile,
          ca: `${home}/ca.pem`,
        }),
        missing: pki === undefined ? "/usr/bin/openssl" : undefined,
      },
      "client()": { run: program("module_helpers.ts", keys) },
      "@brs/session/testing": { run: program(readme, {}) },
      "startLocalSso()": { run: program("sso_portal.ts", { home }) },
      "brs whoami": { run: cli(["whoami", ...role]) },
      "brs credentials": { run: cli(["credentials", ...role]) },
      "brs exec": { run: cli(["exec", ...role, "--", "true"]) },
      "brs exec --server": {
        run: cli(["exec", "--server", ...role, "--", "true"]),
      },
      "brs profiles": { run: cli(["profiles"]) },
      "brs clear": { run: cli(["clear", "--all"]) },
    };

    // The table and the programs name the same entry points.
    assertEquals(
      entryPoints.map((r) => r.entry).sort(),
      Object.keys(probes).sort(),
      "each row of guide/permissions.md needs a program here, and each program a row",
    );

    const jobs: (() => Promise<string | undefined>)[] = [];
    for (const row of entryPoints) {
      const probe = probes[row.entry]!;
      if (probe.missing !== undefined) {
        console.log(`${row.entry}: not run, needs ${probe.missing}`);
        continue;
      }
      jobs.push(async () => {
        const r = await probe.run(row.flags);
        return r.code === 0 &&
            (r.stdout.startsWith("ok") || row.entry === "@brs/session/testing")
          ? undefined
          : `${row.entry} failed with exactly ${
            row.flags.join(" ")
          } (exit ${r.code}): ${r.stderr.slice(0, 600)}`;
      });
      for (const drop of row.flags) {
        jobs.push(async () => {
          const r = await probe.run(row.flags.filter((f) => f !== drop));
          return r.code !== 0 ? undefined : `${row.entry} ran without ${drop}`;
        });
      }
    }
    const failures = (await pool(jobs, 3)).filter((f) => f !== undefined);
    assertEquals(failures, []);
  } finally {
    await Deno.remove(readme).catch(() => {});
    await iot?.close();
    if (pki !== undefined) await Deno.remove(pki.dir, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("guide/permissions.md: the tasks' flags are deno.json's", async () => {
  const tasks = tables(await Deno.readTextFile(PAGE))[1] ?? [];
  assert(tasks.length > 0, "guide/permissions.md has no table of tasks");
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { tasks: Record<string, string> };
  for (const row of tasks) {
    const name = row.entry.replace(/^deno task /, "");
    const command = config.tasks[name] ?? "";
    assert(command !== "", `deno.json has no task '${name}'`);
    // A task of several commands (test: parallel, then serial) repeats its flags.
    const flags = [
      ...new Set(command.split(/\s+/).filter((w) => w.startsWith("--allow-"))),
    ];
    assertEquals(flags, row.flags, `deno task ${name}`);
  }
  // Every task that runs code with permissions has a row.
  const withFlags = Object.entries(config.tasks)
    .filter(([, command]) =>
      /(^|\s)deno (run|test|bench)\s/.test(command) &&
      command.includes("--allow-")
    )
    .map(([name]) => `deno task ${name}`);
  assertEquals(withFlags.sort(), tasks.map((r) => r.entry).sort());
});
