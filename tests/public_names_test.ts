import { assertEquals } from "@std/assert";

for (const entry of ["../mod.ts", "../src/testing/mod.ts"]) {
  Deno.test(`${entry.slice(3)} exports no private (_) name`, async () => {
    const names = Object.keys(await import(entry));
    assertEquals(names.filter((name) => name.startsWith("_")), []);
  });
}
