import { STSClient, type STSClientConfig } from "@aws-sdk/client-sts";
import {
  assert,
  assertEquals,
  assertNotStrictEquals,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  BRSValidationError,
  client,
  type ClientClass,
  type ClientConfig,
  CustomRefreshableSession,
  getDefaultSession,
  resource,
  type ResourceWrapper,
  type SessionLike,
  setDefaultSession,
} from "../mod.ts";
import {
  _defaultClientCache,
  _resetDefaultSession,
} from "../src/default_session.ts";

const endpoint = "http://127.0.0.1:1";

/** A real STS client that counts destroy() calls. */
class CountingSTSClient extends STSClient {
  destroyed = 0;
  override destroy(): void {
    this.destroyed++;
    super.destroy();
  }
}

/** A resource wrapper in the shape of DynamoDBDocumentClient.from(client). */
class StsWrapper {
  constructor(readonly client: STSClient) {}
  static from(client: STSClient): StsWrapper {
    return new StsWrapper(client);
  }
}

Deno.test("client() without a default session caches one STSClient per equivalent config", async () => {
  try {
    const a = client(STSClient, { region: "us-east-1", endpoint });
    const b = client(STSClient, {
      endpoint,
      region: "us-east-1",
      maxAttempts: undefined,
    });
    assertStrictEquals(a, b);
    assert(a instanceof STSClient);
    assertEquals(await a.config.region(), "us-east-1");
    const other = client(STSClient, { region: "eu-west-1", endpoint });
    assertNotStrictEquals(other, a);
    assertEquals(await other.config.region(), "eu-west-1");
    assertEquals(_defaultClientCache().size, 2);
  } finally {
    _resetDefaultSession();
  }
});

Deno.test("client() counts the class by identity: a subclass gets its own client", () => {
  try {
    const config: STSClientConfig = { region: "us-east-1", endpoint };
    const plain = client(STSClient, config);
    const counting = client(CountingSTSClient, config);
    assert(counting instanceof CountingSTSClient);
    assertNotStrictEquals(plain, counting);
  } finally {
    _resetDefaultSession();
  }
});

Deno.test("client() options shrink the module-level cache and destroy evicted clients", () => {
  try {
    const first = client(CountingSTSClient, { region: "us-east-1", endpoint });
    const second = client(CountingSTSClient, { region: "us-east-2", endpoint });
    assertEquals(_defaultClientCache().size, 2);
    const third = client(
      CountingSTSClient,
      { region: "us-west-2", endpoint },
      { maxSize: 1 },
    );
    assertEquals(_defaultClientCache().size, 1);
    assertEquals([first.destroyed, second.destroyed, third.destroyed], [
      1,
      1,
      0,
    ]);
    assertStrictEquals(
      client(CountingSTSClient, { region: "us-west-2", endpoint }),
      third,
    );
    _resetDefaultSession();
    assertEquals(third.destroyed, 1);
  } finally {
    _defaultClientCache().maxSize = undefined;
    _defaultClientCache().evictionPolicy = "LRU";
    _resetDefaultSession();
  }
});

Deno.test("client() rejects bad arguments", () => {
  try {
    assertThrows(
      () => client("STSClient" as unknown as typeof STSClient),
      BRSValidationError,
      "'ClientClass'",
    );
    assertThrows(
      () => client(STSClient, { endpoint }, { maxSize: -1 }),
      BRSValidationError,
      "'options.maxSize'",
    );
    assertThrows(
      () =>
        client(STSClient, { endpoint }, {
          evictionPolicy: "FIFO" as unknown as "LRU",
        }),
      BRSValidationError,
      "LRU, LFU",
    );
    // A misspelt option is an error, not ignored.
    assertThrows(
      () =>
        client(STSClient, { endpoint }, {
          maxsize: 0,
        } as unknown as { maxSize: number }),
      BRSValidationError,
      "'options.maxsize' is unknown",
    );
    assertEquals(_defaultClientCache().size, 0);
  } finally {
    _resetDefaultSession();
  }
});

Deno.test("resource() wraps the cached client once per wrapper and config", () => {
  try {
    const config = { region: "us-east-1", endpoint };
    const wrapped = resource(StsWrapper, STSClient, config);
    assert(wrapped instanceof StsWrapper);
    assertStrictEquals(resource(StsWrapper, STSClient, { ...config }), wrapped);
    assertStrictEquals(wrapped.client, client(STSClient, config));
    class OtherWrapper extends StsWrapper {}
    assertNotStrictEquals(resource(OtherWrapper, STSClient, config), wrapped);
    assertThrows(
      () =>
        resource(
          {} as unknown as typeof StsWrapper,
          STSClient,
          config,
        ),
      BRSValidationError,
      "'Wrapper'",
    );
  } finally {
    _resetDefaultSession();
  }
});

Deno.test("client() and resource() delegate to the default session", () => {
  const calls: string[] = [];
  const sentinel = new STSClient({ region: "us-east-1", endpoint });
  const session: SessionLike = {
    client<K extends ClientClass>(
      ClientClass: K,
      config?: ClientConfig<K>,
      options?: object,
    ): InstanceType<K> {
      calls.push(
        `client ${ClientClass.name} ${JSON.stringify(config)} ${
          JSON.stringify(options)
        }`,
      );
      return sentinel as InstanceType<K>;
    },
    resource<R, K extends ClientClass>(
      Wrapper: ResourceWrapper<R, InstanceType<K>>,
      _ClientClass: K,
    ): R {
      calls.push("resource");
      return Wrapper.from(sentinel as InstanceType<K>);
    },
  };
  try {
    assertStrictEquals(getDefaultSession(), undefined);
    setDefaultSession(session);
    assertStrictEquals(getDefaultSession(), session);
    assertStrictEquals(
      client(STSClient, { region: "eu-west-1" }, { maxSize: 3 }),
      sentinel,
    );
    assertStrictEquals(
      resource(StsWrapper, STSClient, { region: "eu-west-1" }).client,
      sentinel,
    );
    assertEquals(calls, [
      'client STSClient {"region":"eu-west-1"} {"maxSize":3}',
      "resource",
    ]);
    assertEquals(_defaultClientCache().size, 0);
    setDefaultSession(undefined);
    assertNotStrictEquals(
      client(STSClient, { region: "us-east-1", endpoint }),
      sentinel,
    );
  } finally {
    sentinel.destroy();
    _resetDefaultSession();
  }
});

Deno.test("setDefaultSession() rejects a value without client() and resource()", () => {
  for (const bad of [null, {}, { client(): void {} }, "session"]) {
    assertThrows(
      () => setDefaultSession(bad as unknown as SessionLike),
      BRSValidationError,
      "client() and resource()",
    );
  }
  assertStrictEquals(getDefaultSession(), undefined);
});

Deno.test("client() delegates to a real CustomRefreshableSession set as default", async () => {
  await using session = new CustomRefreshableSession({
    provider: () => ({
      accessKey: "ASIAEXAMPLE",
      secretKey: "example-secret",
      token: "example-token",
      expiryTime: new Date(Date.now() + 3_600_000).toISOString(),
    }),
    region: "eu-west-1",
  });
  try {
    setDefaultSession(session);
    const sts = client(STSClient, { endpoint });
    assertStrictEquals(sts, session.client(STSClient, { endpoint }));
    assertEquals(await sts.config.region(), "eu-west-1");
    assertEquals(_defaultClientCache().size, 0);
  } finally {
    _resetDefaultSession();
  }
});
