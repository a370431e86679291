/**
 * A small SVG chart writer (no dependencies): grouped bar charts with an
 * optional log scale, and histograms. Output is plain, self-contained SVG.
 *
 * @module
 */

/** One series of a bar chart: a value per category (`undefined`: no bar). */
export interface BarSeries {
  /** Legend name. */
  name: string;
  /** One value per category. */
  values: (number | undefined)[];
}

/** Options of {@linkcode barChartSvg}. */
export interface BarChartOptions {
  /** Chart title. */
  title: string;
  /** Axis label of the values. */
  unit: string;
  /** Category labels (groups of bars). */
  categories: string[];
  /** The series (one bar per category each). */
  series: BarSeries[];
  /** Log-10 value axis (values <= 0 are drawn at the axis). @default {false} */
  log?: boolean;
  /** Bottom of a log axis. @default {the power of ten at or below the smallest value, at most 1} */
  logMin?: number;
  /** Width in px. @default {860} */
  width?: number;
  /** Height in px. @default {420} */
  height?: number;
}

/** Options of {@linkcode histogramSvg}. */
export interface HistogramOptions {
  /** Chart title. */
  title: string;
  /** Label of the x axis. */
  xLabel: string;
  /** Label of the y axis. */
  yLabel: string;
  /** Lower edge of the first bin. */
  start: number;
  /** Width of a bin. */
  binWidth: number;
  /** One series per contender: counts per bin. */
  series: { name: string; counts: number[] }[];
  /** Width in px. @default {860} */
  width?: number;
  /** Height in px. @default {380} */
  height?: number;
}

const COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"];
const FONT = `font-family="system-ui, sans-serif"`;

function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  ).replaceAll('"', "&quot;");
}

function fmt(n: number): string {
  if (n === 0) return "0";
  if (Math.abs(n) >= 1000) {
    return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
  }
  if (Math.abs(n) >= 10) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(1).replace(/\.0$/, "");
  return n.toPrecision(2);
}

function legend(names: string[], x: number, y: number): string {
  let at = x;
  return names.map((name, i) => {
    const item = `<rect x="${at}" y="${y}" width="12" height="12" fill="${
      COLORS[i % COLORS.length]
    }"/><text x="${at + 17}" y="${y + 11}" font-size="12" ${FONT}>${
      esc(name)
    }</text>`;
    at += 17 + Math.ceil(name.length * 6.8) + 24;
    return item;
  }).join("");
}

/**
 * Draws a grouped bar chart.
 *
 * @param options Title, categories, series and scale.
 * @returns The SVG document.
 */
export function barChartSvg(options: BarChartOptions): string {
  const width = options.width ?? 860;
  const height = options.height ?? 420;
  const left = 70, right = 20, top = 58, bottom = 70;
  const plotW = width - left - right, plotH = height - top - bottom;
  const all = options.series.flatMap((s) =>
    s.values.filter((v): v is number => v !== undefined && Number.isFinite(v))
  );
  const maxV = Math.max(1, ...all);
  const log = options.log ?? false;
  const positive = all.filter((v) => v > 0);
  const logBottom = options.logMin ??
    10 ** Math.floor(Math.log10(Math.min(1, ...positive)));
  const topV = log ? 10 ** Math.ceil(Math.log10(maxV)) : niceCeil(maxV);
  const scale = (v: number): number => {
    if (log) {
      if (v <= logBottom) return 0;
      return (Math.log10(v) - Math.log10(logBottom)) /
        (Math.log10(topV) - Math.log10(logBottom));
    }
    return v / topV;
  };
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${
      width / 2
    }" y="22" text-anchor="middle" font-size="15" font-weight="bold" ${FONT}>${
      esc(options.title)
    }</text>`,
    legend(options.series.map((s) => s.name), left, 32),
  );
  // Grid and ticks.
  const ticks: number[] = [];
  if (log) {
    for (let e = Math.log10(logBottom); e <= Math.log10(topV) + 1e-9; e++) {
      ticks.push(10 ** e);
    }
  } else {
    for (let i = 0; i <= 5; i++) ticks.push((topV * i) / 5);
  }
  for (const t of ticks) {
    const y = top + plotH - scale(t) * plotH;
    parts.push(
      `<line x1="${left}" x2="${
        left + plotW
      }" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${
        y + 4
      }" text-anchor="end" font-size="11" ${FONT}>${fmt(t)}</text>`,
    );
  }
  parts.push(
    `<text transform="translate(16 ${
      top + plotH / 2
    }) rotate(-90)" text-anchor="middle" font-size="12" ${FONT}>${
      esc(options.unit + (log ? " (log scale)" : ""))
    }</text>`,
  );
  const groupW = plotW / Math.max(1, options.categories.length);
  const barW = Math.min(
    40,
    (groupW * 0.8) / Math.max(1, options.series.length),
  );
  options.categories.forEach((cat, ci) => {
    const gx = left + ci * groupW + (groupW - barW * options.series.length) / 2;
    options.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined || !Number.isFinite(v)) return;
      const h = Math.max(scale(v) * plotH, v > 0 ? 2 : 0);
      const x = gx + si * barW;
      const y = top + plotH - h;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${
          (barW - 2).toFixed(1)
        }" height="${h.toFixed(1)}" fill="${
          COLORS[si % COLORS.length]
        }"><title>${esc(`${s.name}, ${cat}: ${fmt(v)}`)}</title></rect>`,
        `<text x="${(x + (barW - 2) / 2).toFixed(1)}" y="${
          (y - 3).toFixed(1)
        }" text-anchor="middle" font-size="10" ${FONT}>${fmt(v)}</text>`,
      );
    });
    const lines = cat.split("\n");
    lines.forEach((line, li) => {
      parts.push(
        `<text x="${(left + ci * groupW + groupW / 2).toFixed(1)}" y="${
          top + plotH + 16 + li * 13
        }" text-anchor="middle" font-size="11" ${FONT}>${esc(line)}</text>`,
      );
    });
  });
  parts.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${
      top + plotH
    }" stroke="#333"/>`,
    `</svg>`,
  );
  return parts.join("\n") + "\n";
}

/**
 * Draws a histogram with one or more overlaid series (side-by-side bars per bin).
 *
 * @param options Title, labels, bins and series.
 * @returns The SVG document.
 */
export function histogramSvg(options: HistogramOptions): string {
  const width = options.width ?? 860;
  const height = options.height ?? 380;
  const left = 70, right = 20, top = 58, bottom = 50;
  const plotW = width - left - right, plotH = height - top - bottom;
  const bins = Math.max(1, ...options.series.map((s) => s.counts.length));
  const maxC = niceCeil(
    Math.max(1, ...options.series.flatMap((s) => s.counts)),
  );
  const binW = plotW / bins;
  const barW = binW / Math.max(1, options.series.length);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${
      width / 2
    }" y="22" text-anchor="middle" font-size="15" font-weight="bold" ${FONT}>${
      esc(options.title)
    }</text>`,
    legend(options.series.map((s) => s.name), left, 32),
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (maxC * i) / 5;
    const y = top + plotH - (v / maxC) * plotH;
    parts.push(
      `<line x1="${left}" x2="${
        left + plotW
      }" y1="${y}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${
        y + 4
      }" text-anchor="end" font-size="11" ${FONT}>${fmt(v)}</text>`,
    );
  }
  options.series.forEach((s, si) => {
    s.counts.forEach((c, bi) => {
      if (c <= 0) return;
      const h = Math.max((c / maxC) * plotH, 1);
      const x = left + bi * binW + si * barW;
      parts.push(
        `<rect x="${x.toFixed(2)}" y="${(top + plotH - h).toFixed(2)}" width="${
          Math.max(barW - 0.5, 0.5).toFixed(2)
        }" height="${h.toFixed(2)}" fill="${
          COLORS[si % COLORS.length]
        }"><title>${
          esc(
            `${s.name}: ${c} in [${options.start + bi * options.binWidth}, ${
              options.start + (bi + 1) * options.binWidth
            })`,
          )
        }</title></rect>`,
      );
    });
  });
  const labelEvery = Math.max(1, Math.ceil(bins / 12));
  for (let bi = 0; bi <= bins; bi += labelEvery) {
    const x = left + bi * binW;
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${top + plotH}" y2="${
        top + plotH + 4
      }" stroke="#333"/>`,
      `<text x="${x}" y="${
        top + plotH + 17
      }" text-anchor="middle" font-size="11" ${FONT}>${
        fmt(options.start + bi * options.binWidth)
      }</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${
      top + plotH
    }" stroke="#333"/>`,
    `<text x="${left + plotW / 2}" y="${
      height - 8
    }" text-anchor="middle" font-size="12" ${FONT}>${
      esc(options.xLabel)
    }</text>`,
    `<text transform="translate(16 ${
      top + plotH / 2
    }) rotate(-90)" text-anchor="middle" font-size="12" ${FONT}>${
      esc(options.yLabel)
    }</text>`,
    `</svg>`,
  );
  return parts.join("\n") + "\n";
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
