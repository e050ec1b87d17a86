import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../core/rng.ts';
import { dot, dotFromDistance, euclideanItem, euclideanQuery, normBound, NORM_HEADROOM } from './inner-product.ts';

const squaredDistance = (a: number[], b: number[]) => a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0);

describe('maximum inner product through the Euclidean transform', () => {
  const rng = mulberry32(7);
  const dim = 8;
  // Rows of very different norms, as a trained table has.
  const rows = Array.from({ length: 50 }, (_, r) =>
    Float32Array.from({ length: dim }, () => (rng() - 0.5) * (1 + (r % 5) * 2)),
  );
  const table = new Float32Array(rows.flatMap((r) => [...r]));
  const bound = normBound(table, dim);

  it('bounds every row with headroom', () => {
    const longest = Math.max(...rows.map((r) => Math.sqrt(dot(r, r))));
    expect(bound).toBeCloseTo(longest * NORM_HEADROOM, 4);
    for (const r of rows) expect(euclideanItem(r, bound)).toHaveLength(dim + 1);
  });

  it('orders items by distance exactly as by inner product, and gives the inner product back', () => {
    for (let t = 0; t < 20; t++) {
      const q = Float32Array.from({ length: dim }, () => rng() - 0.5);
      const qe = euclideanQuery(q, bound);
      const qNorm = Math.sqrt(dot(q, q));
      const byDot = rows.map((_, i) => i).sort((a, b) => dot(q, rows[b]!) - dot(q, rows[a]!));
      const dist = rows.map((r) => squaredDistance(qe, euclideanItem(r, bound)));
      const byDistance = rows.map((_, i) => i).sort((a, b) => dist[a]! - dist[b]!);
      expect(byDistance).toEqual(byDot);
      rows.forEach((r, i) => expect(dotFromDistance(dist[i]!, qNorm, bound)).toBeCloseTo(dot(q, r), 4));
    }
  });

  it('an item longer than the bound keeps a last coordinate of 0 instead of NaN', () => {
    const long = Float32Array.from({ length: dim }, () => bound);
    expect(euclideanItem(long, bound).at(-1)).toBe(0);
  });
});
