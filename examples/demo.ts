/**
 * `deno task demo`: the companion CLI against the project's local STS
 * endpoint on 127.0.0.1, with no AWS account and no network. It runs
 * `brs whoami`, then `brs credentials` twice across an expiry to show a
 * refresh (printing only the key id prefix and the expiry).
 *
 * The CLI is spawned as a real process with the permissions a user would
 * give it; its cache lives in a temp XDG_CACHE_HOME that is removed at the end.
 *
 * @module
 */

import { startLocalSts } from "../src/testing/mod.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const FLAGS = [
  "--allow-net=127.0.0.1",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-sys=osRelease,homedir",
];
const ROLE_ARN = "arn:aws:iam::123456789012:role/demo";
const LIFETIME_SECONDS = 6;

async function brs(
  args: string[],
  env: Record<string, string>,
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...FLAGS, CLI, ...args],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    throw new Error(`brs ${args[0]} exited with ${out.code}: ${stderr.trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  await using sts = await startLocalSts({
    credentialLifetimeSeconds: LIFETIME_SECONDS,
  });
  const cacheHome = await Deno.makeTempDir({ prefix: "brs_demo_" });
  try {
    // The parent's environment minus AWS_*/XDG_*, plus the local STS's base keys.
    const env: Record<string, string> = {
      ...Object.fromEntries(
        Object.entries(Deno.env.toObject()).filter(([k]) =>
          !/^(AWS_|BRS_|XDG_)/.test(k)
        ),
      ),
      AWS_ACCESS_KEY_ID: sts.baseCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: sts.baseCredentials.secretAccessKey,
      AWS_REGION: "us-east-1",
      AWS_CONFIG_FILE: `${cacheHome}/aws_config`,
      AWS_SHARED_CREDENTIALS_FILE: `${cacheHome}/aws_credentials`,
      AWS_EC2_METADATA_DISABLED: "true",
      XDG_CACHE_HOME: cacheHome,
      XDG_CONFIG_HOME: cacheHome,
    };
    const role = ["--role-arn", ROLE_ARN, "--endpoint-url", sts.url];
    console.log(
      `local STS on ${sts.url} (credentials live ${LIFETIME_SECONDS} s)\n`,
    );
    console.log(
      `$ brs whoami --role-arn ${ROLE_ARN} --endpoint-url ${sts.url}`,
    );
    console.log(await brs(["whoami", ...role], env));

    const show = async (
      label: string,
    ): Promise<{ key: string; expiry: string }> => {
      const json = JSON.parse(
        await brs(
          ["credentials", ...role, "--format", "credential-process"],
          env,
        ),
      );
      console.log(
        `${label}: AccessKeyId ${json.AccessKeyId.slice(0, 4)}...${
          // the last characters tell keys apart (the first 8 are the same
          // for every key of an account)
          json.AccessKeyId.slice(
            -8,
          )} expires ${json.Expiration} (STS AssumeRole calls so far: ${sts.calls.AssumeRole})`,
      );
      return { key: json.AccessKeyId, expiry: json.Expiration };
    };
    // whoami filled the cross-process cache: both calls are served from it
    const first = await show("credentials #1 (cache)  ");
    const again = await show("credentials #2 (cache)  ");
    const wait = Date.parse(first.expiry) - Date.now() + 500;
    console.log(
      `... waiting ${Math.ceil(wait / 1000)} s for them to expire ...`,
    );
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    const third = await show("credentials #3 (refresh)");
    if (again.key !== first.key || third.key === first.key) {
      throw new Error("Expected a cache hit, then a refresh");
    }
    console.log(
      "\nrefreshed: a new key after the expiry, one STS call per credential set",
    );
  } finally {
    await Deno.remove(cacheHome, { recursive: true });
  }
}
