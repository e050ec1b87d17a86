import { describe, expect, it } from 'vitest';
import { ndcgAt, recallAt } from '../kit/metrics.ts';
import { fullMetrics, hashString, sampleNegatives, sampledMetrics } from './sampled.ts';

describe('sampled-100 and full metrics', () => {
  it('ranks the target among the negatives by list position', () => {
    // target 3rd in the list, one negative above it → rank 1 (0-based) among the candidates
    const m = sampledMetrics(['n1', 'x', 't', 'n2'], 't', ['n1', 'n2', 'n3']);
    expect(m['hr@10']).toBe(1);
    expect(m['ndcg@10']).toBeCloseTo(1 / Math.log2(3), 12);
  });

  it('misses when ten or more negatives rank above the target', () => {
    const negs = Array.from({ length: 12 }, (_, i) => `n${i}`);
    expect(sampledMetrics([...negs, 't'], 't', negs)).toEqual({ 'hr@10': 0, 'ndcg@10': 0 });
  });

  it('scores an unranked target at its expected place among the tied unranked negatives', () => {
    // 2 negatives ranked above, 3 unranked tie with the target: rank uniform over 2..5
    const m = sampledMetrics(['a', 'b'], 't', ['a', 'b', 'c', 'd', 'e']);
    expect(m['hr@10']).toBe(1);
    const expected = [2, 3, 4, 5].reduce((s, r) => s + 1 / Math.log2(r + 2), 0) / 4;
    expect(m['ndcg@10']).toBeCloseTo(expected, 12);
    // With no list at all, 100 tied negatives give the chance level 10/101.
    const negs = Array.from({ length: 100 }, (_, i) => `n${i}`);
    expect(sampledMetrics([], 't', negs)['hr@10']).toBeCloseTo(10 / 101, 12);
  });

  it('full metrics agree with eval/metrics.ts on a single relevant item', () => {
    const ranking = ['a', 'b', 'c', 't', 'd'];
    const judged = new Map([['t', 1]]);
    expect(fullMetrics(ranking, 't')['ndcg@10']).toBeCloseTo(ndcgAt(10, ranking, judged), 12);
    expect(fullMetrics(ranking, 't')['hr@10']).toBe(recallAt(10, ranking, judged));
    expect(fullMetrics([...Array.from({ length: 10 }, (_, i) => `x${i}`), 't'], 't')).toEqual({
      'hr@10': 0,
      'ndcg@10': 0,
    });
  });

  it('samples distinct negatives outside the excluded set, reproducibly', () => {
    const universe = Array.from({ length: 500 }, (_, i) => `i${i}`);
    const exclude = new Set(['i1', 'i2', 'i3']);
    const a = sampleNegatives(universe, exclude, 100, 7);
    expect(new Set(a).size).toBe(100);
    expect(a.some((id) => exclude.has(id))).toBe(false);
    expect(sampleNegatives(universe, exclude, 100, 7)).toEqual(a);
    expect(sampleNegatives(universe, exclude, 100, 8)).not.toEqual(a);
    // A universe smaller than asked gives everything allowed, without looping forever.
    expect(sampleNegatives(['a', 'b', 'c'], new Set(['a']), 100, 1).sort()).toEqual(['b', 'c']);
    expect(hashString('u1')).not.toBe(hashString('u2'));
  });
});
