/**
 * Shared helpers of the session tests: a clock moved by hand and a recorder
 * of everything a session prints or emits (for secret scans).
 *
 * @module
 */

import type { Clock, STSRefreshableSessionOptions } from "../../mod.ts";
import type { LocalSts } from "../../src/testing/mod.ts";

/** Real time plus an offset the test moves by hand. */
export class ManualClock implements Clock {
  /** Milliseconds added to both clocks. */
  offset = 0;
  /** Wall clock. */
  now(): number {
    return Date.now() + this.offset;
  }
  /** Monotonic clock. */
  monotonic(): number {
    return performance.now() + this.offset;
  }
}

/**
 * Records every `refresh`, `refresh-error` and `warning` event of `session`
 * as `Deno.inspect` and JSON text into `texts`.
 *
 * @param session The session (an EventTarget).
 * @param texts Where the texts go.
 */
export function recordEvents(session: EventTarget, texts: string[]): void {
  for (const type of ["refresh", "refresh-error", "warning"]) {
    session.addEventListener(type, (e) => {
      texts.push(Deno.inspect((e as CustomEvent).detail, { depth: 10 }));
      texts.push(JSON.stringify((e as CustomEvent).detail));
    });
  }
}

/**
 * Everything a session and an error print: inspect, JSON and string forms.
 *
 * @param session The session.
 * @param error An error it threw.
 * @returns The texts.
 */
export function printedForms(session: object, error: Error): string[] {
  return [
    Deno.inspect(session, { depth: 10 }),
    JSON.stringify(session),
    String(session),
    error.message,
    Deno.inspect(error, { depth: 10 }),
    JSON.stringify(error),
  ];
}

/**
 * Options of an `STSRefreshableSession` against a local STS endpoint: a role
 * of its account, its base key, one attempt per call, `us-east-1`.
 *
 * @param sts The endpoint.
 * @param extra Options that replace the defaults.
 * @returns The options.
 */
export function localStsOptions(
  sts: LocalSts,
  extra: Partial<STSRefreshableSessionOptions> = {},
): STSRefreshableSessionOptions {
  return {
    assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
    stsClientConfig: {
      endpoint: sts.url,
      credentials: sts.baseCredentials,
      maxAttempts: 1,
    },
    region: "us-east-1",
    ...extra,
  };
}
