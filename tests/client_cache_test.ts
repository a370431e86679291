import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  BRSValidationError,
  ClientCache,
  ClientCacheError,
  ClientCacheExistsError,
  ClientCacheNotFoundError,
} from "../mod.ts";

/** A value that counts how often it was destroyed. */
class Counted {
  destroyed = 0;
  constructor(readonly name: string) {}
  destroy(): void {
    this.destroyed++;
  }
}

function fill(cache: ClientCache<Counted>, names: string[]): Counted[] {
  return names.map((name) => {
    const value = new Counted(name);
    cache.set(name, value);
    return value;
  });
}

Deno.test("ClientCache defaults to LRU, unbounded, destroying on evict", () => {
  const cache = new ClientCache();
  assertEquals(cache.evictionPolicy, "LRU");
  assertEquals(cache.maxSize, undefined);
  assertEquals(cache.destroyOnEvict, true);
  assertEquals(cache.size, 0);
});

Deno.test("ClientCache LRU evicts the least recently used and destroys it", () => {
  const cache = new ClientCache<Counted>({ evictionPolicy: "LRU", maxSize: 3 });
  const [a, b, c] = fill(cache, ["a", "b", "c"]);
  assertStrictEquals(cache.get("a"), a); // order now b, c, a
  assertEquals([...cache.keys()], ["b", "c", "a"]);
  const d = new Counted("d");
  cache.set("d", d); // evicts b
  assertEquals([...cache.keys()], ["c", "a", "d"]);
  assertEquals(b!.destroyed, 1);
  assertEquals([a!.destroyed, c!.destroyed, d.destroyed], [0, 0, 0]);
  cache.getOrCreate("c", () => new Counted("never")); // a use
  cache.set("e", new Counted("e")); // evicts a
  assertEquals([...cache.keys()], ["d", "c", "e"]);
  assertEquals(a!.destroyed, 1);
  assertEquals(cache.size, 3);
});

Deno.test("ClientCache LFU evicts the least frequently used, ties by recency", () => {
  const cache = new ClientCache<Counted>({ evictionPolicy: "LFU", maxSize: 3 });
  const [a, b, c] = fill(cache, ["a", "b", "c"]);
  cache.get("a");
  cache.get("a"); // a: 3 uses
  cache.get("b"); // b: 2 uses, c: 1 use
  assertEquals([...cache.keys()], ["c", "b", "a"]);
  cache.set("d", new Counted("d")); // evicts c (1 use)
  assertEquals(c!.destroyed, 1);
  assertEquals([...cache.keys()], ["d", "b", "a"]);
  cache.get("d"); // d: 2 uses, used after b -> b goes first among the 2-use entries
  assertEquals([...cache.keys()], ["b", "d", "a"]);
  cache.set("e", new Counted("e")); // evicts b; e (1 use) is the next to go
  assertEquals([...cache.keys()], ["e", "d", "a"]);
  assertEquals(b!.destroyed, 1);
  assertEquals(a!.destroyed, 0);
});

Deno.test("ClientCache LFU ties among new entries go to the least recently inserted", () => {
  const cache = new ClientCache<Counted>({ evictionPolicy: "LFU", maxSize: 2 });
  const [a, b] = fill(cache, ["a", "b"]);
  cache.set("c", new Counted("c"));
  assertEquals([...cache.keys()], ["b", "c"]);
  assertEquals([a!.destroyed, b!.destroyed], [1, 0]);
});

Deno.test("ClientCache has(), peek() and iteration do not count as uses", () => {
  for (const evictionPolicy of ["LRU", "LFU"] as const) {
    const cache = new ClientCache<Counted>({ evictionPolicy, maxSize: 2 });
    const [a] = fill(cache, ["a", "b"]);
    assert(cache.has("a"));
    assertStrictEquals(cache.peek("a"), a);
    assertEquals([...cache].map(([k]) => k), ["a", "b"]);
    assertEquals([...cache.values()].map((v) => v.name), ["a", "b"]);
    assertEquals([...cache.entries()].map(([k]) => k), ["a", "b"]);
    cache.set("c", new Counted("c"));
    assertEquals([...cache.keys()], ["b", "c"], evictionPolicy);
    assertEquals(a!.destroyed, 1);
  }
});

Deno.test("ClientCache iteration walks a snapshot, so get() inside a loop is safe", () => {
  for (const evictionPolicy of ["LRU", "LFU"] as const) {
    const cache = new ClientCache<Counted>({ evictionPolicy });
    fill(cache, ["a", "b", "c"]);
    const seen: string[] = [];
    for (const key of cache.keys()) {
      seen.push(key);
      cache.get(key);
    }
    assertEquals(seen, ["a", "b", "c"]);
  }
});

Deno.test("ClientCache maxSize 0 stores nothing and getOrCreate builds each time", () => {
  for (const evictionPolicy of ["LRU", "LFU"] as const) {
    const cache = new ClientCache<Counted>({ evictionPolicy, maxSize: 0 });
    let built = 0;
    const first = cache.getOrCreate("a", () => new Counted(`a${++built}`));
    const second = cache.getOrCreate("a", () => new Counted(`a${++built}`));
    assert(first !== second);
    assertEquals(built, 2);
    cache.set("b", new Counted("b"));
    assertEquals(cache.size, 0);
    assertEquals(cache.get("b"), undefined);
    assertEquals(first.destroyed + second.destroyed, 0);
  }
});

Deno.test("ClientCache shrinking maxSize evicts and destroys at once, in eviction order", () => {
  for (const evictionPolicy of ["LRU", "LFU"] as const) {
    const cache = new ClientCache<Counted>({ evictionPolicy });
    const values = fill(cache, ["a", "b", "c", "d"]);
    cache.get("a");
    cache.maxSize = 2;
    assertEquals(cache.size, 2);
    assertEquals([...cache.keys()], ["d", "a"], evictionPolicy);
    assertEquals(values.map((v) => v.destroyed), [0, 1, 1, 0]);
    cache.maxSize = undefined;
    cache.set("e", new Counted("e"));
    assertEquals(cache.size, 3);
    cache.maxSize = 0;
    assertEquals(cache.size, 0);
    assertEquals(values.map((v) => v.destroyed), [1, 1, 1, 1]);
  }
});

Deno.test("ClientCache destroyOnEvict false and { destroy: false } keep values alive", () => {
  const kept = new ClientCache<Counted>({ maxSize: 1, destroyOnEvict: false });
  const [a] = fill(kept, ["a"]);
  kept.set("b", new Counted("b"));
  assertEquals(a!.destroyed, 0);
  const b = kept.require("b");
  kept.delete("b");
  assertEquals(b.destroyed, 0);

  const cache = new ClientCache<Counted>();
  const [x, y, z] = fill(cache, ["x", "y", "z"]);
  cache.delete("x", { destroy: false });
  assertEquals(x!.destroyed, 0);
  cache.delete("y");
  assertEquals(y!.destroyed, 1);
  cache.clear({ destroy: false });
  assertEquals(z!.destroyed, 0);
  assertEquals(cache.size, 0);
  const [w] = fill(cache, ["w"]);
  cache.clear();
  assertEquals(w!.destroyed, 1);
});

Deno.test("ClientCache survives a destroy() that throws or rejects", async () => {
  const cache = new ClientCache<object>({ maxSize: 1 });
  cache.set("a", {
    destroy(): void {
      throw new Error("boom");
    },
  });
  cache.set("b", {
    destroy(): Promise<void> {
      return Promise.reject(new Error("async boom"));
    },
  });
  assertEquals([...cache.keys()], ["b"]);
  cache.clear();
  assertEquals(cache.size, 0);
  await new Promise((resolve) => setTimeout(resolve, 0)); // a rejection would fail the test
  cache.set("c", { destroy: "not a function" });
  cache.delete("c");
});

Deno.test("ClientCache Symbol.dispose clears and destroys", () => {
  const value = new Counted("a");
  {
    using cache = new ClientCache<Counted>();
    cache.set("a", value);
  }
  assertEquals(value.destroyed, 1);
});

Deno.test("ClientCache set() of a present key throws ClientCacheExistsError", () => {
  const cache = new ClientCache<number>();
  cache.set("a", 1);
  const error = assertThrows(() => cache.set("a", 2), ClientCacheExistsError);
  assertInstanceOf(error, ClientCacheError);
  assertMatch(error.message, /"a"/);
  assertEquals(cache.get("a"), 1);
});

Deno.test("ClientCache require() and delete() of a missing key throw ClientCacheNotFoundError", () => {
  const cache = new ClientCache<number>();
  assertThrows(() => cache.require("nope"), ClientCacheNotFoundError, '"nope"');
  assertThrows(() => cache.delete("nope"), ClientCacheNotFoundError, '"nope"');
  cache.set("u", 0);
  assertEquals(cache.require("u"), 0);
});

Deno.test("ClientCache rejects a key that is not a non-empty string", () => {
  const cache = new ClientCache<number>();
  const bad = ["", 1, undefined, null, {}] as unknown as string[];
  for (const key of bad) {
    for (
      const call of [
        () => cache.get(key),
        () => cache.peek(key),
        () => cache.has(key),
        () => cache.require(key),
        () => cache.set(key, 1),
        () => cache.getOrCreate(key, () => 1),
        () => cache.delete(key),
      ]
    ) {
      const error = assertThrows(call, ClientCacheError, "non-empty string");
      assertEquals(error.constructor, ClientCacheError);
    }
  }
});

Deno.test("ClientCache rejects a bad eviction policy with the list of policies", () => {
  const error = assertThrows(
    () =>
      new ClientCache({
        evictionPolicy: "MRU" as unknown as "LRU",
      }),
    ClientCacheError,
  );
  assertMatch(error.message, /LRU, LFU/);
  assertMatch(error.message, /"MRU"/);
  const cache = new ClientCache();
  assertThrows(
    () => {
      cache.evictionPolicy = "lru" as unknown as "LRU";
    },
    ClientCacheError,
    "LRU, LFU",
  );
});

Deno.test("ClientCache rejects a bad maxSize naming maxSize and the value", () => {
  for (const maxSize of [-1, 1.5, Number.NaN, Infinity, "3", null]) {
    const error = assertThrows(
      () => new ClientCache({ maxSize: maxSize as number }),
      BRSValidationError,
      "'maxSize'",
    );
    assertEquals(error.param, "maxSize");
    assert(
      error.message.includes(
        typeof maxSize === "string" ? '"3"' : String(maxSize),
      ),
      error.message,
    );
  }
  const cache = new ClientCache({ maxSize: 2 });
  assertThrows(
    () => {
      cache.maxSize = -3;
    },
    BRSValidationError,
    "got -3",
  );
  assertEquals(cache.maxSize, 2);
  assertThrows(
    () => new ClientCache({ destroyOnEvict: "yes" as unknown as boolean }),
    BRSValidationError,
    "'destroyOnEvict'",
  );
});

Deno.test("ClientCache changing the policy keeps the entries in eviction order", () => {
  const cache = new ClientCache<Counted>({ evictionPolicy: "LFU" });
  const values = fill(cache, ["a", "b", "c"]);
  cache.get("a");
  cache.get("a");
  cache.get("b");
  assertEquals([...cache.keys()], ["c", "b", "a"]);
  cache.evictionPolicy = "LRU";
  assertEquals([...cache.keys()], ["c", "b", "a"]);
  cache.get("c");
  cache.evictionPolicy = "LFU";
  assertEquals([...cache.keys()], ["b", "a", "c"]);
  assertEquals(values.map((v) => v.destroyed), [0, 0, 0]);
});

Deno.test("ClientCache getOrCreate() from many concurrent async tasks builds one instance", async () => {
  for (const evictionPolicy of ["LRU", "LFU"] as const) {
    const cache = new ClientCache<Counted>({ evictionPolicy, maxSize: 8 });
    let built = 0;
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i % 3));
        return cache.getOrCreate("shared", () => new Counted(`v${++built}`));
      }),
    );
    assertEquals(built, 1);
    assert(results.every((r) => r === results[0]));
  }
});

Deno.test("ClientCache getOrCreate() stores nothing when the factory throws", () => {
  const cache = new ClientCache<number>();
  assertThrows(
    () =>
      cache.getOrCreate("a", () => {
        throw new Error("factory failed");
      }),
    Error,
    "factory failed",
  );
  assertEquals(cache.has("a"), false);
  assertEquals(cache.getOrCreate("a", () => 1), 1);
});

Deno.test("ClientCache getOrCreate() keeps the value a re-entrant factory cached", () => {
  const cache = new ClientCache<Counted>();
  const inner = new Counted("inner");
  const outer = cache.getOrCreate("a", () => {
    cache.set("a", inner);
    return new Counted("outer");
  });
  assertStrictEquals(outer, inner);
  assertEquals(cache.size, 1);
});

Deno.test("ClientCache caches undefined values as entries", () => {
  const cache = new ClientCache<undefined>({ evictionPolicy: "LFU" });
  let built = 0;
  cache.getOrCreate("a", () => {
    built++;
    return undefined;
  });
  cache.getOrCreate("a", () => {
    built++;
    return undefined;
  });
  assertEquals(built, 1);
  assertEquals(cache.require("a"), undefined);
});

Deno.test("ClientCache Deno.inspect and JSON show policy, size and maxSize, not values", () => {
  const cache = new ClientCache<{ secret: string }>({
    evictionPolicy: "LFU",
    maxSize: 4,
  });
  cache.set("a", { secret: "do-not-print" });
  const printed = Deno.inspect(cache);
  assertMatch(printed, /ClientCache/);
  assertMatch(printed, /LFU/);
  assertMatch(printed, /size: 1/);
  assertMatch(printed, /maxSize: 4/);
  assert(!printed.includes("do-not-print"));
  assertEquals(JSON.parse(JSON.stringify(cache)), {
    evictionPolicy: "LFU",
    size: 1,
    maxSize: 4,
  });
});

Deno.test("ClientCache LRU and LFU match a reference model across many mixed operations", () => {
  for (const evictionPolicy of ["LRU", "LFU"] as const) {
    // A reference model: O(n), LFU with recency ties; LRU by recency alone.
    const cache = new ClientCache<number>({ evictionPolicy, maxSize: 16 });
    const model = new Map<
      string,
      { value: number; uses: number; last: number }
    >();
    let tick = 0;
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const modelOrder = (): string[] =>
      [...model].sort((x, y) =>
        (evictionPolicy === "LFU" ? x[1].uses - y[1].uses : 0) ||
        x[1].last - y[1].last
      ).map(([k]) => k);
    for (let i = 0; i < 4000; i++) {
      const key = `k${random(40)}`;
      const op = random(5);
      if (op === 0 && model.has(key)) {
        cache.delete(key);
        model.delete(key);
      } else if (op === 1) {
        assertEquals(cache.peek(key), model.get(key)?.value);
      } else {
        const value = cache.getOrCreate(key, () => i);
        const entry = model.get(key);
        if (entry) {
          entry.uses++;
          entry.last = ++tick;
          assertEquals(value, entry.value);
        } else {
          if (model.size >= 16) model.delete(modelOrder()[0]!);
          model.set(key, { value: i, uses: 1, last: ++tick });
        }
      }
      assertEquals([...cache.keys()], modelOrder(), evictionPolicy);
      assertEquals(cache.size, model.size);
    }
  }
});
