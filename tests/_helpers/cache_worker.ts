/**
 * A subprocess for the file-cache safety tests.
 *
 * - `write DIR KEY ID COUNT`: writes COUNT entries (accessKey `ASIA<ID>-<n>`,
 *   secretKey derived from it) to one key as fast as it can.
 * - `hold DIR KEY`: takes the key's lock (inside a refresh that never ends),
 *   prints `locked` and waits to be killed.
 *
 * @module
 */

import { FileCache, type FileCacheEntry } from "../../src/cache/file_cache.ts";

/** The secret key the workers pair with an access key (so a torn file shows). */
export function secretFor(accessKey: string): string {
  return `secret-${accessKey}-${"x".repeat(200)}`;
}

function entry(accessKey: string): FileCacheEntry {
  const now = Date.now();
  return {
    credentials: {
      accessKey,
      secretKey: secretFor(accessKey),
      token: `token-${accessKey}-${"y".repeat(2000)}`,
      expiryTime: new Date(now + 3_600_000).toISOString(),
    },
    obtainedAt: new Date(now).toISOString(),
  };
}

if (import.meta.main) {
  const [mode, directory, key, id, count] = Deno.args;
  const cache = new FileCache({ directory: directory! });
  if (mode === "write") {
    for (let n = 0; n < Number(count); n++) {
      await cache.write(key!, entry(`ASIA${id}-${n}`));
    }
  } else if (mode === "hold") {
    await cache.getOrRefresh(key!, async () => {
      await Deno.stdout.write(new TextEncoder().encode("locked\n"));
      await new Promise(() => setInterval(() => {}, 1000)); // hold the lock until killed
      return entry("never");
    }, { advisorySeconds: 1 });
  }
}
