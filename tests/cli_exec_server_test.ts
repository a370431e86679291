/**
 * `brs exec --server`: a child using the AWS SDK's container provider keeps
 * getting fresh credentials across a refresh; requests without the token get
 * 401; the child's environment has no static keys.
 */
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import { makeCliEnv, ROLE_ARN, runCli } from "./fixtures/cli/helpers.ts";

const CHILD =
  new URL("./fixtures/cli/container_child.ts", import.meta.url).pathname;

Deno.test("brs exec --server serves fresh credentials to a child across a refresh", async () => {
  await using sts = await startLocalSts({ credentialLifetimeSeconds: 6 });
  await using cli = await makeCliEnv(sts.baseCredentials);
  const r = await runCli([
    "exec",
    "--server",
    "--role-arn",
    ROLE_ARN,
    "--endpoint-url",
    sts.url,
    "--",
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-net=127.0.0.1",
    "--allow-env",
    "--allow-read",
    "--allow-sys=osRelease,homedir",
    CHILD,
    sts.url,
  ], cli.env);
  assertEquals(r.code, 0, r.stderr);
  const child = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  assertEquals(child.noTokenStatus, 401);
  assertEquals(child.wrongTokenStatus, 401);
  assertEquals(child.uriHost, "127.0.0.1");
  assertEquals(child.staticKey, null);
  assert(child.firstExpired);
  assertNotEquals(child.first, child.second);
  const arn = "arn:aws:sts::123456789012:assumed-role/brs-cli-test/brs-cli";
  assertEquals([child.arn1, child.arn2], [arn, arn]);
  assert(sts.calls.AssumeRole >= 2);
});
