// Configuration errors outside the profile parsers: a value that may be a
// secret pasted into the wrong option is described, never quoted, and
// control characters of a value that is quoted are escaped.

import { assertFalse, assertStringIncludes, assertThrows } from "@std/assert";
import { BRSValidationError, STSRefreshableSession } from "../mod.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

Deno.test("a wrong ExternalId, Policy or Tags value is described by its shape, never quoted", () => {
  for (
    const [key, value, shape] of [
      ["ExternalId", `${SECRET} `, "a string of 41 characters"],
      ["Policy", 42, "42"],
      ["Tags", [{ Key: "k", Value: SECRET, Extra: 1 }], "an array of 1 items"],
    ] as const
  ) {
    const error = assertThrows(
      () =>
        new STSRefreshableSession({
          assumeRole: {
            RoleArn: "arn:aws:iam::123456789012:role/app",
            [key]: value,
          },
          region: "eu-west-1",
        }),
      BRSValidationError,
    );
    assertStringIncludes(error.message, `'assumeRole.${key}'`);
    assertStringIncludes(error.message, `got ${shape}`);
    assertFalse(error.message.includes(SECRET), error.message);
    assertFalse(JSON.stringify(error).includes(SECRET));
    assertFalse(Deno.inspect(error, { depth: 5 }).includes(SECRET));
  }
});

Deno.test("a quoted wrong value has its control characters escaped", () => {
  const error = assertThrows(
    () =>
      new STSRefreshableSession({
        assumeRole: { RoleArn: "arn:aws:iam::1\u001b[2J\u202e" },
        region: "eu-west-1",
      }),
    BRSValidationError,
  );
  assertFalse(
    [...error.message].some((c) => c.charCodeAt(0) < 32 || c === "\u202e"),
    error.message,
  );
  assertStringIncludes(error.message, "\\u001b[2J");
});
