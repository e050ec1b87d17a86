import { describe, expect, it } from 'vitest';
import { reciprocalRankFusion } from './rrf.ts';

describe('reciprocalRankFusion', () => {
  it('scores by sum of w/(k+rank) and sorts best first', () => {
    const fused = reciprocalRankFusion(
      [
        { route: 'bm25', ids: ['a', 'b', 'c'] },
        { route: 'vector', ids: ['c', 'a', 'd'] },
      ],
      60,
    );
    expect(fused.map((h) => h.id)).toEqual(['a', 'c', 'b', 'd']);
    expect(fused[0]!.score).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(fused[0]!.ranks).toEqual({ bm25: 1, vector: 2 });
    expect(fused[3]!.ranks).toEqual({ vector: 3 });
  });

  it('applies per-route weights', () => {
    const fused = reciprocalRankFusion(
      [
        { route: 'bm25', ids: ['a', 'b'], weight: 1 },
        { route: 'vector', ids: ['b', 'a'], weight: 3 },
      ],
      60,
    );
    expect(fused[0]!.id).toBe('b');
    expect(fused[0]!.score).toBeCloseTo(1 / 62 + 3 / 61, 12);
  });

  it('counts a duplicated id once per route, at its best rank', () => {
    const fused = reciprocalRankFusion([{ route: 'bm25', ids: ['a', 'a', 'b'] }], 60);
    expect(fused.find((h) => h.id === 'a')!.score).toBeCloseTo(1 / 61, 12);
    expect(fused.find((h) => h.id === 'b')!.ranks.bm25).toBe(3);
  });

  it('breaks ties deterministically and handles empty input', () => {
    const fused = reciprocalRankFusion([
      { route: 'x', ids: ['b'] },
      { route: 'y', ids: ['a'] },
    ]);
    expect(fused.map((h) => h.id)).toEqual(['a', 'b']);
    expect(reciprocalRankFusion([])).toEqual([]);
  });

  it('rejects a negative k', () => {
    expect(() => reciprocalRankFusion([], -1)).toThrow(RangeError);
  });
});
