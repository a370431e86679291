import { assertEquals } from "@std/assert";

for (const entry of ["../mod.ts", "../src/testing/mod.ts"]) {
  Deno.test(`${entry.slice(3)} exports no private (_) name`, async () => {
    const names = Object.keys(await import(entry));
    assertEquals(names.filter((name) => name.startsWith("_")), []);
  });
}

Deno.test("src/testing/mod.ts exports the local SSO portal and the token cache writer", async () => {
  const testing = await import("../src/testing/mod.ts");
  assertEquals(typeof testing.startLocalSso, "function");
  assertEquals(typeof testing.writeSsoTokenCache, "function");
});
