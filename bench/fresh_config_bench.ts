/**
 * Micro-benchmark: a cached `session.client()` hit when the config is a
 * fresh object literal written at the call site (as in a request handler:
 * `session.client(STSClient, { region: "eu-west-1" })`), next to a hit with
 * the same config object. Configs of one to five plain keys; the target is
 * at most 100 ns per hit. No request is sent.
 *
 * Run: `deno task bench:micro` (or `deno task bench`).
 *
 * @module
 */

import { STSClient } from "@aws-sdk/client-sts";
import { client } from "../src/default_session.ts";
import { idleSession, REGION } from "./_contenders.ts";

const endpoint = "http://127.0.0.1:9";
const session = idleSession(endpoint);
/** A region other than the session's (which is `REGION`, us-east-1). */
const other = "eu-west-1";
const same = { region: other, endpoint };
globalThis.addEventListener("unload", () => {
  session.close();
  client(STSClient, { region: other, endpoint }).destroy();
});

/** Name and body of each case; the first is the baseline. */
const CASES: [string, () => void][] = [
  ["session.client(STSClient, same config object)", () => {
    session.client(STSClient, same);
  }],
  ["session.client(STSClient, { region }) naming the session's region", () => {
    session.client(STSClient, { region: REGION });
  }],
  ["session.client(STSClient, { region }) naming another region", () => {
    session.client(STSClient, { region: other });
  }],
  ["session.client(STSClient, { region, endpoint })", () => {
    session.client(STSClient, { region: other, endpoint });
  }],
  ["session.client(STSClient, 5 plain keys)", () => {
    session.client(STSClient, {
      region: other,
      endpoint,
      maxAttempts: 3,
      retryMode: "standard",
      useFipsEndpoint: false,
    });
  }],
  ["client(STSClient, { region, endpoint }) at module level", () => {
    client(STSClient, { region: other, endpoint });
  }],
];

// Every case runs first, so none starts cold or sees the others' first calls.
for (let i = 0; i < 20_000; i++) for (const [, fn] of CASES) fn();

for (const [name, fn] of CASES) {
  Deno.bench({
    group: "client, fresh config literal",
    name,
    baseline: fn === CASES[0]![1],
    fn,
  });
}
