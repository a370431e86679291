import { assert, assertEquals, assertRejects } from "@std/assert";
import { FileCache, type FileCacheEntry } from "../src/cache/file_cache.ts";

function entry(
  lifetimeSeconds: number,
  key = "ASIAFILECACHETEST",
): FileCacheEntry {
  const now = Date.now();
  return {
    credentials: {
      accessKey: key,
      secretKey: "secret-of-the-test",
      token: "token-of-the-test",
      expiryTime: new Date(now + lifetimeSeconds * 1000).toISOString(),
    },
    obtainedAt: new Date(now).toISOString(),
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "brs_file_cache_" });
  try {
    await fn(`${dir}/brs`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("FileCache writes 0600 files in a 0700 directory and reuses fresh credentials", async () => {
  await withDir(async (directory) => {
    const cache = new FileCache({ directory });
    const key = await FileCache.keyOf({ role: "r", session: "s" });
    let calls = 0;
    const refresh = (): Promise<FileCacheEntry> => {
      calls++;
      return Promise.resolve(entry(3600, `ASIA${calls}`));
    };
    const first = await cache.getOrRefresh(key, refresh);
    const second = await cache.getOrRefresh(key, refresh);
    assertEquals([first.source, second.source, calls], ["refresh", "cache", 1]);
    assertEquals(second.entry.credentials.accessKey, "ASIA1");
    assertEquals((await Deno.stat(directory)).mode! & 0o777, 0o700);
    assertEquals(
      (await Deno.stat(`${directory}/${key}.json`)).mode! & 0o777,
      0o600,
    );
    const names = [...Deno.readDirSync(directory)].map((e) => e.name);
    assertEquals(names, [`${key}.json`]); // no temp file or lock left
  });
});

Deno.test("FileCache.keyOf ignores key order and undefined values", async () => {
  assertEquals(
    await FileCache.keyOf({ a: 1, b: "x", c: undefined }),
    await FileCache.keyOf({ b: "x", a: 1 }),
  );
  assert(await FileCache.keyOf({ a: 1 }) !== await FileCache.keyOf({ a: 2 }));
});

Deno.test("FileCache refreshes credentials with less than min(advisory, lifetime/2) left", async () => {
  await withDir(async (directory) => {
    const cache = new FileCache({ directory });
    const key = await FileCache.keyOf({ role: "short" });
    // 1000 s lifetime, obtained 600 s ago: 400 s left < min(900, 500)
    const old = entry(400);
    old.obtainedAt = new Date(Date.now() - 600_000).toISOString();
    await cache.write(key, old);
    const result = await cache.getOrRefresh(
      key,
      () => Promise.resolve(entry(1000, "ASIANEW")),
    );
    assertEquals(result.source, "refresh");
    // 20 s lifetime, just obtained: reused (window scaled to 10 s)
    const again = await cache.getOrRefresh(
      key,
      () => Promise.reject(new Error("no")),
      {
        advisorySeconds: 900,
      },
    );
    assertEquals(again.source, "cache");
  });
});

Deno.test("FileCache ignores and replaces corrupt, foreign and world-readable files", async () => {
  await withDir(async (directory) => {
    const cache = new FileCache({ directory });
    const key = await FileCache.keyOf({ role: "corrupt" });
    await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
    const path = `${directory}/${key}.json`;
    for (
      const [content, mode] of [
        ["{ not json", 0o600],
        [JSON.stringify({ version: 1, kind: "other", key }), 0o600],
        [
          JSON.stringify({
            version: 1,
            kind: "brs-credentials",
            key: "0".repeat(64),
          }),
          0o600,
        ],
        [
          JSON.stringify({
            version: 1,
            kind: "brs-credentials",
            key,
            ...entry(3600),
          }),
          0o644,
        ],
      ] as const
    ) {
      await Deno.writeTextFile(path, content, { mode });
      await Deno.chmod(path, mode);
      assertEquals(await cache.read(key), undefined);
      const result = await cache.getOrRefresh(
        key,
        () => Promise.resolve(entry(3600)),
      );
      assertEquals(result.source, "refresh");
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
      assertEquals(
        (await cache.read(key))?.credentials.accessKey,
        "ASIAFILECACHETEST",
      );
    }
  });
});

Deno.test("FileCache breaks a lock of a dead process and a lock that is too old", async () => {
  await withDir(async (directory) => {
    const cache = new FileCache({
      directory,
      staleLockMs: 5_000,
      deadLockGraceMs: 100,
    });
    const key = await FileCache.keyOf({ role: "locked" });
    await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
    const lock = `${directory}/${key}.lock`;
    // a process that has exited
    const child = new Deno.Command("true").spawn();
    await child.status;
    await Deno.writeTextFile(
      lock,
      JSON.stringify({
        pid: child.pid,
        time: Date.now() - 1000,
        nonce: "dead",
      }),
    );
    assertEquals(
      (await cache.getOrRefresh(key, () => Promise.resolve(entry(3600))))
        .source,
      "refresh",
    );
    // a live process (us) holding a lock far older than staleLockMs
    await Deno.remove(`${directory}/${key}.json`);
    await Deno.writeTextFile(
      lock,
      JSON.stringify({
        pid: Deno.pid,
        time: Date.now() - 60_000,
        nonce: "old",
      }),
    );
    assertEquals(
      (await cache.getOrRefresh(key, () => Promise.resolve(entry(3600))))
        .source,
      "refresh",
    );
    await assertRejects(() => Deno.stat(lock), Deno.errors.NotFound);
  });
});

Deno.test("FileCache lets one of many concurrent callers refresh; the others take its result", async () => {
  await withDir(async (directory) => {
    const key = await FileCache.keyOf({ role: "concurrent" });
    let calls = 0;
    const refresh = async (): Promise<FileCacheEntry> => {
      calls++;
      await new Promise((r) => setTimeout(r, 100));
      return entry(3600);
    };
    const results = await Promise.all(
      Array.from(
        { length: 16 },
        () =>
          new FileCache({ directory, pollIntervalMs: 10 }).getOrRefresh(
            key,
            refresh,
          ),
      ),
    );
    assertEquals(calls, 1);
    assertEquals(results.filter((r) => r.source === "refresh").length, 1);
    assertEquals(results.filter((r) => r.source === "peer").length, 15);
  });
});

Deno.test("FileCache releases the lock when the refresh fails", async () => {
  await withDir(async (directory) => {
    const cache = new FileCache({ directory });
    const key = await FileCache.keyOf({ role: "fails" });
    await assertRejects(
      () =>
        cache.getOrRefresh(key, () => Promise.reject(new Error("STS down"))),
      Error,
      "STS down",
    );
    assertEquals(
      (await cache.getOrRefresh(key, () => Promise.resolve(entry(3600))))
        .source,
      "refresh",
    );
  });
});
