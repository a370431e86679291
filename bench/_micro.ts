/**
 * Runs the `deno bench` micro-benchmarks (`bench/*_bench.ts`) as a child
 * process with `--json` and returns their figures for RESULTS.md.
 *
 * @module
 */

/**
 * The `deno` of PATH (what `deno task` runs), so `--allow-run=deno` covers it
 * (`Deno.execPath()` may be a symlink's target that the allowlist does not name).
 */
const DENO = "deno";

/** One micro-benchmark result. */
export interface MicroResult {
  /** File name. */
  file: string;
  /** Group. */
  group: string;
  /** Name. */
  name: string;
  /** Whether it is the group's baseline. */
  baseline: boolean;
  /** Mean ns/op, or undefined if it failed. */
  avgNs?: number;
  /** p75 ns/op. */
  p75Ns?: number;
  /** Fastest ns/op seen. */
  minNs?: number;
  /** p99 ns/op. */
  p99Ns?: number;
  /** Iterations measured. */
  n?: number;
  /** Failure text. */
  error?: string;
}

/** The permissions the micro-benchmarks need (the local STS on loopback, the SDK). */
export const MICRO_FLAGS: readonly string[] = [
  "--allow-net=127.0.0.1",
  "--allow-env",
  // The project (module files) and ~/.aws (the SDK looks for a region there).
  `--allow-read=.,${Deno.env.get("HOME") ?? "."}/.aws`,
  "--allow-sys=osRelease",
];

interface BenchJson {
  benches: {
    origin: string;
    group: string | null;
    name: string;
    baseline: boolean;
    results: ({
      ok?: { n: number; avg: number; min: number; p75: number; p99: number };
      failed?: unknown;
    })[];
  }[];
}

/**
 * Runs `deno bench --json` on `bench/` and parses the report.
 *
 * @returns The results, or a line saying why there are none.
 */
export async function runMicro(): Promise<MicroResult[] | string> {
  const root = new URL("..", import.meta.url).pathname;
  const out = await new Deno.Command(DENO, {
    args: ["bench", "--json", "--no-prompt", ...MICRO_FLAGS, "bench/"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const start = text.indexOf("{");
  if (start < 0) {
    return `deno bench produced no report (exit ${out.code}): ${
      new TextDecoder().decode(out.stderr).split("\n").filter((l) => l).slice(
        -3,
      ).join(" / ")
    }`;
  }
  let parsed: BenchJson;
  try {
    parsed = JSON.parse(text.slice(start)) as BenchJson;
  } catch (error) {
    return `deno bench report is not JSON: ${String(error)}`;
  }
  return parsed.benches.map((b) => {
    const ok = b.results[0]?.ok;
    const base = {
      file: b.origin.split("/").at(-1) ?? b.origin,
      group: b.group ?? "",
      name: b.name,
      baseline: b.baseline,
    };
    return ok === undefined
      ? {
        ...base,
        error: JSON.stringify(b.results[0]?.failed ?? "failed").slice(0, 200),
      }
      : {
        ...base,
        avgNs: ok.avg,
        minNs: ok.min,
        p75Ns: ok.p75,
        p99Ns: ok.p99,
        n: ok.n,
      };
  });
}
