/**
 * The one place where errors become exit codes and one-line messages.
 *
 * @module
 */

import {
  BRSConfigurationError,
  BRSError,
  BRSIdentityError,
  BRSRefreshError,
  BRSValidationError,
} from "../errors.ts";
import { _controlEscape } from "../_redact.ts";

/** Success. */
export const EXIT_OK = 0;
/** A runtime failure: STS, network, refresh. */
export const EXIT_RUNTIME = 1;
/** A usage, configuration, validation or permission error. */
export const EXIT_USAGE = 2;
/** `exec`: the program exists but cannot be run (as a shell does). */
export const EXIT_CANNOT_RUN = 126;
/** `exec`: no such program (as a shell does). */
export const EXIT_NOT_FOUND = 127;
/** Interrupted by Ctrl-C (SIGINT), e.g. at the MFA prompt. */
export const EXIT_INTERRUPTED = 130;

function _causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 16) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

/** The first missing-Deno-permission error in the cause chain, if any. */
export function _permissionError(error: unknown): Error | undefined {
  for (const item of _causes(error)) {
    // Deno 2 reports a missing permission as NotCapable; PermissionDenied is
    // the OS refusing (a file mode), reported as such
    if (item instanceof Deno.errors.NotCapable) return item;
    if (
      item instanceof Deno.errors.PermissionDenied &&
      /--allow-\w+/.test(item.message)
    ) return item;
    // the AWS SDK may copy the message into an error of its own
    if (
      item instanceof Error &&
      /run again with the --allow-\w+/.test(item.message)
    ) return item;
    // node:net / node:dns under Deno turn a missing net permission into EPERM
    if (
      item instanceof Error && (item as { code?: unknown }).code === "EPERM"
    ) {
      const { syscall, hostname, address } = item as {
        syscall?: unknown;
        hostname?: unknown;
        address?: unknown;
      };
      if (syscall === "getaddrinfo" || syscall === "connect") {
        const host = String(hostname ?? address ?? "") ||
          (item.message.match(/EPERM (\S+)/)?.[1] ?? "");
        return new Deno.errors.NotCapable(
          `Requires net access to "${host}", run again with the --allow-net${
            host ? `=${host}` : ""
          } flag`,
        );
      }
    }
  }
  return undefined;
}

function _isUsageClass(error: unknown): boolean {
  return error instanceof BRSValidationError ||
    error instanceof BRSConfigurationError;
}

/**
 * Maps an error to the exit code: 2 for usage, validation, configuration
 * (also when it is the direct cause of a refresh error, e.g. an MFA command
 * that is not allowed) and missing permissions; 1 for everything else.
 */
export function _exitCodeFor(error: unknown): number {
  if (
    _causes(error).some((e) =>
      e instanceof BRSError && e.code === "Interrupted"
    )
  ) return EXIT_INTERRUPTED;
  if (error instanceof BRSError && error.code === "ProgramNotFound") {
    return EXIT_NOT_FOUND;
  }
  if (error instanceof BRSError && error.code === "ProgramNotRunnable") {
    return EXIT_CANNOT_RUN;
  }
  if (_permissionError(error)) return EXIT_USAGE;
  if (_isUsageClass(error)) return EXIT_USAGE;
  if (error instanceof BRSRefreshError && _isUsageClass(error.cause)) {
    return EXIT_USAGE;
  }
  return EXIT_RUNTIME;
}

function _oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function _describe(error: unknown): string {
  if (error instanceof Error) {
    const code = error instanceof BRSError ? ` [${error.code}]` : "";
    return `${error.name}${code}: ${_oneLine(error.message)}`;
  }
  return _oneLine(String(error));
}

/** The SDK's advice for its own API users, meaningless on a command line. */
const _SDK_JARGON =
  /\s*Deserialization error: to see the raw response, inspect the hidden field \{error\}\.\$response on this object\.?/g;

function _sdkText(error: Error): string {
  return _oneLine(error.message.replace(_SDK_JARGON, ""))
    .replace(/^@aws-sdk\s+/, "").replace(/\.$/, "");
}

/**
 * The first error of the chain that comes from the AWS SDK (or the network
 * under it): not a brs error and not a Deno one.
 */
function _sdkError(error: unknown): Error | undefined {
  for (const item of _causes(error)) {
    if (item instanceof BRSError) continue;
    if (!(item instanceof Error)) return undefined;
    if (Object.values(Deno.errors).some((kind) => item instanceof kind)) {
      return undefined;
    }
    return item;
  }
  return undefined;
}

/** What to do about an STS or network failure, by the SDK error's name. */
function _sdkAdvice(name: string): string {
  if (/Throttl|ServiceUnavailable|Internal|RequestLimit/.test(name)) {
    return "STS is busy or failing: run again in a moment";
  }
  if (/AccessDenied|NotAuthorized/.test(name)) {
    return "check the role ARN and that its trust policy allows the base identity (--debug shows the cause chain)";
  }
  if (
    /ExpiredToken|InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient/
      .test(name)
  ) {
    return "the base credentials are expired or wrong: renew them (source_profile, AWS_ACCESS_KEY_ID, [default] of ~/.aws/credentials)";
  }
  return "run again with --debug for the cause chain";
}

/** Codes of brs errors whose message already names the STS failure and the fix. */
const _WORDED_CODES = new Set([
  "MfaSessionRefused",
  "MfaSessionFailed",
  "MalformedReply",
  "IdentityTimeout",
  "RefreshTimeout",
  "InvalidIdentityToken",
  "ExpiredTokenException",
  "IDPRejectedClaim",
  "BaseCredentialsFailed",
]);

/**
 * The CLI's own words for the errors whose library message speaks to API
 * users (`refresh({ force: true })`, `string[]`, SDK internals); `undefined`
 * keeps the error's message.
 */
function _cliHead(error: unknown): string | undefined {
  const chain = _causes(error);
  const brs = chain.filter((e): e is BRSError => e instanceof BRSError);
  const rejected = brs.find((e) => e.code === "MfaRejected");
  if (rejected) {
    const serial = rejected.message.match(/for '([^']+)'/)?.[1] ?? "";
    return `STS rejected the MFA code for '${serial}'${
      / twice/.test(rejected.message) ? " twice" : ""
    }: run the command again with a new code; if it fails again, check the device's serial number and clock, or the command of --mfa-command, mfa_command or mfa_process`;
  }
  const shell = brs.find((e) =>
    e.param === "mfaTokenProvider" &&
    typeof (e.details as { operator?: unknown } | undefined)?.operator ===
      "string"
  );
  if (shell) {
    const what = shell.message.match(/ contains (.+?), which /)?.[1] ??
      (shell.details as { operator: string }).operator;
    return `Cannot use the MFA command as it contains ${what}: pipes, redirections and other shell operators are not supported (it runs without a shell); put the pipeline in a script and allow the script with allowed_commands (TOML) or BRS_ALLOWED_COMMANDS`;
  }
  const notAllowed = brs.find((e) =>
    e.param === "mfaTokenProvider" && /\.allowedCommands /.test(e.message)
  );
  if (notAllowed) {
    return notAllowed.message.replace(
      /: add '(.*)' to mfaTokenProviderOptions\.allowedCommands .*$/,
      ": if you trust it, add '$1' to allowed_commands of the TOML profile or to BRS_ALLOWED_COMMANDS (names or absolute paths, separated by ':')",
    );
  }
  if (brs.some((e) => e instanceof BRSConfigurationError)) return undefined;
  // A brs error that already says what STS refused, in brs's words.
  if (brs.some((e) => _WORDED_CODES.has(String(e.code)))) return undefined;
  const sdk = _sdkError(error);
  if (sdk === undefined || sdk.name === "CredentialsProviderError") {
    return undefined;
  }
  const text = _sdkText(sdk);
  const code = (sdk as { code?: unknown }).code;
  // GetCallerIdentity (whoami) failed, not the credentials
  const cannot = brs.some((e) => e instanceof BRSIdentityError)
    ? "Cannot get the identity"
    : "Cannot get credentials";
  if (
    /Deserialization error|parse error|\$response|Unexpected token/.test(
      sdk.message,
    )
  ) {
    return `${cannot} as STS answered with a reply that is not STS XML (${text}): check that the endpoint (--endpoint-url, endpoint_url) is an STS endpoint, then run again`;
  }
  if (
    sdk.name === "TimeoutError" ||
    /^E(CONNREFUSED|CONNRESET|NOTFOUND|TIMEDOUT|HOSTUNREACH|AI_AGAIN)$/.test(
      String(code),
    ) || /socket hang up|ECONNREFUSED|getaddrinfo/.test(sdk.message)
  ) {
    return `${cannot} as STS could not be reached (${text}): check the network, a proxy or the endpoint (--endpoint-url, endpoint_url), then run again`;
  }
  const name = sdk.name && sdk.name !== "Error" ? `${sdk.name}: ` : "";
  const what = name ? "STS refused the call with" : "the AWS SDK failed:";
  return `${cannot} as ${what} ${name}${text}; ${_sdkAdvice(sdk.name)}`;
}

/**
 * The message for stderr: `brs: error: ...` in one line (`brs: interrupted`
 * after Ctrl-C); with `debug`, one more line per cause. Never a stack trace.
 */
export function _formatError(error: unknown, debug: boolean): string {
  const permission = _permissionError(error);
  const cli = permission ? undefined : _cliHead(error);
  let head: string;
  if (_exitCodeFor(error) === EXIT_INTERRUPTED) {
    head = "";
  } else if (cli !== undefined) {
    head = cli;
  } else if (permission) {
    const flag = permission.message.match(/--allow-[\w-]+/)?.[0];
    head = `Missing Deno permission: ${_oneLine(permission.message)}` +
      (flag && !permission.message.includes("run again")
        ? `; run again with ${flag}`
        : "");
  } else if (error instanceof Error) {
    head = _oneLine(error.message) || error.name;
    // a refresh error of an SDK failure: say what STS said in the same line
    if (
      !(error instanceof BRSError) && error.name && error.name !== "Error"
    ) head = `${error.name}: ${head}`;
  } else {
    head = _oneLine(String(error));
  }
  if (
    cli === undefined &&
    !(error instanceof BRSError &&
      (error.code === "CredentialLoop" ||
        error.code === "BaseCredentialsFailed")) &&
    _causes(error).some((e) =>
      e instanceof Error && e.name === "CredentialsProviderError"
    )
  ) {
    head +=
      "; the base credentials come from source_profile or credential_source of the brs profile, else the AWS SDK's default chain (AWS_PROFILE selects the brs profile, not the base): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, put keys in [default] of ~/.aws/credentials, or add source_profile";
  }
  const lines = [head === "" ? "brs: interrupted" : `brs: error: ${head}`];
  if (debug) {
    const chain = _causes(error);
    lines.push(`brs: debug: ${_describe(chain[0])}`);
    for (const cause of chain.slice(1)) {
      lines.push(`brs: debug:   caused by ${_describe(cause)}`);
    }
  }
  // A key, a value or a path read from a file or the environment may hold
  // control characters: escaped, they cannot break or rewrite the line.
  return lines.map(_controlEscape).join("\n");
}
