/**
 * WebIdentityRefreshableSession and the AWS_* variables of IRSA. This file
 * changes `Deno.env`, so it lives in `tests/serial/`.
 */
import { assertEquals, assertThrows } from "@std/assert";
import {
  BRSConfigurationError,
  BRSValidationError,
  WebIdentityRefreshableSession,
} from "../../mod.ts";
import { mintWebIdentityToken, startLocalSts } from "../../src/testing/mod.ts";
import { withEnv } from "../_helpers/env.ts";

const ROLE = "arn:aws:iam::123456789012:role/web";

Deno.test("WebIdentityRefreshableSession honours AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_SESSION_NAME", async () => {
  await using sts = await startLocalSts();
  const file = await Deno.makeTempFile({ prefix: "brs-token-" });
  await Deno.writeTextFile(file, mintWebIdentityToken());
  try {
    await withEnv({
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/from-env",
      AWS_WEB_IDENTITY_TOKEN_FILE: file,
      AWS_ROLE_SESSION_NAME: "env-session",
    }, async () => {
      await using session = new WebIdentityRefreshableSession({
        stsClientConfig: { endpoint: sts.url },
        region: "us-east-1",
      });
      assertEquals(session.webIdentityTokenFile, file);
      assertEquals(
        session.assumeRoleWithWebIdentity.RoleSessionName,
        "env-session",
      );
      const me = await session.whoami();
      assertEquals(
        me.Arn,
        "arn:aws:sts::123456789012:assumed-role/from-env/env-session",
      );
      // Options win over the environment.
      await using named = new WebIdentityRefreshableSession({
        assumeRoleWithWebIdentity: { RoleArn: ROLE, RoleSessionName: "pod" },
        webIdentityTokenFile: file,
        stsClientConfig: { endpoint: sts.url, maxAttempts: 1 },
        region: "us-east-1",
      });
      assertEquals(named.assumeRoleWithWebIdentity.RoleArn, ROLE);
      assertEquals(named.assumeRoleWithWebIdentity.RoleSessionName, "pod");
    });
    await withEnv({
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:user/not-a-role",
      AWS_ROLE_SESSION_NAME: "no spaces allowed",
    }, () => {
      const error = assertThrows(
        () => new WebIdentityRefreshableSession({ webIdentityTokenFile: file }),
        BRSValidationError,
        "(from the AWS_ROLE_ARN environment variable)",
      );
      assertEquals(error.param, "AWS_ROLE_ARN");
      assertThrows(
        () =>
          new WebIdentityRefreshableSession({
            assumeRoleWithWebIdentity: { RoleArn: ROLE },
            webIdentityTokenFile: file,
          }),
        BRSValidationError,
        "'assumeRoleWithWebIdentity.RoleSessionName' must be 2-64 characters of letters, digits and +=,.@_-: got \"no spaces allowed\" (from the AWS_ROLE_SESSION_NAME environment variable)",
      );
      return Promise.resolve();
    });
    await withEnv({
      AWS_ROLE_ARN: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    }, () => {
      assertThrows(
        () => new WebIdentityRefreshableSession({ webIdentityTokenFile: file }),
        BRSConfigurationError,
        "set 'assumeRoleWithWebIdentity.RoleArn' or the AWS_ROLE_ARN environment variable",
      );
      const error = assertThrows(
        () =>
          new WebIdentityRefreshableSession({
            assumeRoleWithWebIdentity: { RoleArn: ROLE },
          }),
        BRSConfigurationError,
        "set 'webIdentityTokenFile' or 'webIdentityTokenProvider', or the AWS_WEB_IDENTITY_TOKEN_FILE",
      );
      assertEquals(error.param, "webIdentityTokenFile");
      return Promise.resolve();
    });
  } finally {
    await Deno.remove(file);
  }
});
