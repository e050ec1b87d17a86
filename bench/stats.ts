/** Nearest-rank percentile of a sample (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(ms: readonly number[]) {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: ms.length,
    p50_ms: round(percentile(ms, 50)),
    p90_ms: round(percentile(ms, 90)),
    p99_ms: round(percentile(ms, 99)),
    mean_ms: round(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length)),
  };
}

/** Small seeded PRNG (mulberry32): benchmarks must generate the same data on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
