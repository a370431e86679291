/**
 * Private: errors that cannot heal by waiting. A missing Deno permission
 * stays missing for the life of the process, and a request whose signature
 * STS refuses (a wrong secret key, a truncated signature) fails the same way
 * on every retry. The engine gives them to callers at once, marked
 * `recoverable: false`, and runs no background retries for them.
 *
 * @module
 */

/** STS error codes of a request signed with a wrong key or not signed right. */
const _SIGNATURE_CODES = new Set([
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "InvalidSignatureException",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "MissingAuthenticationToken",
]);

/** What a missing Deno permission is, and the flag that grants it. */
export interface _PermissionFacts {
  /** `net`, `read`, `env`, `run`, `sys`, `write`, `ffi` or `all`. */
  kind: string;
  /** What was asked for, e.g. `sts.eu-west-1.amazonaws.com:443`. */
  target: string;
  /** The flag to add, e.g. `--allow-net=sts.eu-west-1.amazonaws.com:443`. */
  flag: string;
}

function _chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  let current = error;
  while (current !== undefined && current !== null && out.length < 16) {
    out.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return out;
}

/**
 * The missing Deno permission behind `error` (anywhere in its cause chain):
 * Deno's `NotCapable` ("Requires net access to ..."), or the `EPERM` that
 * `node:dns`/`node:net` report under Deno for a host not in `--allow-net`.
 *
 * @param error What was thrown.
 * @returns The permission and its flag, or `undefined`.
 */
export function _missingPermission(
  error: unknown,
): _PermissionFacts | undefined {
  for (const item of _chain(error)) {
    if (!(item instanceof Error)) continue;
    const requires = item.message.match(
      /Requires (\w+) access to "([^"]*)"(?:, run again with the --allow-(\w+))?/,
    );
    if (
      requires !== null &&
      (item instanceof Deno.errors.NotCapable ||
        item instanceof Deno.errors.PermissionDenied ||
        /run again with the --allow-\w+/.test(item.message))
    ) {
      const kind = requires[1]!;
      const target = requires[2]!;
      const flag = kind === "all"
        ? "--allow-all"
        : `--allow-${requires[3] ?? kind}=${target}`;
      return { kind, target, flag };
    }
    if (item instanceof Deno.errors.NotCapable) {
      return { kind: "unknown", target: "", flag: "--allow-..." };
    }
    const { code, syscall, hostname, address, port } = item as {
      code?: unknown;
      syscall?: unknown;
      hostname?: unknown;
      address?: unknown;
      port?: unknown;
    };
    if (
      code === "EPERM" && (syscall === "getaddrinfo" || syscall === "connect")
    ) {
      const host = String(hostname ?? address ?? "") ||
        (item.message.match(/EPERM (\S+)/)?.[1] ?? "");
      const target = typeof port === "number" ? `${host}:${port}` : host;
      return {
        kind: "net",
        target,
        flag: target === "" ? "--allow-net" : `--allow-net=${target}`,
      };
    }
  }
  return undefined;
}

/** The AWS error code of an SDK error, if any. */
function _awsCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as { Code?: unknown; name?: unknown; code?: unknown };
  for (const v of [e.Code, e.name, e.code]) {
    if (typeof v === "string" && v !== "Error" && v !== "") return v;
  }
  return undefined;
}

/**
 * Tells whether STS refused the request's signature for a reason that a
 * retry cannot fix (a wrong secret key, a malformed signature). A signature
 * refused for the clock ("Signature expired", "not yet current") is not
 * final: the AWS SDK corrects its clock offset from the reply.
 *
 * @param error What was thrown (or a cause of it).
 * @returns `true` for a bad signature.
 */
export function _isBadSignature(error: unknown): boolean {
  for (const item of _chain(error)) {
    const code = _awsCode(item);
    if (code === undefined || !_SIGNATURE_CODES.has(code)) continue;
    const message = item instanceof Error ? item.message : "";
    return !/Signature (expired|not yet current)/i.test(message);
  }
  return false;
}

/**
 * Tells whether a refresh error is final: a missing Deno permission or a bad
 * signature.
 *
 * @param error What was thrown.
 * @returns `true` when waiting cannot fix it.
 */
export function _isFinalError(error: unknown): boolean {
  return _missingPermission(error) !== undefined || _isBadSignature(error);
}
