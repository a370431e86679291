/**
 * The guides as pages of the docs site: README.md, guide/*.md and the
 * Markdown files they link to, rendered with `marked`, in deno doc's own
 * markup and stylesheets.
 *
 * @module
 */

import { Marked, type Tokens } from "marked";
import { escapeHtml, navBox, type NavLink } from "./_doc_html.ts";

/** Where the rendered Markdown pages go, under the site's root. */
export const PAGES_DIR = "pages/";

/** One Markdown file rendered as a page. */
export interface GuidePage {
  /** Its path in the repository, e.g. `guide/options.md`. */
  source: string;
  /** Its path under the site's root, e.g. `pages/guide/options.html`. */
  output: string;
  /** Its first heading. */
  title: string;
  /** The rendered page. */
  html: string;
  /** The ids of its headings, for links with an anchor. */
  anchors: Set<string>;
  /** Its `##` headings: text and id. */
  headings: { text: string; id: string }[];
  /** The relative links it has: to pages (with the anchor) and to files. */
  links: { href: string; target: string; anchor: string }[];
  /** The images and other files it needs copied. */
  assets: string[];
}

/** A Markdown page's output path: `guide/x.md` -> `pages/guide/x.html`. */
export function outputOf(source: string): string {
  return `${PAGES_DIR}${source.replace(/\.md$/, ".html")}`;
}

/** The relative path from one site path to another. */
export function relativePath(from: string, to: string): string {
  const a = from.split("/").slice(0, -1);
  const b = to.split("/");
  let i = 0;
  while (i < a.length && i < b.length - 1 && a[i] === b[i]) i++;
  return "../".repeat(a.length - i) + b.slice(i).join("/");
}

/** Joins a repository-relative link to the file it is in: `guide/x.md` + `../a.md`. */
export function resolveLink(from: string, href: string): string {
  const url = new URL(href, `file:///repo/${from}`);
  return decodeURIComponent(url.pathname.replace(/^\/repo\//, ""));
}

/** Text of rendered inline HTML (for ids and titles). */
function plainText(html: string): string {
  return html.replace(/<[^>]*>/g, "").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll(
      "&#39;",
      "'",
    ).replaceAll("&amp;", "&");
}

/**
 * The id GitHub gives a heading, so links written for the repository
 * (`cli.md#cli-permissions`) work on the site: lower case, punctuation
 * dropped, spaces to hyphens.
 */
export function slug(text: string): string {
  return text.toLowerCase().trim().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

function isRelative(href: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(href) && !href.startsWith("//") &&
    !href.startsWith("#");
}

/**
 * Renders one Markdown file. Links to other Markdown files become links to
 * their pages (`options.md#x` -> `options.html#x`); links to other files of
 * the repository are kept as assets to copy next to the page.
 */
export async function renderMarkdown(
  source: string,
  markdown: string,
): Promise<Omit<GuidePage, "html"> & { body: string }> {
  const anchors = new Set<string>();
  const headings: { text: string; id: string }[] = [];
  const links: GuidePage["links"] = [];
  const assets: string[] = [];
  let title = "";
  const marked = new Marked({ gfm: true });
  marked.use({
    walkTokens(token): void {
      if (token.type !== "link" && token.type !== "image") return;
      const t = token as Tokens.Link | Tokens.Image;
      if (!isRelative(t.href)) return;
      const [path = "", anchor = ""] = t.href.split("#");
      const target = resolveLink(source, path);
      if (token.type === "link" && target.endsWith(".md")) {
        links.push({ href: t.href, target, anchor });
        t.href = path.replace(/\.md$/, ".html") + (anchor ? `#${anchor}` : "");
      } else {
        assets.push(target);
        links.push({ href: t.href, target, anchor: "" });
      }
    },
    renderer: {
      heading({ tokens, depth }): string {
        const inner = this.parser.parseInline(tokens);
        const text = plainText(inner);
        let id = slug(text);
        for (let n = 1; anchors.has(id); n++) id = `${slug(text)}-${n}`;
        anchors.add(id);
        if (depth === 1 && title === "") title = text;
        if (depth === 2) headings.push({ text, id });
        return `<h${depth} id="${id}"><a href="#${id}" class="anchor" aria-label="Anchor" tabindex="-1"></a>${inner}</h${depth}>\n`;
      },
    },
  });
  // Tables scroll sideways on a narrow screen instead of overflowing.
  const body = (await marked.parse(markdown))
    .replaceAll("<table>", '<div class="tableScroll"><table>')
    .replaceAll("</table>", "</table></div>");
  return {
    source,
    output: outputOf(source),
    title: title || source,
    anchors,
    headings,
    links,
    assets,
    body,
  };
}

/** The whole page around a rendered body, in deno doc's markup. */
export function pageHtml(
  page: Omit<GuidePage, "html"> & { body: string },
  guides: NavLink[],
  modules: NavLink[],
  packageName: string,
  themeToggle: string,
): string {
  const root = relativePath(page.output, "index.html").replace(
    /index\.html$/,
    "",
  );
  const onThisPage = navBox(
    "On this page",
    page.headings.map((h) => ({ text: h.text, href: `#${h.id}` })),
  );
  const css = ["styles.css", "page.css", "reset.css", "comrak.css", "prism.css"]
    .map((f) => `<link rel="stylesheet" href="${root}${f}">`).join("");
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <title>${escapeHtml(page.title)} - ${
    escapeHtml(packageName)
  } documentation</title>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  ${css}<link rel="stylesheet" href="${root}site.css">
  <script src="${root}prism.js"></script>
  <script src="${root}darkmode_toggle.js"></script>
</head>
<body>
<div class="ddoc">
<div><nav id="topnav"><div class="h-full"><div class="flex items-center"><ul class="breadcrumbs"><li><a href="${root}index.html" class="contextLink">${
    escapeHtml(packageName)
  }</a></li><li class="crumbSep">›</li><li>${
    escapeHtml(page.title)
  }</li></ul></div><div class="flex items-center gap-2">${themeToggle}</div></div></nav>
<div id="content"><main class="guide"><div class="markdown">
${page.body}</div></main>
<div class="toc"><div>${navBox("Guides", guides)}${navBox("Modules", modules)}${
    page.headings.length ? onThisPage : ""
  }</div></div>
</div></div></div>
</body>
</html>
`;
}

/**
 * A few rules on top of deno doc's stylesheets, for every page of the site
 * (`site.css`). deno doc's layout lets two flex items grow to the width of
 * the longest code line, so on a narrow screen the whole page got as wide
 * as that line and text ran off the screen; `min-width: 0` makes code
 * blocks scroll instead. Its sticky top bar gets an opaque background.
 */
export const SITE_CSS = `/* Added by tools/doc_site.ts. */
.ddoc > div, #content, #content > main { min-width: 0; }
.ddoc pre { max-width: 100%; }
/* deno doc's sticky top bar is 90% transparent: text scrolled under it
   showed through the package name. */
#topnav { background-color: #ffffff; }
.dark #topnav { background-color: #121417; }
/* On a phone the search box took the top bar and squeezed the breadcrumb
   into a column of single letters: hide it there, keep crumbs on one line. */
#topnav > div > div:first-child { min-width: 0; overflow: hidden; }
.ddoc .breadcrumbs, .ddoc .breadcrumbs ul { display: flex; flex-wrap: nowrap; word-break: normal; min-width: 0; }
.ddoc .breadcrumbs li { display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-width: 0; line-height: 1.75rem; }
.ddoc .breadcrumbs > li:first-child { flex-shrink: 0; }
@media not all and (width >= 640px) { #searchbar { display: none !important; } }
/* The usage box is one import line in a narrow column: wrap it. */
.usageContent pre > code { white-space: pre-wrap; overflow-wrap: anywhere; }
main.guide { max-width: 100%; }
main.guide .markdown { max-width: 80ch; }
main.guide .markdown h1, main.guide .markdown h2, main.guide .markdown h3 { scroll-margin-top: 4rem; }
main.guide .markdown pre { overflow-x: auto; }
main.guide .markdown pre > code { overflow-x: auto; white-space: pre; }
main.guide .markdown img { max-width: 100%; height: auto; }
.tableScroll { max-width: 100%; overflow-x: auto; }
.tableScroll table { margin: 0; }
.ddoc .breadcrumbs li.crumbSep { color: #78716c; flex-shrink: 0; overflow: visible; padding: 0 .25rem; }
nav.guideList ul { list-style: disc; padding-left: 1.25rem; }
`;
