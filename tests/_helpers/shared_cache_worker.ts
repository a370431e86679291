/**
 * A worker process of one service for the `sharedCache` tests and benchmark:
 * it creates an `STSRefreshableSession` against the local STS and asks for
 * credentials, once or for a while, then prints one JSON line (key prefixes,
 * event codes; never a secret).
 *
 * Arguments: `DIRECTORY|off|default SECONDS`. `SECONDS` 0: one
 * `refreshableCredentials()` plus one `whoami()`; else a call every 20 ms for
 * that long. Environment: `BRS_SC_URL` (the STS endpoint), `BRS_SC_KEY_ID`
 * and `BRS_SC_SECRET` (the base key), `BRS_SC_ROLE` (the role ARN).
 *
 * @module
 */

import { STSRefreshableSession, type WarningEventDetail } from "../../mod.ts";

/** What a worker prints. */
export interface SharedCacheWorkerReport {
  /** Distinct access key prefixes it was handed, in order. */
  prefixes: string[];
  /** Its `refresh` events. */
  refreshes: number;
  /** Codes of its `warning` events. */
  warnings: string[];
  /** Messages of its `warning` events. */
  warningMessages: string[];
  /** The assumed role's ARN from `whoami()` (SECONDS 0 only). */
  arn?: string;
  /** A failure, if any: the error's name and message. */
  error?: string;
}

/** Options of {@linkcode runSharedCacheWorkers}. */
export interface RunWorkersOptions {
  /** Worker processes started together. */
  processes: number;
  /** The cache directory, `"default"` (`sharedCache: true`) or `"off"` (no `sharedCache`). */
  directory: string;
  /** 0: one call each; else how long each runs. @default {0} */
  seconds?: number;
  /** Deno flags of the workers. @default {the narrowest that work, see below} */
  flags?: string[];
  /** Extra environment of the workers. */
  env?: Record<string, string>;
}

/** The narrow flags a worker needs: loopback, its variables, and the cache directory. */
export function workerFlags(directory: string): string[] {
  const dir = directory === "off" || directory === "default"
    ? []
    : [`--allow-read=${directory}`, `--allow-write=${directory}`];
  return [
    "--allow-net=127.0.0.1",
    "--allow-env", // the AWS SDK reads many variables
    "--allow-sys=osRelease",
    ...dir,
  ];
}

/**
 * Starts `processes` workers together against one local STS and collects
 * their reports.
 *
 * @param sts The endpoint's URL and base key.
 * @param role The role ARN.
 * @param options Processes, directory, duration and flags.
 * @returns One report per worker (a failed one carries `error`).
 */
export async function runSharedCacheWorkers(
  sts: {
    url: string;
    baseCredentials: { accessKeyId: string; secretAccessKey: string };
  },
  role: string,
  options: RunWorkersOptions,
): Promise<SharedCacheWorkerReport[]> {
  const script = new URL(import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const runs = Array.from({ length: options.processes }, async () => {
    const out = await new Deno.Command("deno", {
      args: [
        "run",
        "--no-prompt",
        `--config=${config}`,
        ...(options.flags ?? workerFlags(options.directory)),
        script,
        options.directory,
        String(options.seconds ?? 0),
      ],
      env: {
        BRS_SC_URL: sts.url,
        BRS_SC_KEY_ID: sts.baseCredentials.accessKeyId,
        BRS_SC_SECRET: sts.baseCredentials.secretAccessKey,
        BRS_SC_ROLE: role,
        ...options.env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim().split("\n")
      .at(-1) ?? "";
    try {
      return JSON.parse(stdout) as SharedCacheWorkerReport;
    } catch {
      return {
        prefixes: [],
        refreshes: 0,
        warnings: [],
        warningMessages: [],
        error: `exit ${out.code}: ${
          new TextDecoder().decode(out.stderr).split("\n").slice(0, 3).join(
            " | ",
          )
        }`,
      };
    }
  });
  return await Promise.all(runs);
}

if (import.meta.main) {
  const [where = "off", seconds = "0"] = Deno.args;
  const env = (name: string): string => Deno.env.get(name) ?? "";
  const report: SharedCacheWorkerReport = {
    prefixes: [],
    refreshes: 0,
    warnings: [],
    warningMessages: [],
  };
  try {
    await using session = new STSRefreshableSession({
      assumeRole: { RoleArn: env("BRS_SC_ROLE"), RoleSessionName: "worker" },
      stsClientConfig: {
        endpoint: env("BRS_SC_URL"),
        credentials: {
          accessKeyId: env("BRS_SC_KEY_ID"),
          secretAccessKey: env("BRS_SC_SECRET"),
        },
        maxAttempts: 1,
      },
      region: "us-east-1",
      ...(where === "off" ? {} : {
        sharedCache: where === "default" ? true : { directory: where },
      }),
    });
    session.addEventListener("refresh", () => report.refreshes++);
    session.addEventListener("warning", (event) => {
      const { code, message } = (event as CustomEvent<WarningEventDetail>)
        .detail;
      report.warnings.push(code);
      report.warningMessages.push(message);
    });
    const note = (accessKey: string): void => {
      const prefix = accessKey.slice(0, 12);
      if (report.prefixes.at(-1) !== prefix) report.prefixes.push(prefix);
    };
    if (Number(seconds) === 0) {
      note((await session.refreshableCredentials()).accessKey);
      report.arn = (await session.whoami()).Arn;
    } else {
      const end = Date.now() + Number(seconds) * 1000;
      while (Date.now() < end) {
        note((await session.refreshableCredentials()).accessKey);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  } catch (error) {
    report.error = error instanceof Error
      ? `${error.name}: ${error.message}`
      : String(error);
  }
  console.log(JSON.stringify(report));
}
