/**
 * File-system safety of the cross-process credential cache:
 * symlinks, foreign owners, wide permissions, a read-only directory, two
 * writers at once, and a process killed while it holds the lock.
 */

import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { FileCache, type FileCacheEntry } from "../src/cache/file_cache.ts";
import { secretFor } from "./_helpers/cache_worker.ts";
import { withWatchdog } from "./_helpers/scan.ts";
import { startLocalSts } from "../src/testing/mod.ts";
import { makeCliEnv, runCli } from "./fixtures/cli/helpers.ts";
import { IS_ROOT } from "./_helpers/tools.ts";

const WORKER = new URL("./_helpers/cache_worker.ts", import.meta.url).pathname;

function entry(
  accessKey: string,
  lifetimeSeconds = 3600,
  ageSeconds = 0,
): FileCacheEntry {
  const now = Date.now();
  return {
    credentials: {
      accessKey,
      secretKey: secretFor(accessKey),
      token: `token-${accessKey}`,
      expiryTime: new Date(now + (lifetimeSeconds - ageSeconds) * 1000)
        .toISOString(),
    },
    obtainedAt: new Date(now - ageSeconds * 1000).toISOString(),
  };
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "brs_cache_safety_" });
  try {
    await fn(root);
  } finally {
    await _chattr("-i", `${root}/brs`).catch(() => {});
    await Deno.chmod(`${root}/brs`, 0o700).catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
}

async function _chattr(flag: string, path: string): Promise<boolean> {
  const { success } = await new Deno.Command("chattr", {
    args: [flag, path],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ success: false }));
  return success;
}

/** Makes a directory unwritable: `chattr +i` as root (root ignores modes), else chmod 0500. */
async function makeReadOnly(dir: string): Promise<boolean> {
  if (IS_ROOT) return await _chattr("+i", dir);
  await Deno.chmod(dir, 0o500);
  return true;
}

async function makeWritable(dir: string): Promise<void> {
  if (IS_ROOT) await _chattr("-i", dir);
  else await Deno.chmod(dir, 0o700);
}

function worker(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      `--allow-read`,
      `--allow-write`,
      WORKER,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test("FileCache ignores a cache file replaced by a symlink and never writes through it", async () => {
  await withRoot(async (root) => {
    const directory = `${root}/brs`;
    const cache = new FileCache({ directory });
    const key = await FileCache.keyOf({ role: "symlink-file" });
    await cache.write(key, entry("ASIAOWN1"));
    // An attacker's file, well-formed and 0600, linked in place of ours.
    const planted = `${root}/planted.json`;
    await Deno.writeTextFile(
      planted,
      (await Deno.readTextFile(`${directory}/${key}.json`)).replaceAll(
        "ASIAOWN1",
        "ASIAEVIL",
      ),
      { mode: 0o600 },
    );
    const before = await Deno.readTextFile(planted);
    await Deno.remove(`${directory}/${key}.json`);
    await Deno.symlink(planted, `${directory}/${key}.json`);

    assertEquals(
      await cache.read(key),
      undefined,
      "a symlinked cache file was trusted",
    );
    const result = await cache.getOrRefresh(
      key,
      () => Promise.resolve(entry("ASIAOWN2")),
    );
    assertEquals(result.source, "refresh");
    assertEquals(result.entry.credentials.accessKey, "ASIAOWN2");
    const info = await Deno.lstat(`${directory}/${key}.json`);
    assert(info.isFile && !info.isSymlink, "the symlink was kept");
    assertEquals(
      await Deno.readTextFile(planted),
      before,
      "written through the symlink",
    );
  });
});

Deno.test("FileCache refuses a cache directory that is a symlink and writes nothing into its target", async () => {
  await withRoot(async (root) => {
    const elsewhere = `${root}/elsewhere`;
    await Deno.mkdir(elsewhere, { mode: 0o777 });
    await Deno.chmod(elsewhere, 0o777);
    await Deno.symlink(elsewhere, `${root}/brs`);
    const cache = new FileCache({ directory: `${root}/brs` });
    const key = await FileCache.keyOf({ role: "symlink-dir" });
    let message = "";
    try {
      await cache.getOrRefresh(key, () => Promise.resolve(entry("ASIADIR1")));
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    assert(
      /symlink|symbolic link/i.test(message),
      `no refusal that says why: '${message}'`,
    );
    assertEquals(
      [...Deno.readDirSync(elsewhere)],
      [],
      "credentials written into the symlink's target",
    );
    assertEquals(
      (await Deno.stat(elsewhere)).mode! & 0o777,
      0o777,
      "the target's mode was changed",
    );
  });
});

Deno.test("FileCache repairs a group/world-readable cache directory and replaces a 0644 cache file", async () => {
  await withRoot(async (root) => {
    const directory = `${root}/brs`;
    await Deno.mkdir(directory);
    await Deno.chmod(directory, 0o755);
    const cache = new FileCache({ directory });
    const key = await FileCache.keyOf({ role: "modes" });
    await new FileCache({ directory: `${root}/other` }).write(
      key,
      entry("ASIAWIDE"),
    );
    await Deno.copyFile(
      `${root}/other/${key}.json`,
      `${directory}/${key}.json`,
    );
    await Deno.chmod(`${directory}/${key}.json`, 0o644);

    assertEquals(
      await cache.read(key),
      undefined,
      "a 0644 cache file was trusted",
    );
    const result = await cache.getOrRefresh(
      key,
      () => Promise.resolve(entry("ASIAFIXED")),
    );
    assertEquals(result.entry.credentials.accessKey, "ASIAFIXED");
    assert(
      /mode 0700/.test(result.warning ?? ""),
      `the repair was not told: ${result.warning}`,
    );
    assertEquals((await Deno.stat(directory)).mode! & 0o777, 0o700);
    assertEquals(
      (await Deno.stat(`${directory}/${key}.json`)).mode! & 0o777,
      0o600,
    );
  });
});

Deno.test({
  name:
    "FileCache ignores a cache file and refuses a directory owned by another user",
  ignore: !IS_ROOT,
  fn: async () => {
    await withRoot(async (root) => {
      const directory = `${root}/brs`;
      const cache = new FileCache({ directory });
      const key = await FileCache.keyOf({ role: "owner" });
      await cache.write(key, entry("ASIAFOREIGN"));
      await Deno.chown(`${directory}/${key}.json`, 65534, 65534);
      assertEquals(
        await cache.read(key),
        undefined,
        "a foreign-owned cache file was trusted",
      );
      const result = await cache.getOrRefresh(
        key,
        () => Promise.resolve(entry("ASIAMINE")),
      );
      assertEquals(result.entry.credentials.accessKey, "ASIAMINE");
      assertEquals((await Deno.lstat(`${directory}/${key}.json`)).uid, 0);

      // A directory someone else owns: refused by a new cache instance.
      await Deno.chown(directory, 65534, 65534);
      const fresh = new FileCache({ directory });
      let message = "";
      try {
        await fresh.getOrRefresh(
          await FileCache.keyOf({ role: "owner2" }),
          () => Promise.resolve(entry("ASIAX")),
        );
      } catch (error) {
        message = error instanceof Error ? error.message : String(error);
      }
      assert(/owne/i.test(message), `no refusal that says why: '${message}'`);
    });
  },
});

Deno.test("FileCache keeps the old file intact when the directory turns read-only during a refresh", async () => {
  await withRoot(async (root) => {
    const directory = `${root}/brs`;
    const cache = new FileCache({ directory });
    const key = await FileCache.keyOf({ role: "read-only" });
    await cache.write(key, entry("ASIAOLD", 3600, 3500)); // 100 s left: needs a refresh
    const path = `${directory}/${key}.json`;
    const before = await Deno.readTextFile(path);
    if (!(await makeReadOnly(directory))) {
      console.log("skipped: cannot make a directory read-only here");
      return;
    }
    let outcome: string;
    try {
      const result = await cache.getOrRefresh(
        key,
        () => Promise.resolve(entry("ASIANEW")),
      );
      outcome = result.entry.credentials.accessKey;
      // ... and says that they were not cached.
      assert(
        /not cached/.test(result.warning ?? ""),
        `no warning: ${result.warning}`,
      );
    } catch (error) {
      outcome = `error: ${
        error instanceof Error ? error.message : String(error)
      }`;
    } finally {
      await makeWritable(directory);
    }
    assertEquals(
      await Deno.readTextFile(path),
      before,
      "the old file was damaged",
    );
    const left = [...Deno.readDirSync(directory)].map((e) => e.name);
    assertEquals(left, [`${key}.json`], "temp or lock files left behind");
    // The refreshed credentials still reach the caller (the cache is an optimisation).
    assertEquals(outcome, "ASIANEW");
  });
});

Deno.test("FileCache never shows a torn file to a reader while two processes write at once", async () => {
  await withRoot(async (root) => {
    const directory = `${root}/brs`;
    const cache = new FileCache({ directory });
    const key = await FileCache.keyOf({ role: "torn" });
    await cache.write(key, entry("ASIASEED"));
    const writers = ["1", "2"].map((id) =>
      worker(["write", directory, key, id, "300"]).spawn()
    );
    let reads = 0;
    let done = false;
    const all = Promise.all(writers.map((w) => w.output())).finally(() => {
      done = true;
    });
    while (!done) {
      const got = await cache.read(key);
      reads++;
      if (got === undefined) {
        throw new Error(`Read #${reads} saw a missing or torn file`);
      }
      assertEquals(
        got.credentials.secretKey,
        secretFor(got.credentials.accessKey),
        "mixed entry",
      );
    }
    const outputs = await all;
    for (const o of outputs) {
      assert(o.success, new TextDecoder().decode(o.stderr));
    }
    assert(reads > 0);
    const names = [...Deno.readDirSync(directory)].map((e) => e.name);
    assertEquals(names, [`${key}.json`], "temp files left behind");
  });
});

Deno.test("FileCache proceeds after a bounded wait when the lock holder was killed", async () => {
  await withRoot(async (root) => {
    const directory = `${root}/brs`;
    const key = await FileCache.keyOf({ role: "killed-holder" });
    const holder = worker(["hold", directory, key]).spawn();
    const reader = holder.stdout.getReader();
    const { value } = await withWatchdog(
      reader.read(),
      "holder never took the lock",
    );
    assertEquals(new TextDecoder().decode(value).trim(), "locked");
    reader.releaseLock();
    holder.kill("SIGKILL");
    const status = await holder.status;
    assertEquals(status.signal, "SIGKILL");
    await holder.stdout.cancel();
    await holder.stderr.cancel();

    const cache = new FileCache({
      directory,
      deadLockGraceMs: 200,
      staleLockMs: 5_000,
    });
    const result = await withWatchdog(
      cache.getOrRefresh(key, () => Promise.resolve(entry("ASIAAFTER"))),
      "a dead holder's lock was never broken",
    );
    assertEquals(result.source, "refresh");
    assertEquals(result.entry.credentials.accessKey, "ASIAAFTER");
    const names = [...Deno.readDirSync(directory)].map((e) => e.name).sort();
    assertEquals(names, [`${key}.json`]);
  });
});

Deno.test("FileCache breaks a lock held too long by a live process (staleLockMs)", async () => {
  await withRoot(async (root) => {
    const directory = `${root}/brs`;
    const key = await FileCache.keyOf({ role: "hung-holder" });
    const holder = worker(["hold", directory, key]).spawn();
    try {
      const reader = holder.stdout.getReader();
      await withWatchdog(reader.read(), "holder never took the lock");
      reader.releaseLock();
      const cache = new FileCache({ directory, staleLockMs: 600 });
      const result = await withWatchdog(
        cache.getOrRefresh(key, () => Promise.resolve(entry("ASIASTALE"))),
        "a stale lock was never broken",
      );
      assertEquals(result.source, "refresh");
      assertNotEquals(result.entry.credentials.accessKey, "never");
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
      await holder.stdout.cancel();
      await holder.stderr.cancel();
    }
  });
});

Deno.test("the CLI refuses a symlinked cache directory with exit code 2 and says when it cannot cache", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const args = [
    "credentials",
    "--role-arn",
    "arn:aws:iam::123456789012:role/app",
    "--endpoint-url",
    sts.url,
  ];
  const cacheHome = cli.env.XDG_CACHE_HOME!;
  await Deno.mkdir(`${cli.dir}/elsewhere`);
  await Deno.mkdir(cacheHome, { recursive: true });
  await Deno.symlink(`${cli.dir}/elsewhere`, `${cacheHome}/brs`);
  const refused = await runCli(args, cli.env);
  assertEquals(refused.code, 2, refused.stderr);
  assert(/symbolic link/.test(refused.stderr), refused.stderr);
  assertEquals(refused.stdout, "");
  assertEquals([...Deno.readDirSync(`${cli.dir}/elsewhere`)], []);

  // A read-only cache directory: the credentials still come, with a warning.
  await Deno.remove(`${cacheHome}/brs`);
  await Deno.mkdir(`${cacheHome}/brs`, { mode: 0o700 });
  if (!(await makeReadOnly(`${cacheHome}/brs`))) return;
  try {
    const uncached = await runCli(args, cli.env);
    assertEquals(uncached.code, 0, uncached.stderr);
    assert(/brs: warning: .*not cached/.test(uncached.stderr), uncached.stderr);
    assert(uncached.stdout.includes('"ASIA'), uncached.stdout.slice(0, 40));
  } finally {
    await makeWritable(`${cacheHome}/brs`);
  }
});
