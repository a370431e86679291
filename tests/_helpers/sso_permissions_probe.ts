/**
 * Runs the local SSO portal with the narrow permissions the guide gives
 * (`--allow-net=127.0.0.1`, read and write of a temporary HOME; the local STS
 * and the SDK client beside it add `--allow-env --allow-sys=osRelease`):
 * signs in to the temporary HOME as `aws sso login` would, gets role
 * credentials from the portal as the SDK's SSO client does, and prints the
 * caller ARN the local STS answers for them.
 *
 * @module
 */

import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { startLocalSso, startLocalSts } from "../../src/testing/mod.ts";

if (import.meta.main) {
  const [home] = Deno.args;
  await using sts = await startLocalSts();
  await using sso = await startLocalSso({ sts });
  const login = await sso.login({ home: home!, sessionName: "probe" });
  const { accessToken } = JSON.parse(await Deno.readTextFile(login.path));
  const reply = await fetch(
    `${sso.url}/federation/credentials?role_name=AdministratorAccess&account_id=${sts.accountId}`,
    { headers: { "x-amz-sso_bearer_token": accessToken } },
  );
  const { roleCredentials: c } = await reply.json();
  const client = new STSClient({
    region: "us-east-1",
    endpoint: sts.url,
    credentials: {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
    },
  });
  try {
    console.log((await client.send(new GetCallerIdentityCommand({}))).Arn);
  } finally {
    client.destroy();
  }
}
