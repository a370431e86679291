// A missing Deno permission and a refused signature cannot heal by waiting:
// callers get the error at once, marked not recoverable, naming the flag or
// the key to fix, and no background retry loop runs. Reproduced with the
// real SDK against the local STS, in a subprocess with narrowed flags.

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import { _isFinalError } from "../src/engine/_final_error.ts";
import { _isNonRecoverable } from "../src/engine/_refresher.ts";

const PROBE =
  new URL("./fixtures/final_error_probe.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;

async function probe(
  flags: string[],
  args: string[],
): Promise<Record<string, unknown>> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      `--config=${ROOT}deno.json`,
      ...flags,
      "--allow-env",
      "--allow-read",
      "--allow-sys=osRelease",
      PROBE,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assertEquals(code, 0, err);
  return JSON.parse(
    new TextDecoder().decode(stdout).trim().split("\n").at(-1)!,
  );
}

Deno.test("a session whose STS host is not in --allow-net fails at once, not recoverable, naming the flag, and is not retried in the background", async () => {
  await using sts = await startLocalSts();
  const port = new URL(sts.url).port;
  const r = await probe(["--allow-net=127.0.0.1"], [
    `http://localhost:${port}`,
    sts.baseCredentials.accessKeyId,
    sts.baseCredentials.secretAccessKey,
    "3500",
  ]);
  assertEquals(r.name, "BRSRefreshError");
  assertEquals(r.code, "PermissionDenied");
  assertEquals(r.recoverable, false);
  assertStringIncludes(String(r.message), "--allow-net=localhost");
  assertEquals(r.permission, "--allow-net=localhost");
  assert(Number(r.ms) < 1_000, `the caller waited ${r.ms} ms`);
  // One attempt at start; none in the 3.5 s after (a backoff loop makes 2+).
  assertEquals(r.attempts, 1);
  assertEquals(sts.calls.AssumeRole ?? 0, 0);
});

Deno.test("a wrong secret key fails at once with SignatureDoesNotMatch, not recoverable, and STS is not called again in the background", async () => {
  await using sts = await startLocalSts();
  const r = await probe(["--allow-net=127.0.0.1"], [
    sts.url,
    sts.baseCredentials.accessKeyId,
    "not-the-secret-key-of-this-access-key-id",
    "3500",
  ]);
  assertEquals(r.name, "BRSRefreshError");
  assertEquals(r.code, "SignatureDoesNotMatch");
  assertEquals(r.recoverable, false);
  assertStringIncludes(String(r.message), "secret key is wrong");
  assertStringIncludes(String(r.message), "AWS_SECRET_ACCESS_KEY");
  assert(!String(r.message).includes(sts.baseCredentials.secretAccessKey));
  assert(Number(r.ms) < 1_000, `the caller waited ${r.ms} ms`);
  assertEquals(r.attempts, 1);
  const refused = sts.requests.filter((q) =>
    q.errorCode === "SignatureDoesNotMatch"
  );
  assertEquals(refused.length, 1);
});

Deno.test("an unknown access key id fails at once with InvalidClientTokenId, not recoverable", async () => {
  await using sts = await startLocalSts();
  const r = await probe(["--allow-net=127.0.0.1"], [
    sts.url,
    "AKIAUNKNOWNKEY000001",
    "x",
    "2500",
  ]);
  assertEquals(r.code, "InvalidClientTokenId");
  assertEquals(r.recoverable, false);
  assertStringIncludes(String(r.message), "does not know");
  assertEquals(r.attempts, 1);
});

Deno.test("_isFinalError: permissions and bad signatures are final, a clock-skewed signature is not", () => {
  const sdk = (name: string, message: string): Error => {
    const e = new Error(message);
    e.name = name;
    return e;
  };
  for (
    const error of [
      new Deno.errors.NotCapable(
        'Requires net access to "sts.eu-west-1.amazonaws.com:443", run again with the --allow-net flag',
      ),
      Object.assign(new Error("getaddrinfo EPERM sts.amazonaws.com"), {
        code: "EPERM",
        syscall: "getaddrinfo",
        hostname: "sts.amazonaws.com",
      }),
      sdk("SignatureDoesNotMatch", "The request signature we calculated"),
      sdk("IncompleteSignature", "Authorization header requires"),
      new Error("wrapped", {
        cause: sdk("InvalidClientTokenId", "The security token"),
      }),
    ]
  ) {
    assert(_isFinalError(error), String(error));
    assert(_isNonRecoverable(error), String(error));
  }
  const skew = sdk(
    "SignatureDoesNotMatch",
    "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z",
  );
  assertEquals(_isFinalError(skew), false);
  assertEquals(_isFinalError(sdk("Throttling", "Rate exceeded")), false);
});
