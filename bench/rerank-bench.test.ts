import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers/catalog.ts';
import { runRerankBench } from './rerank-bench.ts';

describe('rerank benchmark', () => {
  it('times MMR over 200 items and coupon affinity on a 20-item page and writes bench-rerank.json', () => {
    const out = tempDir('shelf-rerank-bench-');
    const res = runRerankBench({ outDir: out, iterations: 30, quiet: true });
    const file = JSON.parse(readFileSync(path.join(out, 'bench-rerank.json'), 'utf8')) as Record<string, any>;
    expect(file).toMatchObject({ items: 200, dim: 128, page: 20, coupons: 10, p50_ms: res.p50_ms, p99_ms: res.p99_ms });
    expect(file.mmr.n).toBe(30);
    expect(file.coupon_affinity.n).toBe(30);
    // The workload is real: the seeded page gets coupons attached.
    expect(file.coupon_affinity.attached_per_page).toBeGreaterThan(0);
    // No speed bound here: targets are the benchmark's job (docs/BENCHMARKS.md), not a unit test's.
    // The timer measured the work: a broken clock or an empty loop would give 0.
    expect(res.p50_ms).toBeGreaterThan(0);
  });
});
