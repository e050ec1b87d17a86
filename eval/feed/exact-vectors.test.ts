import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../core/rng.ts';
import { ExactVectors, kthLargest } from './exact-vectors.ts';

describe('exact vector scan', () => {
  it('returns the same top k as a full sort', () => {
    const rng = mulberry32(3);
    const vectors = new Map<string, Float32Array>();
    for (let i = 0; i < 300; i++)
      vectors.set(
        `p${i}`,
        Float32Array.from({ length: 8 }, () => rng() - 0.5),
      );
    const index = new ExactVectors(vectors);
    const q = Float32Array.from({ length: 8 }, () => rng() - 0.5);
    const dot = (v: Float32Array) => v.reduce((s, x, j) => s + x * q[j]!, 0);
    const expected = [...vectors.entries()]
      .map(([id, v]) => ({ id, s: Math.fround(dot(v)) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, 25)
      .map((x) => x.id);
    expect(index.search(q, 25).map((h) => h.id)).toEqual(expected);
    expect(index.search(q, 1000)).toHaveLength(300);
  });

  it('finds the k-th largest value with duplicates', () => {
    const v = Float32Array.from([5, 1, 3, 3, 9, 7, 3]);
    expect([1, 2, 3, 4, 5, 6, 7].map((k) => kthLargest(v, k))).toEqual([9, 7, 5, 3, 3, 3, 1]);
  });
});
