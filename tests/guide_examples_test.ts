/**
 * The examples of the README and the guides that `deno test --doc` cannot
 * run: those marked ` ```ts ignore ` because they need AWS. Each must have a
 * runnable twin (a ` ```ts ` block that `deno test --doc` runs against the
 * local endpoints) in the same section, and each must still compile:
 * `deno check` type-checks them as the programs a user would save.
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startLocalSts } from "../src/testing/mod.ts";
import { makeCliEnv, runCli } from "./fixtures/cli/helpers.ts";
import { HAS_OATHTOOL, NEEDS_OATHTOOL } from "./_helpers/tools.ts";

const ROOT = new URL("../", import.meta.url);

/** Blocks that may stand without a twin, and why. */
const NO_TWIN: Record<string, string> = {
  "guide/cli.md: local_sts.ts":
    "a server that runs until Ctrl-C: a twin could never end",
  "guide/sources.md: IoTRefreshableSession":
    "needs a CA and device certificate made at run time: tests/iot_session_test.ts runs it",
};

/** A fenced code block of a Markdown file. */
interface Block {
  file: string;
  line: number;
  info: string;
  code: string;
  /** The `## ` section it is in. */
  section: number;
}

async function blocks(file: string): Promise<Block[]> {
  const lines = (await Deno.readTextFile(new URL(file, ROOT))).split("\n");
  const out: Block[] = [];
  let section = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("## ")) section++;
    const open = line.match(/^```(\S.*)$/);
    if (open === null) continue;
    const end = lines.indexOf("```", i + 1);
    assert(end !== -1, `${file}:${i + 1}: unclosed block`);
    out.push({
      file,
      line: i + 1,
      info: open[1]!,
      code: lines.slice(i + 1, end).join("\n"),
      section,
    });
    i = end;
  }
  return out;
}

async function markdownFiles(): Promise<string[]> {
  const files = ["README.md"];
  for await (const entry of Deno.readDir(new URL("guide/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) {
      files.push(`guide/${entry.name}`);
    }
  }
  return files.sort();
}

/** A block's name in {@linkcode NO_TWIN}: its file and what it names first. */
function nameOf(block: Block): string {
  const first = block.code.match(/^\/\/ (\S+):/m)?.[1] ??
    block.code.match(/new (\w+)\(/)?.[1] ?? "";
  return `${block.file}: ${first}`;
}

const all = (await Promise.all((await markdownFiles()).map(blocks))).flat();
const ignored = all.filter((b) => b.info === "ts ignore");

Deno.test("every README and guide example that needs AWS has a runnable twin in its section", () => {
  assert(ignored.length > 5, `only ${ignored.length} ignored blocks found`);
  const alone = ignored.filter((block) =>
    !(nameOf(block) in NO_TWIN) &&
    !all.some((other) =>
      other.file === block.file && other.section === block.section &&
      other.info === "ts" && other.line > block.line
    )
  ).map((b) => `${b.file}:${b.line} (${nameOf(b)})`);
  assertEquals(alone, []);
  // The exemptions still exist (a stale one would hide nothing).
  for (const name of Object.keys(NO_TWIN)) {
    assert(ignored.some((b) => nameOf(b) === name), `no block '${name}'`);
  }
});

Deno.test("every README and guide example marked ignore still compiles", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  ) as { imports: Record<string, string> };
  const known = (specifier: string): boolean =>
    specifier.startsWith("@brs/session") || specifier in config.imports;
  // A fixed place, so that a second run finds its type-check cached.
  const dir = new URL("tests/.ignored_examples/", ROOT).pathname;
  await Deno.mkdir(dir, { recursive: true });
  try {
    const files: string[] = [];
    const skipped: string[] = [];
    for (const [i, block] of ignored.entries()) {
      const imports = [...block.code.matchAll(/from "([^"]+)"/g)].map((m) =>
        m[1]!
      );
      const unknown = imports.filter((s) => !known(s));
      if (unknown.length > 0) {
        // e.g. @aws-sdk/client-s3: the reader installs it, the tests do not.
        skipped.push(`${block.file}:${block.line} (${unknown.join(", ")})`);
        continue;
      }
      const file = `${dir}/example_${i}.ts`;
      await Deno.writeTextFile(
        file,
        `// ${block.file}:${block.line}\n${block.code}\nexport {};\n`,
      );
      files.push(file);
    }
    assert(files.length >= ignored.length - 3, skipped.join("; "));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", ...files],
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 0, stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "the CLI guide's walk-through against the local STS works as written: its config, its keys under [default], its seed file" +
    (HAS_OATHTOOL ? "" : NEEDS_OATHTOOL),
  ignore: !HAS_OATHTOOL,
  fn: async () => {
    const guide = await Deno.readTextFile(new URL("guide/cli.md", ROOT));
    const config = guide.match(
      /```ini\n# AWS_CONFIG_FILE=\/tmp\/brs-test\/config\n([^`]*)```/,
    )?.[1] ?? "";
    assertStringIncludes(config, "[profile dev]", "the walk-through's config");
    const keys = guide.match(
      /accessKeyId: "(\w+)",\n\s+secretAccessKey: "(\S+)",/,
    );
    const seed = guide.match(/printf (\w+) > \/tmp\/brs-test\/mfa\.seed/)
      ?.[1] ?? "";
    if (keys === null || seed === "") {
      throw new Error("the guide's local STS script lost its keys or seed");
    }
    await using sts = await startLocalSts({
      baseCredentials: { accessKeyId: keys[1]!, secretAccessKey: keys[2]! },
      mfaDevices: { "arn:aws:iam::123456789012:mfa/me": seed },
      mfaRequiredRoles: ["arn:aws:iam::123456789012:role/dev-mfa"],
    });
    await using cli = await makeCliEnv();
    const seedFile = `${cli.dir}/mfa.seed`;
    await Deno.writeTextFile(seedFile, seed, { mode: 0o600 });
    await Deno.writeTextFile(
      cli.env.AWS_CONFIG_FILE!,
      config.replaceAll("http://127.0.0.1:4599", sts.url)
        .replaceAll("/tmp/brs-test/mfa.seed", seedFile),
    );
    await Deno.writeTextFile(
      cli.env.AWS_SHARED_CREDENTIALS_FILE!,
      `[default]\naws_access_key_id = ${keys[1]}\naws_secret_access_key = ${
        keys[2]
      }\n`,
    );
    const r = await runCli(["whoami", "--profile", "dev"], cli.env);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(
      r.stdout,
      "Arn:     arn:aws:sts::123456789012:assumed-role/dev-mfa/brs-cli",
    );
    assertEquals(sts.calls.AssumeRole, 1);
  },
});
