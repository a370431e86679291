/**
 * Latency statistics of the contention harness (p50 / p99 / max).
 *
 * @module
 */

/** Summary of a set of latencies in milliseconds. */
export interface LatencySummary {
  /** Number of samples. */
  count: number;
  /** Median (nearest rank). */
  p50: number;
  /** 99th percentile (nearest rank). */
  p99: number;
  /** Largest sample. */
  max: number;
}

/**
 * Summarizes latencies with the nearest-rank method; an empty input gives NaN.
 *
 * @param samples Latencies in milliseconds (not modified).
 * @returns Count, p50, p99 and max.
 */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, p50: NaN, p99: NaN, max: NaN };
  return {
    count: n,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[n - 1] as number,
  };
}

/**
 * The nearest-rank percentile of sorted samples.
 *
 * @param sorted Samples sorted ascending.
 * @param p Percentile, 0-100.
 * @returns The sample at that rank.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/**
 * The median of samples.
 *
 * @param samples Numbers (not modified).
 * @returns The median (nearest rank), NaN when empty.
 */
export function median(samples: readonly number[]): number {
  return percentile(Float64Array.from(samples).sort(), 50);
}

/**
 * Formats milliseconds compactly: `0.004`, `1.25`, `212`.
 *
 * @param ms Milliseconds.
 * @returns The text.
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 0.01) return ms.toFixed(4);
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}
