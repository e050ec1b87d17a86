import { percentile } from '../eval/kit/stats.ts';

/** Latency summary in milliseconds; percentiles as numpy computes them (eval/metrics.ts). */
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
