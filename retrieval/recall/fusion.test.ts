import { describe, expect, it } from 'vitest';
import { RetrievalConfigSchema } from '../index/config.ts';
import { fuseSearch, lexicalEvidence, planFusion } from './fusion.ts';
import type { RouteHit } from '../index/types.ts';

const cfg = (fusion: Record<string, unknown> = {}) =>
  RetrievalConfigSchema.parse({ rrf_k: 10, weights: { bm25: 1, vector: 1 }, fusion });
const bm = (...hits: Array<[string, number]>): RouteHit[] =>
  hits.map(([id, coverage], i) => ({ id, score: 10 - i, coverage }));
const vec = (...ids: string[]): RouteHit[] => ids.map((id, i) => ({ id, score: 0.9 - i * 0.1 }));

describe('lexicalEvidence', () => {
  it('tells an all-terms match from a partial one and from none', () => {
    expect(lexicalEvidence(undefined)).toBe('none');
    expect(lexicalEvidence([])).toBe('none');
    expect(lexicalEvidence(bm(['a', 0.5], ['b', 1]))).toBe('all_terms');
    expect(lexicalEvidence(bm(['a', 0.5], ['b', 0.5]))).toBe('some_terms');
    // A store that does not know coverage: treated as a full match (the vector weight is scaled least).
    expect(lexicalEvidence([{ id: 'a', score: 1 }])).toBe('all_terms');
  });
});

describe('query-adaptive RRF', () => {
  const c = cfg({ mode: 'adaptive_rrf', all_terms: 0.1, some_terms: 0.5, coverage_power: 1 });

  it('scales the vector weight by the lexical evidence', () => {
    expect(planFusion(c, bm(['a', 1])).weights.vector).toBeCloseTo(0.1, 12);
    expect(planFusion(c, bm(['a', 0.5])).weights.vector).toBeCloseTo(0.5, 12);
    expect(planFusion(c, []).weights.vector).toBe(1);
    expect(planFusion(cfg({ mode: 'rrf' }), bm(['a', 1])).weights.vector).toBe(1);
  });

  it('keeps the best all-terms match first against a disagreeing vector route', () => {
    const bm25 = bm(['a', 1], ['b', 1], ['c', 1]);
    const v = vec('c', 'x', 'y');
    const adaptive = fuseSearch({ bm25, vector: v }, planFusion(c, bm25), c).map((h) => h.id);
    expect(adaptive[0]).toBe('a');
    // The vector-only neighbours come after every lexical match.
    expect(adaptive.slice(3)).toEqual(['x', 'y']);
    // Plain equal-weight RRF lets the vector route's favourite jump the exact matches.
    const rrf = cfg({ mode: 'rrf' });
    expect(fuseSearch({ bm25, vector: v }, planFusion(rrf, bm25), rrf)[0]!.id).toBe('c');
  });

  it("weights each lexical hit's vote by its term coverage", () => {
    // 'one' holds one term of three and ranks first by BM25 (a rare term); 'all' holds all three.
    const bm25 = bm(['one', 1 / 3], ['all', 1]);
    const fused = fuseSearch({ bm25, vector: vec('z') }, planFusion(c, bm25), c);
    expect(fused.map((h) => h.id)).toEqual(['all', 'one', 'z']);
    expect(fused[0]!.score).toBeCloseTo(1 / 12, 12);
    expect(fused[1]!.score).toBeCloseTo(1 / 3 / 11, 12);
    const flat = cfg({ mode: 'adaptive_rrf', coverage_power: 0 });
    expect(fuseSearch({ bm25, vector: vec('z') }, planFusion(flat, bm25), flat)[0]!.id).toBe('one');
    // BM25 alone (keyword-only search, or the vector route down) keeps its own order.
    expect(fuseSearch({ bm25 }, planFusion(c, bm25), c)[0]!.id).toBe('one');
  });

  it('lets the vector route answer alone when nothing matched lexically', () => {
    const fused = fuseSearch({ bm25: [], vector: vec('x', 'y') }, planFusion(c, []), c);
    expect(fused.map((h) => h.id)).toEqual(['x', 'y']);
    expect(fused[0]!.score).toBeCloseTo(1 / 11, 12);
  });
});

describe('score fusion (the default)', () => {
  const c = cfg();

  it('adds normalised BM25, scaled by coverage, to the weighted cosine similarity', () => {
    expect(c.fusion).toMatchObject({ mode: 'score', all_terms: 0.3, some_terms: 0.3, coverage_power: 1 });
    const bm25: RouteHit[] = [
      { id: 'a', score: 8, coverage: 1 },
      { id: 'b', score: 4, coverage: 0.5 },
    ];
    const vector: RouteHit[] = [
      { id: 'b', score: 0.9 },
      { id: 'x', score: 0.8 },
    ];
    const fused = fuseSearch({ bm25, vector }, planFusion(c, bm25), c);
    expect(fused.map((h) => h.id)).toEqual(['a', 'b', 'x']);
    expect(fused[0]!.score).toBeCloseTo(1, 12);
    expect(fused[1]!.score).toBeCloseTo(0.5 * 0.5 + 0.3 * 0.9, 12);
    expect(fused[1]!.ranks).toEqual({ bm25: 2, vector: 1 });
    expect(fused[2]!.score).toBeCloseTo(0.3 * 0.8, 12);
  });

  it('ranks a lexically weak product below a full match however close its vector is', () => {
    const bm25: RouteHit[] = [
      { id: 'weak', score: 9, coverage: 0.25 },
      { id: 'full', score: 6, coverage: 1 },
    ];
    const vector: RouteHit[] = [{ id: 'weak', score: 0.95 }];
    const fused = fuseSearch({ bm25, vector }, planFusion(c, bm25), c);
    expect(fused.map((h) => h.id)).toEqual(['full', 'weak']);
  });

  it('orders by cosine similarity alone when nothing matched lexically', () => {
    const fused = fuseSearch({ bm25: [], vector: vec('x', 'y') }, planFusion(c, []), c);
    expect(fused.map((h) => h.id)).toEqual(['x', 'y']);
    expect(fused[0]!.score).toBeCloseTo(0.9, 12);
  });
});
