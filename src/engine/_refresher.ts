/**
 * The refresh engine shared by every session kind (the rules: guide/refresh.md).
 *
 * One state per session: the current credentials, their deadlines on the
 * monotonic clock, at most one in-flight attempt, and the last failure with
 * its backoff.
 *
 * Choices written down here:
 *
 * - Safety margin: credentials count as expired 10 s before their expiry
 *   (at most 10 % of their lifetime for very short-lived test credentials).
 * - Windows: when `advisoryTimeout` is more than half the lifetime,
 *   both windows are scaled by the same factor so the advisory window plus
 *   its 10 % jitter is at most half the lifetime (a `warning` event says so).
 *   The jittered advisory point is never earlier than half the lifetime.
 * - Backoff: advisory-window failures wait 5-10 min (never past the
 *   mandatory point). Later failures wait `1 s * 2^(n-1)` capped at 60 s,
 *   jittered to 50-100 % of that. Success resets the count.
 * - Non-recoverable errors (AccessDenied, rejected MFA, ValidationError,
 *   MalformedPolicyDocument, RegionDisabled, InvalidClientTokenId,
 *   `BRSValidationError`, `BRSConfigurationError`) reach every waiting caller
 *   at once. With no usable credentials left, the same error is given at once
 *   to callers for a fixed 1 s hold-off (no exponential wait); the first call
 *   after that tries again, so a loop of callers makes at most one attempt
 *   per second. The background timer (`deferRefresh: false`) never retries
 *   faster than the exponential backoff, whatever the error, and not at
 *   all after a final error (a missing Deno permission, a refused
 *   signature: see `_final_error.ts`) until a caller asks or a refresh
 *   succeeds.
 *   `refresh({ force: true })` ignores any backoff.
 * - Every attempt is bounded by `attemptTimeout` (default 60 s): its signal
 *   is aborted and the attempt fails, so waiters never hang forever. That
 *   timer is not unref'd (someone may be waiting); the background timer is.
 * - Two clocks (guide/refresh.md, "Time: two clocks"). The engine keeps its
 *   own time `E`, in
 *   milliseconds: `E = e0 + max(m - m0, w - w0)`, where `m` is the
 *   monotonic clock, `w` the wall clock, and `(e0, m0, w0)` the readings at
 *   the last fetch. Every deadline is a point on `E`, so it holds on both
 *   clocks and the earlier wins: a wall clock set back leaves `E` on the
 *   monotonic clock (never stretches a credential); a suspend (the
 *   monotonic clock and timers stop, the wall clock does not) or a forward
 *   jump moves `E` forward with the wall clock. The skew between the STS
 *   `Date` header and the local wall clock only sets the lifetime
 *   (`Expiration - Date`), so a constant skew changes nothing. A wall clock
 *   set back by more than 1 s re-bases `(e0, m0, w0)` so a later forward
 *   step is not lost. A monotonic clock that goes back by more than 1 s is
 *   broken: the credentials are no longer trusted and the next call waits
 *   for one refresh (reason `ClockJump`). A clock that throws or returns a
 *   non-finite number or a non-number makes `get()`/`refresh()` reject with
 *   a `BRSValidationError` (param `clock`), never a hang and never
 *   unchecked credentials.
 * - Fast path with the real clock (`timerFreshness: true`): reading the
 *   monotonic clock (`performance.now()`, about 85 ns in Deno 2.9) costs more
 *   than the rest of the fast path, and nothing cheaper is monotonic. So
 *   while the credentials are fresh, a flag says so, and an unref'd timer
 *   (timers run on the monotonic clock too) clears it at the monotonic
 *   deadline `freshUntil`; one fast-path call in 1024 still reads the clock,
 *   so a busy event loop that delays the timer cannot keep stale credentials
 *   on the fast path for long. Every fast-path call also compares
 *   `Date.now()` (tens of ns) with the wall-clock form of `freshUntil`: after
 *   a suspend the timer is late by the length of the sleep, the wall clock
 *   is not. With an injected clock every call reads both clocks.
 * - With `background: true` the timer never sleeps longer than
 *   `wakeCheckMs` (10 s), so a machine that wakes from a suspend refreshes
 *   within seconds, not when the (stopped) monotonic deadline comes.
 * - Every attempt has a reason (`RefreshReason` in types.ts), given in
 *   the `refresh` and `refresh-error` events; a `ClockJump` refresh also
 *   gives a `warning` event.
 * - An advisory-window refresh (callers keep the current credentials) starts
 *   its fetch on a macrotask (`setImmediate`, cleared on close; not
 *   `setTimeout(0)`, which Deno clamps to a few ms when timers nest), so no
 *   caller's continuation waits for the fetch's synchronous work (the SDK
 *   builds and signs the request synchronously). Attempts that callers wait
 *   for start in a microtask.
 *
 * @module
 */

import {
  BRSConfigurationError,
  BRSError,
  BRSRefreshError,
  BRSValidationError,
} from "../errors.ts";
import type { Clock, RefreshReason } from "../types.ts";
import { _describeValue } from "../_validate.ts";
import { _controlEscape, _sanitizeError } from "../_redact.ts";
import {
  _isBadSignature,
  _isFinalError,
  _missingPermission,
} from "./_final_error.ts";
import { clearImmediate, setImmediate } from "node:timers";

/** Credentials as the engine keeps them (the AWS SDK's identity shape). */
export interface _CredentialSnapshot {
  /** The access key id. */
  readonly accessKeyId: string;
  /** The secret access key. */
  readonly secretAccessKey: string;
  /** The session token. */
  readonly sessionToken?: string;
  /** The expiry. */
  readonly expiration: Date;
}

/** What a fetch resolves to. */
export interface _FetchResult {
  /** The new credentials. */
  credentials: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
    expiration: Date;
  };
  /** The `Date` of the STS reply, if known (lifetimes are measured from it). */
  serverDate?: Date;
  /**
   * The raw `Date` header of a reply that should have one (STS): `null` when
   * absent. When set, it replaces `serverDate`; an absent, unparseable or
   * more than a day off header falls back to local time with a `warning`.
   * Left out (custom sources): local time, no warning.
   */
  dateHeader?: string | null;
  /**
   * When credentials fetched from elsewhere (a shared cache entry) were first
   * obtained, on the local wall clock: the windows then fit their whole
   * lifetime (from then), not just the part that is left.
   */
  obtainedAt?: Date;
}

/** Events the engine reports. */
export type _RefresherEvent =
  | {
    type: "refresh";
    credentials: _CredentialSnapshot;
    reason: RefreshReason;
  }
  | {
    type: "refresh-error";
    error: BRSError;
    retryAt: Date | undefined;
    reason: RefreshReason;
  }
  | {
    type: "warning";
    code: string;
    message: string;
    reason?: RefreshReason;
  };

/** Options of {@linkcode _Refresher}. */
export interface _RefresherOptions {
  /** Gets new credentials; should honour the signal. */
  fetch: (signal: AbortSignal) => Promise<_FetchResult>;
  /** Seconds before expiry at which a background refresh starts. */
  advisoryTimeout: number;
  /** Seconds before expiry from which callers wait for the refresh. */
  mandatoryTimeout: number;
  /** Wall clock and monotonic clock, both in milliseconds. */
  clock: Clock;
  /** Random numbers in [0, 1) for jitter. @default {Math.random} */
  random?: () => number;
  /** Receives events; must not throw. */
  onEvent?: (event: _RefresherEvent) => void;
  /** Seconds an attempt may take before it is aborted. @default {60} */
  attemptTimeout?: number;
  /** Keep credentials fresh with a background timer (and fetch at once). @default {false} */
  background?: boolean;
  /** Tells whether an error is non-recoverable. @default {_isNonRecoverable} */
  isNonRecoverable?: (error: unknown) => boolean;
  /**
   * `clock.monotonic` is the real monotonic clock (that of timers): keep a
   * "fresh" flag cleared by an unref'd timer instead of reading the clock on
   * every fast-path call. Leave unset with an injected clock.
   *
   * @default {false}
   */
  timerFreshness?: boolean;
  /**
   * With `background`: the longest the timer sleeps, so a wake from a
   * suspend (the wall clock jumped) is noticed within this time.
   *
   * @default {10_000}
   */
  wakeCheckMs?: number;
}

/** Seconds before expiry at which credentials count as expired. */
export const _SAFETY_MARGIN_SECONDS = 10;
/** First backoff after a failure in the mandatory window or later. */
export const _MIN_BACKOFF_MS = 1_000;
/** Largest backoff after repeated failures. */
export const _MAX_BACKOFF_MS = 60_000;
/** Shortest backoff after a failure in the advisory window. */
export const _ADVISORY_BACKOFF_MS = 5 * 60_000;
/** Hold-off after a non-recoverable error with no usable credentials. */
export const _NON_RECOVERABLE_HOLD_OFF_MS = 1_000;
/** With `timerFreshness`, one fast-path call in this many reads the clock (a power of 2). */
const _CLOCK_CHECK_EVERY = 1024;
/**
 * Whether `setImmediate` was used once in this process: its first call
 * initializes Deno's Node timers (about 0.3 ms), which should not fall on
 * the caller that starts the first advisory-window refresh.
 */
let _immediateWarm = false;
const _MAX_TIMER_MS = 2 ** 31 - 1;
/** A clock going back by more than this (ms) is a jump, not jitter. */
const _CLOCK_BACK_TOLERANCE_MS = 1_000;
/** A `Date` header further than this from the local clock is ignored. */
export const _MAX_DATE_SKEW_MS = 24 * 3_600_000;
/** How many past access key ids `issued()` remembers. */
const _ISSUED_KEYS_KEPT = 16;
/** Default longest sleep of the background timer. */
const _WAKE_CHECK_MS = 10_000;

const _NON_RECOVERABLE_CODES = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "ValidationError",
  "MalformedPolicyDocument",
  "MalformedPolicyDocumentException",
  "PackedPolicyTooLarge",
  "PackedPolicyTooLargeException",
  "RegionDisabled",
  "RegionDisabledException",
  "InvalidClientTokenId",
  "InvalidParameterValue",
  "MfaRejected",
]);

/** The error code of an SDK or BRS error, if any. */
export function _errorCode(error: unknown): string | undefined {
  if (error instanceof BRSError) return error.code;
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as { name?: unknown; Code?: unknown; code?: unknown };
  for (const v of [e.Code, e.name, e.code]) {
    if (typeof v === "string" && v !== "Error" && v.length > 0) return v;
  }
  return undefined;
}

/**
 * What to do about a failed fetch, by the error's code: the last part of the
 * one-line message (the value and the cause come before it).
 */
function _advice(code: string, nonRecoverable: boolean): string {
  if (/AccessDenied|NotAuthorized/.test(code)) {
    return "check the role ARN and that the role's trust policy and the base identity's IAM policy allow the call; it is not retried until a caller asks again";
  }
  if (code === "CredentialsProviderError") {
    return "the AWS SDK found no usable base credentials: check the 'profile' option (or AWS_PROFILE) against ~/.aws/config and ~/.aws/credentials, the AWS_* variables, or give stsClientConfig.credentials";
  }
  if (/^ExpiredToken/.test(code)) {
    return "the base credentials have expired: renew them (stsClientConfig.credentials, the profile, or AWS_* variables)";
  }
  return nonRecoverable
    ? "fix the cause; it is not retried until a caller asks again"
    : "it is retried with backoff (the next attempt at retryAt)";
}

/** `String(value)`, or a type name when that throws (e.g. an object without a prototype). */
function _safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return `a value of type ${typeof value}`;
  }
}

/**
 * Tells whether a refresh error is non-recoverable: retrying it soon will not
 * help (AccessDenied, rejected MFA, bad request, bad settings).
 */
export function _isNonRecoverable(error: unknown): boolean {
  if (_isFinalError(error)) return true;
  if (
    error instanceof BRSValidationError ||
    error instanceof BRSConfigurationError
  ) return true;
  if (error instanceof BRSRefreshError) {
    return error.details["recoverable"] === false ||
      _NON_RECOVERABLE_CODES.has(error.code);
  }
  const code = _errorCode(error);
  return code !== undefined && _NON_RECOVERABLE_CODES.has(code);
}

interface _Attempt {
  /** Rejects when the attempt fails. */
  strict: Promise<_CredentialSnapshot>;
  /** On failure, falls back to the current credentials while usable. */
  lenient: Promise<_CredentialSnapshot>;
  /** Its abort controller, made when the attempt is set up (later when deferred). */
  box: { controller?: AbortController };
  /** Why it runs. */
  reason: RefreshReason;
}

/**
 * The refresh engine: see the module doc for the rules it keeps.
 */
export class _Refresher {
  readonly #fetch: (signal: AbortSignal) => Promise<_FetchResult>;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #onEvent: (event: _RefresherEvent) => void;
  readonly #advisoryMs: number;
  readonly #mandatoryMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #background: boolean;
  readonly #isNonRecoverable: (error: unknown) => boolean;
  readonly #timerFreshness: boolean;
  readonly #wakeCheckMs: number;

  /** The engine's time base: E = e0 + max(m - m0, w - w0) (see the module doc). */
  #e0 = 0;
  #m0 = NaN;
  #w0 = NaN;
  /** The last good readings, E and E on the monotonic clock alone. */
  #lastM = NaN;
  #lastW = NaN;
  #lastE = 0;
  #lastMonoE = 0;
  /** Set by `#read()` when the clock gave a bad reading. */
  #clockError: BRSValidationError | undefined;
  /** The monotonic clock went back: the current credentials are not trusted. */
  #jumped = false;
  /** `#freshUntil` on the monotonic and on the wall clock. */
  #freshUntilMono = -Infinity;
  #freshUntilWall = -Infinity;
  #warnedDate: string | undefined;
  /** The access key ids of the last credentials handed out, oldest first. */
  readonly #issued = new Set<string>();

  #current: _CredentialSnapshot | undefined;
  #currentPromise: Promise<_CredentialSnapshot> | undefined;
  /** Until this monotonic time, `get()` returns `#currentPromise` and does nothing else. */
  #freshUntil = -Infinity;
  /** With `timerFreshness`: true while a timer will clear it at `#freshUntil`. */
  #fresh = false;
  #freshTimer: ReturnType<typeof setTimeout> | undefined;
  #fastCalls = 0;
  /** The macrotask that starts an advisory-window attempt, and its resume function. */
  #deferred:
    | { resolve: () => void; immediate: ReturnType<typeof setImmediate> }
    | undefined;
  #advisoryAt = -Infinity;
  #mandatoryAt = -Infinity;
  #unusableAt = -Infinity;
  #invalidated = false;
  #attempt: _Attempt | undefined;
  /** The last failure, while it matters. */
  #failure: BRSError | undefined;
  #retryAt = -Infinity;
  /** The background timer's next attempt: exponential backoff, also after non-recoverable errors. */
  #backgroundRetryAt = -Infinity;
  #failures = 0;
  /** The last failure cannot heal by waiting: no background retries. */
  #final = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #warnedLifetime: number | undefined;

  /**
   * Creates the engine. With `background: true` the first fetch starts at once.
   *
   * @param options Fetch function, windows, clock, jitter source and event sink.
   */
  constructor(options: _RefresherOptions) {
    this.#fetch = options.fetch;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#advisoryMs = options.advisoryTimeout * 1000;
    this.#mandatoryMs = options.mandatoryTimeout * 1000;
    this.#attemptTimeoutMs = (options.attemptTimeout ?? 60) * 1000;
    this.#background = options.background ?? false;
    this.#isNonRecoverable = options.isNonRecoverable ?? _isNonRecoverable;
    this.#timerFreshness = options.timerFreshness ?? false;
    this.#wakeCheckMs = options.wakeCheckMs ?? _WAKE_CHECK_MS;
    if (!_immediateWarm) {
      _immediateWarm = true;
      clearImmediate(setImmediate(() => {}));
    }
    if (this.#background) this.#tick();
  }

  /** The current credentials, if any (no refresh, no checks). */
  get current(): _CredentialSnapshot | undefined {
    return this.#current;
  }

  /**
   * Whether `accessKeyId` is one of the last few keys this engine handed out
   * (the current one included): a self-healing client only retries those.
   *
   * @param accessKeyId An access key id.
   * @returns Whether it is one of ours.
   */
  issued(accessKeyId: string): boolean {
    return this.#issued.has(accessKeyId);
  }

  /** Whether a refresh attempt is in flight. */
  get refreshing(): boolean {
    return this.#attempt !== undefined;
  }

  /** Whether a background timer is scheduled (for tests). */
  get timerScheduled(): boolean {
    return this.#timer !== undefined;
  }

  /** Monotonic deadlines of the current credentials (for tests). */
  get deadlines(): {
    advisoryAt: number;
    mandatoryAt: number;
    unusableAt: number;
    freshUntil: number;
    retryAt: number;
  } {
    return {
      advisoryAt: this.#advisoryAt,
      mandatoryAt: this.#mandatoryAt,
      unusableAt: this.#unusableAt,
      freshUntil: this.#freshUntil,
      retryAt: this.#retryAt,
    };
  }

  /**
   * Returns usable credentials, refreshing as the rules say. The fast path
   * (fresh credentials) returns a promise made once per refresh.
   *
   * @returns The credentials.
   */
  get(): Promise<_CredentialSnapshot> {
    if (this.#fresh) {
      // The real clock (timerFreshness): the wall clock on every call (a
      // suspend leaves the timer late), the monotonic one now and then.
      if (Date.now() < this.#freshUntilWall) {
        if ((++this.#fastCalls & (_CLOCK_CHECK_EVERY - 1)) !== 0) {
          return this.#currentPromise as Promise<_CredentialSnapshot>;
        }
        if (performance.now() < this.#freshUntilMono) {
          return this.#currentPromise as Promise<_CredentialSnapshot>;
        }
      }
      // The timer is late (a busy event loop, a suspend): its callback re-arms or clears.
      this.#fresh = false;
    }
    return this.#slowGet();
  }

  /**
   * Reads both clocks and returns the engine's time `E` (see the module
   * doc). On a bad reading sets `#clockError` and returns the last good `E`.
   */
  #read(): number {
    this.#clockError = undefined;
    let m: unknown;
    let w: unknown;
    try {
      m = this.#clock.monotonic();
      w = this.#clock.now();
    } catch (error) {
      this.#clockError = this.#badClock("threw", error);
      return this.#lastE;
    }
    if (typeof m !== "number" || !Number.isFinite(m)) {
      this.#clockError = this.#badClock("monotonic() returned", m);
      return this.#lastE;
    }
    if (typeof w !== "number" || !Number.isFinite(w)) {
      this.#clockError = this.#badClock("now() returned", w);
      return this.#lastE;
    }
    if (Number.isNaN(this.#m0)) {
      this.#m0 = this.#lastM = m;
      this.#w0 = this.#lastW = w;
      this.#e0 = this.#lastE = this.#lastMonoE = m;
    } else if (m < this.#lastM - _CLOCK_BACK_TOLERANCE_MS) {
      // A monotonic clock never goes back: distrust the credentials.
      const back = this.#lastM - m;
      // Count the wall clock's progress since the last reading, if any.
      this.#rebase(this.#lastE + Math.max(0, w - this.#lastW), m, w);
      if (this.#current !== undefined && !this.#jumped) {
        this.#jumped = true;
        // Off the fast path (the pending timer, if any, then clears the flag).
        this.#freshUntil = -Infinity;
        this.#freshUntilMono = this.#freshUntilWall = -Infinity;
        this.#fresh = false;
        this.#emit({
          type: "warning",
          code: "ClockJump",
          reason: "ClockJump",
          message: `The monotonic clock went back by ${
            Math.round(back / 1000)
          } s: the credentials are no longer trusted and will be refreshed; check the session's clock`,
        });
      }
    } else if (w < this.#lastW - _CLOCK_BACK_TOLERANCE_MS) {
      // The wall clock was set back: keep the monotonic progress since the
      // last reading, and measure from here on.
      this.#rebase(this.#lastE + (m - this.#lastM), m, w);
    }
    this.#lastM = m;
    this.#lastW = w;
    const monoE = this.#e0 + (m - this.#m0);
    const e = Math.max(monoE, this.#e0 + (w - this.#w0));
    this.#lastMonoE = monoE;
    this.#lastE = e;
    return e;
  }

  /** Starts a new time base: `E` is `e` at the readings `m` and `w`. */
  #rebase(e: number, m: number, w: number): void {
    this.#e0 = e;
    this.#m0 = m;
    this.#w0 = w;
  }

  #badClock(what: string, value: unknown): BRSValidationError {
    const shown = what === "threw"
      ? `threw ${value instanceof Error ? value.name : _describeValue(value)}`
      : `${what} ${_describeValue(value)}`;
    return new BRSValidationError(
      `Cannot get credentials as the session's clock ${shown}: 'clock' must return finite numbers of milliseconds from now() and monotonic()`,
      { param: "clock", code: "InvalidClock" },
    );
  }

  /** Why an attempt started now would run. */
  #reason(now: number): RefreshReason {
    if (this.#current === undefined) return "Initial";
    if (this.#invalidated) return "Invalidated";
    if (this.#jumped) return "ClockJump";
    const crossed = now >= this.#unusableAt
      ? this.#unusableAt
      : now >= this.#mandatoryAt
      ? this.#mandatoryAt
      : this.#advisoryAt;
    // Crossed only because the wall clock is ahead of the monotonic one.
    if (now >= crossed && this.#lastMonoE < crossed) return "ClockJump";
    return now >= this.#unusableAt
      ? "Expired"
      : now >= this.#mandatoryAt
      ? "Mandatory"
      : "Advisory";
  }

  /**
   * Sets the monotonic time until which `get()` takes the fast path; with
   * `timerFreshness`, (re)arms the flag and its unref'd timer.
   */
  #setFreshUntil(until: number): void {
    this.#freshUntil = until;
    this.#freshUntilMono = this.#m0 + (until - this.#e0);
    this.#freshUntilWall = this.#w0 + (until - this.#e0);
    if (!this.#timerFreshness) return;
    if (this.#freshTimer !== undefined) {
      clearTimeout(this.#freshTimer);
      this.#freshTimer = undefined;
    }
    const now = this.#read();
    const delay = this.#freshUntilMono - this.#lastM;
    if (
      this.#closed || this.#clockError !== undefined || !(until > now) ||
      !(delay > 0)
    ) {
      this.#fresh = false;
      return;
    }
    this.#fresh = true;
    const timer = setTimeout(() => {
      this.#freshTimer = undefined;
      // Re-arms if early (a capped delay, or a timer a little ahead of
      // performance.now()), else clears the flag.
      this.#setFreshUntil(this.#freshUntil);
    }, Math.min(Math.ceil(delay), _MAX_TIMER_MS));
    Deno.unrefTimer(timer);
    this.#freshTimer = timer;
  }

  #slowGet(): Promise<_CredentialSnapshot> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const now = this.#read();
    if (this.#clockError !== undefined) {
      return Promise.reject(this.#clockError);
    }
    if (now < this.#freshUntil) {
      return this.#currentPromise as Promise<_CredentialSnapshot>;
    }
    if (this.#usable(now)) {
      const currentPromise = this.#currentPromise as Promise<
        _CredentialSnapshot
      >;
      if (now < this.#mandatoryAt) {
        // Advisory window: never wait.
        if (this.#attempt === undefined && now >= this.#retryAt) {
          this.#start(this.#reason(now), true);
        }
        return currentPromise;
      }
      // Mandatory window: wait for the one attempt; on failure get the current credentials.
      if (this.#attempt !== undefined) return this.#attempt.lenient;
      if (now < this.#retryAt) return currentPromise;
      return this.#start(this.#reason(now)).lenient;
    }
    // No usable credentials.
    if (this.#attempt !== undefined) return this.#attempt.strict;
    if (this.#failure !== undefined && now < this.#retryAt) {
      return Promise.reject(this.#failure);
    }
    return this.#start(this.#reason(now)).strict;
  }

  /**
   * Refreshes: with `force`, always runs (or joins) an attempt, ignoring
   * backoff; without, only when the credentials are not fresh and no backoff
   * is running (within a backoff: the current credentials if usable, else the
   * last failure). Rejects when the attempt it waits for fails, even if the
   * current credentials still work.
   *
   * @param options `force`: refresh even if the credentials are fresh.
   * @returns The credentials after the refresh.
   */
  refresh(options: { force?: boolean } = {}): Promise<_CredentialSnapshot> {
    if (this.#closed) return Promise.reject(this.#closedError());
    const now = this.#read();
    if (this.#clockError !== undefined) {
      return Promise.reject(this.#clockError);
    }
    if (!options.force && now < this.#freshUntil && now < this.#advisoryAt) {
      return this.#currentPromise as Promise<_CredentialSnapshot>;
    }
    if (this.#attempt !== undefined) return this.#attempt.strict;
    if (!options.force && this.#failure !== undefined && now < this.#retryAt) {
      // Within a backoff: no new attempt without `force`.
      return this.#usable(now)
        ? this.#currentPromise as Promise<_CredentialSnapshot>
        : Promise.reject(this.#failure);
    }
    return this.#start(options.force ? "Forced" : this.#reason(now)).strict;
  }

  /**
   * Marks `accessKeyId` as bad if it is still the current key, and starts
   * one refresh. Later calls with the same key do nothing.
   *
   * @param accessKeyId The key a service rejected (e.g. ExpiredToken).
   * @returns Whether this call invalidated the current credentials.
   */
  invalidate(accessKeyId: string): boolean {
    if (
      this.#closed || this.#invalidated || this.#current === undefined ||
      this.#current.accessKeyId !== accessKeyId
    ) return false;
    this.#invalidated = true;
    this.#setFreshUntil(-Infinity);
    this.#unusableAt = -Infinity;
    this.#failure = undefined;
    this.#retryAt = -Infinity;
    if (this.#attempt === undefined) this.#start("Invalidated");
    return true;
  }

  /** Stops the timer, aborts the attempt in flight; later calls reject. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#setFreshUntil(-Infinity);
    this.#clearTimer();
    const deferred = this.#deferred;
    if (deferred !== undefined) {
      this.#deferred = undefined;
      clearImmediate(deferred.immediate);
      deferred.resolve();
    }
    this.#attempt?.box.controller?.abort(this.#closedError());
  }

  #closedError(): BRSError {
    return new BRSError(
      "Cannot get credentials as the session is closed: create a new session",
      { code: "SessionClosed" },
    );
  }

  #usable(now: number): boolean {
    return this.#current !== undefined && !this.#invalidated &&
      !this.#jumped && now < this.#unusableAt;
  }

  /**
   * Starts an attempt. `deferred`: nobody waits for it (advisory window), so
   * its fetch starts on a macrotask rather than before the callers' continuations.
   */
  #start(reason: RefreshReason, deferred = false): _Attempt {
    const box: _Attempt["box"] = {};
    if (reason === "ClockJump" && !this.#jumped) {
      this.#emit({
        type: "warning",
        code: "ClockJump",
        reason,
        message: `The wall clock is ${
          Math.round((this.#lastE - this.#lastMonoE) / 1000)
        } s ahead of the monotonic clock since the credentials were fetched (the machine slept or its clock was set forward): refreshing them`,
      });
    }
    const strict = this.#run(box, deferred, reason);
    const lenient = strict.catch((error) => {
      if (this.#usable(this.#read())) {
        return this.#currentPromise as Promise<_CredentialSnapshot>;
      }
      throw error;
    });
    // Nobody may be listening (background refresh): never an unhandled rejection.
    strict.catch(() => {});
    lenient.catch(() => {});
    const attempt = { strict, lenient, box, reason };
    this.#attempt = attempt;
    // While a background attempt runs in the advisory window, stay on the
    // fast path. The flag of `timerFreshness` is only cleared (not re-armed,
    // which costs a timer in the caller's call): get() then reads the clock
    // until the attempt ends and re-arms it, or a pending timer fires.
    const now = this.#read();
    this.#freshUntil = this.#usable(now) && now < this.#mandatoryAt
      ? this.#mandatoryAt
      : -Infinity;
    this.#freshUntilMono = this.#m0 + (this.#freshUntil - this.#e0);
    this.#freshUntilWall = this.#w0 + (this.#freshUntil - this.#e0);
    this.#fresh = false;
    return attempt;
  }

  async #run(
    box: _Attempt["box"],
    deferred: boolean,
    reason: RefreshReason,
  ): Promise<_CredentialSnapshot> {
    let timeout: ReturnType<typeof setTimeout> | undefined;
    try {
      if (deferred) {
        // Nobody waits for this attempt (advisory window): set it up and
        // fetch on a macrotask, after every caller's continuation. close()
        // clears the macrotask and resumes here at once.
        await new Promise<void>((resolve) => {
          this.#deferred = { resolve, immediate: setImmediate(resolve) };
        });
        this.#deferred = undefined;
        if (this.#closed) throw this.#closedError();
      }
      const controller = new AbortController();
      box.controller = controller;
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = (): void => reject(controller.signal.reason);
        controller.signal.addEventListener("abort", onAbort, { once: true });
      });
      aborted.catch(() => {});
      const timer = setTimeout(() => {
        controller.abort(
          new BRSRefreshError(
            `Cannot refresh credentials as the attempt took longer than ${
              this.#attemptTimeoutMs / 1000
            } s (refreshTimeout) and was aborted: check that the credential source answers (endpoint, network, proxy, MFA command), or raise refreshTimeout`,
            { code: "RefreshTimeout" },
          ),
        );
      }, this.#attemptTimeoutMs);
      timeout = timer;
      let result: _FetchResult;
      try {
        // Called in a microtask: a fetch that throws at once still settles later.
        result = await Promise.race([
          Promise.resolve().then(() => this.#fetch(controller.signal)),
          aborted,
        ]);
      } catch (error) {
        if (this.#closed) throw this.#closedError();
        throw this.#fail(
          controller.signal.aborted ? controller.signal.reason : error,
          reason,
        );
      }
      if (this.#closed) throw this.#closedError();
      return this.#accept(result, reason);
    } finally {
      clearTimeout(timeout);
      this.#attempt = undefined;
      this.#recomputeFreshUntil();
      this.#schedule();
    }
  }

  #accept(result: _FetchResult, reason: RefreshReason): _CredentialSnapshot {
    // A new time base at the fetch: the wall clock's lead (a past jump) is
    // spent, deadlines count from here on both clocks.
    this.#read();
    if (this.#clockError === undefined) {
      this.#rebase(this.#lastE, this.#lastM, this.#lastW);
    }
    const now = this.#lastE;
    const c = result.credentials;
    const expiration = c?.expiration;
    if (
      typeof c?.accessKeyId !== "string" || c.accessKeyId === "" ||
      typeof c.secretAccessKey !== "string" || c.secretAccessKey === "" ||
      !(expiration instanceof Date) || Number.isNaN(expiration.getTime())
    ) {
      throw this.#fail(
        new BRSRefreshError(
          "Cannot refresh credentials as the reply lacks an access key id, secret access key or valid expiration: check the credential source",
          { code: "InvalidCredentials" },
        ),
        reason,
      );
    }
    const base = this.#serverNow(result);
    const lifetime = expiration.getTime() - base;
    if (lifetime <= 0) {
      throw this.#fail(
        new BRSRefreshError(
          `Cannot refresh credentials as they arrived already expired: expiration ${expiration.toISOString()} is ${
            Math.round(-lifetime / 1000)
          } s before the reply's time ${new Date(base).toISOString()}`,
          { code: "ExpiredOnArrival" },
        ),
        reason,
      );
    }
    // Credentials obtained earlier (a shared cache entry): the windows fit
    // their whole lifetime; `lifetime` is what is left of it.
    const whole = result.obtainedAt === undefined ? lifetime : Math.max(
      lifetime,
      expiration.getTime() - result.obtainedAt.getTime(),
    );
    let advisory = this.#advisoryMs;
    let mandatory = this.#mandatoryMs;
    const limit = whole / 2 / 1.1;
    if (advisory > whole / 2) {
      const factor = limit / advisory;
      advisory = limit;
      mandatory *= factor;
      const lifetimeSeconds = Math.round(whole / 1000);
      if (this.#warnedLifetime !== lifetimeSeconds) {
        this.#warnedLifetime = lifetimeSeconds;
        this.#emit({
          type: "warning",
          code: "WindowsScaled",
          message: `Scaled 'advisoryTimeout' and 'mandatoryTimeout' from ${
            this.#advisoryMs / 1000
          } s and ${this.#mandatoryMs / 1000} s to ${
            Math.round(advisory / 1000)
          } s and ${
            Math.round(mandatory / 1000)
          } s as the credentials live only ${lifetimeSeconds} s: lower the timeouts or raise the lifetime`,
        });
      }
    }
    const expiresAt = now + lifetime;
    const margin = Math.min(_SAFETY_MARGIN_SECONDS * 1000, lifetime / 10);
    const jitter = this.#random() * 0.1 * advisory;
    this.#advisoryAt = Math.max(
      expiresAt - advisory - jitter,
      expiresAt - whole / 2,
    );
    this.#mandatoryAt = Math.max(expiresAt - mandatory, this.#advisoryAt);
    this.#unusableAt = expiresAt - margin;
    // Not frozen: the AWS SDK may add `$source` to credentials it is given.
    const snapshot: _CredentialSnapshot = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }),
      expiration: new Date(expiration.getTime()),
    };
    this.#current = snapshot;
    this.#currentPromise = Promise.resolve(snapshot);
    this.#issued.delete(snapshot.accessKeyId);
    this.#issued.add(snapshot.accessKeyId);
    if (this.#issued.size > _ISSUED_KEYS_KEPT) {
      this.#issued.delete(this.#issued.values().next().value as string);
    }
    this.#invalidated = false;
    this.#jumped = false;
    this.#failure = undefined;
    this.#failures = 0;
    this.#final = false;
    this.#retryAt = -Infinity;
    this.#backgroundRetryAt = -Infinity;
    this.#emit({ type: "refresh", credentials: snapshot, reason });
    return snapshot;
  }

  /**
   * The server's time of a reply: its `Date` (a lifetime is measured on the
   * server's clock: guide/refresh.md, "The Date header"), else the local wall
   * clock; a `warning` when a `Date` header was expected but is absent,
   * unparseable or more than a day off (once per kind of problem in a row).
   */
  #serverNow(result: _FetchResult): number {
    const local = this.#lastW;
    let problem: string | undefined;
    let date = result.serverDate;
    if (result.dateHeader !== undefined) {
      if (result.dateHeader === null) {
        problem = "DateHeaderMissing";
        date = undefined;
      } else {
        date = new Date(result.dateHeader);
        if (Number.isNaN(date.getTime())) problem = "DateHeaderInvalid";
      }
    }
    let server = date !== undefined && !Number.isNaN(date.getTime())
      ? date.getTime()
      : local;
    if (Math.abs(server - local) > _MAX_DATE_SKEW_MS) {
      problem = "DateHeaderIgnored";
      server = local;
    }
    if (problem !== undefined && problem !== this.#warnedDate) {
      const what = problem === "DateHeaderMissing"
        ? "has no Date header"
        : problem === "DateHeaderInvalid"
        ? `has a Date header that is not a date: ${
          _describeValue(String(result.dateHeader).slice(0, 64))
        }`
        : `has a Date (${
          new Date(date?.getTime() ?? NaN).toISOString()
        }) more than a day from the local clock (${
          new Date(local).toISOString()
        })`;
      this.#emit({
        type: "warning",
        code: problem,
        message:
          `The credential reply ${what}: the credential lifetime is measured from the local clock; check the endpoint and the machine's clock`,
      });
    }
    this.#warnedDate = problem;
    return server;
  }

  /** Records a failure, sets the backoff and returns the error callers get. */
  #fail(thrown: unknown, reason: RefreshReason): BRSError {
    // An SDK error keeps the HTTP exchange (the session token in the request
    // headers): errors and events carry a secret-free copy.
    const cause = _sanitizeError(thrown);
    const now = this.#read();
    this.#final = _isFinalError(cause);
    const nonRecoverable = this.#final || this.#isNonRecoverable(cause);
    let delay: number;
    if (this.#usable(now) && now < this.#mandatoryAt) {
      delay = Math.min(
        _ADVISORY_BACKOFF_MS * (1 + this.#random()),
        this.#mandatoryAt - now,
      );
    } else if (this.#usable(now) || !nonRecoverable) {
      this.#failures++;
      const base = Math.min(
        _MIN_BACKOFF_MS * 2 ** (this.#failures - 1),
        _MAX_BACKOFF_MS,
      );
      delay = base * (0.5 + 0.5 * this.#random());
    } else {
      this.#failures++;
      delay = _NON_RECOVERABLE_HOLD_OFF_MS;
    }
    this.#retryAt = now + delay;
    this.#backgroundRetryAt = Math.max(
      this.#retryAt,
      now +
        Math.min(_MIN_BACKOFF_MS * 2 ** (this.#failures - 1), _MAX_BACKOFF_MS),
    );
    const retryAt = new Date(this.#lastW + delay);
    const permission = cause instanceof BRSRefreshError
      ? undefined
      : _missingPermission(cause);
    let error: BRSError;
    if (
      cause instanceof BRSValidationError ||
      cause instanceof BRSConfigurationError ||
      (cause instanceof BRSError && cause.code === "SessionClosed")
    ) {
      error = cause;
    } else if (permission !== undefined) {
      error = new BRSRefreshError(
        `Cannot refresh credentials as Deno's ${permission.kind} permission does not cover ${
          permission.target === "" ? "it" : `'${permission.target}'`
        }: add ${permission.flag} to the deno command (a missing permission is not retried)`,
        {
          code: "PermissionDenied",
          param: `--allow-${permission.kind}`,
          cause,
          details: { recoverable: false, permission: permission.flag },
          retryAt,
        },
      );
    } else if (!(cause instanceof BRSError) && _isBadSignature(cause)) {
      const code = _errorCode(cause) ?? "SignatureDoesNotMatch";
      const text = cause instanceof Error ? cause.message : _safeString(cause);
      const what = /InvalidClientTokenId|UnrecognizedClient/.test(code)
        ? "STS does not know the base credentials' access key id, or their session token is invalid"
        : /Incomplete|MissingAuthentication/.test(code)
        ? "the request's signature is incomplete"
        : "the base credentials' secret key is wrong or does not belong to their access key id";
      error = new BRSRefreshError(
        `Cannot refresh credentials as STS refused the request with ${code} (${
          _controlEscape(text.slice(0, 200))
        }): ${what}; fix the base credentials (stsClientConfig.credentials, the profile's keys, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); it is not retried`,
        { code, cause, details: { recoverable: false }, retryAt },
      );
    } else if (cause instanceof BRSRefreshError) {
      error = new BRSRefreshError(cause.message, {
        code: cause.code,
        ...(cause.param === undefined ? {} : { param: cause.param }),
        cause: _sanitizeError(cause.cause),
        details: { ...cause.details, recoverable: !nonRecoverable },
        retryAt,
      });
    } else {
      const code = _errorCode(cause) ?? "RefreshError";
      const text = cause instanceof Error ? cause.message : _safeString(cause);
      error = new BRSRefreshError(
        `Cannot refresh credentials as the source failed with ${code} (${
          _controlEscape(text.slice(0, 300).replace(/[.\s]+$/, ""))
        }): ${_advice(code, nonRecoverable)}`,
        {
          code,
          cause,
          details: { recoverable: !nonRecoverable },
          retryAt,
        },
      );
    }
    this.#failure = error;
    this.#emit({ type: "refresh-error", error, retryAt, reason });
    return error;
  }

  #recomputeFreshUntil(): void {
    const now = this.#read();
    if (this.#closed || !this.#usable(now)) {
      this.#setFreshUntil(-Infinity);
      return;
    }
    this.#setFreshUntil(
      now < this.#mandatoryAt
        ? Math.max(
          this.#advisoryAt,
          Math.min(this.#retryAt, this.#mandatoryAt),
        )
        : Math.min(this.#retryAt, this.#unusableAt),
    );
  }

  /** Background mode: run what a caller would run now, then reschedule. */
  #tick(): void {
    this.#timer = undefined;
    if (this.#closed || this.#attempt !== undefined) return;
    const now = this.#read();
    const due = !this.#usable(now) || now >= this.#advisoryAt ||
      now >= this.#unusableAt;
    if (
      this.#clockError === undefined && due && now >= this.#retryAt &&
      now >= this.#backgroundRetryAt
    ) {
      this.#start(this.#reason(now));
      return;
    }
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#background || this.#closed || this.#attempt !== undefined) {
      return;
    }
    // A missing permission or a bad signature cannot heal by waiting: the
    // timer stops until a caller asks again (or a refresh succeeds).
    if (this.#final) {
      this.#clearTimer();
      return;
    }
    this.#clearTimer();
    const now = this.#read();
    const at = this.#usable(now)
      ? Math.max(Math.min(this.#advisoryAt, this.#unusableAt), this.#retryAt)
      : Math.max(this.#retryAt, this.#backgroundRetryAt);
    // Never sleep past a wake check: after a suspend the timer is late, the
    // wall clock is not.
    const delay = Math.min(
      Math.max(at - now, 0),
      this.#wakeCheckMs,
      _MAX_TIMER_MS,
    );
    const timer = setTimeout(() => this.#tick(), delay);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #emit(event: _RefresherEvent): void {
    try {
      this.#onEvent(event);
    } catch {
      // An event sink must not break the engine.
    }
  }
}
