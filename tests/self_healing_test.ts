// Self-healing clients: real SDK clients against the local STS with revoked keys.
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import {
  BRSError,
  BRSValidationError,
  CustomRefreshableSession,
  getSelfHealingPlugin,
  type RefreshEventDetail,
  STSRefreshableSession,
} from "../mod.ts";
import { type LocalSts, startLocalSts } from "../src/testing/mod.ts";
import {
  type _Middleware,
  _selfHealingMiddleware,
} from "../src/engine/_self_healing.ts";
import { localStsOptions } from "./_helpers/sessions.ts";

function session(sts: LocalSts): STSRefreshableSession {
  return new STSRefreshableSession(localStsOptions(sts));
}

function gci(sts: LocalSts): number {
  return sts.requests.filter((r) => r.action === "GetCallerIdentity").length;
}

Deno.test("100 concurrent requests on a cached client after its key was revoked: 1 refresh, all 100 succeed", async () => {
  await using sts = await startLocalSts();
  await using s = session(sts);
  const reasons: string[] = [];
  s.addEventListener("refresh", (e) => {
    reasons.push((e as CustomEvent<RefreshEventDetail>).detail.reason);
  });
  const client = s.client(STSClient, { endpoint: sts.url, maxAttempts: 1 });
  await client.send(new GetCallerIdentityCommand({}));
  const { accessKey } = await s.refreshableCredentials();
  sts.revoke(accessKey);
  const results = await Promise.allSettled(
    Array.from(
      { length: 100 },
      () => client.send(new GetCallerIdentityCommand({})),
    ),
  );
  assertEquals(results.filter((r) => r.status === "fulfilled").length, 100);
  assertEquals(sts.calls.AssumeRole, 2); // the first fetch and one refresh
  assertEquals(reasons, ["Initial", "Invalidated"]);
  const after = await s.refreshableCredentials();
  assert(after.accessKey !== accessKey);
  // Every retry was signed with the new key.
  const retried = sts.requests.filter((r) =>
    r.action === "GetCallerIdentity" && r.status === 200 &&
    r.accessKeyId === after.accessKey
  );
  assertEquals(retried.length, 100);
});

Deno.test("resource() clients heal themselves too", async () => {
  await using sts = await startLocalSts();
  await using s = session(sts);
  const Wrapper = {
    from(client: STSClient): { client: STSClient } {
      return { client };
    },
  };
  const { client } = s.resource(Wrapper, STSClient, { endpoint: sts.url });
  await client.send(new GetCallerIdentityCommand({}));
  sts.revoke((await s.refreshableCredentials()).accessKey);
  const identity = await client.send(new GetCallerIdentityCommand({}));
  assertEquals(identity.Account, "123456789012");
  assertEquals(sts.calls.AssumeRole, 2);
});

Deno.test("whoami() heals itself after the key was revoked", async () => {
  await using sts = await startLocalSts();
  await using s = session(sts);
  await s.whoami();
  sts.revoke((await s.refreshableCredentials()).accessKey);
  assertEquals((await s.whoami()).Account, "123456789012");
  assertEquals(sts.calls.AssumeRole, 2);
});

Deno.test("a self-healing client retries once: a second ExpiredToken reaches the caller", async () => {
  await using sts = await startLocalSts();
  await using s = session(sts);
  const client = s.client(STSClient, { endpoint: sts.url, maxAttempts: 1 });
  await client.send(new GetCallerIdentityCommand({}));
  sts.resetCalls();
  sts.injectFault({ kind: "expired-token", actions: ["GetCallerIdentity"] });
  const error = await assertRejects(() =>
    client.send(new GetCallerIdentityCommand({}))
  );
  assertEquals((error as Error).name, "ExpiredToken");
  assertEquals(gci(sts), 2);
  assertEquals(sts.calls.AssumeRole, 1);
});

Deno.test("a self-healing client never retries another error", async () => {
  await using sts = await startLocalSts();
  await using s = session(sts);
  const client = s.client(STSClient, { endpoint: sts.url, maxAttempts: 1 });
  await client.send(new GetCallerIdentityCommand({}));
  sts.resetCalls();
  for (const kind of ["access-denied", "throttle", "server-error"] as const) {
    sts.clearFaults();
    sts.injectFault({ kind, actions: ["GetCallerIdentity"] });
    await assertRejects(() => client.send(new GetCallerIdentityCommand({})));
  }
  assertEquals(gci(sts), 3);
  assertEquals(sts.calls.AssumeRole, 0);
});

Deno.test("a client of the session with credentials of its own is not retried (not the session's key)", async () => {
  await using sts = await startLocalSts();
  await using s = session(sts);
  const client = s.client(STSClient, {
    endpoint: sts.url,
    maxAttempts: 1,
    credentials: sts.baseCredentials,
  });
  sts.injectFault({
    kind: "expired-token",
    actions: ["GetCallerIdentity"],
    times: 1,
  });
  await assertRejects(() => client.send(new GetCallerIdentityCommand({})));
  assertEquals(gci(sts), 1);
  assertEquals(sts.calls.AssumeRole, 0);
});

Deno.test("getSelfHealingPlugin(session) heals a client the user built; without it the revoked key fails", async () => {
  await using sts = await startLocalSts();
  await using s = session(sts);
  const config = {
    region: "us-east-1",
    endpoint: sts.url,
    maxAttempts: 1,
    credentials: s.credentialProvider,
  };
  const plain = new STSClient(config);
  const healed = new STSClient(config);
  healed.middlewareStack.use(getSelfHealingPlugin(s));
  healed.middlewareStack.use(getSelfHealingPlugin(s)); // twice: one middleware
  assertEquals(
    healed.middlewareStack.identify().filter((m) =>
      m.startsWith("brsSelfHealingMiddleware")
    ).length,
    1,
  );
  await healed.send(new GetCallerIdentityCommand({}));
  sts.revoke((await s.refreshableCredentials()).accessKey);
  const error = await assertRejects(() =>
    plain.send(new GetCallerIdentityCommand({}))
  );
  assertEquals((error as Error).name, "ExpiredToken");
  assertEquals(
    (await healed.send(new GetCallerIdentityCommand({}))).Account,
    "123456789012",
  );
  assertEquals(sts.calls.AssumeRole, 2);
  plain.destroy();
  healed.destroy();
});

Deno.test("getSelfHealingPlugin() refuses what is not a session", () => {
  for (const value of [{}, null, "session", new STSClient({})]) {
    const error = assertThrows(
      () => getSelfHealingPlugin(value as object),
      BRSValidationError,
    );
    assertEquals(error.param, "session");
  }
});

function expiredToken(): Error {
  const e = new Error("The security token included in the request is expired");
  e.name = "ExpiredToken";
  return e;
}

/** Runs the middleware once over a `next` that fails with ExpiredToken the first time. */
async function runMiddleware(input: Record<string, unknown>): Promise<{
  result: PromiseSettledResult<unknown>;
  nextCalls: number;
  invalidated: string[];
}> {
  const invalidated: string[] = [];
  let nextCalls = 0;
  const middleware = _selfHealingMiddleware({
    owns: (key) => key === "ASIAOURS0000000000001",
    invalidate: (key) => {
      invalidated.push(key);
      return true;
    },
  });
  const context = {
    __smithy_context: {
      selectedHttpAuthScheme: {
        identity: {
          accessKeyId: "ASIAOURS0000000000001",
          secretAccessKey: "never-shown-secret",
        },
      },
    },
  };
  const handler = middleware(() => {
    nextCalls++;
    return nextCalls === 1
      ? Promise.reject(expiredToken())
      : Promise.resolve("ok");
  }, context);
  const [result] = await Promise.allSettled([handler({ input })]);
  return { result: result!, nextCalls, invalidated };
}

Deno.test("a request whose body is a one-shot stream is not retried, and the error says so", async () => {
  const streams = [
    new ReadableStream({ start: (c) => c.close() }),
    (async function* (): AsyncGenerator<Uint8Array> {})(),
  ];
  for (const Body of streams) {
    const { result, nextCalls, invalidated } = await runMiddleware({ Body });
    assertEquals(result.status, "rejected");
    const error = (result as PromiseRejectedResult).reason;
    assertInstanceOf(error, BRSError);
    assertEquals(error.code, "ExpiredToken");
    assert(error.message.includes("one-shot stream"), error.message);
    assert(!error.message.includes("never-shown-secret"));
    assertEquals(nextCalls, 1);
    assertEquals(invalidated, ["ASIAOURS0000000000001"]); // the next request heals
  }
  for (const Body of ["text", new Uint8Array([1]), new Blob(["x"])]) {
    const { result, nextCalls } = await runMiddleware({ Body });
    assertEquals(result.status, "fulfilled");
    assertEquals(nextCalls, 2);
  }
});

Deno.test("a session owns its last 16 keys: an older key is not retried", async () => {
  let n = 0;
  await using s = new CustomRefreshableSession({
    provider: () => ({
      accessKey: `ASIAOWNED${String(++n).padStart(4, "0")}`,
      secretKey: "owned-secret",
      token: "owned-token",
      expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
    }),
  });
  await s.refreshableCredentials();
  for (let i = 0; i < 20; i++) await s.refresh({ force: true });
  const retried = async (key: string): Promise<number> => {
    let calls = 0;
    const plugin = getSelfHealingPlugin(s);
    let middleware: _Middleware | undefined;
    plugin.applyToStack({
      add: ((m: _Middleware) => void (middleware = m)) as never,
    });
    const handler = middleware!(() => {
      calls++;
      return calls === 1
        ? Promise.reject(expiredToken())
        : Promise.resolve("ok");
    }, {
      __smithy_context: {
        selectedHttpAuthScheme: { identity: { accessKeyId: key } },
      },
    });
    await handler({ input: {} }).catch(() => {});
    return calls;
  };
  assertEquals(await retried("ASIAOWNED0005"), 1); // forgotten
  assertEquals(await retried("AKIANOTOURS"), 1); // never ours
  assertEquals(await retried("ASIAOWNED0006"), 2); // the 16th newest
  assertEquals(await retried("ASIAOWNED0021"), 2); // the current one
});
