/**
 * First contact: before a command touches anything, the Deno permissions
 * it needs are queried (never requested, so no prompt appears), and if one
 * is missing altogether the user gets one message with the complete command
 * to run, instead of one failure (or one prompt) per permission.
 *
 * A permission narrowed by the user (`--allow-net=sts.eu-west-1.amazonaws.com`,
 * `--allow-write=$HOME/.cache/brs`) counts as given: only a permission that
 * is granted for nothing the command needs is reported.
 *
 * @module
 */

import { BRSConfigurationError } from "../errors.ts";

function _granted(descriptor: Deno.PermissionDescriptor): boolean {
  return Deno.permissions.querySync(descriptor).state === "granted";
}

function _anyGranted(descriptors: Deno.PermissionDescriptor[]): boolean {
  return descriptors.some(_granted);
}

/** The flags the CLI needs (the same as the shebang and the install line). */
export function _recommendedFlags(): string[] {
  const extraCa = _granted({ name: "env", variable: "NODE_EXTRA_CA_CERTS" }) &&
    Deno.env.get("NODE_EXTRA_CA_CERTS");
  return [
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    extraCa ? "--allow-sys" : "--allow-sys=osRelease,homedir",
  ];
}

/**
 * The permission flags missing altogether for `command`, in the order of
 * {@linkcode _recommendedFlags}.
 */
export function _missingPermissions(
  command: string,
  options: { cache?: boolean } = {},
): string[] {
  const missing: string[] = [];
  const envOk = _granted({ name: "env", variable: "HOME" });
  if (!envOk) missing.push("--allow-env");
  const home = envOk ? Deno.env.get("HOME") : undefined;
  const cache = envOk
    ? (Deno.env.get("XDG_CACHE_HOME") || `${home}/.cache`) + "/brs"
    : undefined;
  const config = envOk
    ? Deno.env.get("AWS_CONFIG_FILE") || `${home}/.aws/config`
    : undefined;
  if (
    !_anyGranted([
      { name: "read" },
      ...(config ? [{ name: "read", path: config } as const] : []),
    ])
  ) missing.push("--allow-read");
  if (command === "profiles") return missing;
  if (
    (options.cache !== false || command === "clear") &&
    !_anyGranted([
      { name: "write" },
      ...(cache ? [{ name: "write", path: cache } as const] : []),
    ])
  ) missing.push("--allow-write");
  if (command === "clear") return missing;
  // --allow-net is not required up front: a warm cache needs no network,
  // and a missing one is named when STS is called
  if (command === "exec" && !_granted({ name: "run" })) {
    // a narrowed --allow-run is checked when the program starts
    const anyRun = Deno.permissions.querySync({ name: "run", command: "aws" })
      .state === "granted";
    if (!anyRun) missing.push("--allow-run");
  }
  // NODE_EXTRA_CA_CERTS makes every HTTPS call need the whole --allow-sys
  // (it is recommended then), but loopback http works without it
  if (!_granted({ name: "sys", kind: "osRelease" })) {
    missing.push(
      envOk && Deno.env.get("NODE_EXTRA_CA_CERTS")
        ? "--allow-sys"
        : "--allow-sys=osRelease,homedir",
    );
  }
  return missing;
}

/**
 * Throws one error naming every missing permission and the command to run
 * instead, when a permission is missing altogether.
 *
 * @param command The subcommand.
 * @param args Its arguments (repeated in the suggested command).
 * @throws {BRSConfigurationError} `MissingPermissions` (exit code 2).
 */
export function _checkPermissions(command: string, args: string[]): void {
  const missing = _missingPermissions(command, {
    cache: !args.includes("--no-cache"),
  });
  if (missing.length === 0) return;
  const main = new URL(Deno.mainModule);
  const script = main.protocol === "file:" ? main.pathname : main.href;
  const flags = _recommendedFlags();
  // the command grants more than what is missing now: say why
  const later = flags.filter((f) =>
    !missing.some((m) => m.split("=")[0] === f.split("=")[0])
  );
  const line = [
    "deno run",
    ...flags,
    script,
    command,
    ...args.map((a) =>
      /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`
    ),
  ].join(" ");
  throw new BRSConfigurationError(
    `Missing Deno permission${missing.length > 1 ? "s" : ""} ${
      missing.join(" ")
    } for 'brs ${command}'${
      later.length > 0
        ? ` (and ${later.join(" ")} once STS is called or a command runs)`
        : ""
    }: run ${line}${
      _granted({ name: "env", variable: "NODE_EXTRA_CA_CERTS" })
        ? ""
        : " (with --allow-sys instead if NODE_EXTRA_CA_CERTS is set)"
    }`,
    { code: "MissingPermissions", param: missing.join(" ") },
  );
}
