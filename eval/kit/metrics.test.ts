import { describe, expect, it } from 'vitest';
import { dcgAt, gainOf, idealDcgAt, mrrAt, ndcgAt, recallAt } from './metrics.ts';
import { bootstrapMeanDiffCI, comparePaired, mean, pairedRandomizationTest, percentile } from './stats.ts';

// Judgments of one query: d4 is relevant but never retrieved; d5 is unjudged.
const gains = new Map<string, number>([
  ['d1', 1],
  ['d2', 0],
  ['d3', 3],
  ['d4', 2],
]);
const ranked = ['d1', 'd2', 'd3', 'd5'];

describe('gain and DCG', () => {
  it('uses 2^grade − 1', () => {
    expect([0, 1, 2, 3].map(gainOf)).toEqual([0, 1, 3, 7]);
  });

  it('DCG: 1/log2(2) + 0 + 7/log2(4) + 0 = 4.5', () => {
    expect(dcgAt(10, ranked, gains)).toBeCloseTo(4.5, 12);
  });

  it('ideal DCG comes from all judged grades (3, 2, 1), retrieved or not', () => {
    // 7/1 + 3/log2(3) + 1/log2(4)
    expect(idealDcgAt(10, gains)).toBeCloseTo(7 + 3 / Math.log2(3) + 0.5, 12);
    expect(idealDcgAt(1, gains)).toBe(7);
  });
});

describe('ndcgAt', () => {
  it('hand-computed value: 4.5 / 9.3928 = 0.47909', () => {
    expect(ndcgAt(10, ranked, gains)).toBeCloseTo(0.47909091485969846, 12);
  });

  it('cuts at k, for both DCG and the ideal: nDCG@2 = 1 / (7 + 3/log2 3) = 0.11245', () => {
    expect(ndcgAt(2, ranked, gains)).toBeCloseTo(0.11245065757013882, 12);
  });

  it('is 1 for the ideal ranking and 0 when nothing relevant is retrieved', () => {
    expect(ndcgAt(10, ['d3', 'd4', 'd1'], gains)).toBeCloseTo(1, 12);
    expect(ndcgAt(10, ['d2', 'd5'], gains)).toBe(0);
    expect(ndcgAt(10, [], gains)).toBe(0);
  });

  it('counts a duplicated id once: [d3, d3, d1] ≡ [d3, d1]', () => {
    expect(dcgAt(10, ['d3', 'd3', 'd1'], gains)).toBeCloseTo(7 + 1 / Math.log2(3), 12);
  });

  it('is 0 for a query with no relevant judgment', () => {
    expect(ndcgAt(10, ['a'], new Map([['a', 0]]))).toBe(0);
  });

  it('rejects a bad k', () => {
    expect(() => ndcgAt(0, ranked, gains)).toThrow(RangeError);
  });
});

describe('recallAt', () => {
  it('relevant = grade > 0 (d1, d3, d4): top 3 finds d1 and d3', () => {
    expect(recallAt(3, ranked, gains)).toBeCloseTo(2 / 3, 12);
    expect(recallAt(1, ranked, gains)).toBeCloseTo(1 / 3, 12);
    expect(recallAt(100, ['d4', 'd3', 'd1'], gains)).toBe(1);
  });

  it('is 0 without relevant judgments', () => {
    expect(recallAt(10, ['a'], new Map([['a', 0]]))).toBe(0);
  });
});

describe('mrrAt', () => {
  it('reciprocal rank of the first relevant hit within k', () => {
    expect(mrrAt(10, ranked, gains)).toBe(1);
    expect(mrrAt(10, ['d2', 'd5', 'd3'], gains)).toBeCloseTo(1 / 3, 12);
    expect(mrrAt(2, ['d2', 'd5', 'd3'], gains)).toBe(0);
  });
});

describe('mean and percentile', () => {
  it('mean', () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(mean([])).toBe(0);
  });

  it('linear interpolation between closest ranks', () => {
    expect(percentile([4, 1, 3, 2], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 99)).toBeCloseTo(3.97, 12);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('paired randomization test', () => {
  it('approximates the exact sign-flip p-value: diffs [1, 2, 3] → 2/8 = 0.25', () => {
    const p = pairedRandomizationTest([1, 2, 3], [0, 0, 0], { rounds: 10_000, seed: 1 });
    expect(p).toBeGreaterThan(0.23);
    expect(p).toBeLessThan(0.27);
  });

  it('diffs [1, −1, 2, 3]: 6 of the 16 sign patterns reach |sum| ≥ 5 → 0.375', () => {
    const p = pairedRandomizationTest([1, 0, 2, 3], [0, 1, 0, 0], { rounds: 10_000, seed: 7 });
    expect(p).toBeGreaterThan(0.355);
    expect(p).toBeLessThan(0.395);
  });

  it('identical systems get p = 1', () => {
    expect(pairedRandomizationTest([0.2, 0.5, 0.9], [0.2, 0.5, 0.9])).toBe(1);
  });

  it('a consistent improvement over 20 queries is significant (exact p = 2/2^20)', () => {
    const a = Array.from({ length: 20 }, () => 0.6);
    const b = Array.from({ length: 20 }, () => 0.4);
    // No sign pattern but the observed one and its mirror reaches the observed mean: p ≈ 1/10001.
    expect(pairedRandomizationTest(a, b)).toBeLessThan(0.001);
  });

  it('is reproducible from the seed', () => {
    const a = [0.1, 0.4, 0.35, 0.8, 0.5];
    const b = [0.2, 0.3, 0.3, 0.6, 0.55];
    expect(pairedRandomizationTest(a, b, { seed: 5 })).toBe(pairedRandomizationTest(a, b, { seed: 5 }));
  });

  it('rejects samples of different length', () => {
    expect(() => pairedRandomizationTest([1], [1, 2])).toThrow(RangeError);
  });
});

describe('bootstrap CI of the mean difference', () => {
  it('is a point when every difference is the same', () => {
    const ci = bootstrapMeanDiffCI([1, 1, 1], [0.5, 0.5, 0.5]);
    expect(ci.low).toBeCloseTo(0.5, 12);
    expect(ci.high).toBeCloseTo(0.5, 12);
  });

  it('diffs [0, 1]: resampled means are 0, 0.5, 1 with prob 1/4, 1/2, 1/4 → 95% CI [0, 1]', () => {
    const ci = bootstrapMeanDiffCI([0, 1], [0, 0], { rounds: 10_000, seed: 3 });
    expect(ci.low).toBe(0);
    expect(ci.high).toBe(1);
    expect(ci.level).toBe(0.95);
  });
});

describe('comparePaired', () => {
  it('reports means, the difference, CI and p-value together', () => {
    const a = [0.5, 0.7, 0.9, 0.4];
    const b = [0.4, 0.6, 0.6, 0.4];
    const c = comparePaired(a, b, { seed: 11 });
    expect(c.n).toBe(4);
    expect(c.mean_a).toBeCloseTo(0.625, 12);
    expect(c.mean_b).toBeCloseTo(0.5, 12);
    expect(c.mean_diff).toBeCloseTo(0.125, 12);
    expect(c.ci_low).toBeLessThanOrEqual(c.mean_diff);
    expect(c.ci_high).toBeGreaterThanOrEqual(c.mean_diff);
    // diffs [0.1, 0.1, 0.3, 0]: |sum| ≥ 0.5 only for the two all-same-sign patterns of the non-zero
    // diffs (the zero diff's sign doesn't matter): 4 of 16 → 0.25.
    expect(c.p_value).toBeGreaterThan(0.23);
    expect(c.p_value).toBeLessThan(0.27);
    expect(c.rounds).toBe(10_000);
    expect(c.seed).toBe(11);
  });
});
