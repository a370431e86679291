/**
 * Fixes of the pages `deno doc --html` writes that its flags cannot make:
 * each function takes a page's HTML and returns the fixed HTML, so
 * `tools/doc_site.ts` stays a loop over files.
 *
 * @module
 */

/** One module of the package: its `deno doc` short path and its import specifier. */
export interface ModuleEntry {
  /** The short path `deno doc` writes in usage boxes: `.`, `testing`, `cli`. */
  shortPath: string;
  /** What a user imports: `jsr:@brs/session/testing`. */
  specifier: string;
  /** The directory of its pages under the site: `""`, `testing/`, `cli/`. */
  dir: string;
}

/**
 * The package's modules from `deno.json`: `deno doc` names them by their
 * export key without `./` (`"."` stays `"."`), which is what its usage
 * boxes print.
 */
export function modulesOf(
  config: { name: string; exports: Record<string, string> },
): ModuleEntry[] {
  return Object.keys(config.exports).map((key) => {
    const shortPath = key === "." ? "." : key.replace(/^\.\//, "");
    return {
      shortPath,
      specifier: key === "."
        ? `jsr:${config.name}`
        : `jsr:${config.name}/${shortPath}`,
      dir: key === "." ? "" : `${shortPath}/`,
    };
  });
}

const QUOTE = "&quot;";

/**
 * Usage boxes import from the package, not from `"."` or `"testing"`: deno
 * doc's usage line is the export key (it prints no package name for a
 * local build).
 */
export function fixUsage(html: string, modules: ModuleEntry[]): string {
  return html.replace(
    /<div class="usageContent">[\s\S]*?<\/pre>/g,
    (box) => {
      for (const m of modules) {
        box = box.replaceAll(
          `from ${QUOTE}${m.shortPath}${QUOTE}`,
          `from ${QUOTE}${m.specifier}${QUOTE}`,
        );
      }
      return box;
    },
  );
}

/**
 * Drops the breadcrumb deno doc gives the main module, `default`, with its
 * separator: the package name before it already links to the same page.
 */
export function fixBreadcrumb(html: string): string {
  return html.replace(
    /<span class="text-black dark:text-white">(?:(?!<\/span>)[\s\S])*<\/span><a href="[^"]*" class="contextLink">default<\/a>/,
    "",
  );
}

/**
 * Names the modules on the all-symbols page by their import path
 * (`@brs/session/testing`): deno doc calls the main one `default` and the
 * others by their export key.
 */
export function fixModuleTitles(html: string, modules: ModuleEntry[]): string {
  return html.replace(
    /(class="link text-xl font-bold">)([^<]*)(<\/a>)/g,
    (all, open: string, name: string, close: string) => {
      const m = modules.find((m) =>
        name === "default" ? m.dir === "" : m.shortPath === name
      );
      return m ? `${open}${m.specifier.replace(/^jsr:/, "")}${close}` : all;
    },
  );
}

/**
 * Removes the "Symbols" box (the package's first five symbols, all from
 * the main module) from the pages of another module, whose own symbols the
 * page lists already.
 */
export function dropForeignTopSymbols(html: string): string {
  return html.replace(/<nav class="topSymbols">[\s\S]*?<\/nav>/, "");
}

/**
 * Removes the "source" buttons: they link to the absolute path of the file
 * on the machine that built the site.
 */
export function dropSourceButtons(html: string): string {
  return html.replace(
    /<a\s+class="sourceButton"\s+href="file:[^"]*">[\s\S]*?<\/a>/g,
    "",
  );
}

/**
 * Puts back the closing brace of an object `@default`: deno doc reads
 * `@default {{ a: 1 }}` up to the first `}` and shows `{ a: 1 `.
 */
export function fixObjectDefaults(html: string): string {
  return html.replace(
    /(<span class="font-normal"> = <\/span>)([^<]*)(<\/span>)/g,
    (all, open: string, value: string, close: string) => {
      const opened = value.split("{").length - value.split("}").length;
      if (opened <= 0) return all;
      const sep = value.trim() === "{" ? "" : " ";
      return `${open}${value.trimEnd()}${sep}${"}".repeat(opened)}${close}`;
    },
  );
}

/** Where the element that opens at `start` ends (after its closing tag). */
export function elementEnd(html: string, start: number): number {
  const tag = /^<([a-z0-9]+)/i.exec(html.slice(start))?.[1];
  if (tag === undefined) throw new Error(`No element at ${start}`);
  const re = new RegExp(`<${tag}[\\s>]|</${tag}>`, "gi");
  re.lastIndex = start;
  let depth = 0;
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    depth += m[0].startsWith("</") ? -1 : 1;
    if (depth === 0) return m.index + m[0].length;
  }
  throw new Error(`Element <${tag}> at ${start} is not closed`);
}

/** The `<section class="section" id="...">` elements of a page, in order. */
export function sections(
  html: string,
): { id: string; start: number; end: number }[] {
  const found = [];
  const re = /<section class="section"\s+id="([^"]*)"/g;
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    const end = elementEnd(html, m.index);
    found.push({ id: m[1]!, start: m.index, end });
    re.lastIndex = end;
  }
  return found;
}

/** A member entry's name key: `method_client_0` -> `client`. */
function memberKey(entryId: string): string {
  return entryId.replace(/^(method|property|accessor)_/, "").replace(
    /_\d+$/,
    "",
  );
}

/** The docEntry ids of a section (the members it shows). */
function entryIds(section: string): string[] {
  return [...section.matchAll(/<div class="anchorable docEntry" id="([^"]*)"/g)]
    .map((m) => m[1]!);
}

/** The class a class page extends, as the href deno doc links it with. */
export function parentHref(html: string): string | undefined {
  const m =
    /<div class="symbolSubtitle">[\s\S]*?<span class="type"> extends <\/span><a class="link" href="([^"]+)">/
      .exec(html);
  return m?.[1]?.replaceAll("&#x2F;", "/");
}

/** The class name of a class page (`class STSRefreshableSession`). */
export function className(html: string): string | undefined {
  return /<span class="text-Class">class<\/span>&nbsp;<span class="font-bold">([^<]+)<\/span>/
    .exec(html)?.[1];
}

/** Member sections worth copying to a subclass: own and inherited ones. */
function isMemberSection(id: string): boolean {
  return id === "properties" || id === "methods" ||
    id.startsWith("inherited_");
}

/**
 * Shows a class's inherited members on its own page: deno doc lists only
 * what a class declares, so `STSRefreshableSession` would show its
 * constructor and `assumeRole` but not `client()` or `whoami()`. The
 * parent's (already fixed) page gives its property and method sections,
 * less the members the subclass declares again; their ids get a prefix so
 * anchors stay unique, and the page's navigation lists them.
 *
 * @param html The subclass's page.
 * @param parentHtml The parent class's page, itself already fixed.
 * @param rebase Turns an href of the parent page into one for this page.
 */
export function addInheritedMembers(
  html: string,
  parentHtml: string,
  rebase: (href: string) => string,
): string {
  const parent = className(parentHtml);
  if (parent === undefined) return html;
  const own = new Set(
    sections(html).filter((s) => s.id === "properties" || s.id === "methods")
      .flatMap((s) => entryIds(html.slice(s.start, s.end)).map(memberKey)),
  );
  let added = "";
  const nav: string[] = [];
  for (const s of sections(parentHtml)) {
    if (!isMemberSection(s.id)) continue;
    let section = parentHtml.slice(s.start, s.end);
    // Drop the entries this class declares itself.
    for (const id of entryIds(section)) {
      if (!own.has(memberKey(id))) continue;
      const at = section.indexOf(
        `<div class="anchorable docEntry" id="${id}"`,
      );
      section = section.slice(0, at) + section.slice(elementEnd(section, at));
    }
    const ids = entryIds(section);
    if (ids.length === 0) continue;
    const kind = s.id === "properties"
      ? "Properties"
      : s.id === "methods"
      ? "Methods"
      : undefined;
    const newId = kind === undefined ? s.id : `inherited_${parent}_${s.id}`;
    // Rename the ids (and their anchors) so they stay unique on this page.
    for (const id of ids) {
      const renamed = kind === undefined ? id : `${parent}_${id}`;
      section = section.replaceAll(`id="${id}"`, `id="${renamed}"`)
        .replaceAll(`href="#${id}"`, `href="#${renamed}"`);
    }
    section = section.replace(`id="${s.id}"`, `id="${newId}"`)
      .replace(`href="#${s.id}"`, `href="#${newId}"`);
    if (kind !== undefined) {
      section = section.replace(
        new RegExp(`\\n${kind}</h2>`),
        `\n${kind} inherited from ${parent}</h2>`,
      );
    }
    section = section.replace(
      /href="([^"#][^"]*)"/g,
      (_all, href: string) => `href="${rebase(href)}"`,
    );
    const title = /\n([^\n<]+)<\/h2>/.exec(section)?.[1] ?? newId;
    const short = kind === undefined
      ? title
      : `Inherited ${kind.toLowerCase()}`;
    // An overloaded method has one entry per signature: one link is enough.
    const seen = new Set<string>();
    const members = [
      ...section.matchAll(
        /<div class="anchorable docEntry" id="([^"]*)"[\s\S]*?<a class="font-bold font-lg link" href="[^"]*">([^<]*)<\/a>/g,
      ),
    ].filter((m) => !seen.has(m[2]!) && seen.add(m[2]!))
      .map((m) => `<li><a href="#${m[1]}" title="${m[2]}">${m[2]}</a></li>`);
    nav.push(
      `<li><a href="#${newId}" title="${title}">${short}</a></li><li><ul>${
        members.join("")
      }</ul></li>`,
    );
    added += section;
  }
  if (added === "") return html;
  const last = sections(html).at(-1);
  const insertAt = last?.end ?? html.indexOf("</article>");
  let out = html.slice(0, insertAt) + added + html.slice(insertAt);
  out = out.replace(
    /(<nav class="documentNavigation">\s*<h3>Document Navigation<\/h3><ul>[\s\S]*?)(<\/ul><\/nav>)(?![\s\S]*<nav class="documentNavigation">)/,
    (_all, list: string, end: string) => `${list}${nav.join("")}${end}`,
  );
  return out;
}

/** A link in a sidebar: its text and href. */
export interface NavLink {
  /** What the reader sees. */
  text: string;
  /** Where it goes, relative to the page it is on. */
  href: string;
}

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** A sidebar box in deno doc's own markup. */
export function navBox(title: string, links: NavLink[]): string {
  const items = links.map((l) =>
    `<li><a href="${escapeHtml(l.href)}" title="${escapeHtml(l.text)}">${
      escapeHtml(l.text)
    }</a></li>`
  ).join("");
  return `<nav class="documentNavigation"><h3>${
    escapeHtml(title)
  }</h3><ul>${items}</ul></nav>`;
}

/** Puts sidebar boxes first in a page's right-hand column. */
export function prependToToc(html: string, boxes: string): string {
  if (html.includes('<div class="toc">')) {
    return html.replace(
      /<div class="toc">\s*<div>/,
      (open) => `${open}${boxes}`,
    );
  }
  return html.replace(
    /<\/main>/,
    `</main><div class="toc"><div>${boxes}</div></div>`,
  );
}

/**
 * Adds a section at the end of the module doc of an index page (after its
 * examples), e.g. the list of guides.
 */
export function appendToModuleDoc(html: string, section: string): string {
  const at = html.indexOf('<div class="space-y-7" id="module_doc">');
  if (at < 0) return html;
  const end = elementEnd(html, at) - "</div>".length;
  return html.slice(0, end) + section + html.slice(end);
}
