/**
 * Private: the MFA session behind `STSRefreshableSession`'s `mfaSession`
 * option. It holds the `GetSessionToken` credentials obtained with one MFA
 * code and refreshes them on their own schedule with the same engine; the
 * role session then calls AssumeRole with them and no code.
 *
 * @module
 */

import type { _FetchResult } from "./_refresher.ts";
import { _describeValue } from "./_validate.ts";
import { BRSConfigurationError, BRSValidationError } from "./errors.ts";
import { RefreshableSession } from "./refreshable_session.ts";
import type { Clock, MfaSessionOptions } from "./types.ts";

/**
 * Validates the `mfaSession` option against the MFA settings.
 *
 * @param value What was given.
 * @param serial `assumeRole.SerialNumber`.
 * @param hasCode Whether an MFA code source (provider or `TokenCode`) is set.
 * @returns The validated options, or `undefined` when not set.
 * @throws {BRSValidationError} If the option has a bad shape or value.
 * @throws {BRSConfigurationError} If the MFA settings do not allow it.
 */
export function _validateMfaSession(
  value: unknown,
  serial: string | undefined,
  hasCode: boolean,
): MfaSessionOptions | undefined {
  if (value === undefined) return undefined;
  const prefix = "Cannot create STSRefreshableSession as";
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BRSValidationError(
      `${prefix} 'mfaSession' must be an object such as { durationSeconds: 43200 }: got ${
        _describeValue(value)
      }`,
      { param: "mfaSession" },
    );
  }
  for (const key of Object.keys(value)) {
    if (key !== "durationSeconds") {
      throw new BRSValidationError(
        `${prefix} 'mfaSession.${key}' is unknown: use durationSeconds`,
        { param: `mfaSession.${key}` },
      );
    }
  }
  const duration = (value as MfaSessionOptions).durationSeconds;
  if (
    duration !== undefined &&
    (typeof duration !== "number" || !Number.isInteger(duration) ||
      duration < 900 || duration > 129_600)
  ) {
    throw new BRSValidationError(
      `${prefix} 'mfaSession.durationSeconds' must be an integer from 900 to 129600: got ${
        _describeValue(duration)
      }`,
      { param: "mfaSession.durationSeconds" },
    );
  }
  if (serial === undefined || !hasCode) {
    throw new BRSConfigurationError(
      `${prefix} 'mfaSession' needs an MFA device and a code: set 'assumeRole.SerialNumber' and 'mfaTokenProvider' (or 'assumeRole.TokenCode')`,
      {
        param: serial === undefined
          ? "assumeRole.SerialNumber"
          : "mfaTokenProvider",
      },
    );
  }
  return { ...(duration === undefined ? {} : { durationSeconds: duration }) };
}

/** The MFA session: the engine around a `GetSessionToken` call. */
export class _MfaSession extends RefreshableSession {
  readonly #fetch: (signal: AbortSignal) => Promise<_FetchResult>;

  /**
   * Creates it; the first `GetSessionToken` runs on first use.
   *
   * @param fetch Calls GetSessionToken with a fresh MFA code.
   * @param region The region of the owning session.
   * @param clock The clock of the owning session.
   */
  constructor(
    fetch: (signal: AbortSignal) => Promise<_FetchResult>,
    region: string | undefined,
    clock: Clock | undefined,
  ) {
    super(
      {
        ...(region === undefined ? {} : { region }),
        ...(clock === undefined ? {} : { clock }),
      },
      [],
      { kind: "MfaSession" },
    );
    this.#fetch = fetch;
  }

  /**
   * Calls GetSessionToken.
   *
   * @param signal Aborts the call.
   * @returns The session credentials.
   *
   * @ignore
   */
  protected override _fetchCredentials(
    signal: AbortSignal,
  ): Promise<_FetchResult> {
    return this.#fetch(signal);
  }
}
