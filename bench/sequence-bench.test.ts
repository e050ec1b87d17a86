import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../core/paths.ts';
import { runSequenceBench } from './sequence-bench.ts';

describe('npm run bench -- sequence', () => {
  it('times the tower and the route, and measures the index against the exact inner products', async () => {
    const r = await runSequenceBench({
      modelDir: path.join(ROOT, 'models', 'sequence', 'default'),
      calls: 40,
      k: 20,
      seed: 1,
    });
    expect(r.calls).toBe(40);
    for (const t of [r.shopper_tower, r.route_cache_miss, r.route_cache_hit]) expect(t.p50_ms).toBeGreaterThan(0);
    // The shipped model's 327 items are far under the full-scan threshold: served exactly.
    expect(r.recall_vs_exact).toBe(1);
    // The graph alone, timed and measured beside it.
    expect(r.hnsw.route_cache_miss.p50_ms).toBeGreaterThan(0);
    expect(r.hnsw.recall_vs_exact).toBeGreaterThanOrEqual(0.9);
  }, 60_000);
});
