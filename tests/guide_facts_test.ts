/**
 * Facts the guides list, checked against the code, so a new method, error
 * class, option or session member cannot go unmentioned (or a removed one
 * stay documented): guide/options.md's `createRefreshableSession` methods,
 * error classes, `STSRefreshableSession` options and boto3 `Session` table,
 * and guide/sources.md's table of sources.
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import * as brs from "../mod.ts";

const GUIDE = new URL("../guide/", import.meta.url);
const options = await Deno.readTextFile(new URL("options.md", GUIDE));
const sources = await Deno.readTextFile(new URL("sources.md", GUIDE));

/** The text of a `## title` section, up to the next `## `. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  assert(start !== -1, `no section '## ${title}'`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

/** The cells of a Markdown table's body rows (header and rule left out). */
function rows(markdown: string, header: string): string[][] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.startsWith("|") && l.includes(header));
  assert(start !== -1, `no table with '${header}'`);
  const out: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    out.push(line.slice(1, -1).split(" | ").map((c) => c.trim()));
  }
  return out;
}

/** The code spans of a text. */
function codes(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

/** The methods `createRefreshableSession` knows, from its own error. */
function methods(): string[] {
  const error = assertThrows(
    () =>
      brs.createRefreshableSession(
        { method: "?" } as unknown as brs.CreateRefreshableSessionOptions,
      ),
    brs.BRSValidationError,
  );
  return error.details?.methods as string[];
}

Deno.test("guide/options.md lists every createRefreshableSession method", () => {
  const line = options.split("\n\n").find((p) =>
    p.includes("`createRefreshableSession({ method, ...options })`")
  );
  assert(line !== undefined, "no paragraph on createRefreshableSession");
  const listed = [...(line ?? "").matchAll(/`"([a-z-]+)"`/g)].map((m) => m[1]);
  assertEquals(listed, methods());
});

Deno.test("guide/sources.md's table of sources names every method and its class", () => {
  const table = rows(sources, "`method`");
  assertEquals(
    table.map((r) => codes(r[2] ?? "")[0]),
    methods().map((m) => `"${m}"`),
  );
  for (const [, cls] of table) {
    const name = codes(cls ?? "")[0]!;
    assert(
      typeof (brs as Record<string, unknown>)[name] === "function",
      `${name} is not exported`,
    );
  }
});

Deno.test("guide/options.md's Errors section lists every exported error class", () => {
  const exported = Object.entries(brs)
    .filter(([, value]) =>
      typeof value === "function" &&
      (value === brs.BRSError || value.prototype instanceof Error)
    )
    .map(([name]) => name)
    .sort();
  const errors = section(options, "Errors");
  const listed = [
    "BRSError",
    ...rows(errors, "| class").map((r) => codes(r[0] ?? "")[0]!),
  ].sort();
  assertEquals(listed, exported);
});

Deno.test("guide/options.md's option table lists every STSRefreshableSession option", () => {
  const error = assertThrows(
    () =>
      new brs.STSRefreshableSession({
        assumeRole: { RoleArn: "arn:aws:iam::123456789012:role/app" },
        unknownOption: true,
      } as unknown as brs.STSRefreshableSessionOptions),
    brs.BRSValidationError,
  );
  const allowed = (error.details?.allowed as string[]).slice().sort();
  const listed = rows(section(options, "`STSRefreshableSession`"), "| option")
    .flatMap((r) => codes(r[0] ?? "")).sort();
  assertEquals(listed, allowed);
});

Deno.test("guide/options.md's boto3 Session table names members every session has", async () => {
  await using session = new brs.CustomRefreshableSession({
    provider: () => ({
      accessKey: "ASIAEXAMPLE000000001",
      secretKey: "example-secret",
      token: "example-token",
      expiryTime: "2099-01-01T00:00:00Z",
    }),
  });
  const table = rows(
    section(options, "From boto3's `Session`"),
    "boto3 `Session`",
  );
  const members = table.flatMap((r) =>
    codes(r[1] ?? "").flatMap((code) =>
      [...code.matchAll(/session\.(\w+)/g)].map((m) => m[1]!)
    )
  );
  assert(members.length >= 10, members.join(", "));
  for (const member of new Set(members)) {
    assert(
      member in session,
      `RefreshableSession has no '${member}'`,
    );
  }
  for (
    const seed of [
      "get_partition_for_region",
      "get_available_regions",
      "get_available_partitions",
      "available_profiles",
      "get_available_services",
      "get_available_resources",
    ]
  ) {
    assert(table.some((r) => r[0]!.includes(seed)), `${seed} is not mapped`);
  }
});
