/**
 * Files and directories against another local user, tried as the attacker
 * would: a cache directory someone else owns (the `sudo -E` case), an
 * `exec` directory swapped for a link while brs writes in it, a label file
 * that is a link, FIFOs and `/dev/zero` where brs reads a file, planted and
 * tampered cache entries, locks with timestamps in the future or a clock
 * that stands still, and the broken-lock litter `clear` must remove.
 *
 * Each case ends in a typed error or a refusal within its bound: every CLI
 * run has a watchdog that kills it, so a hang fails the test instead of
 * holding CI. Cases that need another user run as root (as CI does) and
 * chown to `nobody`; they are ignored otherwise.
 */

import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import {
  credentialsArgs,
  makeCliEnv,
  ROLE_ARN,
  ROOT,
} from "./fixtures/cli/helpers.ts";
import {
  assertRefused,
  NOBODY,
  runBounded,
  WATCHDOG_MS,
} from "./_helpers/hostile_cli.ts";
import { IS_ROOT } from "./_helpers/tools.ts";
import { FileCache, type FileCacheEntry } from "../src/cache/file_cache.ts";
import { withWatchdog } from "./_helpers/scan.ts";

/** The one cache entry (`<key>.json`) in a cache directory. */
function onlyEntry(directory: string): string {
  const names = [...Deno.readDirSync(directory)].map((e) => e.name).filter((
    n,
  ) => /^[0-9a-f]+\.json$/.test(n));
  assertEquals(names.length, 1, `entries: ${names}`);
  return `${directory}/${names[0]}`;
}

/** Runs `brs credentials` once; returns the path of the one entry it cached. */
async function cacheOneEntry(
  stsUrl: string,
  env: Record<string, string>,
): Promise<string> {
  const first = await runBounded(credentialsArgs(stsUrl), env);
  assertEquals(first.code, 0, first.stderr);
  return onlyEntry(`${env.XDG_CACHE_HOME}/brs`);
}

/** Rewrites an entry in place (same inode, owner and mode). */
function tamper(
  path: string,
  change: (entry: {
    obtainedAt: string;
    credentials: Record<string, string>;
  }) => void,
): void {
  const entry = JSON.parse(Deno.readTextFileSync(path));
  change(entry);
  Deno.writeTextFileSync(path, JSON.stringify(entry));
}

function chownTree(path: string, uid: number): void {
  Deno.chownSync(path, uid, uid);
  if (Deno.lstatSync(path).isDirectory) {
    for (const e of Deno.readDirSync(path)) chownTree(`${path}/${e.name}`, uid);
  }
}

Deno.test({
  name:
    "exec never writes through an exec directory that another user swaps for a link to ~/.aws",
  ignore: !IS_ROOT,
  fn: async () => {
    await using sts = await startLocalSts();
    await using cli = await makeCliEnv(sts.baseCredentials);
    // The victim's ~/.aws, and a shared cache home whose brs/ the attacker made.
    const aws = `${cli.dir}/home/.aws`;
    await Deno.mkdir(aws, { recursive: true });
    const victim = {
      config: "[default]\nregion = eu-west-1\n",
      credentials:
        "[default]\naws_access_key_id = AKIAVICTIMVICTIMVICT\naws_secret_access_key = victim\n",
    };
    for (const [name, text] of Object.entries(victim)) {
      await Deno.writeTextFile(`${aws}/${name}`, text);
    }
    const shared = `${cli.dir}/shared`;
    await Deno.mkdir(`${shared}/brs`, { recursive: true });
    await Deno.chmod(shared, 0o1777);
    await Deno.chmod(cli.dir, 0o755);
    await Deno.chown(`${shared}/brs`, NOBODY, NOBODY);
    await Deno.chmod(`${shared}/brs`, 0o777);
    // The attacker: as nobody, keeps replacing every exec-* directory by a
    // link to the victim's ~/.aws.
    const attacker = new Deno.Command("setpriv", {
      args: [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        "/usr/bin/python3",
        "-c",
        `import os, sys, time
d, target = sys.argv[1], sys.argv[2]
end = time.time() + 60
while time.time() < end:
    try:
        names = os.listdir(d)
    except OSError:
        continue
    for name in names:
        p = os.path.join(d, name)
        if name.startswith("exec-") and not name.endswith(".x") and not os.path.islink(p):
            try:
                os.rename(p, p + ".x")
                os.symlink(target, p)
            except OSError:
                pass
`,
        `${shared}/brs`,
        aws,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const env = {
        ...cli.env,
        HOME: `${cli.dir}/home`,
        XDG_CACHE_HOME: shared,
      };
      for (let i = 0; i < 3; i++) {
        const r = await runBounded(
          [
            "exec",
            "--role-arn",
            ROLE_ARN,
            "--endpoint-url",
            sts.url,
            "--",
            "true",
          ],
          env,
        );
        for (const [name, text] of Object.entries(victim)) {
          assertEquals(
            await Deno.readTextFile(`${aws}/${name}`),
            text,
            `try ${i + 1}: brs wrote the victim's ~/.aws/${name}`,
          );
        }
        assertRefused(r, /brs\/?' as it is owned by uid 65534, not by you/);
      }
    } finally {
      attacker.kill("SIGKILL");
      await attacker.status;
    }
  },
});

Deno.test({
  name:
    "the CLI refuses a cache directory another user owns (sudo -E) and never prints the entry planted there",
  ignore: !IS_ROOT,
  fn: async () => {
    await using sts = await startLocalSts();
    await using cli = await makeCliEnv(sts.baseCredentials);
    const directory = `${cli.env.XDG_CACHE_HOME}/brs`;
    tamper(await cacheOneEntry(sts.url, cli.env), (entry) => {
      entry.credentials.accessKey = "ASIAPLANTEDBYNOBODY1";
      entry.credentials.secretKey = "planted-secret";
    });
    // The attacker's cache home: directory and entry are nobody's.
    chownTree(directory, NOBODY);
    const r = await runBounded(credentialsArgs(sts.url), cli.env);
    assert(!r.stdout.includes("ASIAPLANTED"), "served a planted entry");
    assertRefused(
      r,
      /credential cache directory '.*brs' as it is owned by uid 65534, not by you \(uid 0\)/,
    );
  },
});

Deno.test("the CLI never writes a label file through a link", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const entry = await cacheOneEntry(sts.url, cli.env);
  const label = entry.replace(/\.json$/, ".label");
  const target = `${cli.dir}/victim.txt`;
  await Deno.writeTextFile(target, "the victim's file\n", { mode: 0o644 });
  await Deno.chmod(target, 0o644);
  await Deno.remove(label);
  await Deno.symlink(target, label);
  await Deno.remove(entry); // the next run refreshes and writes the label
  const r = await runBounded(credentialsArgs(sts.url), cli.env);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await Deno.readTextFile(target), "the victim's file\n");
  assertEquals((await Deno.stat(target)).mode! & 0o777, 0o644);
  const info = await Deno.lstat(label);
  assert(info.isFile && !info.isSymlink, "the label is still a link");
  assertEquals(info.mode! & 0o777, 0o600);
});

Deno.test("the CLI refuses an entry whose expiry lies past its requested duration (year 9999) and says why with --debug", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  tamper(await cacheOneEntry(sts.url, cli.env), (entry) => {
    entry.credentials.accessKey = "ASIATAMPEREDEXPIRY99";
    entry.credentials.expiryTime = "9999-12-31T23:59:59.000Z";
  });
  const r = await runBounded(
    credentialsArgs(sts.url, "--debug"),
    cli.env,
  );
  assertEquals(r.code, 0, r.stderr);
  assert(!r.stdout.includes("ASIATAMPERED"), "served a tampered entry");
  assertMatch(
    r.stderr,
    /brs: debug: ignored the cached entry .* as it expires .* after it was obtained, longer than the 3600 s requested/,
  );
  assertEquals(sts.calls.AssumeRole, 2);
});

Deno.test("the CLI refuses an entry obtained in the future (a zero refresh threshold) and says why with --debug", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  tamper(await cacheOneEntry(sts.url, cli.env), (entry) => {
    entry.credentials.accessKey = "ASIATAMPEREDOBTAINED";
    // 10 minutes left: inside the advisory window, so it must be refreshed;
    // an obtainedAt after the expiry made the threshold 0.
    entry.credentials.expiryTime = new Date(Date.now() + 600_000)
      .toISOString();
    entry.obtainedAt = new Date(Date.now() + 86_400_000).toISOString();
  });
  const r = await runBounded(
    credentialsArgs(sts.url, "--debug"),
    cli.env,
  );
  assertEquals(r.code, 0, r.stderr);
  assert(!r.stdout.includes("ASIATAMPERED"), "served a tampered entry");
  assertMatch(
    r.stderr,
    /brs: debug: ignored the cached entry .* as it was obtained in the future/,
  );
});

Deno.test({
  name:
    "the CLI ignores an entry another user owns in its own cache directory (root too)",
  ignore: !IS_ROOT,
  fn: async () => {
    await using sts = await startLocalSts();
    await using cli = await makeCliEnv(sts.baseCredentials);
    const entry = await cacheOneEntry(sts.url, cli.env);
    tamper(entry, (e) => {
      e.credentials.accessKey = "ASIAPLANTEDBYNOBODY2";
    });
    await Deno.chown(entry, NOBODY, NOBODY);
    const r = await runBounded(
      credentialsArgs(sts.url, "--debug"),
      cli.env,
    );
    assertEquals(r.code, 0, r.stderr);
    assert(!r.stdout.includes("ASIAPLANTED"), "served a planted entry");
    assertMatch(r.stderr, /ignored the cached entry .*owned by uid 65534/);
  },
});

Deno.test("the CLI takes over a lock whose timestamps lie in the future, held by a live process", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  const entry = await cacheOneEntry(sts.url, cli.env);
  await Deno.remove(entry);
  const lock = entry.replace(/\.json$/, ".lock");
  const future = Date.now() + 10 * 365 * 86_400_000;
  await Deno.writeTextFile(
    lock,
    JSON.stringify({ pid: Deno.pid, time: future, nonce: "planted" }),
    { mode: 0o600 },
  );
  await Deno.utime(lock, future / 1000, future / 1000);
  const r = await runBounded(credentialsArgs(sts.url), cli.env);
  assert(!r.killed, "waited on the lock until the watchdog");
  assertEquals(r.code, 0, r.stderr);
  assert(r.stdout.includes('"ASIA'));
});

Deno.test("FileCache waits no longer than staleLockMs (monotonic) when its wall clock stands still", async () => {
  const directory = await Deno.makeTempDir({ prefix: "brs_hostile_lock_" });
  try {
    // The wall clock stops now: the holder's recorded time never ages.
    const stuck = Date.now();
    const cache = new FileCache({
      directory,
      staleLockMs: 400,
      now: () => stuck,
    });
    const key = await FileCache.keyOf({ role: "stuck-clock" });
    await Deno.writeTextFile(
      `${directory}/${key}.lock`,
      JSON.stringify({ pid: Deno.pid, time: stuck, nonce: "held" }),
      { mode: 0o600 },
    );
    const entry: FileCacheEntry = {
      credentials: {
        accessKey: "ASIAAFTERSTUCKCLOCK1",
        secretKey: "secret",
        token: "token",
        expiryTime: new Date(stuck + 3_600_000).toISOString(),
      },
      obtainedAt: new Date(stuck).toISOString(),
    };
    const start = performance.now();
    const result = await withWatchdog(
      cache.getOrRefresh(key, () => Promise.resolve(entry)),
      "the lock wait never ended with the wall clock stuck",
      10_000,
    );
    assertEquals(result.source, "refresh");
    const waited = performance.now() - start;
    assert(waited >= 350, `gave up the wait too early: ${waited} ms`);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("brs clear removes broken-lock litter and never follows a link", async () => {
  await using cli = await makeCliEnv();
  const directory = `${cli.env.XDG_CACHE_HOME}/brs`;
  await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
  const key = "0123456789abcdef0123456789abcdef";
  const litter = [
    `${key}.lock.broken.${crypto.randomUUID()}`,
    `${key}.lock.broken.${crypto.randomUUID()}`,
  ];
  for (const name of litter) {
    await Deno.writeTextFile(`${directory}/${name}`, "{}", { mode: 0o600 });
  }
  const target = `${cli.dir}/keep.txt`;
  await Deno.writeTextFile(target, "keep\n");
  const link = `${key}.lock.broken.link`;
  await Deno.symlink(target, `${directory}/${link}`);
  const r = await runBounded(["clear"], cli.env);
  assertEquals(r.code, 0, r.stderr);
  assertEquals([...Deno.readDirSync(directory)].map((e) => e.name), []);
  assertEquals(await Deno.readTextFile(target), "keep\n");
});

// --- FIFOs and devices where brs reads a file --------------------------------

/** Makes a FIFO (nobody ever writes it). */
async function fifo(path: string): Promise<string> {
  const { success } = await new Deno.Command("mkfifo", { args: [path] })
    .output();
  assert(success, "mkfifo failed");
  return path;
}

for (const kind of ["FIFO", "/dev/zero"] as const) {
  const special = async (dir: string, name: string): Promise<string> =>
    kind === "FIFO" ? await fifo(`${dir}/${name}`) : "/dev/zero";
  const said = kind === "FIFO"
    ? /a FIFO, not a regular file/
    : /a character device, not a regular file/;

  Deno.test(`the CLI refuses a ${kind} as the AWS config file at once`, async () => {
    await using cli = await makeCliEnv();
    const env = {
      ...cli.env,
      AWS_CONFIG_FILE: await special(cli.dir, "aws_config_special"),
    };
    const r = await runBounded(["credentials", "--profile", "dev"], env);
    assertRefused(r, said);
    assertStringIncludes(r.stderr, "AWS config file");
  });

  Deno.test(`the CLI refuses a ${kind} as the AWS credentials file at once`, async () => {
    await using cli = await makeCliEnv();
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      `[profile dev]\nrole_arn = ${ROLE_ARN}\nsource_profile = base\n`,
    );
    const env = {
      ...cli.env,
      AWS_SHARED_CREDENTIALS_FILE: await special(
        cli.dir,
        "aws_credentials_special",
      ),
    };
    const r = await runBounded(["credentials", "--profile", "dev"], env);
    assertRefused(r, said);
    assertStringIncludes(r.stderr, "AWS credentials file");
  });

  Deno.test(`the CLI refuses a ${kind} as the TOML profiles file at once`, async () => {
    await using cli = await makeCliEnv();
    const r = await runBounded(
      [
        "credentials",
        "--profile",
        "dev",
        "--config",
        await special(cli.dir, "config.toml"),
      ],
      cli.env,
    );
    assertRefused(r, said);
  });

  Deno.test(`the CLI refuses a ${kind} as the web identity token file at once`, async () => {
    await using sts = await startLocalSts();
    await using cli = await makeCliEnv();
    const token = await special(cli.dir, "token");
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      `[profile irsa]\nrole_arn = ${ROLE_ARN}\nweb_identity_token_file = ${token}\nendpoint_url = ${sts.url}\n`,
    );
    const r = await runBounded(
      ["credentials", "--profile", "irsa", "--no-cache"],
      cli.env,
    );
    assertRefused(r, said);
    assertStringIncludes(r.stderr, "web identity token file");
    assertEquals(sts.requests.length, 0);
  });

  Deno.test(`IoTRefreshableSession refuses a ${kind} as its certificate at once`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "brs_hostile_iot_" });
    try {
      const cert = await special(dir, "cert.pem");
      const probe = new URL("./_helpers/iot_read_probe.ts", import.meta.url)
        .pathname;
      const start = performance.now();
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--allow-read",
          "--allow-env",
          "--allow-net=127.0.0.1",
          probe,
          cert,
        ],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(WATCHDOG_MS),
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assertEquals(
        out.signal,
        null,
        `hung: killed after ${Math.round(performance.now() - start)} ms`,
      );
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertMatch(stdout, /^BRSConfigurationError certificate /);
      assertMatch(stdout, said);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("the CLI refuses an oversize AWS config file with the cap in the message", async () => {
  await using cli = await makeCliEnv();
  const big = await Deno.open(cli.env.AWS_CONFIG_FILE!, { write: true });
  await big.truncate(4 * 1024 * 1024 + 1);
  big.close();
  const r = await runBounded(["credentials", "--profile", "dev"], cli.env);
  assertRefused(r, /AWS config file '.*' as it is larger than 4 MiB/);
});
