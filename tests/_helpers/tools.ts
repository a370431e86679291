/**
 * Which optional tools this machine has. Tests that need one (`oathtool`,
 * Debian's `awscli`) are ignored, with the reason in their name, when it is
 * missing: `deno task test` passes with nothing but Deno installed, and CI
 * (which installs them) runs them all.
 */

/**
 * Whether an executable file `name` is in a directory of `PATH`.
 *
 * @param name A command name, e.g. `"oathtool"`.
 * @returns `true` if found.
 */
export async function onPath(name: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const info = await Deno.stat(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch { /* not in this directory */ }
  }
  return false;
}

/** Whether `oathtool` (Debian's `oathtool` package) is on `PATH`. */
export const HAS_OATHTOOL: boolean = await onPath("oathtool");

/** What to add to a test's name when it is ignored for want of `oathtool`. */
export const NEEDS_OATHTOOL =
  " (ignored: needs oathtool; apt-get install -y oathtool)";

/**
 * Whether tests run as root, which ignores file modes: the owner of a new
 * temporary file (`Deno.uid()` would need `--allow-sys=uid`).
 */
export const IS_ROOT: boolean = (() => {
  const probe = Deno.makeTempFileSync({ prefix: "brs_uid_probe_" });
  try {
    return Deno.statSync(probe).uid === 0;
  } finally {
    Deno.removeSync(probe);
  }
})();

/**
 * A process's arguments as the kernel shows them to every user of the
 * machine (`/proc/PID/cmdline`, NUL-separated), read with `cat`: Deno itself
 * needs `--allow-all` to read `/proc`.
 *
 * @param pid The process.
 * @returns Its arguments.
 */
export async function cmdlineOf(pid: number | string): Promise<string[]> {
  const { stdout } = await new Deno.Command("cat", {
    args: [`/proc/${pid}/cmdline`],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(stdout).split("\0");
}
