/**
 * Private: STS `GetCallerIdentity` (`whoami`) bounded by a timeout, its
 * failures mapped to `BRSIdentityError`s whose `cause` holds no SDK request
 * or response.
 *
 * @module
 */

import {
  GetCallerIdentityCommand,
  type GetCallerIdentityCommandOutput,
} from "@aws-sdk/client-sts";
import { _isMalformedReply, _sanitizeError } from "../_redact.ts";
import { _errorCode } from "./_refresher.ts";
import {
  _sendWithDateHeader,
  type _StsCallFacts,
} from "../sources/_sts_call.ts";
import { BRSError, BRSIdentityError } from "../errors.ts";
import type { Identity } from "../types.ts";

/**
 * Maps a failed `GetCallerIdentity` call (`whoami`) to a
 * `BRSIdentityError` with a secret-free cause; errors of the module (a
 * failed refresh) are returned as they are.
 *
 * @param error What the SDK threw.
 * @param facts The action and endpoint.
 * @returns The error to throw.
 */
function _identityCallError(
  error: unknown,
  facts: _StsCallFacts,
): unknown {
  if (error instanceof BRSError) return error;
  const cause = _sanitizeError(error);
  const at = facts.endpoint === undefined ? "" : ` '${facts.endpoint}'`;
  const details = facts.endpoint === undefined
    ? {}
    : { details: { endpoint: facts.endpoint } };
  if (_isMalformedReply(error)) {
    return new BRSIdentityError(
      `Cannot get the identity as the STS endpoint${at} sent a reply to ${facts.action} that is not STS XML: check the endpoint URL ('stsClientConfig.endpoint', or --endpoint-url of the CLI)`,
      { code: "MalformedReply", cause, ...details },
    );
  }
  const code = _errorCode(error) ?? "IdentityError";
  const text = error instanceof Error
    ? (cause as Error).message.slice(0, 300)
    : "";
  return new BRSIdentityError(
    `Cannot get the identity as the STS endpoint${at} answered ${facts.action} with ${code}${
      text === "" ? "" : ` (${text})`
    }: ${_identityAdvice(code)}`,
    { code, cause, ...details },
  );
}

/**
 * What to do about a refused `GetCallerIdentity`, by STS's code. The call
 * needs no IAM permission, so a refusal is about the credentials or the
 * endpoint.
 */
function _identityAdvice(code: string): string {
  if (
    /InvalidClientTokenId|SignatureDoesNotMatch|IncompleteSignature|UnrecognizedClient|ExpiredToken/
      .test(code)
  ) {
    return "STS refused the session's own credentials: check that the credential source and this STS endpoint belong together (a custom provider's keys, 'stsClientConfig.endpoint'), then try again";
  }
  return "check the endpoint and the network, then try again (GetCallerIdentity needs no IAM permission)";
}

/**
 * Calls `GetCallerIdentity` with `client`, aborting it after `timeoutMs`.
 *
 * @param client An `STSClient` (its credentials are the identity asked about).
 * @param timeoutMs How long STS may take to answer.
 * @param timeoutHint What to change to wait longer, for the timeout message
 * (e.g. `raise 'refreshTimeout'`).
 * @returns `{ UserId, Account, Arn }`.
 * @throws {BRSIdentityError} If STS refuses or fails the call, sends a reply
 * that is not STS XML, a reply without the identity, or no reply in time.
 * @throws {BRSError} Errors of the module raised while signing (a failed
 * refresh), as they are.
 */
export async function _callerIdentity(
  client: { send(command: never, options: never): Promise<unknown> },
  timeoutMs: number,
  timeoutHint: string,
): Promise<Identity> {
  const controller = new AbortController();
  const facts: _StsCallFacts = {
    action: "GetCallerIdentity",
    endpoint: undefined,
  };
  const timedOut = new Promise<never>((_, reject) => {
    controller.signal.addEventListener(
      "abort",
      () => reject(controller.signal.reason),
      { once: true },
    );
  });
  const timer = setTimeout(() => {
    controller.abort(
      new BRSIdentityError(
        `Cannot get the identity as STS${
          facts.endpoint === undefined ? "" : ` at '${facts.endpoint}'`
        } did not answer GetCallerIdentity within ${
          timeoutMs / 1000
        } s: it was aborted; check the endpoint and the network, or ${timeoutHint}`,
        {
          code: "IdentityTimeout",
          ...(facts.endpoint === undefined
            ? {}
            : { details: { endpoint: facts.endpoint } }),
        },
      ),
    );
  }, timeoutMs);
  let reply: GetCallerIdentityCommandOutput;
  try {
    const call = _sendWithDateHeader<GetCallerIdentityCommandOutput>(
      client,
      new GetCallerIdentityCommand({}),
      controller.signal,
      _identityCallError,
      facts,
    );
    call.catch(() => {});
    ({ reply } = await Promise.race([call, timedOut]));
  } catch (error) {
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
  if (!reply.UserId || !reply.Account || !reply.Arn) {
    throw new BRSIdentityError(
      "Cannot get the identity as the GetCallerIdentity reply lacks UserId, Account or Arn: check the STS endpoint",
      { code: "InvalidReply" },
    );
  }
  return { UserId: reply.UserId, Account: reply.Account, Arn: reply.Arn };
}
