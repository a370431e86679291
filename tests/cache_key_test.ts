import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
} from "@std/assert";
import {
  _cacheKey,
  _CacheKeyMemo,
  _mergeConfig,
} from "../src/cache/_client_cache_key.ts";

class FakeClient {
  constructor(readonly config?: object) {}
}

function makeSameNamedClass(): typeof FakeClient {
  return class FakeClient {
    constructor(readonly config?: object) {}
  };
}

Deno.test("_cacheKey ignores key order and undefined values", () => {
  const a = _cacheKey(FakeClient, { region: "us-east-1" });
  assertEquals(
    _cacheKey(FakeClient, { region: "us-east-1", endpoint: undefined }),
    a,
  );
  assertEquals(
    _cacheKey(FakeClient, { endpoint: "http://x", region: "us-east-1" }),
    _cacheKey(FakeClient, { region: "us-east-1", endpoint: "http://x" }),
  );
  assertNotEquals(_cacheKey(FakeClient, { region: "us-east-2" }), a);
});

Deno.test("_cacheKey treats undefined, {} and all-undefined configs alike", () => {
  const base = _cacheKey(FakeClient);
  assertEquals(_cacheKey(FakeClient, undefined), base);
  assertEquals(_cacheKey(FakeClient, {}), base);
  assertEquals(_cacheKey(FakeClient, { region: undefined }), base);
  assertEquals(_cacheKey(FakeClient, Object.create(null)), base);
  assertMatch(base, /^FakeClient#\d+$/);
});

Deno.test("_cacheKey canonicalises nested plain objects and arrays", () => {
  assertEquals(
    _cacheKey(FakeClient, {
      retry: { mode: "standard", max: 3, extra: undefined },
      list: [1, "two", { b: 2, a: 1 }],
    }),
    _cacheKey(FakeClient, {
      list: [1, "two", { a: 1, b: 2 }],
      retry: { max: 3, mode: "standard" },
    }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { list: [1, 2] }),
    _cacheKey(FakeClient, { list: [2, 1] }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { maxAttempts: 1 }),
    _cacheKey(FakeClient, { maxAttempts: "1" }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { a: null }),
    _cacheKey(FakeClient, {}),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { a: [undefined] }),
    _cacheKey(FakeClient, { a: [] }),
  );
});

Deno.test("_cacheKey counts the class by identity, not by name", () => {
  const Other = makeSameNamedClass();
  assertEquals(Other.name, FakeClient.name);
  assertNotEquals(_cacheKey(Other), _cacheKey(FakeClient));
  assertNotEquals(
    _cacheKey(Other, { region: "x" }),
    _cacheKey(FakeClient, { region: "x" }),
  );
  assertEquals(_cacheKey(Other), _cacheKey(Other));
});

Deno.test("_cacheKey counts functions, class instances, Maps and Dates by identity", () => {
  const provider = (): Promise<unknown> => Promise.resolve({});
  const sameBody = (): Promise<unknown> => Promise.resolve({});
  assertEquals(
    _cacheKey(FakeClient, { credentials: provider }),
    _cacheKey(FakeClient, { credentials: provider }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { credentials: provider }),
    _cacheKey(FakeClient, { credentials: sameBody }),
  );
  class Handler {
    constructor(readonly timeout: number) {}
  }
  const handler = new Handler(1);
  assertEquals(
    _cacheKey(FakeClient, { requestHandler: handler }),
    _cacheKey(FakeClient, { requestHandler: handler }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { requestHandler: handler }),
    _cacheKey(FakeClient, { requestHandler: new Handler(1) }),
  );
  const map = new Map([["a", 1]]);
  assertEquals(
    _cacheKey(FakeClient, { m: map }),
    _cacheKey(FakeClient, { m: map }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { m: map }),
    _cacheKey(FakeClient, { m: new Map([["a", 1]]) }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { d: new Date(0) }),
    _cacheKey(FakeClient, { d: new Date(0) }),
  );
});

Deno.test("_cacheKey handles cycles, symbols and bigints", () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assertEquals(
    _cacheKey(FakeClient, { c: cyclic }),
    _cacheKey(FakeClient, { c: cyclic }),
  );
  const sym = Symbol("x");
  assertEquals(
    _cacheKey(FakeClient, { s: sym }),
    _cacheKey(FakeClient, { s: sym }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { s: sym }),
    _cacheKey(FakeClient, { s: Symbol("x") }),
  );
  assertEquals(
    _cacheKey(FakeClient, { s: Symbol.for("k") }),
    _cacheKey(FakeClient, { s: Symbol.for("k") }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { n: 1n }),
    _cacheKey(FakeClient, { n: 1 }),
  );
});

Deno.test("_cacheKey never puts a secret in the key", () => {
  const secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  const sessionToken = "FwoGZXIvYXdzEXAMPLETOKENVALUE0123456789";
  const accessKeyId = "AKIAEXAMPLEKEYID1234";
  const configs: Record<string, unknown>[] = [
    { credentials: { accessKeyId, secretAccessKey, sessionToken } },
    { credentials: { accessKeyId, secretAccessKey }, region: "eu-west-1" },
    { secretAccessKey, sessionToken },
    { nested: { deeper: [{ sessionToken }] } },
    { token: { token: sessionToken } },
  ];
  for (const config of configs) {
    const key = _cacheKey(FakeClient, config);
    for (const secret of [secretAccessKey, sessionToken, accessKeyId]) {
      assert(!key.includes(secret), key);
      assert(!key.includes(JSON.stringify(secret)), key);
    }
  }
});

Deno.test("_cacheKey gives equal credentials objects the same key, and different ones another", () => {
  const credentials = { accessKeyId: "AKIA1", secretAccessKey: "secret-1" };
  assertEquals(
    _cacheKey(FakeClient, { credentials }),
    _cacheKey(FakeClient, { credentials: { ...credentials } }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { credentials }),
    _cacheKey(FakeClient, {
      credentials: { ...credentials, secretAccessKey: "secret-2" },
    }),
  );
  assertNotEquals(
    _cacheKey(FakeClient, { credentials }),
    _cacheKey(FakeClient, {
      credentials: { ...credentials, accessKeyId: "AKIA2" },
    }),
  );
});

Deno.test("_mergeConfig lets undefined values keep the defaults", () => {
  const provider = (): Promise<unknown> => Promise.resolve({});
  const defaults = { region: "eu-west-1", credentials: provider };
  assertEquals(_mergeConfig(defaults), defaults);
  assertEquals(
    _mergeConfig(defaults, { region: undefined, endpoint: "http://x" }),
    { region: "eu-west-1", credentials: provider, endpoint: "http://x" },
  );
  assertEquals(
    _mergeConfig(defaults, { region: "us-east-1" }).region,
    "us-east-1",
  );
  assertEquals(
    _cacheKey(FakeClient, _mergeConfig(defaults, { region: undefined })),
    _cacheKey(FakeClient, _mergeConfig(defaults, {})),
  );
});

Deno.test("_CacheKeyMemo gives the key _cacheKey gives, also after the config is mutated", () => {
  const memo = new _CacheKeyMemo();
  const check = (config?: unknown, Class: typeof FakeClient = FakeClient) =>
    assertEquals(memo.key(Class, config), _cacheKey(Class, config));
  const Other = makeSameNamedClass();
  const provider = () => Promise.resolve({});
  const config: Record<string, unknown> = { region: "us-east-1", n: 1 };
  for (let round = 0; round < 2; round++) {
    check(config);
    check(config, Other);
    config.region = "eu-west-1";
    check(config);
    config.extra = undefined;
    check(config);
    config.extra = provider;
    check(config);
    delete config.n;
    check(config);
    config.nested = { retry: { mode: "standard" }, list: [1, { a: 2 }] };
    check(config);
    (config.nested as { list: unknown[] }).list.push(3);
    check(config);
    ((config.nested as { list: unknown[] }).list[1] as { a: number }).a = 5;
    check(config);
    config.credentials = { accessKeyId: "AKIA1", secretAccessKey: "s1" };
    check(config);
    (config.credentials as { secretAccessKey: string }).secretAccessKey = "s2";
    check(config);
    assert(!memo.key(FakeClient, config).includes("s2"));
    config.nested = new Map();
    check(config);
  }
  // Fresh objects with equal contents, other key orders, cycles, arrays,
  // class instances, null prototypes and a prototype changed after a call.
  check({ n: 1, region: "x" });
  check({ region: "x", n: 1 });
  check({ region: "x", n: 1 });
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  check({ c: cyclic });
  cyclic.a = 2;
  check({ c: cyclic });
  check([1, 2]);
  check(new FakeClient());
  const bare = Object.create(null) as Record<string, unknown>;
  bare.region = "x";
  check(bare);
  const changing: Record<string, unknown> = { region: "x" };
  check(changing);
  Object.setPrototypeOf(changing, FakeClient.prototype);
  check(changing);
  check(undefined);
  check({});
  memo.clear();
  check(config);
});

Deno.test("_CacheKeyMemo gives fresh flat literals the key _cacheKey gives, whatever the order of calls", () => {
  const memo = new _CacheKeyMemo();
  const Other = makeSameNamedClass();
  const provider = () => Promise.resolve({});
  const configs: (() => Record<string, unknown>)[] = [
    () => ({ region: "eu-west-1" }),
    () => ({ region: "us-east-1" }),
    () => ({ region: "eu-west-1", endpoint: undefined }),
    () => ({ endpoint: "http://127.0.0.1:1", region: "eu-west-1" }),
    () => ({ region: "eu-west-1", endpoint: "http://127.0.0.1:1" }),
    () => ({ region: "eu-west-1", maxAttempts: 3, useFipsEndpoint: false }),
    () => ({ region: "eu-west-1", maxAttempts: 4, useFipsEndpoint: false }),
    () => ({ region: "eu-west-1", maxAttempts: NaN, n: -0, big: 1n }),
    () => ({ region: "eu-west-1", credentials: provider }),
    () => ({ region: "eu-west-1", secretAccessKey: "s3cr3t" }),
    () => ({ region: "eu-west-1", retry: { attempts: 1 } }),
    () => ({ region: "eu-west-1", list: [1, 2] }),
    () => ({ a: 1, b: 2, c: 3, d: 4, e: 5 }),
    () => ({ a: 1, b: 2, c: 3, d: 4 }),
    () => ({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }),
  ];
  // More configs than the memo keeps per class, in two orders, twice.
  for (let i = 0; i < 20; i++) configs.push(() => ({ region: `r-${i}` }));
  for (let round = 0; round < 2; round++) {
    for (const order of [configs, [...configs].reverse()]) {
      for (const make of order) {
        for (const Class of [FakeClient, Other]) {
          const config = make();
          assertEquals(memo.key(Class, config), _cacheKey(Class, config));
        }
      }
    }
  }
  assert(!memo.key(FakeClient, { secretAccessKey: "s3cr3t" }).includes("s3"));
});

Deno.test("_CacheKeyMemo leaves out properties that repeat its defaults, for fresh and reused configs", () => {
  const provider = () => Promise.resolve({});
  const memo = new _CacheKeyMemo({
    region: "eu-west-1",
    profile: undefined,
    credentials: provider,
  });
  const base = _cacheKey(FakeClient, undefined);
  for (let round = 0; round < 3; round++) {
    assertEquals(memo.key(FakeClient, { region: "eu-west-1" }), base);
    assertEquals(memo.key(FakeClient, {}), base);
    assertEquals(memo.key(FakeClient, { credentials: provider }), base);
    assertEquals(
      memo.key(FakeClient, { region: "eu-west-1", maxAttempts: 2 }),
      _cacheKey(FakeClient, { maxAttempts: 2 }),
    );
    assertEquals(
      memo.key(FakeClient, { region: "us-east-1" }),
      _cacheKey(FakeClient, { region: "us-east-1" }),
    );
    assertEquals(
      memo.key(FakeClient, { profile: "dev" }),
      _cacheKey(FakeClient, { profile: "dev" }),
    );
    const reused: Record<string, unknown> = { region: "eu-west-1" };
    assertEquals(memo.key(FakeClient, reused), base);
    reused.region = "us-west-2";
    assertEquals(
      memo.key(FakeClient, reused),
      _cacheKey(FakeClient, { region: "us-west-2" }),
    );
  }
});
