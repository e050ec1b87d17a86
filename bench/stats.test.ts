import { describe, expect, it } from 'vitest';
import { summarize } from './stats.ts';
import { syntheticCatalog } from './synthetic.ts';

describe('bench helpers', () => {
  it('summarises latencies', () => {
    const s = summarize(Array.from({ length: 101 }, (_, i) => i));
    expect(s).toEqual({ n: 101, p50_ms: 50, p90_ms: 90, p99_ms: 99, mean_ms: 50 });
  });
  it('generates the same catalog for the same seed, and valid products', () => {
    const a = syntheticCatalog(50, 7, 20);
    expect(syntheticCatalog(50, 7, 20)).toEqual(a);
    expect(syntheticCatalog(50, 8, 20)).not.toEqual(a);
    expect(new Set(a.products.map((p) => p.id)).size).toBe(50);
    expect(a.queries).toHaveLength(20);
  });
});
