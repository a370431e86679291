#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read --allow-write --allow-run --allow-sys=osRelease,homedir
/**
 * `brs`: the companion CLI of `@brs/session`. It prints the identity and the
 * credentials of an assumed role, runs commands with them (static variables,
 * or a loopback container-credentials endpoint with `exec --server`), and
 * caches credentials across processes so that N processes started together
 * make one STS call and run the MFA command once.
 *
 * ```sh
 * deno run --allow-net --allow-env --allow-read --allow-write --allow-run \
 *   --allow-sys=osRelease,homedir cli.ts whoami --profile dev
 * deno install -g -n brs --allow-net --allow-env --allow-read --allow-write \
 *   --allow-run --allow-sys=osRelease,homedir jsr:@brs/session/cli
 * # from a clone: the import map is in deno.json
 * deno install -g -n brs --config deno.json --allow-net --allow-env \
 *   --allow-read --allow-write --allow-run --allow-sys=osRelease,homedir ./cli.ts
 * brs credentials --profile dev --format credential-process
 * brs exec --server --profile dev -- terraform apply
 * ```
 *
 * Permissions, and why none can be narrower in the shebang:
 * - `--allow-net`: STS (any region or `--endpoint-url`), the SDK's base
 *   credential chain (IMDS, container endpoint, SSO) and, for `exec --server`,
 *   a listener on 127.0.0.1 at a random port. Narrow it yourself when you
 *   know the hosts, e.g. `--allow-net=sts.eu-west-1.amazonaws.com` (the SDK
 *   calls the regional STS host; plus `127.0.0.1` for `exec --server`).
 * - `--allow-env`: `AWS_*` variables of the SDK chain, `XDG_*`, `HOME`, `BRS_*`.
 * - `--allow-read`: `~/.aws`, the TOML file, the cache directory.
 * - `--allow-write`: the cache directory (`$XDG_CACHE_HOME/brs`) only; a path
 *   depends on the environment, so the shebang cannot name it: narrow with
 *   `--allow-write=$HOME/.cache/brs`.
 * - `--allow-run`: the MFA command and the `exec` command (any program you
 *   name; narrow with `--allow-run=ykman,aws` when you know them).
 * - `--allow-sys=osRelease,homedir`: the AWS SDK's user agent and home
 *   directory; the whole `--allow-sys` when `NODE_EXTRA_CA_CERTS` is set
 *   (HTTPS then reads the system CA store).
 *
 * Exit codes: 0 success, 1 runtime failure (STS, network, refresh), 2 usage,
 * configuration or missing permission, 126/127 `exec`: the program cannot run
 * / is not found, 130 interrupted (Ctrl-C at the MFA prompt). Run without
 * permission flags, it prints the whole command to run in one line.
 *
 * @module
 */

import { main, type MainOptions } from "./src/cli/main.ts";

export { main, type MainOptions };

if (import.meta.main) Deno.exit(await main(Deno.args));
