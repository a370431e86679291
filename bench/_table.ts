/**
 * A compact text table for the terminal and a Markdown table for RESULTS.md.
 *
 * @module
 */

/** A table: a header row and body rows of cells. */
export interface Table {
  /** Column titles. */
  header: string[];
  /** Body rows; each as long as the header. */
  rows: string[][];
}

function isNumeric(cell: string): boolean {
  return /^[-+]?[\d.,]+( ?[a-zµ%x]+)?$/i.test(cell) || cell === "-";
}

/**
 * Renders a table as aligned plain text (numbers right-aligned).
 *
 * @param table The table.
 * @returns Lines joined with `\n`.
 */
export function formatTable(table: Table): string {
  const widths = table.header.map((h, i) =>
    Math.max(h.length, ...table.rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: string[], header: boolean): string =>
    cells.map((c, i) => {
      const w = widths[i] ?? 0;
      return !header && i > 0 && isNumeric(c) ? c.padStart(w) : c.padEnd(w);
    }).join("  ").trimEnd();
  return [
    line(table.header, true),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...table.rows.map((r) => line(r, false)),
  ].join("\n");
}

/**
 * Renders a table as GitHub Markdown.
 *
 * @param table The table.
 * @returns Lines joined with `\n`.
 */
export function markdownTable(table: Table): string {
  const esc = (c: string): string => c.replaceAll("|", "\\|");
  const align = table.header.map((_, i) =>
    i > 0 && table.rows.length > 0 &&
      table.rows.every((r) => isNumeric(r[i] ?? ""))
      ? "---:"
      : "---"
  );
  return [
    `| ${table.header.map(esc).join(" | ")} |`,
    `| ${align.join(" | ")} |`,
    ...table.rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}
