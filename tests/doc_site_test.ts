/**
 * The docs site (`deno task doc`) in a real headless browser: every page
 * loads, no internal link or anchor is broken, code blocks scroll instead of
 * being cut off, and the fixes of `tools/doc_site.ts` are there.
 */

import { assert, assertEquals } from "@std/assert";
import {
  HAS_CHROMIUM,
  launchBrowser,
  NEEDS_CHROMIUM,
} from "./_helpers/browser.ts";

const ROOT = new URL("..", import.meta.url);

/**
 * Builds the site into `dir` with exactly the commands and permission flags
 * of the `doc` task in deno.json (its `docs/` replaced by `dir`).
 */
async function buildSite(dir: string): Promise<string> {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  );
  const task: string = config.tasks.doc;
  let output = "";
  for (const step of task.split(" && ")) {
    const [cmd, ...args] = step.replaceAll("docs/", `${dir}/`).split(/\s+/);
    assertEquals(cmd, "deno", `The doc task runs deno only: ${step}`);
    const r = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(r.stdout) +
      new TextDecoder().decode(r.stderr);
    assert(r.success, `${step} failed:\n${text}`);
    output += text;
  }
  return output;
}

async function* htmlFiles(dir: string, prefix = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) {
      yield* htmlFiles(`${dir}/${e.name}`, `${prefix}${e.name}/`);
    } else if (e.name.endsWith(".html")) yield `${prefix}${e.name}`;
  }
}

/** A static file server on 127.0.0.1 that remembers every miss. */
function serve(dir: string): {
  server: Deno.HttpServer<Deno.NetAddr>;
  misses: string[];
} {
  const misses: string[] = [];
  const types: Record<string, string> = {
    html: "text/html; charset=utf-8",
    css: "text/css",
    js: "text/javascript",
    svg: "image/svg+xml",
    png: "image/png",
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.split("/").includes("..")) {
        return new Response("bad path", { status: 400 });
      }
      const file = path.endsWith("/") ? `${path}index.html` : path;
      try {
        const body = await Deno.readFile(`${dir}${file}`);
        const ext = file.slice(file.lastIndexOf(".") + 1);
        return new Response(body, {
          headers: { "content-type": types[ext] ?? "application/octet-stream" },
        });
      } catch {
        misses.push(path);
        return new Response("not found", { status: 404 });
      }
    },
  );
  return { server, misses };
}

/** What the page script reports for one page. */
interface PageFacts {
  title: string;
  ids: string[];
  links: string[];
  cutOff: string[];
  /** Uncaught script errors (in the browser only). */
  errors?: string[];
}

/** Runs in the page: its ids, its same-origin links and cut-off code. */
const PAGE_FACTS = `(() => {
  const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
  const links = [...document.querySelectorAll("a[href]")]
    .map((a) => a.href)
    .filter((h) => h.startsWith(location.origin));
  const cutOff = [];
  const viewport = document.documentElement.clientWidth;
  for (const el of document.querySelectorAll("pre, pre code")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || el.getClientRects().length === 0) continue;
    const scrolls = ["auto", "scroll"].includes(style.overflowX);
    const label = (el.textContent || "").trim().slice(0, 60);
    if (el.scrollWidth > el.clientWidth + 1 && !scrolls) {
      cutOff.push("overflow-x " + style.overflowX + ": " + label);
    }
    const box = el.getBoundingClientRect();
    if (box.right > viewport + 1) {
      cutOff.push("past the window's right edge (" + Math.round(box.right) +
        " > " + viewport + "): " + label);
    }
  }
  return { title: document.title, ids, links, cutOff, errors: window.__errors };
})()`;

/** Decodes the few entities deno doc writes in attributes. */
function unescapeAttr(value: string): string {
  return value.replaceAll("&#x2F;", "/").replaceAll("&quot;", '"')
    .replaceAll("&#x27;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

/** A page's ids and same-site links, read from its HTML. */
function staticFacts(page: string, html: string): PageFacts {
  const ids = [...html.matchAll(/\sid="([^"]*)"/g)].map((m) =>
    unescapeAttr(m[1]!)
  );
  const links = [...html.matchAll(/<a\s[^>]*?href="([^"]*)"/g)]
    .map((m) => unescapeAttr(m[1]!))
    .filter((h) => !/^[a-z][a-z0-9+.-]*:/i.test(h))
    .map((h) => new URL(h, `${SITE}${page}`).href);
  const title = /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? "";
  return { title, ids, links, cutOff: [] };
}

const SITE = "http://site.invalid/";

/** The links of `facts` (keyed by `/path`) whose page, file or anchor is missing. */
async function brokenLinks(
  facts: Map<string, PageFacts>,
  origin: string,
  dir: string,
): Promise<string[]> {
  const broken: string[] = [];
  for (const [p, f] of facts) {
    for (const link of f.links) {
      const url = new URL(link);
      if (url.origin !== new URL(origin).origin) continue;
      let target = decodeURIComponent(url.pathname);
      if (target.endsWith("/")) target += "index.html";
      const to = facts.get(target);
      if (to === undefined) {
        try {
          await Deno.stat(`${dir}${target}`);
        } catch {
          broken.push(`${p} -> ${link}: no such file`);
        }
        continue;
      }
      const anchor = decodeURIComponent(url.hash.slice(1));
      if (anchor && !to.ids.includes(anchor)) {
        broken.push(`${p} -> ${link}: no element with id '${anchor}'`);
      }
    }
  }
  return broken;
}

/**
 * The pages the browser loads: the index pages, the guides and every
 * symbol's page (`STSRefreshableSession.html`); a member's own page
 * (`STSRefreshableSession.prototype.client.html`) repeats an entry of its
 * symbol's page and is checked from its HTML. `BRS_DOC_ALL_PAGES=1` loads
 * every page.
 */
function loadedInBrowser(page: string): boolean {
  if (Deno.env.get("BRS_DOC_ALL_PAGES") === "1") return true;
  const name = page.slice(page.lastIndexOf("/") + 1);
  return page.startsWith("pages/") || name.split(".").length === 2;
}

/**
 * Reads the built site and checks it from its HTML: every redirect and
 * link (with its anchor) has its target, every page has a title, and no
 * JSDoc tag deno doc did not read shows as text.
 */
async function checkSiteHtml(dir: string): Promise<{
  pages: string[];
  statics: Map<string, PageFacts>;
  html: Map<string, string>;
}> {
  // deno doc's `X.prototype.html` pages only redirect to `X.html`:
  // their target must exist.
  const pages: string[] = [];
  const statics = new Map<string, PageFacts>();
  const redirects = new Map<string, string>();
  const htmlOf = new Map<string, string>();
  for await (const p of htmlFiles(dir)) {
    const html = await Deno.readTextFile(`${dir}/${p}`);
    const to = /http-equiv="refresh" content="0; url=([^"]+)"/.exec(html);
    if (to) {
      redirects.set(p, unescapeAttr(to[1]!));
      continue;
    }
    pages.push(p);
    htmlOf.set(p, html);
    statics.set(`/${p}`, staticFacts(p, html));
    if (!p.startsWith("pages/")) {
      assert(!html.includes("@default"), `${p} shows a raw @default`);
    }
    assert(!/href="file:/.test(html), `${p} links to the builder's disk`);
  }
  pages.sort();
  for (const [p, to] of redirects) {
    const target = new URL(to, `${SITE}${p}`).pathname.slice(1);
    assert(pages.includes(target), `${p} redirects to a missing ${to}`);
  }
  assertEquals(
    await brokenLinks(statics, SITE, dir),
    [],
    "Broken internal links",
  );
  for (const [p, f] of statics) {
    assert(f.title.includes("@brs/session"), `${p} has no title`);
  }
  return { pages, statics, html: htmlOf };
}

/** The text of an HTML fragment, white space collapsed. */
function textOf(html: string): string {
  return unescapeAttr(html.replace(/<[^>]*>/g, " ")).replace(/\s+/g, " ")
    .trim();
}

Deno.test("deno task doc fixes deno doc's pages and adds the guides, with no broken link", async () => {
  const dir = await Deno.makeTempDir({ prefix: "brs_doc_site_" });
  try {
    const built = await buildSite(dir);
    assert(/wrote \d+ guide pages/.test(built), built);
    const { pages, html } = await checkSiteHtml(dir);
    const page = (p: string): string => {
      const h = html.get(p);
      if (h === undefined) throw new Error(`${p} missing`);
      return h;
    };
    const usage = (p: string): string =>
      textOf(/<div class="usageContent">[\s\S]*?<\/code>/.exec(page(p))![0])
        .replace(/^Usage /, "");
    // Usage lines import the package, not "." or "testing".
    assertEquals(
      usage("~/STSRefreshableSession.html"),
      'import { STSRefreshableSession } from "jsr:@brs/session";',
    );
    assertEquals(
      usage("testing/index.html"),
      'import * as mod from "jsr:@brs/session/testing";',
    );
    assertEquals(
      usage("cli/index.html"),
      'import * as mod from "jsr:@brs/session/cli";',
    );
    // No "default" breadcrumb.
    assertEquals(
      textOf(
        /<ul class="breadcrumbs">[\s\S]*?<\/ul><\/ul>/.exec(
          page("~/STSRefreshableSession.html"),
        )![0],
      ),
      "@brs/session STSRefreshableSession",
    );
    // The all-symbols page names the modules by their import path.
    assertEquals(
      [
        ...page("all_symbols.html").matchAll(
          /class="link text-xl font-bold">([^<]*)</g,
        ),
      ].map((m) => m[1]),
      ["@brs/session", "@brs/session/testing", "@brs/session/cli"],
    );
    // The other modules' sidebars list their own symbols only.
    for (const p of ["testing/index.html", "cli/index.html"]) {
      const toc = /<div class="toc">[\s\S]*$/.exec(page(p))![0];
      assert(!toc.includes("ClientCache"), `${p} lists ClientCache`);
    }
    // Inherited members are on the subclass's page; internals are hidden.
    const sts = page("~/STSRefreshableSession.html");
    for (const m of ["assumeRole", "client", "resource", "whoami", "close"]) {
      assert(
        new RegExp(`class="font-bold font-lg link" href="[^"]*">${m}<`)
          .test(sts),
        `STSRefreshableSession's page has no ${m}`,
      );
    }
    const base = textOf(page("~/RefreshableSession.html"));
    for (const internal of ["extraKeys", "customInspect"]) {
      assert(!base.includes(internal), `${internal} is shown`);
    }
    // The guides are pages, linked from the index.
    const guides = pages.filter((p) => p.startsWith("pages/"));
    for (const g of ["README", "guide/options", "guide/cli", "guide/mfa"]) {
      assert(guides.includes(`pages/${g}.html`), `${g} missing: ${guides}`);
    }
    for (const g of guides) {
      assert(
        page("index.html").includes(`href="${g}"`),
        `The index does not link ${g}`,
      );
    }
    // Links between guides go to the pages.
    assert(page("pages/README.html").includes('href="guide/options.html"'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "deno task doc builds a site whose pages load in chromium, with no broken link and no cut-off code" +
    (HAS_CHROMIUM ? "" : NEEDS_CHROMIUM),
  ignore: !HAS_CHROMIUM,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "brs_doc_site_" });
    try {
      const built = await buildSite(dir);
      assert(/wrote \d+ guide pages/.test(built), built);
      const { pages, statics } = await checkSiteHtml(dir);

      const { server, misses } = serve(dir);
      const origin = `http://127.0.0.1:${server.addr.port}`;
      try {
        await using browser = await launchBrowser();
        const page = await browser.newPage();
        const facts = new Map<string, PageFacts>();
        const cutOff: string[] = [];
        const errors: string[] = [];
        for (const width of [1280, 390]) {
          await page.setViewport(width, 900);
          // Narrow screens: the guides and the index pages, where the long
          // lines are.
          const set = pages.filter((p) =>
            width === 1280
              ? loadedInBrowser(p)
              : p.startsWith("pages/") || p.endsWith("index.html")
          );
          const started = performance.now();
          for (const p of set) {
            await page.goto(`${origin}/${p}`);
            const f = await page.evaluate<PageFacts>(PAGE_FACTS).catch((e) => {
              throw new Error(`${p}: ${e.message}`);
            });
            if (width === 1280) facts.set(`/${p}`, f);
            for (const c of f.cutOff) cutOff.push(`${p} at ${width}px: ${c}`);
            for (const e of f.errors ?? []) errors.push(`${p}: ${e}`);
          }
          console.log(
            `chromium loaded ${set.length} of ${pages.length} pages at ${width}px in ${
              Math.round(performance.now() - started)
            } ms`,
          );
        }
        const shots = Deno.env.get("BRS_DOC_SCREENSHOTS");
        if (shots) {
          for (
            const [name, p, width] of [
              ["index", "index.html", 1280],
              ["sts_session", "~/STSRefreshableSession.html", 1280],
              ["guide_cli", "pages/guide/cli.html", 1280],
              ["guide_cli_narrow", "pages/guide/cli.html", 390],
            ] as const
          ) {
            await page.setViewport(width, 900);
            await page.goto(`${origin}/${p}`);
            await Deno.writeFile(
              `${shots}/${name}.png`,
              await page.screenshot(),
            );
          }
        }

        // Every page and every file it loads exists (the browser's own
        // favicon request aside).
        assertEquals(
          misses.filter((m) => m !== "/favicon.ico"),
          [],
          "Requests the site could not answer",
        );
        // The links as the browser sees them.
        assertEquals(
          // (pages the browser did not load give their ids from their HTML;
          // their own links have the other origin and are skipped)
          await brokenLinks(new Map([...statics, ...facts]), origin, dir),
          [],
          "Broken internal links in the browser",
        );
        assertEquals(cutOff, [], "Code blocks cut off");
        assertEquals(errors, [], "Script errors");

        // The fixes as the browser shows them.
        await page.goto(`${origin}/~/STSRefreshableSession.html`);
        const sts = await page.evaluate<{
          crumbs: string;
          usage: string;
          members: string[];
        }>(`({
          crumbs: document.querySelector(".breadcrumbs").textContent.replace(/\\s+/g, " ").trim(),
          usage: document.querySelector(".usageContent code").textContent.trim(),
          members: [...document.querySelectorAll("section .docEntry a.font-bold")].map((a) => a.textContent),
        })`);
        assertEquals(sts.crumbs, "@brs/session STSRefreshableSession");
        assertEquals(
          sts.usage,
          'import { STSRefreshableSession } from "jsr:@brs/session";',
        );
        for (
          const m of ["assumeRole", "client", "resource", "whoami", "close"]
        ) {
          assert(sts.members.includes(m), `${m} missing: ${sts.members}`);
        }
      } finally {
        await server.shutdown();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("tools/doc_site.ts stops on a guide link to a missing page or heading, naming each", async () => {
  const repo = await Deno.makeTempDir({ prefix: "brs_doc_repo_" });
  try {
    await Deno.mkdir(`${repo}/guide`);
    await Deno.mkdir(`${repo}/docs`);
    await Deno.writeTextFile(
      `${repo}/deno.json`,
      JSON.stringify({ name: "@x/y", exports: { ".": "./mod.ts" } }),
    );
    await Deno.writeTextFile(
      `${repo}/README.md`,
      "# y\n\nSee [a](guide/a.md#no-such-heading) and [gone](guide/gone.md).\n",
    );
    await Deno.writeTextFile(`${repo}/guide/a.md`, "# A\n\n## Real heading\n");
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${new URL("deno.json", ROOT).pathname}`,
        "--allow-read=.,docs/",
        "--allow-write=docs/",
        new URL("tools/doc_site.ts", ROOT).pathname,
        "docs/",
      ],
      cwd: repo,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 1, stderr);
    assert(
      stderr.includes(
        "README.md links to guide/a.md#no-such-heading: guide/a.md has no heading with the id 'no-such-heading'",
      ),
      stderr,
    );
    assert(
      stderr.includes("README.md links to guide/gone.md: no such file"),
      stderr,
    );
    assertEquals([...Deno.readDirSync(`${repo}/docs`)], []);
  } finally {
    await Deno.remove(repo, { recursive: true });
  }
});
