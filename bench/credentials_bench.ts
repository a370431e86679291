/**
 * Micro-benchmark: the credential fast path (fresh credentials in memory).
 * Ours (`credentialProvider()`, `refreshableCredentials()`) next to the AWS
 * SDK v3's memoized `fromTemporaryCredentials` (what every SDK client calls
 * before signing). Both are primed once against the local STS, which is then
 * closed: a fast path never touches the network.
 *
 * Run: `deno task bench:micro` (or `deno task bench`).
 *
 * @module
 */

import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import {
  doesIdentityRequireRefresh,
  isIdentityExpired,
  memoizeIdentityProvider,
} from "@smithy/core";
import { STSRefreshableSession } from "../src/sources/sts_session.ts";
import { startLocalSts } from "../src/testing/mod.ts";
import { REGION, ROLE_ARN } from "./_contenders.ts";

const sts = await startLocalSts();
const clientConfig = {
  endpoint: sts.url,
  region: REGION,
  credentials: sts.baseCredentials,
};
const session = new STSRefreshableSession({
  assumeRole: { RoleArn: ROLE_ARN, DurationSeconds: 3600 },
  stsClientConfig: clientConfig,
  region: REGION,
});
const sdk = memoizeIdentityProvider(
  fromTemporaryCredentials({
    params: { RoleArn: ROLE_ARN, DurationSeconds: 3600 },
    clientConfig,
  }),
  isIdentityExpired,
  doesIdentityRequireRefresh,
)!;
await session.credentialProvider();
await session.refreshableCredentials();
await sdk();
await sts.close();
globalThis.addEventListener("unload", () => {
  session.close();
});

// What each fast path pays to read its clock: the SDK's `Date.now()`; ours
// `Date.now()` on every call too (a suspend stops the monotonic clock and the
// timer that ends our fast path) and `performance.now()` one call in 1024.
Deno.bench({
  group: "clock read",
  name: "Date.now() (the SDK's expiry check)",
  baseline: true,
  fn(): void {
    Date.now();
  },
});

Deno.bench({
  group: "clock read",
  name: "performance.now() (our monotonic clock)",
  fn(): void {
    performance.now();
  },
});

const group = "credential fast path";

Deno.bench({
  group,
  name: "sdk: memoized fromTemporaryCredentials()",
  baseline: true,
  async fn(): Promise<void> {
    await sdk();
  },
});

Deno.bench({
  group,
  name: "ours: session.credentialProvider()",
  async fn(): Promise<void> {
    await session.credentialProvider();
  },
});

Deno.bench({
  group,
  name: "ours: session.refreshableCredentials()",
  async fn(): Promise<void> {
    await session.refreshableCredentials();
  },
});
