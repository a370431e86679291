/**
 * `brs exec` and `brs exec --server`: the child sees only brs's keys. Every
 * variable through which an AWS SDK finds credentials, a profile or a
 * credentials file is removed from the parent's environment before the child
 * starts, the legacy names of Java v1, Go, Ruby and JavaScript v2 included.
 */
import { assert, assertEquals, assertFalse } from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import { _CREDENTIAL_VARIABLE_NAMES } from "../src/cli/_child_credential_variables.ts";
import { makeCliEnv, ROLE_ARN, runCli } from "./fixtures/cli/helpers.ts";

/** The variables brs sets itself (with or without --server). */
const OURS = new Set([
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "BOTO_CONFIG",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
]);

/** Variables the parent keeps for its own base credentials. */
const PARENT_BASE = new Set([
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  // Read by the parent's own SDK with its base keys.
  "AWS_SESSION_TOKEN",
  "AWS_CREDENTIAL_EXPIRATION",
  "AWS_CREDENTIAL_SCOPE",
  "AWS_ACCOUNT_ID",
  // These would make the parent's own lookup use another profile.
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
]);

for (const server of [false, true]) {
  Deno.test(
    `brs exec${
      server ? " --server" : ""
    } removes every credential variable of every AWS SDK from the child's environment, legacy names included`,
    async () => {
      await using sts = await startLocalSts();
      await using cli = await makeCliEnv(sts.baseCredentials);
      const planted: Record<string, string> = {};
      for (const name of _CREDENTIAL_VARIABLE_NAMES) {
        if (!PARENT_BASE.has(name)) planted[name] = `parent-${name}`;
      }
      // The Java v1 pair that the issue reproduced, and Java properties.
      planted.AWS_SECRET_KEY = "parent-long-term-secret";
      planted.AWS_ACCESS_KEY = "AKIAPARENTLEGACY0001";
      planted.JAVA_TOOL_OPTIONS =
        "-Xmx64m -Daws.secretKey=parent-java-secret -Daws.accessKeyId=AKIAJAVA";
      planted.JDK_JAVA_OPTIONS = "-Xss1m";
      const r = await runCli([
        "exec",
        ...(server ? ["--server"] : []),
        "--role-arn",
        ROLE_ARN,
        "--endpoint-url",
        sts.url,
        "--",
        "env",
      ], { ...cli.env, ...planted });
      assertEquals(r.code, 0, r.stderr);
      const child = new Map(
        r.stdout.split("\n").filter((l) => l.includes("=")).map((l) => {
          const at = l.indexOf("=");
          return [l.slice(0, at), l.slice(at + 1)] as const;
        }),
      );
      for (const name of _CREDENTIAL_VARIABLE_NAMES) {
        const value = child.get(name);
        if (value === undefined) continue;
        assert(OURS.has(name), `${name} reached the child`);
        assertFalse(value.startsWith("parent-"), `${name} is the parent's`);
      }
      assertFalse(
        r.stdout.includes("parent-"),
        "a parent value reached the child",
      );
      assertFalse(r.stdout.includes(sts.baseCredentials.secretAccessKey));
      assertFalse(r.stdout.includes(sts.baseCredentials.accessKeyId));
      assertFalse(child.has("JAVA_TOOL_OPTIONS"));
      assertEquals(child.get("JDK_JAVA_OPTIONS"), "-Xss1m");
      assertFalse(child.has("AWS_SECRET_KEY"));
      assertFalse(child.has("AWS_ACCESS_KEY"));
      if (server) {
        assertFalse(child.has("AWS_ACCESS_KEY_ID"));
        assert(
          child.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")?.startsWith(
            "http://127.0.0.1:",
          ),
        );
      } else {
        assert(child.get("AWS_ACCESS_KEY_ID")?.startsWith("ASIA"));
        assertFalse(child.has("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
      }
    },
  );
}

Deno.test("guide/cli.md lists every variable exec removes, with the SDKs that read it", async () => {
  const { _CREDENTIAL_VARIABLES } = await import(
    "../src/cli/_child_credential_variables.ts"
  );
  const guide = await Deno.readTextFile(
    new URL("../guide/cli.md", import.meta.url),
  );
  const rows = new Map(
    guide.split("\n").map((l) => l.match(/^\| `([A-Z0-9_]+)`\s*\| (.+?)\s*\|$/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  for (const v of _CREDENTIAL_VARIABLES) {
    assertEquals(rows.get(v.name), v.readBy, v.name);
  }
});
