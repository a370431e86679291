/**
 * Private helpers shared by the local endpoints (STS, SSO portal): the queue
 * of injected faults, a latency sleep that the server's close cuts short, and
 * the capped log of answered requests, and the end of a request: its
 * latency, its log entry and its reply.
 *
 * @module
 */

import type { _Reply } from "./_http.ts";

/** A fault as injected: its kind, how many requests, which requests. */
export interface _FaultEntry<K extends string> {
  kind: K;
  /** The action or operation names it hits; `undefined` for all. */
  scope: string[] | undefined;
  remaining: number;
}

/** The faults injected into one endpoint, checked in the order injected. */
export class _FaultQueue<K extends string> {
  readonly #kinds: ReadonlySet<string>;
  readonly #scopeName: string;
  readonly #scopeText: string;
  readonly #scopeValid: (name: string) => boolean;
  #entries: _FaultEntry<K>[] = [];

  /**
   * @param kinds The fault kinds the endpoint knows.
   * @param scopeName The option that names the requests hit (`"actions"`).
   * @param scopeText What that option must hold, for the error message.
   * @param scopeValid Whether one name of that option is valid.
   */
  constructor(
    kinds: Iterable<K>,
    scopeName: string,
    scopeText: string,
    scopeValid: (name: string) => boolean,
  ) {
    this.#kinds = new Set(kinds);
    this.#scopeName = scopeName;
    this.#scopeText = scopeText;
    this.#scopeValid = scopeValid;
  }

  /**
   * Checks and queues a fault.
   *
   * @throws {TypeError} If the kind, times or scope are invalid.
   */
  add(fault: unknown): K {
    if (typeof fault !== "object" || fault === null) {
      throw new TypeError(
        `Cannot inject fault as it must be an object: got ${String(fault)}`,
      );
    }
    const { kind, times } = fault as { kind?: unknown; times?: unknown };
    const scope = (fault as Record<string, unknown>)[this.#scopeName];
    if (typeof kind !== "string" || !this.#kinds.has(kind)) {
      throw new TypeError(
        `Cannot inject fault as 'kind' must be one of ${
          [...this.#kinds].join(", ")
        }: got ${String(kind)}`,
      );
    }
    if (
      times !== undefined &&
      (typeof times !== "number" || !Number.isInteger(times) || times < 1)
    ) {
      throw new TypeError(
        `Cannot inject fault as 'times' must be an integer >= 1 or undefined: got ${
          String(times)
        }`,
      );
    }
    if (
      scope !== undefined &&
      (!Array.isArray(scope) ||
        scope.some((s) => typeof s !== "string" || !this.#scopeValid(s)))
    ) {
      throw new TypeError(
        `Cannot inject fault as '${this.#scopeName}' must be an array of ${this.#scopeText} or undefined`,
      );
    }
    this.#entries.push({
      kind: kind as K,
      scope: scope === undefined ? undefined : [...scope as string[]],
      remaining: times ?? Infinity,
    });
    return kind as K;
  }

  /** Takes one use of the first fault that hits `name`, if any. */
  take(name: string): K | undefined {
    const index = this.#entries.findIndex((f) =>
      f.remaining > 0 && (f.scope === undefined || f.scope.includes(name))
    );
    if (index < 0) return undefined;
    const entry = this.#entries[index]!;
    entry.remaining--;
    if (entry.remaining <= 0) this.#entries.splice(index, 1);
    return entry.kind;
  }

  /** Whether a fault of `kind` is queued. */
  has(kind: K): boolean {
    return this.#entries.some((f) => f.kind === kind);
  }

  /** Removes every fault. */
  clear(): void {
    this.#entries = [];
  }
}

/** Waits `ms`; resolves `false` if `signal` (the server closing) aborts first. */
export function _sleepUnlessAborted(
  signal: AbortSignal,
  ms: number,
): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Appends to a request log, keeping the last 10 000 entries or so. */
export function _pushCapped<T>(log: T[], record: T): void {
  log.push(record);
  if (log.length > 11_000) log.splice(0, 1_000);
}

/** What a local endpoint's handler came to, before its latency and log. */
export interface _Outcome<F extends string> {
  status: number;
  body: string;
  errorCode?: string;
  /** The injected fault that answered, if any. */
  fault?: F;
  /** Drop the connection or never answer, instead of a reply. */
  special?: "drop" | "hang";
}

/** The fields of a request record that {@linkcode _settle} fills in. */
export interface _SettledRecord<F extends string> {
  status: number;
  errorCode?: string;
  fault?: F;
  at: number;
}

/** What {@linkcode _settle} needs of the endpoint. */
export interface _SettleEndpoint<R> {
  /** The latency to wait before answering, in milliseconds. */
  latencyMs: number;
  /** Aborted when the server closes. */
  signal: AbortSignal;
  /** The log of answered requests. */
  requests: R[];
  /** The reply's headers (asked for after the latency). */
  headers: (errorCode: string | undefined) => [string, string][];
  /** Whether to close the connection after the reply (asked for after the latency). */
  close: () => boolean;
}

/**
 * Ends a request: waits the endpoint's latency (the request is dropped if
 * the server closes first), completes and logs its record, and turns the
 * outcome into the reply.
 */
export async function _settle<F extends string, R extends _SettledRecord<F>>(
  outcome: _Outcome<F>,
  record: R,
  endpoint: _SettleEndpoint<R>,
): Promise<_Reply> {
  if (endpoint.latencyMs > 0) {
    const finished = await _sleepUnlessAborted(
      endpoint.signal,
      endpoint.latencyMs,
    );
    if (!finished) return { kind: "drop" };
  }
  record.status = outcome.special ? 0 : outcome.status;
  if (outcome.errorCode) record.errorCode = outcome.errorCode;
  if (outcome.fault) record.fault = outcome.fault;
  record.at = Date.now();
  _pushCapped(endpoint.requests, record);
  if (outcome.special) return { kind: outcome.special };
  return {
    kind: "reply",
    status: outcome.status,
    headers: endpoint.headers(outcome.errorCode),
    body: outcome.body,
    close: endpoint.close(),
  };
}
