/**
 * ClientCache and _cacheKey micro-benchmarks.
 *
 * Run: `deno bench --allow-env --allow-read bench/client_cache_bench.ts`
 *
 * - `get N`: a hit on a cache of N entries (keys visited round-robin), against
 *   a plain `Map.get` baseline.
 * - `insert+evict N`: `set()` of a new key into a full cache of N entries (so
 *   each op inserts one entry and evicts one), against a `Map` set + delete.
 * - `_cacheKey`: the key of typical client configs, against `JSON.stringify`.
 *
 * @module
 */

import { ClientCache } from "../mod.ts";
import { _cacheKey } from "../src/cache/_client_cache_key.ts";

const SIZES = [10, 1_000, 100_000];

for (const size of SIZES) {
  const keys = Array.from({ length: size }, (_, i) => `STSClient#1 {"i":${i}}`);
  const map = new Map<string, number>();
  const lru = new ClientCache<number>({ evictionPolicy: "LRU", maxSize: size });
  const lfu = new ClientCache<number>({ evictionPolicy: "LFU", maxSize: size });
  keys.forEach((key, i) => {
    map.set(key, i);
    lru.set(key, i);
    lfu.set(key, i);
  });
  let m = 0, l = 0, f = 0;
  const group = `get ${size}`;
  Deno.bench({
    group,
    name: `Map.get (${size})`,
    baseline: true,
    fn(): void {
      map.get(keys[m++ % size]!);
    },
  });
  Deno.bench({
    group,
    name: `ClientCache LRU get (${size})`,
    fn(): void {
      lru.get(keys[l++ % size]!);
    },
  });
  Deno.bench({
    group,
    name: `ClientCache LFU get (${size})`,
    fn(): void {
      lfu.get(keys[f++ % size]!);
    },
  });
  Deno.bench({
    group,
    name: `ClientCache LRU getOrCreate hit (${size})`,
    fn(): void {
      lru.getOrCreate(keys[l++ % size]!, () => 0);
    },
  });
}

for (const size of SIZES) {
  const map = new Map<string, number>();
  const lru = new ClientCache<number>({ evictionPolicy: "LRU", maxSize: size });
  const lfu = new ClientCache<number>({ evictionPolicy: "LFU", maxSize: size });
  for (let i = 0; i < size; i++) {
    map.set(`k${i}`, i);
    lru.set(`k${i}`, i);
    lfu.set(`k${i}`, i);
  }
  let mapNext = size, mapOldest = 0, lruNext = size, lfuNext = size;
  const group = `insert+evict ${size}`;
  Deno.bench({
    group,
    name: `Map set + delete oldest (${size})`,
    baseline: true,
    fn(): void {
      map.set(`k${mapNext++}`, 0);
      map.delete(`k${mapOldest++}`);
    },
  });
  Deno.bench({
    group,
    name: `ClientCache LRU set, evicting (${size})`,
    fn(): void {
      lru.set(`k${lruNext++}`, 0);
    },
  });
  Deno.bench({
    group,
    name: `ClientCache LFU set, evicting (${size})`,
    fn(): void {
      lfu.set(`k${lfuNext++}`, 0);
    },
  });
}

class S3Client {
  constructor(readonly config?: object) {}
}
function credentialProvider(): Promise<unknown> {
  return Promise.resolve({});
}
const CONFIGS: [string, object | undefined][] = [
  ["no config", undefined],
  ["{ region }", { region: "eu-west-1" }],
  ["session-merged { region, credentials, endpoint, maxAttempts }", {
    region: "eu-west-1",
    credentials: credentialProvider,
    endpoint: "http://127.0.0.1:4566",
    maxAttempts: 3,
  }],
  ["nested { region, retry: {...}, credentials: {static keys} }", {
    region: "eu-west-1",
    retryMode: "adaptive",
    requestHandler: { requestTimeout: 3000, connectionTimeout: 1000 },
    credentials: {
      accessKeyId: "AKIAEXAMPLEKEYID1234",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    },
  }],
];
for (const [label, config] of CONFIGS) {
  const group = `_cacheKey ${label}`;
  Deno.bench({
    group,
    name: `JSON.stringify (${label})`,
    baseline: true,
    fn(): void {
      JSON.stringify(config);
    },
  });
  Deno.bench({
    group,
    name: `_cacheKey (${label})`,
    fn(): void {
      _cacheKey(S3Client, config);
    },
  });
}
