import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertNotStrictEquals,
  assertRejects,
  assertStrictEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { STSClient } from "@aws-sdk/client-sts";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  BRSRefreshError,
  BRSValidationError,
  createRefreshableSession,
  CustomRefreshableSession,
  type CustomRefreshableSessionOptions,
  type RefreshEventDetail,
  STSRefreshableSession,
  type TemporaryCredentials,
} from "../mod.ts";

const HOUR = 3_600_000;

function temporary(n = 1, lifetimeMs = HOUR): TemporaryCredentials {
  return {
    accessKey: `ASIACUSTOM${n}`,
    secretKey: `custom-secret-${n}`,
    token: `custom-token-${n}`,
    expiryTime: new Date(Date.now() + lifetimeMs).toISOString(),
  };
}

Deno.test("CustomRefreshableSession accepts TemporaryCredentials and AwsCredentialIdentity results", async () => {
  await using a = new CustomRefreshableSession({ provider: () => temporary() });
  const ca = await a.refreshableCredentials();
  assertEquals(ca.accessKey, "ASIACUSTOM1");
  assertEquals(ca.token, "custom-token-1");
  const expiration = new Date(Date.now() + HOUR);
  await using b = new CustomRefreshableSession({
    provider: () => ({
      accessKeyId: "ASIAIDENTITY",
      secretAccessKey: "identity-secret",
      sessionToken: "identity-token",
      expiration,
    }),
  });
  const cb = await b.credentials;
  assertEquals(cb.accessKey, "ASIAIDENTITY");
  assertEquals(cb.expiryTime, expiration.toISOString());
  const identity = await b.credentialProvider();
  assertEquals(identity.accessKeyId, "ASIAIDENTITY");
  assertEquals(identity.expiration, expiration);
});

Deno.test("CustomRefreshableSession normalises expiryTime with an offset to UTC", async () => {
  await using session = new CustomRefreshableSession({
    provider: () => ({
      ...temporary(),
      expiryTime: "2099-06-01T12:00:00+02:00",
    }),
  });
  assertEquals(
    (await session.refreshableCredentials()).expiryTime,
    "2099-06-01T10:00:00.000Z",
  );
});

Deno.test("CustomRefreshableSession passes providerOptions and calls the provider once for 10 000 callers", async () => {
  const seen: unknown[] = [];
  await using session = new CustomRefreshableSession({
    provider: async (options) => {
      seen.push(options);
      await new Promise((r) => setTimeout(r, 10));
      return temporary();
    },
    providerOptions: { team: "blue" },
  });
  await Promise.all(
    Array.from({ length: 10_000 }, () => session.refreshableCredentials()),
  );
  assertEquals(seen, [{ team: "blue" }]);
});

Deno.test("CustomRefreshableSession rejects bad provider results with typed errors", async () => {
  const cases: [unknown, string][] = [
    [null, "must return"],
    [{ accessKey: "A", secretKey: "S", token: "T" }, "lacks expiryTime"],
    [
      { accessKey: "A", token: "T", expiryTime: "2099-01-01T00:00:00Z" },
      "lacks secretKey",
    ],
    [
      { ...temporary(), expiryTime: "2099-01-01T00:00:00" },
      `expiryTime must be an ISO 8601 date-time with a time zone such as "2030-01-01T00:00:00Z": got "2099-01-01T00:00:00"`,
    ],
    [{ ...temporary(), expiryTime: "tomorrow" }, `got "tomorrow"`],
    [{ accessKeyId: "A", secretAccessKey: "S" }, "lacks expiration"],
    [{
      accessKeyId: "A",
      secretAccessKey: "S",
      expiration: "2099-01-01T00:00:00Z",
    }, "expiration must be a valid Date"],
  ];
  for (const [result, text] of cases) {
    await using session = new CustomRefreshableSession({
      provider: () => result as TemporaryCredentials,
    });
    const error = await assertRejects(
      () => session.refreshableCredentials(),
      BRSValidationError,
    );
    assert(error.message.includes(text), error.message);
    assertEquals(error.param, "provider");
  }
});

Deno.test("CustomRefreshableSession counts credentials expired on arrival as a refresh failure", async () => {
  let calls = 0;
  await using session = new CustomRefreshableSession({
    provider: () => (calls++, temporary(1, -60_000)),
  });
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertEquals(error.code, "ExpiredOnArrival");
  assertInstanceOf(error.retryAt, Date);
  // Within the backoff: the same error, no new call.
  await assertRejects(() => session.refreshableCredentials(), BRSRefreshError);
  assertEquals(calls, 1);
});

Deno.test("CustomRefreshableSession wraps provider failures in BRSRefreshError with the cause", async () => {
  const cause = new Error("vault sealed");
  await using session = new CustomRefreshableSession({
    provider: () => Promise.reject(cause),
  });
  const error = await assertRejects(
    () => session.refreshableCredentials(),
    BRSRefreshError,
  );
  assertStrictEquals(error.cause, cause);
  assert(error.message.includes("vault sealed"));
});

Deno.test("CustomRefreshableSession emits refresh events with the expiry and the key id's last characters only", async () => {
  // Two keys of one account: the same first 12 characters, as AWS's are.
  const keys = ["ASIAQWERTYUIOPAS7K2D", "ASIAQWERTYUIOPASM9XZ"];
  let n = 0;
  await using session = new CustomRefreshableSession({
    provider: () => ({ ...temporary(), accessKey: keys[n++ % 2]! }),
  });
  const events: RefreshEventDetail[] = [];
  session.addEventListener("refresh", (e) => {
    events.push(e.detail);
  });
  const c = await session.refreshableCredentials();
  await session.refresh({ force: true });
  assertEquals(events.length, 2);
  assertEquals(events[0]!.expiryTime, c.expiryTime);
  assertEquals(events.map((e) => e.accessKeyIdSuffix), [
    "OPAS7K2D",
    "OPASM9XZ",
  ]);
  assertEquals(Object.keys(events[0]!).sort(), [
    "accessKeyIdSuffix",
    "expiryTime",
    "reason",
  ]);
  assertStringIncludes(Deno.inspect(session), "OPASM9XZ");
});

Deno.test("RefreshableSession.client() caches per class and equivalent config, with separate resource cache", async () => {
  await using session = new CustomRefreshableSession({
    provider: () => temporary(),
    region: "eu-west-1",
  });
  const a = session.client(STSClient, { maxAttempts: 2 });
  assertStrictEquals(
    session.client(STSClient, { maxAttempts: 2, endpoint: undefined }),
    a,
  );
  assertNotStrictEquals(session.client(STSClient, { maxAttempts: 3 }), a);
  assertEquals(await a.config.region(), "eu-west-1");
  const credentials = await a.config.credentials();
  assertEquals(credentials.accessKeyId, "ASIACUSTOM1");
  const overridden = session.client(STSClient, { region: "us-west-2" });
  assertEquals(await overridden.config.region(), "us-west-2");
  const documents = session.resource(DynamoDBDocumentClient, DynamoDBClient);
  assertStrictEquals(
    session.resource(DynamoDBDocumentClient, DynamoDBClient),
    documents,
  );
  assertInstanceOf(documents, DynamoDBDocumentClient);
});

Deno.test("RefreshableSession.client() gives a config object mutated after a call the client of its new contents", async () => {
  await using session = new CustomRefreshableSession({
    provider: () => temporary(),
    region: "eu-west-1",
  });
  const config: Record<string, unknown> = {
    region: "us-east-1",
    maxAttempts: 2,
  };
  const a = session.client(STSClient, config);
  assertStrictEquals(session.client(STSClient, config), a);
  config.region = "us-west-2";
  const b = session.client(STSClient, config);
  assertNotStrictEquals(b, a);
  assertEquals(await b.config.region(), "us-west-2");
  assertStrictEquals(session.client(STSClient, config), b);
  // Same contents as before, in a new object or the old one: the first client.
  assertStrictEquals(
    session.client(STSClient, { maxAttempts: 2, region: "us-east-1" }),
    a,
  );
  config.region = "us-east-1";
  assertStrictEquals(session.client(STSClient, config), a);
  // A key added, deleted, or set to undefined.
  config.endpoint = "http://127.0.0.1:9";
  const c = session.client(STSClient, config);
  assertNotStrictEquals(c, a);
  config.endpoint = undefined;
  assertStrictEquals(session.client(STSClient, config), a);
  delete config.maxAttempts;
  assertNotStrictEquals(session.client(STSClient, config), a);
  // Nested plain objects count by value, also when mutated in place.
  const nested = { retry: { attempts: 1 }, list: [1, 2] };
  const d = session.client(STSClient, nested);
  // (Not a literal: these keys are not STSClient options, which the types
  // catch in a literal.)
  const sameContents = { list: [1, 2], retry: { attempts: 1 } };
  assertStrictEquals(session.client(STSClient, sameContents), d);
  nested.retry.attempts = 2;
  const e = session.client(STSClient, nested);
  assertNotStrictEquals(e, d);
  nested.list.push(3);
  assertNotStrictEquals(session.client(STSClient, nested), e);
  // The same config object for another class gives that class's client.
  assertInstanceOf(session.client(DynamoDBClient, config), DynamoDBClient);
  assertInstanceOf(session.client(STSClient, config), STSClient);
  // Resources follow the same keys.
  const documents = session.resource(
    DynamoDBDocumentClient,
    DynamoDBClient,
    config,
  );
  config.region = "ap-south-1";
  assertNotStrictEquals(
    session.resource(DynamoDBDocumentClient, DynamoDBClient, config),
    documents,
  );
});

Deno.test("RefreshableSession.refreshableCredentials() gives one frozen snapshot per refresh", async () => {
  let n = 0;
  await using session = new CustomRefreshableSession({
    provider: () => temporary(++n),
  });
  const a = await session.refreshableCredentials();
  const b = await session.refreshableCredentials();
  assertStrictEquals(b, a);
  assert(Object.isFrozen(a));
  assertThrows(() => {
    (a as { accessKey: string }).accessKey = "changed";
  }, TypeError);
  assertEquals((await session.credentials).accessKey, "ASIACUSTOM1");
  await session.refresh({ force: true });
  const c = await session.refreshableCredentials();
  assertNotStrictEquals(c, a);
  assertEquals(c.accessKey, "ASIACUSTOM2");
  assertEquals(c.secretKey, "custom-secret-2");
  assertEquals(c.token, "custom-token-2");
  assertEquals(a.accessKey, "ASIACUSTOM1");
});

Deno.test("RefreshableSession.client() with maxSize 0 caches nothing", async () => {
  await using session = new CustomRefreshableSession({
    provider: () => temporary(),
    region: "eu-west-1",
    cache: { maxSize: 0 },
  });
  const a = session.client(STSClient);
  const b = session.client(STSClient);
  assertNotStrictEquals(a, b);
  a.destroy();
  b.destroy();
  // Per-call options change the cache from now on.
  const c = session.client(STSClient, {}, {
    maxSize: 4,
    evictionPolicy: "LFU",
  });
  assertStrictEquals(session.client(STSClient), c);
  // A misspelt per-call option is an error, not silently ignored.
  assertThrows(
    () => session.client(STSClient, {}, { maxsize: 0 } as never),
    BRSValidationError,
    "'options.maxsize' is unknown: use one of evictionPolicy, maxSize",
  );
});

Deno.test("RefreshableSession conveniences delegate to the SDK's data", async () => {
  await using session = new CustomRefreshableSession({
    provider: () => temporary(),
    region: "eu-west-1",
    profile: "dev",
  });
  assertEquals(session.regionName, "eu-west-1");
  assertEquals(session.profileName, "dev");
  assert(session.getAvailablePartitions().includes("aws"));
  assert(session.getAvailableRegions("s3", "aws").includes("eu-west-1"));
  assertThrows(
    () => session.getAvailableRegions("s3", "nope"),
    BRSValidationError,
  );
  assert(Array.isArray(await session.availableProfiles()));
});

Deno.test("CustomRefreshableSession rejects bad options", () => {
  const cases: [unknown, string][] = [
    [{}, "'provider' must be a function"],
    [{ provider: "x" }, "'provider' must be a function"],
    [
      { provider: () => temporary(), providerOptions: [] },
      "'providerOptions' must be an object",
    ],
    [
      { provider: () => temporary(), assumeRole: {} },
      "option 'assumeRole' is unknown",
    ],
    [{ provider: () => temporary(), cache: 5 }, "'cache' must be an object"],
    [
      { provider: () => temporary(), cache: { maxsize: 0 } },
      "'cache.maxsize' is unknown: use one of evictionPolicy, maxSize",
    ],
    [
      { provider: () => temporary(), cache: { evictionPolicy: "FIFO" } },
      "'cache.evictionPolicy' must be one of LRU, LFU: got \"FIFO\"",
    ],
    [
      { provider: () => temporary(), cache: { maxSize: -1 } },
      "'cache.maxSize' must be a non-negative integer",
    ],
  ];
  for (const [options, text] of cases) {
    const error = assertThrows(
      () =>
        new CustomRefreshableSession(
          options as CustomRefreshableSessionOptions,
        ),
      BRSValidationError,
    );
    assert(error.message.includes(text), error.message);
  }
});

Deno.test("createRefreshableSession() builds by method and lists the methods for an unknown one", async () => {
  await using custom = createRefreshableSession({
    method: "custom",
    provider: () => temporary(),
  });
  assertInstanceOf(custom, CustomRefreshableSession);
  await using sts = createRefreshableSession({
    method: "sts",
    assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
  });
  assertInstanceOf(sts, STSRefreshableSession);
  const error = assertThrows(
    () => createRefreshableSession({ method: "ecs" } as never),
    BRSValidationError,
  );
  assertEquals(
    error.message,
    `Cannot create session as 'method' is unknown: use one of "sts", "custom", "web-identity", "iot": got "ecs"`,
  );
  assertEquals(error.param, "method");
  assertThrows(
    () => createRefreshableSession(null as never),
    BRSValidationError,
  );
});

Deno.test("RefreshableSession.close() destroys cached clients and is idempotent", async () => {
  const session = new CustomRefreshableSession({
    provider: () => temporary(),
    region: "eu-west-1",
  });
  const client = session.client(STSClient);
  let destroyed = 0;
  const original = client.destroy.bind(client);
  client.destroy = () => {
    destroyed++;
    original();
  };
  await session.close();
  await session[Symbol.asyncDispose]();
  assertEquals(destroyed, 1);
  assertThrows(() => session.client(STSClient));
});

Deno.test("CustomRefreshableSession.whoami() uses 'stsClientConfig' and the session's credentials", async () => {
  const { startLocalSts } = await import("../src/testing/mod.ts");
  const { AssumeRoleCommand } = await import("@aws-sdk/client-sts");
  await using sts = await startLocalSts();
  const base = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    credentials: sts.baseCredentials,
  });
  try {
    await using session = new CustomRefreshableSession({
      provider: async () => {
        const reply = await base.send(
          new AssumeRoleCommand({
            RoleArn: "arn:aws:iam::123456789012:role/custom",
            RoleSessionName: "mine",
          }),
        );
        const c = reply.Credentials!;
        return {
          accessKeyId: c.AccessKeyId!,
          secretAccessKey: c.SecretAccessKey!,
          sessionToken: c.SessionToken!,
          expiration: c.Expiration!,
        };
      },
      region: "us-east-1",
      // `credentials` here are ignored: whoami signs with the session's.
      stsClientConfig: {
        endpoint: sts.url,
        credentials: sts.baseCredentials,
      },
    });
    const identity = await session.whoami();
    assertEquals(identity.Arn.endsWith(":assumed-role/custom/mine"), true);
    assertEquals(sts.calls.GetCallerIdentity, 1);
    assertThrows(
      () =>
        new CustomRefreshableSession({
          provider: () => temporary(),
          stsClientConfig: 5 as never,
        }),
      BRSValidationError,
      "'stsClientConfig' must be an object",
    );
  } finally {
    base.destroy();
  }
});

Deno.test("RefreshableSession.client() gives the same instance when the session's defaults are named explicitly", async () => {
  await using session = new CustomRefreshableSession({
    provider: () => temporary(),
    region: "eu-west-1",
    profile: "dev",
  });
  const a = session.client(STSClient);
  assertStrictEquals(session.client(STSClient, { region: "eu-west-1" }), a);
  assertStrictEquals(
    session.client(STSClient, {
      region: session.regionName,
      profile: "dev",
      credentials: session.credentialProvider,
    }),
    a,
  );
  const other = session.client(STSClient, { region: "us-east-1" });
  assertNotStrictEquals(other, a);
  assertEquals(await other.config.region(), "us-east-1");
  const documents = session.resource(DynamoDBDocumentClient, DynamoDBClient);
  assertStrictEquals(
    session.resource(DynamoDBDocumentClient, DynamoDBClient, {
      region: "eu-west-1",
    }),
    documents,
  );
});
