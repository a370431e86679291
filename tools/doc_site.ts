/**
 * The second half of `deno task doc`: runs after `deno doc --html` on the
 * site it wrote, fixes what deno doc's flags cannot, and adds the guides.
 *
 * ```sh
 * deno doc --html --name=@brs/session --output=docs/ mod.ts src/testing/mod.ts cli.ts
 * deno run --allow-read=.,docs/ --allow-write=docs/ tools/doc_site.ts docs/
 * ```
 *
 * On every page of deno doc:
 * - usage boxes import `jsr:@brs/session`, `jsr:@brs/session/testing` and
 *   `jsr:@brs/session/cli` (deno doc prints the export key: `"."`,
 *   `"testing"`);
 * - the main module's breadcrumb `default` is gone;
 * - the testing and CLI pages no longer list the main module's symbols;
 * - a class's page shows the members it inherits (deno doc shows only the
 *   ones a class declares);
 * - an object `@default` keeps its closing brace;
 * - the "source" buttons, which link to the builder's own disk, are gone.
 *
 * Then README.md, guide/*.md and the Markdown files they link to become
 * pages under `pages/`, linked from the index and from each other. A link
 * to a Markdown file or anchor that does not exist stops the build.
 *
 * @module
 */

import {
  addInheritedMembers,
  appendToModuleDoc,
  dropForeignTopSymbols,
  dropSourceButtons,
  elementEnd,
  escapeHtml,
  fixBreadcrumb,
  fixModuleTitles,
  fixObjectDefaults,
  fixUsage,
  type ModuleEntry,
  modulesOf,
  navBox,
  type NavLink,
  parentHref,
  prependToToc,
} from "./_doc_html.ts";
import {
  pageHtml,
  PAGES_DIR,
  relativePath,
  renderMarkdown,
  resolveLink,
  SITE_CSS,
} from "./_doc_guides.ts";

/** What the site build did, for the summary line. */
export interface DocSiteReport {
  /** deno doc pages fixed. */
  pages: number;
  /** Class pages that got inherited members. */
  inherited: number;
  /** Guide pages written. */
  guides: number;
}

async function* walk(dir: string, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) yield* walk(`${dir}/${entry.name}`, `${path}/`);
    else if (entry.isFile) yield path;
  }
}

function moduleOfPage(path: string, modules: ModuleEntry[]): ModuleEntry {
  return modules.find((m) => m.dir !== "" && path.startsWith(m.dir)) ??
    modules.find((m) => m.dir === "")!;
}

/** The guides in reading order: as README links them, then the rest. */
async function guideSources(): Promise<string[]> {
  const readme = await Deno.readTextFile("README.md");
  const linked = [...readme.matchAll(/\]\((guide\/[\w-]+\.md)(?:#[^)]*)?\)/g)]
    .map((m) => m[1]!);
  const all: string[] = [];
  for await (const e of Deno.readDir("guide")) {
    if (e.isFile && e.name.endsWith(".md")) all.push(`guide/${e.name}`);
  }
  all.sort();
  return [
    "README.md",
    ...new Set([...linked.filter((g) => all.includes(g)), ...all]),
  ];
}

/**
 * Fixes the site deno doc wrote into `site` and adds the guide pages.
 *
 * @param site The directory `deno doc --html` wrote.
 * @returns What it did.
 * @throws {Error} If a guide links to a Markdown file, anchor or file that
 * does not exist.
 */
export async function buildDocSite(site: string): Promise<DocSiteReport> {
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  const modules = modulesOf(config);
  const packageName: string = config.name;

  // 1. The guides: render README and guide/*.md, then what they link to.
  const queue = await guideSources();
  const guideOrder = [...queue];
  const rendered = new Map<
    string,
    Awaited<ReturnType<typeof renderMarkdown>>
  >();
  while (queue.length) {
    const source = queue.shift()!;
    if (rendered.has(source)) continue;
    let markdown: string;
    try {
      markdown = await Deno.readTextFile(source);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // reported below
      throw error;
    }
    const page = await renderMarkdown(source, markdown);
    // README's heading is the package name, which the breadcrumb has already.
    if (source === "README.md") page.title = "Overview";
    rendered.set(source, page);
    for (const link of page.links) {
      if (link.target.endsWith(".md") && !rendered.has(link.target)) {
        queue.push(link.target);
      }
    }
  }
  const problems: string[] = [];
  for (const page of rendered.values()) {
    for (const link of page.links) {
      const target = rendered.get(link.target);
      if (link.target.endsWith(".md")) {
        if (target === undefined) {
          problems.push(`${page.source} links to ${link.href}: no such file`);
        } else if (link.anchor && !target.anchors.has(link.anchor)) {
          problems.push(
            `${page.source} links to ${link.href}: ${target.source} has no heading with the id '${link.anchor}'`,
          );
        }
      } else {
        try {
          if ((await Deno.stat(link.target)).isDirectory) {
            problems.push(
              `${page.source} links to ${link.href}: a directory, which the site does not have`,
            );
          }
        } catch {
          problems.push(`${page.source} links to ${link.href}: no such file`);
        }
      }
    }
  }
  if (problems.length) {
    throw new Error(
      `Cannot build the guide pages as links are broken: ${
        problems.join("; ")
      }`,
    );
  }
  const pages = [...rendered.values()];
  const ordered = [
    ...guideOrder.map((s) => rendered.get(s)!),
    ...pages.filter((p) => !guideOrder.includes(p.source)),
  ];
  function guideLinks(from: string): NavLink[] {
    return ordered.map((p) => ({
      text: p.source === "README.md" ? "Overview (README)" : p.title,
      href: relativePath(from, p.output),
    }));
  }
  function moduleLinks(from: string): NavLink[] {
    return modules.map((m) => ({
      text: m.specifier.replace(/^jsr:/, ""),
      href: relativePath(from, `${m.dir}index.html`),
    }));
  }
  await Deno.writeTextFile(`${site}/site.css`, SITE_CSS);
  // deno doc's dark-mode button, so darkmode_toggle.js works on the guides.
  const index = await Deno.readTextFile(`${site}/index.html`);
  const toggleAt = index.indexOf('<button id="theme-toggle"');
  const themeToggle = toggleAt < 0
    ? ""
    : index.slice(toggleAt, elementEnd(index, toggleAt));
  for (const page of pages) {
    const out = `${site}/${page.output}`;
    await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(
      out,
      pageHtml(
        page,
        guideLinks(page.output),
        moduleLinks(page.output),
        packageName,
        themeToggle,
      ),
    );
    for (const asset of page.assets) {
      const copy = `${site}/${PAGES_DIR}${asset}`;
      await Deno.mkdir(copy.slice(0, copy.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.copyFile(asset, copy);
    }
  }

  // 2. deno doc's pages: fix each; class pages after their parent class.
  const files: string[] = [];
  for await (const path of walk(site)) {
    if (path.endsWith(".html") && !path.startsWith(PAGES_DIR)) files.push(path);
  }
  const fixed = new Map<string, string>();
  let inherited = 0;
  async function fix(path: string, seen: string[] = []): Promise<string> {
    const done = fixed.get(path);
    if (done !== undefined) return done;
    let html = await Deno.readTextFile(`${site}/${path}`);
    const module = moduleOfPage(path, modules);
    html = fixUsage(html, modules);
    html = fixBreadcrumb(html);
    html = fixModuleTitles(html, modules);
    html = dropSourceButtons(html);
    html = fixObjectDefaults(html);
    if (module.dir !== "") html = dropForeignTopSymbols(html);
    html = html.replace(
      "</head>",
      `<link rel="stylesheet" href="${relativePath(path, "site.css")}"></head>`,
    );
    const parent = parentHref(html);
    if (parent !== undefined && !/^[a-z]+:/.test(parent)) {
      const parentPath = resolveLink(path, parent);
      if (files.includes(parentPath) && !seen.includes(parentPath)) {
        const parentHtml = await fix(parentPath, [...seen, path]);
        const before = html;
        html = addInheritedMembers(
          html,
          parentHtml,
          (href) => rebase(parentPath, path, href),
        );
        if (html !== before) inherited++;
      }
    }
    if (path === "index.html" || path === `${module.dir}index.html`) {
      const boxes = navBox("Guides", guideLinks(path)) +
        navBox("Modules", moduleLinks(path));
      html = prependToToc(html, boxes);
    }
    if (path === "index.html") {
      const items = guideLinks(path).map((l) =>
        `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a></li>`
      ).join("");
      html = appendToModuleDoc(
        html,
        `<div class="markdown"><h2 id="guides">Guides</h2><nav class="guideList"><ul>${items}</ul></nav></div>`,
      );
    }
    fixed.set(path, html);
    return html;
  }
  for (const path of files) {
    await Deno.writeTextFile(`${site}/${path}`, await fix(path));
  }
  return { pages: files.length, inherited, guides: pages.length };
}

/** An href of page `from` (a site path) made relative to page `to`. */
function rebase(from: string, to: string, href: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("#")) return href;
  const decoded = href.replaceAll("&#x2F;", "/");
  const [path = "", anchor] = decoded.split("#");
  const target = resolveLink(from, path);
  return relativePath(to, target) + (anchor === undefined ? "" : `#${anchor}`);
}

if (import.meta.main) {
  const site = (Deno.args[0] ?? "docs/").replace(/\/+$/, "");
  try {
    const r = await buildDocSite(site);
    console.log(
      `Fixed ${r.pages} pages (${r.inherited} with inherited members) and wrote ${r.guides} guide pages to "${site}/"`,
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exitCode = 1;
  }
}
