/**
 * The contenders of the contention harness, all on the same local STS:
 *
 * - `ours`: `STSRefreshableSession` (its `credentialProvider`).
 * - `sdk-memoized`: `fromTemporaryCredentials` wrapped the way every AWS SDK v3
 *   client wraps a credential function (`memoizeIdentityProvider` with
 *   `isIdentityExpired`: refresh when less than 5 min are left, every caller waits).
 * - `sdk-bare`: `fromTemporaryCredentials` as returned (one AssumeRole per call).
 * - `naive`: one `STSClient`, `AssumeRoleCommand` on every call.
 *
 * @module
 */

import {
  AssumeRoleCommand,
  STSClient,
  type STSClientConfig,
} from "@aws-sdk/client-sts";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import {
  doesIdentityRequireRefresh,
  EXPIRATION_MS,
  isIdentityExpired,
  memoizeIdentityProvider,
} from "@smithy/core";
import { STSRefreshableSession } from "../src/sources/sts_session.ts";
import type { LocalSts } from "../src/testing/local_sts.ts";
import type { Clock } from "../src/types.ts";

/** The role every contender assumes. */
export const ROLE_ARN = "arn:aws:iam::123456789012:role/bench";
/** The region of every client. */
export const REGION = "us-east-1";
/** Lifetime asked of STS by every contender (STS's default). */
export const DURATION_SECONDS = 3600;

/**
 * A session for the client-cache micro-benchmarks: it never fetches
 * credentials (no request is sent), so only `client()` is measured.
 *
 * @param endpoint An STS endpoint nothing listens on.
 * @returns A session in `REGION`.
 */
export function idleSession(endpoint: string): STSRefreshableSession {
  return new STSRefreshableSession({
    assumeRole: { RoleArn: ROLE_ARN },
    stsClientConfig: {
      endpoint,
      region: REGION,
      credentials: { accessKeyId: "AKIABENCHNOTUSED000", secretAccessKey: "x" },
    },
    region: REGION,
  });
}

/** The credential shape all contenders return (the AWS SDK's identity). */
export interface Creds {
  /** Access key id. */
  accessKeyId: string;
  /** Secret access key. */
  secretAccessKey: string;
  /** Session token. */
  sessionToken?: string;
  /** Expiry. */
  expiration?: Date;
}

/** The contenders by name. */
export type ContenderName = "ours" | "sdk-memoized" | "sdk-bare" | "naive";

/** All contenders, in table order. */
export const CONTENDERS: readonly ContenderName[] = [
  "ours",
  "sdk-memoized",
  "sdk-bare",
  "naive",
];

/**
 * A clock the harness can move: real time plus an offset, so real latency
 * still passes while whole minutes are skipped at once; or, `frozen`, a
 * purely simulated clock that only moves when told.
 */
export class FakeClock implements Clock {
  /** Milliseconds added to real time. */
  offsetMs = 0;
  readonly #frozenWall: number | undefined;
  readonly #frozenMono: number | undefined;

  /**
   * Creates the clock.
   *
   * @param options `frozen`: real time does not pass, only {@linkcode advance} moves it.
   */
  constructor(options: { frozen?: boolean } = {}) {
    if (options.frozen) {
      this.#frozenWall = Date.now();
      this.#frozenMono = performance.now();
    }
  }
  /** Wall clock, ms since the epoch. */
  now(): number {
    return (this.#frozenWall ?? Date.now()) + this.offsetMs;
  }
  /** Monotonic clock, ms. */
  monotonic(): number {
    return (this.#frozenMono ?? performance.now()) + this.offsetMs;
  }
  /**
   * Moves the clock forward.
   *
   * @param ms Milliseconds to skip.
   */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** The SDK's request handler interface, as far as we use it. */
interface SdkRequestHandler {
  handle(request: unknown, options?: unknown): Promise<unknown>;
  destroy?(): void;
  updateHttpClientConfig?(key: never, value: never): void;
  httpHandlerConfigs?(): unknown;
}

/**
 * Wraps the SDK's HTTP handler of an STS client to count requests in flight,
 * so the harness can wait until a contender's attempts have finished.
 */
export class CountingHandler implements SdkRequestHandler {
  /** Requests sent and not yet answered. */
  inflight = 0;
  /** Requests sent in total. */
  sent = 0;
  readonly #inner: SdkRequestHandler;
  readonly #owner: STSClient;

  /** Creates a handler backed by the SDK's default one. */
  constructor() {
    this.#owner = new STSClient({ region: REGION });
    this.#inner = this.#owner.config.requestHandler as SdkRequestHandler;
  }

  /**
   * Sends a request through the SDK's handler.
   *
   * @param request The HTTP request.
   * @param options Handler options.
   * @returns The response.
   */
  async handle(request: unknown, options?: unknown): Promise<unknown> {
    this.inflight++;
    this.sent++;
    try {
      return await this.#inner.handle(request, options);
    } finally {
      this.inflight--;
    }
  }

  /** Closes the sockets. */
  destroy(): void {
    this.#owner.destroy();
  }

  /**
   * Passes a config change on.
   *
   * @param key Key.
   * @param value Value.
   */
  updateHttpClientConfig(key: never, value: never): void {
    this.#inner.updateHttpClientConfig?.(key, value);
  }

  /** The inner handler's configs. */
  httpHandlerConfigs(): unknown {
    return this.#inner.httpHandlerConfigs?.() ?? {};
  }

  /** Waits until no request is in flight (after letting new ones start). */
  async settle(): Promise<void> {
    await macrotask();
    await macrotask();
    while (this.inflight > 0) await sleep(1);
  }
}

/**
 * Resolves after `ms` real milliseconds.
 *
 * @param ms Milliseconds.
 * @returns A promise.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves on the next macrotask (after all pending microtasks).
 *
 * @returns A promise.
 */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A contender under test. */
export interface Contender {
  /** Its name. */
  readonly name: ContenderName;
  /** What one caller does to get credentials. */
  get(options?: { forceRefresh?: boolean }): Promise<Creds>;
  /** The HTTP handler of its STS client (requests in flight). */
  readonly handler: CountingHandler;
  /** Our session (only for `ours`). */
  readonly session?: STSRefreshableSession;
  /** Frees clients, sockets and timers. */
  close(): Promise<void>;
}

/** Options of {@linkcode createContender}. */
export interface ContenderOptions {
  /** Clock of our session. @default {real clock} */
  clock?: Clock;
  /** `maxAttempts` of every STS client (SDK retries). @default {SDK default, 3} */
  maxAttempts?: number;
  /**
   * The SDK memoizer's expiry rule. Default: the SDK's own `isIdentityExpired`
   * (5 min, `Date.now()`); the outage and fleet scenarios pass the same rule on
   * the simulated clock.
   */
  isExpired?: (identity: Creds) => boolean;
  /** Role session name. @default {"bench"} */
  roleSessionName?: string;
}

/**
 * The SDK's 5-minute rule evaluated on a given clock (the SDK's own rule reads
 * `Date.now()`, which a simulation of minutes cannot move).
 *
 * @param clock The clock.
 * @returns `isIdentityExpired` on that clock.
 */
export function sdkRuleOn(clock: Clock): (identity: Creds) => boolean {
  return (identity) =>
    identity.expiration !== undefined &&
    identity.expiration.getTime() - clock.now() < EXPIRATION_MS;
}

/**
 * Builds a contender against the local STS.
 *
 * @param name Which one.
 * @param sts The local STS.
 * @param options Clock and retries.
 * @returns The contender.
 */
export function createContender(
  name: ContenderName,
  sts: LocalSts,
  options: ContenderOptions = {},
): Contender {
  const handler = new CountingHandler();
  const clientConfig: STSClientConfig = {
    endpoint: sts.url,
    region: REGION,
    credentials: sts.baseCredentials,
    requestHandler: handler as unknown as STSClientConfig["requestHandler"],
    ...(options.maxAttempts === undefined
      ? {}
      : { maxAttempts: options.maxAttempts }),
  };
  const roleSessionName = options.roleSessionName ?? "bench";
  switch (name) {
    case "ours": {
      const session = new STSRefreshableSession({
        assumeRole: {
          RoleArn: ROLE_ARN,
          RoleSessionName: roleSessionName,
          DurationSeconds: DURATION_SECONDS,
        },
        stsClientConfig: clientConfig,
        region: REGION,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      });
      const provider = session.credentialProvider;
      return {
        name,
        handler,
        session,
        get: () => provider() as Promise<Creds>,
        close: async () => {
          await session.close();
          handler.destroy();
        },
      };
    }
    case "sdk-bare":
    case "sdk-memoized": {
      const bare = fromTemporaryCredentials({
        params: {
          RoleArn: ROLE_ARN,
          RoleSessionName: roleSessionName,
          DurationSeconds: DURATION_SECONDS,
        },
        clientConfig,
      });
      if (name === "sdk-bare") {
        return {
          name,
          handler,
          get: () => bare() as Promise<Creds>,
          close: () => Promise.resolve(handler.destroy()),
        };
      }
      const memo = memoizeIdentityProvider(
        bare,
        (options.isExpired ?? isIdentityExpired) as (i: unknown) => boolean,
        doesIdentityRequireRefresh,
      );
      if (memo === undefined) throw new Error("Unreachable: no provider");
      return {
        name,
        handler,
        get: (o) => memo(o) as Promise<Creds>,
        close: () => Promise.resolve(handler.destroy()),
      };
    }
    case "naive": {
      const client = new STSClient(clientConfig);
      const input = {
        RoleArn: ROLE_ARN,
        RoleSessionName: roleSessionName,
        DurationSeconds: DURATION_SECONDS,
      };
      return {
        name,
        handler,
        get: async () => {
          const { Credentials: c } = await client.send(
            new AssumeRoleCommand(input),
          );
          if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined) {
            throw new Error("STS reply without credentials");
          }
          return {
            accessKeyId: c.AccessKeyId,
            secretAccessKey: c.SecretAccessKey,
            ...(c.SessionToken === undefined
              ? {}
              : { sessionToken: c.SessionToken }),
            ...(c.Expiration === undefined ? {} : { expiration: c.Expiration }),
          };
        },
        close: () => {
          client.destroy();
          handler.destroy();
          return Promise.resolve();
        },
      };
    }
  }
}
