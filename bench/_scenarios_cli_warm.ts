/**
 * Warm `credential_process` for every profile kind: a TOML profile, a role
 * profile of `~/.aws/config` (base: the environment), `--role-arn`, a role
 * whose source profile has static keys, a role whose source profile runs a
 * `credential_process`, and an SSO profile (against the local SSO portal),
 * each a whole `deno run cli.ts credentials --format credential-process`
 * process on a warm file cache, run round-robin with `deno run` of an empty
 * script (Deno's own start, the floor) so that all see the same machine
 * load. Before measuring, one `--debug` run per kind checks that the
 * credentials come from the cache and that no AWS SDK module is loaded.
 *
 * @module
 */

import type { LocalSts } from "../src/testing/local_sts.ts";
import { startLocalSso } from "../src/testing/local_sso.ts";
import { markdownTable } from "./_table.ts";
import { median } from "./_stats.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const ROLE = "arn:aws:iam::123456789012:role/bench-cli-kinds";
const FLAGS = [
  "--quiet",
  "--allow-net=127.0.0.1",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-sys=osRelease,homedir",
];

/** The profile kinds. */
export const WARM_KINDS = [
  "toml",
  "aws-config",
  "role-arn",
  "static-key-source",
  "process",
  "sso",
] as const;

/** One kind's figures. */
export interface WarmKindRow {
  /** The kind. */
  kind: typeof WARM_KINDS[number];
  /** The arguments after `credentials`. */
  args: string[];
  /** Median wall time (ms), if every run succeeded. */
  medianMs?: number;
  /** Whether the check run loaded the AWS SDK (false expected). */
  sdkLoaded: boolean;
  /** Why the kind failed, if it did. */
  note?: string;
}

/** The scenario's result. */
export interface WarmKindsResult {
  /** Runs per kind. */
  runs: number;
  /** One row per kind. */
  rows: WarmKindRow[];
  /** Median of `deno run` of an empty script in the same round-robin (ms). */
  emptyMs?: number;
}

/**
 * Runs the scenario.
 *
 * @param sts The local STS (base keys, no MFA for this role).
 * @param dir A private temporary directory.
 * @param runs Measured runs per kind.
 * @param processEnv The environment of the other CLI scenarios (DENO_DIR, base keys).
 * @returns The figures.
 */
export async function runWarmProfileKinds(
  sts: LocalSts,
  dir: string,
  runs: number,
  processEnv: Record<string, string>,
): Promise<WarmKindsResult> {
  await Deno.mkdir(`${dir}/kinds`, { recursive: true });
  const base = `${dir}/kinds`;
  await using sso = await startLocalSso({
    sts,
    accounts: { [sts.accountId]: ["Bench"] },
  });
  await Deno.writeTextFile(
    `${base}/config.toml`,
    `[kind-toml]\nrole_arn = "${ROLE}"\nrole_session_name = "kind-toml"\nendpoint_url = "${sts.url}"\nregion = "us-east-1"\n`,
  );
  await Deno.writeTextFile(
    `${base}/aws_config`,
    `[default]\nregion = us-east-1\n\n[profile kind-aws]\nrole_arn = ${ROLE}\ncredential_source = Environment\nrole_session_name = kind-aws\nendpoint_url = ${sts.url}\nregion = us-east-1\n\n` +
      `[profile kind-keys]\nrole_arn = ${ROLE}\nsource_profile = keys\nrole_session_name = kind-keys\nendpoint_url = ${sts.url}\n\n` +
      `[profile kind-process]\nrole_arn = ${ROLE}\nsource_profile = proc\nrole_session_name = kind-process\nendpoint_url = ${sts.url}\n\n` +
      `[profile proc]\ncredential_process = cat ${base}/process.json\n\n` +
      `[profile kind-sso]\nsso_session = bench\nsso_account_id = ${sts.accountId}\nsso_role_name = Bench\n\n` +
      `[sso-session bench]\nsso_start_url = ${sso.startUrl}\nsso_region = ${sso.region}\n`,
  );
  await Deno.writeTextFile(
    `${base}/aws_credentials`,
    `[keys]\naws_access_key_id = ${sts.baseCredentials.accessKeyId}\naws_secret_access_key = ${sts.baseCredentials.secretAccessKey}\n`,
  );
  await Deno.writeTextFile(
    `${base}/process.json`,
    JSON.stringify({
      Version: 1,
      AccessKeyId: sts.baseCredentials.accessKeyId,
      SecretAccessKey: sts.baseCredentials.secretAccessKey,
    }),
    { mode: 0o600 },
  );
  await Deno.writeTextFile(`${base}/empty.ts`, "");
  await sso.login({ home: base, sessionName: "bench" });
  const { BRS_PROFILE: _, ...inherited } = processEnv;
  const env: Record<string, string> = {
    ...inherited,
    XDG_CACHE_HOME: `${base}/cache`,
    BRS_CONFIG_FILE: `${base}/config.toml`,
    AWS_CONFIG_FILE: `${base}/aws_config`,
    AWS_SHARED_CREDENTIALS_FILE: `${base}/aws_credentials`,
    AWS_REGION: "us-east-1",
    // the SSO token cache of the kind-sso profile; Deno's cache stays put
    HOME: base,
    DENO_DIR: inherited.DENO_DIR ||
      `${Deno.env.get("HOME") ?? ""}/.cache/deno`,
    AWS_ENDPOINT_URL_SSO: sso.url,
  };
  const kinds: Record<WarmKindRow["kind"], string[]> = {
    "toml": ["--profile", "kind-toml"],
    "aws-config": ["--profile", "kind-aws"],
    "role-arn": [
      "--role-arn",
      ROLE,
      "--role-session-name",
      "kind-role-arn",
      "--endpoint-url",
      sts.url,
    ],
    "static-key-source": ["--profile", "kind-keys"],
    "process": ["--profile", "kind-process"],
    "sso": ["--profile", "kind-sso"],
  };
  const run = async (
    args: string[],
  ): Promise<{ ms: number; out: Deno.CommandOutput }> => {
    const t0 = performance.now();
    const out = await new Deno.Command("deno", {
      args: [
        "run",
        ...FLAGS,
        `${ROOT}/cli.ts`,
        "credentials",
        ...args,
        "--format",
        "credential-process",
      ],
      cwd: ROOT,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { ms: performance.now() - t0, out };
  };
  const rows: WarmKindRow[] = [];
  for (const kind of WARM_KINDS) {
    const args = kinds[kind];
    await run(args); // cold: fills the cache
    const check = await run([...args, "--debug"]);
    const stderr = new TextDecoder().decode(check.out.stderr);
    rows.push({
      kind,
      args,
      sdkLoaded: stderr.includes("loading the AWS SDK"),
      ...(check.out.success && stderr.includes("from cache") ? {} : {
        note: stderr.split("\n").find((l) => l.includes("error")) ??
          `exit ${check.out.code}`,
      }),
    });
  }
  const times = new Map<string, number[]>(WARM_KINDS.map((k) => [k, []]));
  const empty: number[] = [];
  const runEmpty = async (): Promise<void> => {
    const t0 = performance.now();
    const out = await new Deno.Command("deno", {
      args: ["run", "--quiet", `${base}/empty.ts`],
      cwd: ROOT,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    if (out.success) empty.push(performance.now() - t0);
  };
  await runEmpty();
  empty.length = 0;
  for (let i = 0; i < runs; i++) {
    await runEmpty();
    for (const row of rows) {
      if (row.note !== undefined) continue;
      const r = await run(row.args);
      if (!r.out.success) {
        row.note = `exit ${r.out.code}`;
        continue;
      }
      times.get(row.kind)!.push(r.ms);
    }
  }
  for (const row of rows) {
    const t = times.get(row.kind)!;
    if (row.note === undefined && t.length === runs) row.medianMs = median(t);
  }
  return {
    runs,
    rows,
    ...(empty.length === runs ? { emptyMs: median(empty) } : {}),
  };
}

/**
 * The report section: one row per kind, its ratio to `--role-arn` and to
 * the AWS CLI's warm `export-credentials` of the same run.
 *
 * @param result The figures, or why they are missing.
 * @param awsMs The AWS CLI's median in the same run, if measured.
 * @returns Markdown lines.
 */
export function warmKindsMarkdown(
  result: WarmKindsResult | string | undefined,
  awsMs: number | undefined,
): string[] {
  const L = ["## Warm `credential_process` per profile kind", ""];
  if (result === undefined || typeof result === "string") {
    return [...L, `Not measured: ${result ?? "not run"}.`, ""];
  }
  const roleArn = result.rows.find((r) => r.kind === "role-arn")?.medianMs;
  L.push(
    markdownTable({
      header: [
        "profile kind",
        `median of ${result.runs} runs (ms)`,
        "vs `deno run` of an empty script",
        "vs --role-arn",
        "AWS CLI is x slower",
        "AWS SDK loaded",
        "notes",
      ],
      rows: result.rows.map((r) => [
        `\`${r.kind}\` (\`${r.args.slice(0, 2).join(" ")}\`)`,
        r.medianMs === undefined ? "-" : r.medianMs.toFixed(0),
        r.medianMs === undefined || result.emptyMs === undefined
          ? "-"
          : `${(r.medianMs / result.emptyMs).toFixed(2)}x`,
        r.medianMs === undefined || roleArn === undefined
          ? "-"
          : `${(r.medianMs / roleArn).toFixed(2)}x`,
        r.medianMs === undefined || awsMs === undefined
          ? "-"
          : `${(awsMs / r.medianMs).toFixed(1)}x`,
        r.sdkLoaded ? "yes" : "no",
        r.note ?? "",
      ]),
    }),
    "",
    `\`deno run\` of an empty script, in the same round-robin: ${
      result.emptyMs === undefined ? "-" : result.emptyMs.toFixed(0)
    } ms (Deno's own start: the floor).`,
    "",
    "Whole processes (spawn to exit), run round-robin; targets: every kind within 1.25x of `deno run` of an empty script, within 1.2x of `--role-arn`, and at least 15x faster than `aws configure export-credentials` (previous section), with no AWS SDK module loaded.",
    "",
  );
  return L;
}
