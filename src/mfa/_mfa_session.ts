/**
 * Private: the MFA session behind `STSRefreshableSession`'s `mfaSession`
 * option. It holds the `GetSessionToken` credentials obtained with one MFA
 * code and refreshes them on their own schedule with the same engine; the
 * role session then calls AssumeRole with them and no code.
 *
 * @module
 */

import {
  GetSessionTokenCommand,
  type GetSessionTokenCommandOutput,
} from "@aws-sdk/client-sts";
import { _errorCode, type _FetchResult } from "../engine/_refresher.ts";
import {
  _mapStsCredentials,
  _sendWithDateHeader,
} from "../sources/_sts_call.ts";
import { _describeValue } from "../_validate.ts";
import { BRSConfigurationError, BRSValidationError } from "../errors.ts";
import { RefreshableSession } from "../engine/refreshable_session.ts";
import type { Clock, MfaSessionOptions } from "../types.ts";

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

/** Whether STS refused a call for its MFA code or device (a wrong, reused or expired code). */
export function _isMfaRejection(error: unknown): boolean {
  const code = _errorCode(error);
  const message = error instanceof Error ? error.message : "";
  return (code === "AccessDenied" || code === "AccessDeniedException") &&
    /MultiFactorAuthentication/i.test(message);
}

/** The request of {@linkcode _getSessionToken}. */
export interface _GetSessionTokenRequest {
  /** The MFA device. */
  serialNumber: string | undefined;
  /** The MFA code, if any. */
  tokenCode: string | undefined;
  /** Lifetime; STS's default (43200 s) when left out. */
  durationSeconds: number | undefined;
}

/**
 * Calls GetSessionToken (the MFA session) and maps its reply.
 *
 * @param client An STS client signing with the base credentials.
 * @param request Device, code and lifetime.
 * @param signal Aborts the call.
 * @param now Wall-clock time in milliseconds.
 * @param warn Emits a warning (e.g. an Expiration beyond the request).
 * @returns The session credentials and the reply's `Date` header.
 */
export async function _getSessionToken(
  client: { send(command: never, options: never): Promise<unknown> },
  request: _GetSessionTokenRequest,
  signal: AbortSignal,
  now: number,
  warn: (code: string, message: string) => void,
): Promise<_FetchResult> {
  const { serialNumber, tokenCode, durationSeconds } = request;
  const { reply, dateHeader } = await _sendWithDateHeader<
    GetSessionTokenCommandOutput
  >(
    client,
    new GetSessionTokenCommand({
      ...(durationSeconds === undefined
        ? {}
        : { DurationSeconds: durationSeconds }),
      SerialNumber: serialNumber,
      ...(tokenCode === undefined ? {} : { TokenCode: tokenCode }),
    }),
    signal,
  );
  return _mapStsCredentials(
    "GetSessionToken",
    reply.Credentials,
    dateHeader,
    durationSeconds ?? 43_200,
    now,
    warn,
  );
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
