/**
 * Process safety of MFA commands: a command that ignores
 * SIGTERM, forks children, floods stdout or leaves a child behind is killed
 * with all its children; no orphan keeps running and no zombie stays (the
 * process table is checked in `/proc`).
 */

import { assertEquals } from "@std/assert";
import { BRSConfigurationError } from "../mod.ts";
import { createMfaTokenSource } from "../src/mfa/mfa.ts";
import { rejectsWith, withWatchdog } from "./_helpers/scan.ts";

const HOSTILE = new URL("./fixtures/hostile/", import.meta.url).pathname;

interface ProcessState {
  pid: number;
  stat: string;
}

/**
 * The state of each pid from `/proc/PID/stat` (what `ps -o stat` shows, so
 * no `ps` needs to be installed); missing pids are gone.
 */
async function psRows(pids: number[]): Promise<ProcessState[]> {
  const rows: ProcessState[] = [];
  for (const pid of pids) {
    let text: string;
    try {
      text = await Deno.readTextFile(`/proc/${pid}/stat`);
    } catch {
      continue; // gone
    }
    // "PID (COMM) STATE ...": COMM may hold spaces and parentheses.
    const stat = text.slice(text.lastIndexOf(")") + 2).split(" ")[0] ?? "";
    rows.push({ pid, stat });
  }
  return rows;
}

async function pidsOf(file: string): Promise<number[]> {
  const text = await Deno.readTextFile(file).catch(() => "");
  return text.split("\n").filter((l) => l.trim() !== "").map(Number);
}

/**
 * Every pid the fixture wrote is dead at once (gone, or a zombie waiting for
 * init to reap it), and gone entirely after a bounded wait.
 */
async function assertAllGone(file: string): Promise<number[]> {
  const pids = await pidsOf(file);
  if (pids.length === 0) throw new Error("The fixture recorded no pid");
  // A process sent SIGKILL may still show as running for a moment under load:
  // give the kernel a bounded time to finish it.
  let alive = (await psRows(pids)).filter((r) => !r.stat.startsWith("Z"));
  for (let i = 0; i < 30 && alive.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    alive = (await psRows(pids)).filter((r) => !r.stat.startsWith("Z"));
  }
  assertEquals(
    alive,
    [],
    `processes still running (orphans): ${JSON.stringify(alive)}`,
  );
  // Zombies of reparented grandchildren are init's to reap: wait a bounded time.
  let rows = await psRows(pids);
  for (let i = 0; i < 50 && rows.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    rows = await psRows(pids);
  }
  assertEquals(rows, [], `zombies left: ${JSON.stringify(rows)}`);
  return pids;
}

async function run(
  script: string,
  serial: string,
  timeoutMs: number,
  extraArgs: string[] = [],
): Promise<
  { result: Promise<string>; pidFile: string; cleanup: () => Promise<void> }
> {
  const dir = await Deno.makeTempDir({ prefix: "brs_proc_" });
  const pidFile = `${dir}/pids`;
  const path = `${HOSTILE}${script}`;
  const source = createMfaTokenSource([path, pidFile, ...extraArgs], {
    allowedCommands: [path],
    timeoutMs,
  });
  return {
    result: source(serial),
    pidFile,
    cleanup: async () => {
      // Belt and braces: never leave a fixture running, even if the test failed.
      for (const pid of await pidsOf(pidFile)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("an MFA command that ignores SIGTERM is killed with its children at the timeout", async () => {
  const { result, pidFile, cleanup } = await run(
    "ignore_term.sh",
    "serial-ignore-term",
    800,
  );
  try {
    const error = await withWatchdog(
      rejectsWith(() => result, BRSConfigurationError),
      "ignore_term",
    );
    assertEquals(error.code, "CommandTimeout");
    await assertAllGone(pidFile);
  } finally {
    await cleanup();
  }
});

Deno.test("an MFA command that forks children ignoring SIGTERM is killed with all of them at the timeout", async () => {
  const { result, pidFile, cleanup } = await run(
    "fork_child.sh",
    "serial-fork-child",
    800,
  );
  try {
    const error = await withWatchdog(
      rejectsWith(() => result, BRSConfigurationError),
      "fork_child",
    );
    assertEquals(error.code, "CommandTimeout");
    const pids = await assertAllGone(pidFile);
    assertEquals(pids.length, 3);
  } finally {
    await cleanup();
  }
});

Deno.test("an MFA command that floods stdout is killed at once with a typed error and no code", async () => {
  const { result, pidFile, cleanup } = await run(
    "flood.sh",
    "serial-flood",
    20_000,
  );
  try {
    const error = await withWatchdog(
      rejectsWith(() => result, BRSConfigurationError),
      "flood",
    );
    assertEquals(error.code, "CommandOutputTooLarge");
    assertEquals(error.message.includes("123456"), false);
    await assertAllGone(pidFile);
  } finally {
    await cleanup();
  }
});

Deno.test("an MFA command that exits leaving a child on its stdout gives its code and the child is killed", async () => {
  const { result, pidFile, cleanup } = await run(
    "leave_child.sh",
    "serial-leave-child",
    20_000,
    ["135792"],
  );
  try {
    // The command printed its code and exited 0: the code is used at once,
    // not after the timeout, and the stray child does not outlive it.
    assertEquals(await withWatchdog(result, "leave_child", 10_000), "135792");
    await assertAllGone(pidFile);
  } finally {
    await cleanup();
  }
});

Deno.test("an MFA command that exits leaving a background child gives its code and the child is killed", async () => {
  const { result, pidFile, cleanup } = await run(
    "leave_daemon.sh",
    "serial-leave-daemon",
    20_000,
    ["246813"],
  );
  try {
    assertEquals(await withWatchdog(result, "leave_daemon", 10_000), "246813");
    await assertAllGone(pidFile);
  } finally {
    await cleanup();
  }
});

Deno.test("with a narrowed --allow-run an MFA command that ignores SIGTERM is still killed at its timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "brs_proc_" });
  const pidFile = `${dir}/pids`;
  const path = `${HOSTILE}fork_child.sh`;
  try {
    const probe = new URL("./_helpers/narrow_run_probe.ts", import.meta.url)
      .pathname;
    const output = await withWatchdog(
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          `--allow-run=${path}`,
          "--allow-read",
          probe,
          path,
          pidFile,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output(),
      "narrowed --allow-run",
    );
    assertEquals(
      new TextDecoder().decode(output.stdout).trim(),
      "CommandTimeout",
      new TextDecoder().decode(output.stderr),
    );
    // The command itself is gone; its children may outlive it here (Deno.kill
    // of a process group needs --allow-run without a list): see SECURITY.md.
    const [commandPid] = await pidsOf(pidFile);
    const rows = (await psRows([commandPid!])).filter((r) =>
      !r.stat.startsWith("Z")
    );
    assertEquals(rows, []);
  } finally {
    for (const pid of await pidsOf(pidFile)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    await Deno.remove(dir, { recursive: true });
  }
});
