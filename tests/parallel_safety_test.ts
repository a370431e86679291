/**
 * `deno task test` runs the test files and the doc examples in parallel
 * inside one process, so they share its environment and working directory. A
 * test file that changes either (itself or through a helper it imports) must
 * live in `tests/serial/`, which runs after the others, one file at a time; a
 * doc example never changes them.
 */
import { assertEquals } from "@std/assert";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const TESTS = fileURLToPath(new URL(".", import.meta.url));
const SERIAL = join(TESTS, "serial");
/** Calls that change what every file of the process sees. */
const PROCESS_WIDE = new RegExp(
  "Deno\\.env\\.(?:set|delete)\\s*\\(|Deno\\.chdir\\s*\\(",
);
/** Static, type-only and dynamic imports with a literal specifier. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;

async function sources(dir: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      for (const [p, text] of await sources(path)) found.set(p, text);
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      found.set(path, await Deno.readTextFile(path));
    }
  }
  return found;
}

function importsOf(path: string, text: string): string[] {
  return [...text.matchAll(IMPORT)]
    .map((m) => m[1]!)
    .filter((s) => s.startsWith("./") || s.startsWith("../"))
    .map((s) => resolve(path, "..", s));
}

Deno.test("test files that change Deno.env or the working directory, or import a helper that does, live in tests/serial/", async () => {
  const files = await sources(TESTS);
  const changes = (path: string, seen = new Set<string>()): boolean => {
    if (seen.has(path)) return false;
    seen.add(path);
    const text = files.get(path);
    if (text === undefined) return false; // outside tests/ (src/ is not a test helper)
    return PROCESS_WIDE.test(text) ||
      importsOf(path, text).some((p) => changes(p, seen));
  };
  const offenders = [...files.keys()]
    .filter((path) =>
      path.endsWith("_test.ts") && !path.startsWith(`${SERIAL}/`) &&
      changes(path)
    )
    .map((path) =>
      `${
        relative(TESTS, path)
      } changes Deno.env or the working directory (itself or through a helper): move it, or the tests that need it, to tests/serial/`
    );
  assertEquals(offenders, []);
  // tests/serial/ costs wall time: it holds only files that need it (which
  // also shows that the check above sees them).
  const needless = [...files.keys()]
    .filter((path) =>
      path.endsWith("_test.ts") && path.startsWith(`${SERIAL}/`) &&
      !changes(path)
    )
    .map((path) =>
      `${
        relative(TESTS, path)
      } changes nothing process-wide: move it out of tests/serial/ so it runs in parallel`
    );
  assertEquals(needless, []);
});

/** Fenced code blocks that `deno test --doc` runs (not marked `ignore`). */
function examples(text: string): string[] {
  const blocks = text.matchAll(
    /```(?:ts|tsx|js|jsx|typescript|javascript)\b([^\n]*)\n([\s\S]*?)```/g,
  );
  return [...blocks].filter((m) => !/\bignore\b/.test(m[1]!)).map((m) => m[2]!);
}

Deno.test("doc examples (README, guides, JSDoc) never change Deno.env or the working directory", async () => {
  const root = resolve(TESTS, "..");
  const files = [join(root, "README.md"), join(root, "mod.ts")];
  for (const dir of ["guide", "src"]) {
    for (const path of (await sources(join(root, dir))).keys()) {
      files.push(path);
    }
    for await (const entry of Deno.readDir(join(root, dir))) {
      if (entry.isFile && entry.name.endsWith(".md")) {
        files.push(join(root, dir, entry.name));
      }
    }
  }
  const offenders: string[] = [];
  for (const path of files) {
    const text = await Deno.readTextFile(path);
    if (examples(text).some((code) => PROCESS_WIDE.test(code))) {
      offenders.push(
        `${
          relative(root, path)
        } has an example that changes Deno.env or the working directory: pass the values as options, or mark it ignore and run it from tests/serial/`,
      );
    }
  }
  assertEquals(offenders, []);
});
