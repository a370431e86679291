/**
 * Private helpers of the web-identity session: where the OIDC token comes
 * from (a file re-read at every refresh, or a function) and the environment
 * variables the AWS SDKs honour. The token is never part of a message.
 *
 * @module
 */

import { _typeName } from "../_validate.ts";
import { BRSConfigurationError, BRSValidationError } from "../errors.ts";
import { _readOptionFile } from "./_read_option_file.ts";
import { _READ_CAPS } from "../_read_bounded.ts";

/** STS refuses a `WebIdentityToken` longer than this. */
export const _MAX_TOKEN_LENGTH = 20_000;

/** Trims a token and checks its length; the message never shows the token. */
function _checkToken(raw: string, param: string, where: string): string {
  const token = raw.trim();
  if (token === "") {
    throw new BRSConfigurationError(
      `Cannot refresh credentials as ${where} is empty: ${
        param === "webIdentityTokenFile"
          ? "check that the identity provider writes the token there (e.g. the service account token volume)"
          : "return the OIDC token as a non-empty string"
      }`,
      { param },
    );
  }
  if (token.length > _MAX_TOKEN_LENGTH) {
    throw new BRSConfigurationError(
      `Cannot refresh credentials as ${where} holds ${token.length} characters and STS takes at most ${_MAX_TOKEN_LENGTH}: check that it is an OIDC token (a JWT)`,
      { param, details: { length: token.length } },
    );
  }
  return token;
}

/**
 * Reads the token file (every refresh: providers such as EKS rotate it).
 *
 * @param path The file.
 * @param param The option it came from, for messages.
 * @returns The token, trimmed.
 * @throws {BRSConfigurationError} If the file is missing, unreadable, empty
 * or too long.
 */
export async function _readTokenFile(
  path: string,
  param: string,
): Promise<string> {
  const bytes = await _readOptionFile(
    path,
    param,
    "the web identity token file",
    _READ_CAPS.token,
    "check the path, or that the token volume is mounted",
  );
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new BRSConfigurationError(
      `Cannot refresh credentials as the web identity token file '${path}' given by '${param}' is not UTF-8 text: check that it holds an OIDC token`,
      { param, cause: error, details: { path } },
    );
  }
  return _checkToken(
    text,
    param,
    `the web identity token file '${path}' given by '${param}'`,
  );
}

/**
 * Calls the token function and checks what it returned.
 *
 * @param provider The function.
 * @param signal Passed to it.
 * @returns The token, trimmed.
 * @throws {BRSValidationError} If it does not return a string.
 * @throws {BRSConfigurationError} If the string is empty or too long.
 */
export async function _callTokenProvider(
  provider: (options: { signal: AbortSignal }) => unknown,
  signal: AbortSignal,
): Promise<string> {
  const value = await provider({ signal });
  if (typeof value !== "string") {
    throw new BRSValidationError(
      `Cannot refresh credentials as 'webIdentityTokenProvider' must return the OIDC token as a string: got ${
        _typeName(value)
      }`,
      { param: "webIdentityTokenProvider" },
    );
  }
  return _checkToken(
    value,
    "webIdentityTokenProvider",
    "the token from 'webIdentityTokenProvider'",
  );
}

/** Replaces every occurrence of `token` in `text` (e.g. an identity provider's message). */
export function _withoutToken(text: string, token: string | undefined): string {
  return token === undefined || token.length < 4
    ? text
    : text.replaceAll(token, "[REDACTED]");
}
