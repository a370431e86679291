/**
 * The bounded read every trusted file goes through: regular files only, up
 * to a cap, `/dev/null` as empty, links refused where asked.
 */

import { assertEquals, assertThrows } from "@std/assert";
import { BRSConfigurationError } from "../src/errors.ts";
import {
  _readBounded,
  _readBoundedSync,
  _readBoundedTextSync,
} from "../src/_read_bounded.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "brs_read_bounded_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("_readBounded reads a file of exactly the cap and refuses one byte more, sync and async", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/f`;
    await Deno.writeFile(path, new Uint8Array(1024).fill(65));
    const options = { maxBytes: 1024, what: "the test file" };
    assertEquals(_readBoundedSync(path, options).bytes.length, 1024);
    assertEquals((await _readBounded(path, options)).bytes.length, 1024);
    const small = { maxBytes: 1023, what: "the test file" };
    const error = assertThrows(
      () => _readBoundedSync(path, small),
      BRSConfigurationError,
      `Cannot read the test file '${path}' as it is larger than 1023 bytes`,
    );
    assertEquals(error.code, "FileTooLarge");
    assertEquals(error.details.maxBytes, 1023);
    let rejected: unknown;
    await _readBounded(path, small).catch((e) => (rejected = e));
    assertEquals((rejected as BRSConfigurationError).code, "FileTooLarge");
  });
});

Deno.test("_readBounded reads /dev/null as empty and refuses a directory and /dev/zero", () => {
  const options = { maxBytes: 10, what: "the test file" };
  assertEquals(_readBoundedTextSync("/dev/null", options), "");
  for (
    const [path, kind] of [
      ["/dev/zero", "a character device"],
      ["/tmp", "a directory"],
    ]
  ) {
    const error = assertThrows(
      () => _readBoundedSync(path!, options),
      BRSConfigurationError,
      `as it is ${kind}, not a regular file`,
    );
    assertEquals(error.code, "FileNotRegular");
  }
});

Deno.test("_readBounded follows a link by default and refuses it with noFollow", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/target`, "text");
    await Deno.symlink(`${dir}/target`, `${dir}/link`);
    const options = { maxBytes: 10, what: "the test file" };
    assertEquals(_readBoundedTextSync(`${dir}/link`, options), "text");
    assertThrows(
      () => _readBoundedSync(`${dir}/link`, { ...options, noFollow: true }),
      BRSConfigurationError,
      "as it is a symbolic link, not a regular file",
    );
  });
});

Deno.test("_readBounded passes NotFound through and builds the message the caller asks for", async () => {
  await withDir(async (dir) => {
    assertThrows(
      () => _readBoundedSync(`${dir}/missing`, { maxBytes: 1, what: "x" }),
      Deno.errors.NotFound,
    );
    await Deno.writeTextFile(`${dir}/big`, "12345");
    assertThrows(
      () =>
        _readBoundedSync(`${dir}/big`, {
          maxBytes: 4,
          what: "x",
          param: "--config",
          message: (why) => `Cannot load it as it ${why}`,
        }),
      BRSConfigurationError,
      "Cannot load it as it is larger than 4 bytes",
    );
  });
});
