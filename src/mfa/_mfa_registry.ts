/**
 * Private: the process-wide MFA registry. Per MFA serial number it keeps one
 * provider call in flight at a time (callers queue, first come first served)
 * and the codes already handed out in the current 30 s TOTP step, so two
 * sessions sharing a device never send the same code: a caller that would get
 * a used code waits for the next step and asks the provider again.
 *
 * @module
 */

import { BRSConfigurationError } from "../errors.ts";

/** Length of a TOTP step (RFC 6238 default, what AWS uses). */
export const _STEP_MS = 30_000;
/** Extra wait after a step boundary, so the provider's clock has moved on too. */
const _STEP_MARGIN_MS = 250;
/** How many times the provider may return a used code before the caller gives up. */
const _MAX_REPEATS = 3;

/** The time source of the registry (injectable for tests). */
export interface _RegistryClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds; rejects with `signal.reason` when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function _realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

const _REAL_CLOCK: _RegistryClock = {
  now: () => Date.now(),
  sleep: _realSleep,
};
let _clock: _RegistryClock = _REAL_CLOCK;

interface _SerialState {
  /** Whether a caller holds the turn (a provider call in flight). */
  busy: boolean;
  /** Callers waiting for their turn, in order. */
  waiters: (() => void)[];
  /** Codes handed out, by TOTP step. Only the current step is kept. */
  used: Map<number, Set<string>>;
}

const _serials = new Map<string, _SerialState>();

function _state(serial: string): _SerialState {
  let state = _serials.get(serial);
  if (state === undefined) {
    state = { busy: false, waiters: [], used: new Map() };
    _serials.set(serial, state);
  }
  return state;
}

function _acquire(state: _SerialState, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (!state.busy) {
    state.busy = true;
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const grant = (): void => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = (): void => {
      const i = state.waiters.indexOf(grant);
      if (i !== -1) state.waiters.splice(i, 1);
      reject(signal?.reason);
    };
    state.waiters.push(grant);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function _release(serial: string, state: _SerialState): void {
  const next = state.waiters.shift();
  if (next !== undefined) {
    next(); // the turn passes on; busy stays true
    return;
  }
  state.busy = false;
  // Forget the serial once idle and nothing in the current step is remembered.
  const step = Math.floor(_clock.now() / _STEP_MS);
  for (const s of state.used.keys()) if (s < step) state.used.delete(s);
  if (state.used.size === 0) _serials.delete(serial);
}

/** Settles with the provider's result, or rejects early when `signal` aborts (the call still holds the turn until it settles). */
function _raceAbort<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      signal.removeEventListener("abort", onAbort);
    });
  });
}

/**
 * Gets a fresh MFA code for `serial` from `fetchCode`: waits for its turn (one
 * provider call in flight per serial in this process), calls the provider,
 * and if the code was already handed out in the current 30 s step, waits for
 * the next step and asks again. The code returned is marked as used.
 *
 * @param serial The MFA device serial number (or ARN).
 * @param fetchCode Calls the provider once; gets the signal to pass on.
 * @param signal Aborts waiting and the provider call.
 * @returns A 6-digit code not handed out before in this step.
 * @throws {BRSConfigurationError} If the provider keeps returning a used code
 * across several steps (e.g. a frozen clock).
 */
export async function _obtainMfaCode(
  serial: string,
  fetchCode: (signal?: AbortSignal) => Promise<string>,
  signal?: AbortSignal,
): Promise<string> {
  const state = _state(serial);
  await _acquire(state, signal);
  let inFlight: Promise<unknown> | undefined;
  try {
    for (let attempt = 0;; attempt++) {
      const call = fetchCode(signal);
      inFlight = call;
      const code = await _raceAbort(call, signal);
      inFlight = undefined;
      const step = Math.floor(_clock.now() / _STEP_MS);
      let used = state.used.get(step);
      if (!used?.has(code)) {
        for (const s of state.used.keys()) if (s < step) state.used.delete(s);
        if (used === undefined) {
          used = new Set();
          state.used.set(step, used);
        }
        used.add(code);
        return code;
      }
      if (attempt + 1 >= _MAX_REPEATS) {
        throw new BRSConfigurationError(
          `Cannot get a fresh MFA code for '${serial}' as the provider returned a code already used in this 30 s step ${_MAX_REPEATS} times in a row: check the clock of the machine or the OTP tool`,
          {
            code: "MfaCodeReused",
            param: "mfaTokenProvider",
            details: { serial },
          },
        );
      }
      const wait = (step + 1) * _STEP_MS - _clock.now() + _STEP_MARGIN_MS;
      await _clock.sleep(Math.max(wait, _STEP_MARGIN_MS), signal);
    }
  } finally {
    if (inFlight === undefined) {
      _release(serial, state);
    } else {
      // Aborted while the provider runs: keep the turn until it settles.
      inFlight.then(
        () => _release(serial, state),
        () => _release(serial, state),
      );
    }
  }
}

/**
 * Replaces the registry's clock (tests only). `undefined` restores the real one.
 *
 * @param clock `{ now(), sleep(ms, signal) }`, or `undefined`.
 */
export function _setRegistryClockForTesting(
  clock: _RegistryClock | undefined,
): void {
  _clock = clock ?? _REAL_CLOCK;
}

/** Forgets every serial, queued turn and used code, and restores the real clock (tests only). */
export function _resetMfaRegistryForTesting(): void {
  _serials.clear();
  _clock = _REAL_CLOCK;
}
