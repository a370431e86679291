/**
 * Scenarios with real processes: P concurrent cold `cli.ts credentials
 * --format credential-process` processes (STS calls and MFA command runs), and
 * the CLI's warm wall time next to the AWS CLI v2 (Debian's `awscli`) reading
 * its own warm assume-role cache.
 *
 * @module
 */

import type { LocalSts } from "../src/testing/local_sts.ts";
import { ROLE_ARN } from "./_contenders.ts";
import { median } from "./_stats.ts";
import { debianAwsCli } from "../tests/fixtures/cli/helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const ENCODER = new TextEncoder();

/**
 * The `deno` of PATH (what `deno task` runs), so `--allow-run=deno` covers it
 * (`Deno.execPath()` may be a symlink's target that the allowlist does not name).
 */
const DENO = "deno";

/** Base32 TOTP secrets of the benchmark's MFA devices (fixtures, not secrets). */
const MFA_SECRET = "JBSWY3DPEHPK3PXP";

/** The role the CLI profiles assume; the local STS requires MFA for it. */
export const MFA_ROLE_ARN = "arn:aws:iam::123456789012:role/bench-mfa";

/** Serial of the MFA device used by the batch of `p` processes. */
export function mfaSerial(p: number): string {
  return `arn:aws:iam::123456789012:mfa/bench-p${p}`;
}

/**
 * The MFA devices the local STS must know for {@linkcode runCrossProcess}.
 *
 * @param ps The process counts.
 * @returns serial -> base32 secret.
 */
export function mfaDevices(ps: readonly number[]): Record<string, string> {
  return Object.fromEntries(ps.map((p) => [mfaSerial(p), MFA_SECRET]));
}

/**
 * A counting MFA command: appends a line to a file, prints the TOTP code of
 * the seed it reads on stdin (brs feeds it from mfa_stdin_file).
 */
const MFA_SCRIPT = `#!/usr/bin/python3
# Benchmark MFA command: counts its runs, prints the RFC 6238 code.
import base64, hashlib, hmac, struct, sys, time
secret, count_file = sys.stdin.read().strip(), sys.argv[1]
with open(count_file, "a") as f:
    f.write("run\\n")
key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time() // 30)), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
`;

/** One row of the cross-process scenario. */
export interface CrossProcessRow {
  /** Processes started together. */
  p: number;
  /** AssumeRole calls that reached STS. */
  stsCalls: number;
  /** Runs of the MFA command. */
  mfaRuns: number;
  /** Processes that exited 0 with credentials. */
  ok: number;
  /** Wall time of the whole batch, ms. */
  wallMs: number;
  /** First error line of a failed process, if any. */
  firstError?: string;
}

/** Result of the warm comparison. */
export interface WarmCliResult {
  /** Median wall time of our CLI, warm (ms); undefined if it failed. */
  oursMs?: number;
  /** Median wall time of `aws configure export-credentials`, warm (ms). */
  awsMs?: number;
  /** AWS CLI version line, or why it was skipped. */
  awsNote: string;
  /** STS calls made during our warm runs (0 expected). */
  oursStsCalls: number;
  /** Runs per side. */
  runs: number;
  /** A note when our CLI failed. */
  oursNote?: string;
}

/** A temporary workspace with config files and the MFA script. */
export interface CliWorkspace {
  /** The directory. */
  dir: string;
  /** The `deno run` permission flags given to the CLI. */
  flags: string[];
  /** Environment of a CLI process for the batch of `p` processes. */
  env(p: number): Record<string, string>;
  /** MFA runs so far for the batch of `p`. */
  mfaRuns(p: number): Promise<number>;
}

/**
 * Writes the CLI's TOML config (one profile per batch, each with its own MFA
 * device), the counting MFA script and empty AWS config files.
 *
 * @param sts The local STS.
 * @param dir A fresh temporary directory.
 * @param ps The batches.
 * @returns The workspace.
 */
export async function prepareCliWorkspace(
  sts: LocalSts,
  dir: string,
  ps: readonly number[],
): Promise<CliWorkspace> {
  const script = `${dir}/mfa_count.py`;
  await Deno.writeTextFile(script, MFA_SCRIPT, { mode: 0o755 });
  await Deno.chmod(script, 0o755);
  const seedFile = `${dir}/mfa.seed`;
  await Deno.writeTextFile(seedFile, MFA_SECRET, { mode: 0o600 });
  const toml = ps.map((p) =>
    [
      `[bench-p${p}]`,
      `role_arn = "${MFA_ROLE_ARN}"`,
      `role_session_name = "bench-cli"`,
      `serial_number = "${mfaSerial(p)}"`,
      `mfa_command = ["${script}", "${dir}/mfa-runs-p${p}"]`,
      `mfa_stdin_file = "${seedFile}"`,
      `allowed_commands = ["${script}"]`,
      `region = "us-east-1"`,
      `endpoint_url = "${sts.url}"`,
      `duration_seconds = 3600`,
      "",
    ].join("\n")
  ).join("\n");
  await Deno.writeTextFile(`${dir}/config.toml`, toml);
  await Deno.writeTextFile(`${dir}/aws-config`, "");
  await Deno.writeTextFile(`${dir}/aws-credentials`, "");
  const home = Deno.env.get("HOME") ?? "/root";
  const denoDir = Deno.env.get("DENO_DIR") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/deno`;
  const flags = [
    "--quiet",
    "--no-prompt",
    "--allow-net=127.0.0.1",
    "--allow-env",
    `--allow-read`,
    `--allow-write=${dir}`,
    `--allow-run=${script}`,
    "--allow-sys=osRelease,homedir",
  ];
  return {
    dir,
    flags,
    env: (p) => ({
      HOME: dir,
      DENO_DIR: denoDir,
      XDG_CACHE_HOME: `${dir}/cache-p${p}`,
      XDG_CONFIG_HOME: `${dir}/xdg-config`,
      BRS_CONFIG_FILE: `${dir}/config.toml`,
      BRS_PROFILE: `bench-p${p}`,
      AWS_ACCESS_KEY_ID: sts.baseCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: sts.baseCredentials.secretAccessKey,
      AWS_CONFIG_FILE: `${dir}/aws-config`,
      AWS_SHARED_CREDENTIALS_FILE: `${dir}/aws-credentials`,
      AWS_EC2_METADATA_DISABLED: "true",
      NO_COLOR: "1",
    }),
    mfaRuns: async (p) => {
      try {
        const text = await Deno.readTextFile(`${dir}/mfa-runs-p${p}`);
        return text.split("\n").filter((l) => l !== "").length;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return 0;
        throw error;
      }
    },
  };
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

async function runCli(
  ws: CliWorkspace,
  p: number,
  args: string[],
): Promise<RunResult> {
  const t0 = performance.now();
  const out = await new Deno.Command(DENO, {
    args: ["run", ...ws.flags, `${ROOT}/cli.ts`, ...args],
    cwd: ROOT,
    env: ws.env(p),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms,
  };
}

/** Whether cli.ts exists (the CLI issue may not be done yet). */
export async function cliAvailable(): Promise<boolean> {
  try {
    await Deno.stat(`${ROOT}/cli.ts`);
    await Deno.stat(`${ROOT}/src/cli/main.ts`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Warms Deno's module cache for cli.ts (one `--version` run, not measured).
 *
 * @param ws The workspace.
 * @returns The exit code.
 */
export async function warmUpCli(ws: CliWorkspace): Promise<number> {
  return (await runCli(ws, 0, ["--version"])).code;
}

/**
 * Starts `p` cold CLI processes together (fresh cache directory, fresh MFA
 * device) and counts STS calls and MFA command runs.
 *
 * @param sts The local STS.
 * @param ws The workspace.
 * @param p Processes.
 * @returns The row.
 */
export async function runCrossProcess(
  sts: LocalSts,
  ws: CliWorkspace,
  p: number,
): Promise<CrossProcessRow> {
  const before = sts.calls.AssumeRole;
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from(
      { length: p },
      () => runCli(ws, p, ["credentials", "--format", "credential-process"]),
    ),
  );
  const wallMs = performance.now() - t0;
  const ok =
    results.filter((r) => r.code === 0 && r.stdout.includes('"AccessKeyId"'))
      .length;
  const failed = results.find((r) => r.code !== 0);
  return {
    p,
    stsCalls: sts.calls.AssumeRole - before,
    mfaRuns: await ws.mfaRuns(p),
    ok,
    wallMs,
    ...(failed === undefined
      ? {}
      : { firstError: failed.stderr.split("\n")[0]?.slice(0, 200) ?? "" }),
  };
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", ENCODER.encode(text));
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * Median wall time of `runs` warm `cli.ts credentials --format
 * credential-process` runs (the batch of `p`'s cache) and of `runs` `aws
 * configure export-credentials --format process` runs reading the AWS CLI's
 * own warm assume-role cache (`~/.aws/cli/cache/<sha1 of {"RoleArn": ...}>.json`,
 * the key botocore computes). The AWS CLI gets a proxy on a closed loopback
 * port, so a cache miss could never leave the machine; a miss is reported.
 *
 * @param sts The local STS.
 * @param ws The workspace (with a warm cache for batch `p`).
 * @param p The warm batch.
 * @param runs Runs per side.
 * @returns Medians and notes.
 */
export async function runWarmCli(
  sts: LocalSts,
  ws: CliWorkspace,
  p: number,
  runs: number,
): Promise<WarmCliResult> {
  const before = sts.calls.AssumeRole;
  const ours: number[] = [];
  let oursNote: string | undefined;
  for (let i = 0; i < runs; i++) {
    const r = await runCli(ws, p, [
      "credentials",
      "--format",
      "credential-process",
    ]);
    if (r.code !== 0) {
      oursNote = `cli.ts exited ${r.code}: ${r.stderr.split("\n")[0] ?? ""}`;
      break;
    }
    ours.push(r.ms);
  }
  const oursStsCalls = sts.calls.AssumeRole - before;
  const result: WarmCliResult = {
    ...(ours.length === runs ? { oursMs: median(ours) } : {}),
    ...(oursNote === undefined ? {} : { oursNote }),
    oursStsCalls,
    runs,
    awsNote: "",
  };
  const aws = await debianAwsCli();
  if (aws === undefined) {
    result.awsNote =
      "skipped: Debian's awscli is not installed (apt-get install -y awscli)";
    return result;
  }
  const home = `${ws.dir}/aws-home`;
  await Deno.mkdir(`${home}/.aws/cli/cache`, { recursive: true });
  await Deno.writeTextFile(
    `${home}/.aws/config`,
    `[profile bench]\nrole_arn = ${ROLE_ARN}\nsource_profile = base\nregion = us-east-1\n`,
  );
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    `[base]\naws_access_key_id = ${sts.baseCredentials.accessKeyId}\naws_secret_access_key = ${sts.baseCredentials.secretAccessKey}\n`,
  );
  const key = await sha1Hex(
    JSON.stringify({ RoleArn: ROLE_ARN }).replace(
      '":"',
      '": "',
    ),
  );
  const cachedKey = "ASIABENCHAWSCLIWARM1";
  await Deno.writeTextFile(
    `${home}/.aws/cli/cache/${key}.json`,
    JSON.stringify({
      Credentials: {
        AccessKeyId: cachedKey,
        SecretAccessKey: "bench-cached-secret",
        SessionToken: "bench-cached-token",
        Expiration: new Date(Date.now() + 3600_000).toISOString().replace(
          /\.\d+Z$/,
          "Z",
        ),
      },
      AssumedRoleUser: {
        AssumedRoleId: "AROABENCH:botocore-session-1",
        Arn: "arn:aws:sts::123456789012:assumed-role/bench/botocore-session-1",
      },
    }),
  );
  const env = {
    HOME: home,
    AWS_PROFILE: "bench",
    AWS_CONFIG_FILE: `${home}/.aws/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/.aws/credentials`,
    AWS_EC2_METADATA_DISABLED: "true",
    HTTPS_PROXY: "http://127.0.0.1:9",
    HTTP_PROXY: "http://127.0.0.1:9",
    https_proxy: "http://127.0.0.1:9",
    http_proxy: "http://127.0.0.1:9",
    NO_PROXY: "",
    AWS_PAGER: "",
  };
  const awsRuns: number[] = [];
  let version = "";
  try {
    const v = await new Deno.Command(aws, {
      args: ["--version"],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    version = new TextDecoder().decode(v.stdout).trim().split(" ")[0] ?? "";
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const out = await new Deno.Command(aws, {
        args: ["configure", "export-credentials", "--format", "process"],
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const ms = performance.now() - t0;
      const text = new TextDecoder().decode(out.stdout);
      if (!out.success || !text.includes(cachedKey)) {
        result.awsNote = `${aws} (${version}) did not read its warm cache: ${
          new TextDecoder().decode(out.stderr).split("\n").filter((l) => l)
            .at(-1) ?? `exit ${out.code}`
        }`;
        return result;
      }
      awsRuns.push(ms);
    }
  } catch (error) {
    result.awsNote = `skipped: ${aws} failed to run: ${String(error)}`;
    return result;
  }
  result.awsMs = median(awsRuns);
  result.awsNote =
    `${aws} (${version}), \`aws configure export-credentials --format process\`, role profile with a warm ~/.aws/cli/cache entry`;
  return result;
}
