/**
 * The `sharedCache` option: real worker processes against one local STS,
 * peers in one process sharing a directory, the engine's windows, fallbacks
 * and bad values.
 *
 * @module
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  BRSValidationError,
  STSRefreshableSession,
  type STSRefreshableSessionOptions,
  type WarningEventDetail,
  WebIdentityRefreshableSession,
} from "../mod.ts";
import {
  type LocalSts,
  mintWebIdentityToken,
  startLocalSts,
  totp,
} from "../src/testing/mod.ts";
import { assertNoSecrets } from "./_helpers/scan.ts";
import {
  localStsOptions,
  ManualClock,
  recordEvents,
} from "./_helpers/sessions.ts";
import {
  runSharedCacheWorkers,
  workerFlags,
} from "./_helpers/shared_cache_worker.ts";

const ROLE = "arn:aws:iam::123456789012:role/app";

function options(
  sts: LocalSts,
  extra: Partial<STSRefreshableSessionOptions> = {},
): STSRefreshableSessionOptions {
  return localStsOptions(sts, {
    assumeRole: { RoleArn: ROLE, RoleSessionName: "worker" },
    ...extra,
  });
}

/** A session sharing `dir`. */
function shared(
  sts: LocalSts,
  dir: string,
  extra: Partial<STSRefreshableSessionOptions> = {},
): STSRefreshableSession {
  return new STSRefreshableSession(
    options(sts, { sharedCache: { directory: dir }, ...extra }),
  );
}

function warnings(session: EventTarget): WarningEventDetail[] {
  const seen: WarningEventDetail[] = [];
  session.addEventListener("warning", (event) => {
    seen.push((event as CustomEvent<WarningEventDetail>).detail);
  });
  return seen;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "brs_shared_" });
  try {
    await fn(`${root}/brs`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** The cache entries of a directory (name -> parsed JSON). */
async function entries(dir: string): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name.endsWith(".json")) {
      found.push(JSON.parse(await Deno.readTextFile(`${dir}/${e.name}`)));
    }
  }
  return found;
}

Deno.test("STSRefreshableSession({ sharedCache }): 8 processes started together make 1 AssumeRole call", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    const reports = await runSharedCacheWorkers(sts, ROLE, {
      processes: 8,
      directory: dir,
    });
    for (const report of reports) {
      assertEquals(report.error, undefined);
      assertMatch(report.arn ?? "", /assumed-role\/app\/worker$/);
      assertEquals(report.warnings, []);
    }
    assertEquals(sts.calls.AssumeRole, 1);
    assertEquals(new Set(reports.map((r) => r.prefixes[0])).size, 1);
    // One entry, private, and nothing the workers printed holds its secrets.
    const [entry, ...more] = await entries(dir);
    assertEquals(more, []);
    const info = await Deno.stat(`${dir}`);
    assertEquals((info.mode ?? 0) & 0o777, 0o700);
    for await (const e of Deno.readDir(dir)) {
      const mode = (await Deno.stat(`${dir}/${e.name}`)).mode ?? 0;
      assertEquals(mode & 0o777, 0o600, e.name);
    }
    const credentials = entry!.credentials as Record<string, string>;
    assertNoSecrets(
      [JSON.stringify(reports)],
      [credentials.secretKey!, credentials.token!],
      "worker output",
    );
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): workers Deno denies the directory refresh on their own with a warning naming the flags", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    const reports = await runSharedCacheWorkers(sts, ROLE, {
      processes: 2,
      directory: dir,
      flags: workerFlags("off"), // no --allow-read/--allow-write on dir
    });
    for (const report of reports) {
      assertEquals(report.error, undefined);
      assertMatch(report.arn ?? "", /assumed-role\/app\/worker$/);
      assertEquals(report.warnings, ["SharedCacheUnavailable"]);
      assertStringIncludes(report.warningMessages[0]!, "--allow-write");
      assertStringIncludes(report.warningMessages[0]!, dir);
    }
    assertEquals(sts.calls.AssumeRole, 2);
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): an unusable directory falls back to the session's own refresh with a warning", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    await Deno.mkdir(dir);
    const file = `${dir}/not-a-directory`;
    await Deno.writeTextFile(file, "");
    await using session = new STSRefreshableSession(
      options(sts, { sharedCache: { directory: `${file}/brs` } }),
    );
    const seen = warnings(session);
    const credentials = await session.refreshableCredentials();
    assertMatch(credentials.accessKey, /^ASIA/);
    assertEquals(sts.calls.AssumeRole, 1);
    assertEquals(seen.map((w) => w.code), ["SharedCacheUnavailable"]);
    assertStringIncludes(seen[0]!.message, `${file}/brs`);
    assertMatch((await session.whoami()).Arn, /assumed-role\/app\/worker$/);
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): a symbolic link as directory is refused with a warning, and the session still works", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}-elsewhere`);
    await Deno.symlink(`${dir}-elsewhere`, dir);
    await using session = shared(sts, dir);
    const seen = warnings(session);
    assertMatch((await session.whoami()).Arn, /assumed-role\/app\/worker$/);
    assertEquals(seen.map((w) => w.code), ["SharedCacheUnavailable"]);
    assertStringIncludes(seen[0]!.message, "symbolic link");
    assertEquals(seen[0]!.message.includes("--no-cache"), false);
    assertEquals([...Deno.readDirSync(`${dir}-elsewhere`)], []);
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): a corrupt entry is ignored with a warning and replaced", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    {
      await using first = shared(sts, dir);
      await first.refreshableCredentials();
    }
    const name = [...Deno.readDirSync(dir)].find((e) =>
      e.name.endsWith(".json")
    )!.name;
    await Deno.writeTextFile(`${dir}/${name}`, '{"version": 1, "kind": "brs-');
    await using second = shared(sts, dir);
    const seen = warnings(second);
    await second.refreshableCredentials();
    assertEquals(seen.map((w) => w.code), ["SharedCacheEntryIgnored"]);
    assertEquals(sts.calls.AssumeRole, 2);
    await using third = shared(sts, dir);
    assertEquals(
      (await third.refreshableCredentials()).accessKey,
      (await second.refreshableCredentials()).accessKey,
    );
    assertEquals(sts.calls.AssumeRole, 2);
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): a peer's advisory-window refresh is reused, with no STS call and no caller waiting", async () => {
  // The local STS's clock moves with the sessions' clock.
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    const clock = new ManualClock();
    const make = (): STSRefreshableSession => shared(sts, dir, { clock });
    await using a = make();
    await using b = make();
    const first = await a.refreshableCredentials();
    assertEquals((await b.refreshableCredentials()).accessKey, first.accessKey);
    assertEquals(sts.calls.AssumeRole, 1);
    // 800 s before expiry: inside the advisory window (900 s), not the
    // mandatory one (600 s).
    clock.offset = 2800_000;
    sts.dateSkewSeconds = 2800;
    const refreshed = (s: STSRefreshableSession): Promise<void> =>
      new Promise((resolve) =>
        s.addEventListener("refresh", () => resolve(), { once: true })
      );
    const aDone = refreshed(a);
    assertEquals((await a.refreshableCredentials()).accessKey, first.accessKey);
    await aDone;
    assertEquals(sts.calls.AssumeRole, 2);
    const aNew = (await a.refreshableCredentials()).accessKey;
    assertNotEquals(aNew, first.accessKey);
    const seen = warnings(b);
    const bDone = refreshed(b);
    assertEquals((await b.refreshableCredentials()).accessKey, first.accessKey);
    await bDone;
    assertEquals((await b.refreshableCredentials()).accessKey, aNew);
    assertEquals(sts.calls.AssumeRole, 2);
    // The windows fit the entry's whole lifetime: nothing scaled.
    assertEquals(seen, []);
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): during an STS outage every session keeps its working credentials (static stability)", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    const clock = new ManualClock();
    await using a = shared(sts, dir, { clock });
    await using b = shared(sts, dir, { clock });
    const first = await a.refreshableCredentials();
    await b.refreshableCredentials();
    // 500 s before expiry: the mandatory window (600 s); STS is down.
    clock.offset = 3100_000;
    sts.dateSkewSeconds = 3100;
    sts.injectFault({ kind: "outage", actions: ["AssumeRole"] });
    const errors: string[] = [];
    for (const s of [a, b]) {
      s.addEventListener("refresh-error", () => errors.push("refresh-error"));
    }
    assertEquals((await a.refreshableCredentials()).accessKey, first.accessKey);
    assertEquals((await b.refreshableCredentials()).accessKey, first.accessKey);
    assertEquals(errors, ["refresh-error", "refresh-error"]);
    // Each failure released the lock: one attempt per session, no hang.
    assertEquals(sts.calls.AssumeRole, 3);
    sts.clearFaults();
    const next = await a.refresh({ force: true });
    assertNotEquals(next.accessKey, first.accessKey);
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): a forced refresh calls STS even with a fresh entry, and peers then take its result", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    await using a = shared(sts, dir);
    const first = await a.refreshableCredentials();
    const second = await a.refresh({ force: true });
    assertNotEquals(second.accessKey, first.accessKey);
    assertEquals(sts.calls.AssumeRole, 2);
    await using b = shared(sts, dir);
    assertEquals(
      (await b.refreshableCredentials()).accessKey,
      second.accessKey,
    );
    assertEquals(sts.calls.AssumeRole, 2);
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): entries are keyed by role settings, base identity and the option's key", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    const shared = { sharedCache: { directory: dir } };
    const make = (
      extra: Partial<STSRefreshableSessionOptions>,
    ): STSRefreshableSession =>
      new STSRefreshableSession(options(sts, { ...shared, ...extra }));
    await using a = make({});
    await using b = make({
      assumeRole: { RoleArn: ROLE, RoleSessionName: "other" },
    });
    await using c = make({ sharedCache: { directory: dir, key: "billing" } });
    await using d = make({
      stsClientConfig: {
        endpoint: sts.url,
        credentials: {
          accessKeyId: "AKIAOTHERBASEKEY0001",
          secretAccessKey: "other-base-secret",
        },
        maxAttempts: 1,
      },
    });
    await a.refreshableCredentials();
    await b.refreshableCredentials();
    await c.refreshableCredentials();
    // Another base key: not a's entry (this STS refuses the unknown key).
    await assertRejects(() => d.refreshableCredentials());
    assertEquals(sts.calls.AssumeRole, 4);
    assertEquals((await entries(dir)).length, 3);
    await using again = make({});
    assertEquals(
      (await again.refreshableCredentials()).accessKey,
      (await a.refreshableCredentials()).accessKey,
    );
    assertEquals(sts.calls.AssumeRole, 4);
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): an entry obtained earlier keeps windows fitted to its whole lifetime", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    const clock = new ManualClock();
    const make = (): STSRefreshableSession => shared(sts, dir, { clock });
    await using a = make();
    const first = await a.refreshableCredentials();
    // 2000 s later, 1600 s are left: fresh, but less than twice the
    // advisory window.
    clock.offset = 2000_000;
    sts.dateSkewSeconds = 2000;
    await using late = make();
    const seen = warnings(late);
    const refreshes: string[] = [];
    late.addEventListener("refresh", () => refreshes.push("refresh"));
    assertEquals(
      (await late.refreshableCredentials()).accessKey,
      first.accessKey,
    );
    assertEquals(
      (await late.refreshableCredentials()).accessKey,
      first.accessKey,
    );
    assertEquals(sts.calls.AssumeRole, 1);
    assertEquals(refreshes, ["refresh"]);
    assertEquals(seen, []); // no WindowsScaled: its lifetime is 3600 s, not 1600 s
  });
});

Deno.test("STSRefreshableSession({ sharedCache }): the MFA code is not part of the key", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/dev";
  const secret = "JBSWY3DPEHPK3PXP";
  await using sts = await startLocalSts({
    mfaDevices: { [serial]: secret },
    mfaRequiredRoles: [ROLE],
  });
  await withDir(async (dir) => {
    const make = (
      code: () => string | Promise<string>,
    ): STSRefreshableSession =>
      new STSRefreshableSession(
        options(sts, {
          assumeRole: {
            RoleArn: ROLE,
            RoleSessionName: "worker",
            SerialNumber: serial,
          },
          mfaTokenProvider: code,
          sharedCache: { directory: dir },
        }),
      );
    let asked = 0;
    await using a = make(() => {
      asked++;
      return totp(secret);
    });
    await using b = make(() => {
      asked++;
      return "000000";
    });
    const credentials = await a.refreshableCredentials();
    assertEquals(
      (await b.refreshableCredentials()).accessKey,
      credentials.accessKey,
    );
    assertEquals([asked, sts.calls.AssumeRole], [1, 1]);
    for (const entry of await entries(dir)) {
      assertEquals(JSON.stringify(entry).includes(serial), false);
    }
  });
});

Deno.test("WebIdentityRefreshableSession({ sharedCache }): sessions reading one token file make 1 call", async () => {
  await using sts = await startLocalSts();
  await withDir(async (dir) => {
    const tokenFile = await Deno.makeTempFile({ prefix: "brs-token-" });
    try {
      await Deno.writeTextFile(tokenFile, mintWebIdentityToken());
      const make = (): WebIdentityRefreshableSession =>
        new WebIdentityRefreshableSession({
          assumeRoleWithWebIdentity: { RoleArn: ROLE, RoleSessionName: "pod" },
          webIdentityTokenFile: tokenFile,
          stsClientConfig: { endpoint: sts.url, maxAttempts: 1 },
          region: "us-east-1",
          sharedCache: { directory: dir },
        });
      await using a = make();
      await using b = make();
      const texts: string[] = [];
      recordEvents(a, texts);
      const credentials = await a.refreshableCredentials();
      assertEquals(
        (await b.refreshableCredentials()).accessKey,
        credentials.accessKey,
      );
      assertEquals(sts.calls.AssumeRoleWithWebIdentity, 1);
      texts.push(Deno.inspect(a), JSON.stringify(a), String(a));
      assertStringIncludes(Deno.inspect(a), "sharedCache");
      assertNoSecrets(
        texts,
        [credentials.secretKey, credentials.token],
        "session output",
      );
    } finally {
      await Deno.remove(tokenFile);
    }
  });
});

Deno.test("sharedCache: bad values give a BRSValidationError naming the option", () => {
  const role = { RoleArn: ROLE };
  const cases: [unknown, string, string][] = [
    ["yes", "sharedCache", "must be true, false or an object"],
    [null, "sharedCache", "got null"],
    [["/tmp"], "sharedCache", "must be true, false or an object"],
    [{ dir: "/tmp" }, "sharedCache.dir", "use directory or key"],
    [{ directory: "" }, "sharedCache.directory", "non-empty string"],
    [{ directory: 7 }, "sharedCache.directory", "got 7"],
    [{ key: " " }, "sharedCache.key", "non-empty string"],
  ];
  for (const [value, param, text] of cases) {
    const error = assertThrows(
      () =>
        new STSRefreshableSession({
          assumeRole: role,
          sharedCache: value as boolean,
        }),
      BRSValidationError,
      text,
    );
    assertEquals(error.param, param);
    assertStringIncludes(error.message, "Cannot create STSRefreshableSession");
    const web = assertThrows(
      () =>
        new WebIdentityRefreshableSession({
          assumeRoleWithWebIdentity: role,
          webIdentityTokenFile: "/run/token",
          sharedCache: value as boolean,
        }),
      BRSValidationError,
      text,
    );
    assertEquals(web.param, param);
  }
  // Off and on need no directory yet: nothing is touched before a refresh.
  for (const value of [false, true, {}]) {
    const session = new STSRefreshableSession({
      assumeRole: role,
      sharedCache: value,
    });
    assert(session instanceof STSRefreshableSession);
    void session.close();
  }
});
