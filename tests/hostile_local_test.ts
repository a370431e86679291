/**
 * Hostile local input beyond the cache: the SSO token cache of
 * `aws sso login` planted by another user, opened to others, or made a FIFO,
 * a device, a directory or an oversize file; a TOTP seed file in a directory
 * another user can write, swapped for a FIFO by a loop running as that user;
 * an MFA command reached through a link another user owns in `/tmp`;
 * and config files built to make planning slow (tens of thousands of
 * profiles, a chain of 10 000 source profiles).
 *
 * Each case ends in a typed error or a refusal within its bound: every CLI
 * run has a watchdog that kills it, so a hang fails the test. Cases that need
 * another user run as root and chown to `nobody`; they are ignored otherwise.
 */

import {
  assert,
  assertEquals,
  assertFalse,
  assertMatch,
  assertRejects,
} from "@std/assert";
import { BRSConfigurationError, createMfaTokenSource } from "../mod.ts";
import { _resetMfaRegistryForTesting } from "../src/mfa/_mfa_registry.ts";
import { startLocalSso, startLocalSts } from "../src/testing/mod.ts";
import {
  CLI_FLAGS,
  CLI_PATH,
  makeCliEnv,
  ROLE_ARN,
  ROOT,
} from "./fixtures/cli/helpers.ts";
import { assertRefused, NOBODY, runBounded } from "./_helpers/hostile_cli.ts";
import { HAS_OATHTOOL, IS_ROOT } from "./_helpers/tools.ts";

const ACCOUNT = "123456789012";

/** A clean refusal in one line. */
const ONE_LINE = { oneLine: true } as const;

Deno.test({
  name:
    "the CLI refuses an SSO token planted by another user or open to others, and a FIFO, /dev/zero, a directory or an oversize token at once, never printing the token",
  ignore: !IS_ROOT,
  fn: async () => {
    await using sts = await startLocalSts();
    await using sso = await startLocalSso({
      sts,
      accounts: { [ACCOUNT]: ["Developer"] },
    });
    await using cli = await makeCliEnv();
    const env: Record<string, string> = {
      ...cli.env,
      HOME: cli.dir,
      AWS_ENDPOINT_URL_SSO: sso.url,
      AWS_ENDPOINT_URL_SSO_OIDC: sso.url,
      AWS_ENDPOINT_URL_STS: sts.url,
    };
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      `[profile sso-dev]\nsso_session = my-sso\nsso_account_id = ${ACCOUNT}\nsso_role_name = Developer\nregion = eu-west-1\n\n` +
        `[sso-session my-sso]\nsso_start_url = ${sso.startUrl}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n`,
    );
    const login = await sso.login({ home: cli.dir, sessionName: "my-sso" });
    const token = await Deno.readTextFile(login.path);
    const args = ["credentials", "--profile", "sso-dev", "--no-cache"];
    const fresh = (): void => {
      Deno.removeSync(login.path, { recursive: true });
      Deno.writeTextFileSync(login.path, token, { mode: 0o600 });
      Deno.chmodSync(login.path, 0o600);
    };
    const cases: [string, () => void, RegExp][] = [
      ["another user's token", () => {
        fresh();
        Deno.chownSync(login.path, NOBODY, NOBODY);
      }, /belongs to uid 65534, not to the user running brs/],
      ["a link to another user's token", () => {
        fresh();
        const planted = `${cli.dir}/planted.json`;
        Deno.writeTextFileSync(planted, token, { mode: 0o600 });
        Deno.chownSync(planted, NOBODY, NOBODY);
        Deno.removeSync(login.path);
        Deno.symlinkSync(planted, login.path);
      }, /belongs to uid 65534/],
      ["a token others can change", () => {
        fresh();
        Deno.chmodSync(login.path, 0o666);
      }, /can be changed by other users \(mode 0666\)/],
      ["a FIFO", () => {
        Deno.removeSync(login.path);
        new Deno.Command("mkfifo", { args: [login.path] }).outputSync();
      }, /is a FIFO, not a regular file/],
      ["/dev/zero", () => {
        Deno.removeSync(login.path);
        Deno.symlinkSync("/dev/zero", login.path);
      }, /is a character device, not a regular file/],
      ["a directory", () => {
        Deno.removeSync(login.path);
        Deno.mkdirSync(login.path);
      }, /is a directory, not a regular file/],
      ["an oversize token", () => {
        Deno.removeSync(login.path, { recursive: true });
        Deno.writeTextFileSync(login.path, " ".repeat(1024 * 1024) + token, {
          mode: 0o600,
        });
      }, /is larger than 64 KiB/],
    ];
    for (const [what, plant, said] of cases) {
      plant();
      const r = await runBounded([...args, "--debug"], env);
      assert(!r.killed, `${what}: hung`);
      assertEquals(r.code, 2, `${what}: ${r.stderr}`);
      assertMatch(r.stderr, said, what);
      assertMatch(r.stderr, /run 'aws sso login --profile sso-dev'/, what);
      assert(!r.stderr.includes(login.accessToken), `${what}: token shown`);
      assertEquals(r.stdout, "", what);
    }
    assertEquals(sso.calls.total, 0, "no planted token reached the portal");
    // the user's own token still works
    fresh();
    const ok = await runBounded(args, env);
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(sso.calls.GetRoleCredentials, 1);
  },
});

Deno.test("brs profiles stays fast on 60 000 profiles and a chain of 10 000 source profiles; the chain is refused by its length", async () => {
  await using sts = await startLocalSts();
  await using flat = await makeCliEnv(sts.baseCredentials);
  await using chained = await makeCliEnv(sts.baseCredentials);
  let many = "";
  for (let i = 0; i < 60_000; i++) many += `[profile q${i}]\nregion = x\n`;
  await Deno.writeTextFile(flat.env.AWS_CONFIG_FILE!, many);
  const hops = 10_000;
  let chain = "";
  for (let i = 0; i < hops; i++) {
    chain += `[profile p${i}]\nrole_arn = ${ROLE_ARN}\nsource_profile = ${
      i + 1 < hops ? `p${i + 1}` : "default"
    }\n`;
  }
  await Deno.writeTextFile(chained.env.AWS_CONFIG_FILE!, chain);
  const [listed, chainListed, refused] = await Promise.all([
    runBounded(["profiles", "--json"], flat.env),
    runBounded(["profiles", "--json"], chained.env),
    runBounded(
      ["credentials", "--profile", "p0", "--endpoint-url", sts.url],
      chained.env,
    ),
  ]);
  for (const r of [listed, chainListed]) {
    assert(!r.killed, `hung: killed after ${Math.round(r.ms)} ms`);
    assertEquals(r.code, 0, r.stderr);
  }
  assertEquals(JSON.parse(listed.stdout).length, 60_000);
  const rows = JSON.parse(chainListed.stdout) as { error?: string }[];
  assertEquals(rows.length, hops);
  assertMatch(rows[0]!.error!, /goes through more than 100 profiles/);
  assertRefused(
    refused,
    /profile 'p0' as its chain of source profiles goes through more than 100 profiles \('source_profile' of profile 'p99' in .* line 300 goes on to 'p100'\)/,
    ONE_LINE,
  );
  assertEquals(sts.calls.total, 0);
});

Deno.test({
  name:
    "a seed file (stdinFile) in a directory another user can write or owns is refused, so a loop swapping it for a FIFO never makes brs wait",
  ignore: !IS_ROOT,
  fn: async () => {
    _resetMfaRegistryForTesting();
    const seed = "JBSWY3DPEHPK3PXP";
    const top = await Deno.makeTempDir({ prefix: "brs_seed_dir_" });
    await Deno.chmod(top, 0o755); // nobody reaches the shared directory
    try {
      const read = (stdinFile: string): Promise<BRSConfigurationError> =>
        assertRejects(
          () =>
            createMfaTokenSource(["oathtool", "--totp", "-b", "-"], {
              stdinFile,
            })(`arn:aws:iam::${ACCOUNT}:mfa/seed-dir`),
          BRSConfigurationError,
        );
      // a directory others can write (no sticky bit), and one nobody owns
      const shared = `${top}/shared`;
      await Deno.mkdir(shared);
      await Deno.chmod(shared, 0o777);
      await Deno.writeTextFile(`${shared}/seed`, seed, { mode: 0o600 });
      const open = await read(`${shared}/seed`);
      assertEquals(open.code, "SecretFileUnsafe");
      assertMatch(open.message, /above it is writable by other users/);
      assertFalse(open.message.includes(seed));
      const theirs = `${top}/theirs`;
      await Deno.mkdir(theirs, { mode: 0o755 });
      await Deno.writeTextFile(`${theirs}/seed`, seed, { mode: 0o600 });
      await Deno.chown(theirs, NOBODY, NOBODY);
      assertMatch((await read(`${theirs}/seed`)).message, /uid 65534/);
      // through a link from a safe directory into the shared one
      await Deno.symlink(`${shared}/seed`, `${top}/link`);
      assertMatch((await read(`${top}/link`)).message, /writable by other/);
      // the race: nobody swaps the seed for a FIFO and back, forever
      const swap = `${top}/swap.sh`;
      await Deno.writeTextFile(
        swap,
        `#!/bin/sh\ncd '${shared}' || exit 1\nwhile :; do mv seed s 2>/dev/null; mkfifo seed 2>/dev/null; rm -f seed; mv s seed 2>/dev/null; done\n`,
        { mode: 0o755 },
      );
      await Deno.chmod(swap, 0o755);
      const attacker = new Deno.Command("setpriv", {
        args: ["--reuid=65534", "--regid=65534", "--clear-groups", swap],
        stdout: "null",
        stderr: "null",
      }).spawn();
      let exited = false;
      attacker.status.then(() => exited = true);
      try {
        const until = performance.now() + 2_000;
        let tries = 0;
        while (performance.now() < until) {
          tries++;
          const outcome = await Promise.race([
            read(`${shared}/seed`).then((e) => e.code),
            new Promise<string>((done) => setTimeout(done, 3_000, "hung")),
          ]);
          assert(outcome !== "hung", `waited on a FIFO after ${tries} tries`);
        }
        assertFalse(exited, "the swapping loop did not run");
      } finally {
        if (!exited) attacker.kill("SIGKILL");
        await attacker.status;
      }
    } finally {
      await Deno.remove(top, { recursive: true });
    }
  },
});

Deno.test("exec --server stays up under a flood of connections past its file limit and drops clients that never finish their request", async () => {
  await using sts = await startLocalSts();
  await using cli = await makeCliEnv(sts.baseCredentials);
  // brs with 256 file descriptors; the flood below needs more than that
  const brs = new Deno.Command("sh", {
    args: [
      "-c",
      'ulimit -n 256 && exec "$0" "$@"',
      Deno.execPath(),
      "run",
      "--quiet",
      "--no-prompt",
      ...CLI_FLAGS,
      CLI_PATH,
      "exec",
      "--server",
      "--role-arn",
      ROLE_ARN,
      "--endpoint-url",
      sts.url,
      "--",
      "sh",
      "-c",
      'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI $AWS_CONTAINER_AUTHORIZATION_TOKEN"; exec sleep 60',
    ],
    env: cli.env,
    clearEnv: true,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const held: Deno.TcpConn[] = [];
  let ended = false;
  brs.status.then(() => ended = true);
  try {
    const lines = brs.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const [uri = "", token = ""] = (await lines.read()).value!.trim().split(
      " ",
    );
    const ask = async (authorization?: string): Promise<number> => {
      const r = await fetch(uri, {
        headers: authorization === undefined ? {} : { authorization },
        signal: AbortSignal.timeout(10_000),
      });
      await r.body?.cancel();
      return r.status;
    };
    assertEquals(await ask(), 401);
    assertEquals(await ask("0".repeat(64)), 401);
    // 400 connections that each send half a request and wait
    const port = Number(new URL(uri).port);
    const half = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nX-a: ");
    for (let i = 0; i < 400; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(half).catch(() => 0);
      held.push(conn);
    }
    assertEquals(await ask(token), 200, "no credentials during the flood");
    // the server drops a client that never ends its request (the newest
    // held one: still open when the flood ended)
    const last = held[held.length - 1]!;
    const dropped = await Promise.race([
      last.read(new Uint8Array(16)).then((n) => n === null, () => true),
      new Promise<false>((done) => setTimeout(done, 10_000, false)),
    ]);
    assert(dropped, "a half request held its connection past the timeout");
    assertEquals(await ask(token), 200);
    assertFalse(ended, "brs ended during the flood");
  } finally {
    for (const conn of held) {
      try {
        conn.close();
      } catch { /* dropped by the server */ }
    }
    brs.kill("SIGTERM");
    const status = await brs.status;
    const stderr = await new Response(brs.stderr).text();
    assertEquals(stderr, "");
    assert(status.signal === null || status.code !== 0);
  }
});

Deno.test({
  name:
    "an MFA command whose chain of links passes through a link another user owns in /tmp is refused before it runs",
  ignore: !IS_ROOT || !HAS_OATHTOOL,
  fn: async () => {
    _resetMfaRegistryForTesting();
    const found = await new Deno.Command("sh", {
      args: ["-c", "command -v oathtool"],
      stdout: "piped",
    }).output();
    const real = await Deno.realPath(
      new TextDecoder().decode(found.stdout).trim(),
    );
    const dir = await Deno.makeTempDir({ prefix: "brs_link_chain_" });
    await Deno.chmod(dir, 0o755);
    // nobody's link in the sticky /tmp, pointing (for now) at the real tool
    const theirs = `/tmp/brs_theirs_${crypto.randomUUID()}`;
    try {
      const ln = await new Deno.Command("setpriv", {
        args: [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          "ln",
          "-s",
          real,
          theirs,
        ],
      }).output();
      assert(ln.success);
      assertEquals((await Deno.lstat(theirs)).uid, NOBODY);
      await Deno.symlink(theirs, `${dir}/oathtool`);
      const error = await assertRejects(
        () =>
          createMfaTokenSource([`${dir}/oathtool`, "--totp", "-b", "-"])(
            `arn:aws:iam::${ACCOUNT}:mfa/link-chain`,
          ),
        BRSConfigurationError,
      );
      assertEquals(error.code, "CommandNotTrusted");
      assertMatch(error.message, /brs_theirs_.*belongs to uid 65534/);
    } finally {
      await Deno.remove(theirs).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "the CLI refuses a cache directory below a directory another user owns or anyone can write, who could swap it after the check",
  ignore: !IS_ROOT,
  fn: async () => {
    await using sts = await startLocalSts();
    await using cli = await makeCliEnv(sts.baseCredentials);
    const theirs = `${cli.dir}/theirs`;
    await Deno.mkdir(theirs, { mode: 0o755 });
    await Deno.chown(theirs, NOBODY, NOBODY);
    const open = `${cli.dir}/open`;
    await Deno.mkdir(open);
    await Deno.chmod(open, 0o777);
    const args = ["credentials", "--role-arn", ROLE_ARN, "--endpoint-url"];
    const [owned, writable] = await Promise.all([
      runBounded([...args, sts.url], { ...cli.env, XDG_CACHE_HOME: theirs }),
      runBounded([...args, sts.url], { ...cli.env, XDG_CACHE_HOME: open }),
    ]);
    assertRefused(
      owned,
      /above it is owned by uid 65534, who could swap it/,
      ONE_LINE,
    );
    assertRefused(writable, /above it is writable by other users/, ONE_LINE);
    for (const dir of [theirs, open]) {
      const names = [...Deno.readDirSync(`${dir}/brs`)].map((e) => e.name);
      assertEquals(names, [], "nothing written there");
    }
    assertEquals(sts.calls.total, 0);
  },
});
