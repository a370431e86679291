/**
 * Micro-benchmark: a cached `session.client(STSClient, config)` hit next to
 * building a new `STSClient` (and destroying it, as a caller that does not
 * cache must). No request is sent.
 *
 * Run: `deno task bench:micro` (or `deno task bench`).
 *
 * @module
 */

import { STSClient } from "@aws-sdk/client-sts";
import { idleSession, REGION } from "./_contenders.ts";

const endpoint = "http://127.0.0.1:9";
const session = idleSession(endpoint);
const config = { endpoint, maxAttempts: 2 };
session.client(STSClient, config);
globalThis.addEventListener("unload", () => {
  session.close();
});

const group = "client";

Deno.bench({
  group,
  name: "new STSClient(config) + destroy()",
  baseline: true,
  fn(): void {
    const client = new STSClient({
      ...config,
      region: REGION,
      credentials: session.credentialProvider,
    });
    client.destroy();
  },
});

Deno.bench({
  group,
  name: "session.client(STSClient, config), cached",
  fn(): void {
    session.client(STSClient, config);
  },
});

Deno.bench({
  group,
  name: "session.client(STSClient, equivalent config with other key order)",
  fn(): void {
    session.client(STSClient, { maxAttempts: 2, endpoint });
  },
});
