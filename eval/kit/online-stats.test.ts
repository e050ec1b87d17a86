import { describe, expect, it } from 'vitest';
import { liftOf, meanEstimate, normalCdf, ratioEstimate, sampleRatioCheck, shoppersPerArmFor } from './online-stats.ts';

describe('online experiment statistics', () => {
  it('normal CDF and proportion intervals', () => {
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 5);
    const e = meanEstimate([...Array(100).fill(1), ...Array(900).fill(0)]);
    expect(e.value).toBeCloseTo(0.1, 10);
    expect(e.se).toBeCloseTo(Math.sqrt((0.1 * 0.9) / 1000), 3);
    expect(e.ci[0]).toBeLessThan(0.1);
  });

  it('ratio metrics weight shoppers by their requests', () => {
    const r = ratioEstimate([1, 0, 3], [2, 2, 4]);
    expect(r.value).toBeCloseTo(0.5, 10);
    expect(r.se).toBeGreaterThan(0);
  });

  it('lift: significant when the arms truly differ, not when they do not', () => {
    const a = meanEstimate([...Array(500).fill(1), ...Array(4500).fill(0)]);
    const b = meanEstimate([...Array(650).fill(1), ...Array(4350).fill(0)]);
    const l = liftOf(a, b);
    expect(l.relative).toBeCloseTo(0.3, 6);
    expect(l.ci[0]).toBeGreaterThan(0.1);
    expect(l.p_value).toBeLessThan(0.001);
    expect(liftOf(a, a).p_value).toBeCloseTo(1, 6);
    // The interval and the p-value agree on whether 0 is plausible.
    for (const k of [560, 570, 580, 590, 600]) {
      const c = meanEstimate([...Array(k).fill(1), ...Array(5000 - k).fill(0)]);
      const l2 = liftOf(a, c);
      expect(l2.ci[0] > 0).toBe(l2.p_value < 0.05);
    }
  });

  it('sample size for a 5% lift of a 10% rate is in the tens of thousands per arm', () => {
    const n = shoppersPerArmFor(0.1, 0.05);
    expect(n).toBeGreaterThan(55_000);
    expect(n).toBeLessThan(60_000);
    expect(shoppersPerArmFor(0)).toBeNaN();
  });

  it('sample ratio mismatch: flags a broken split, accepts chance', () => {
    expect(sampleRatioCheck({ a: 5000, b: 5100 }, { a: 50, b: 50 }).mismatch).toBe(false);
    const bad = sampleRatioCheck({ a: 5000, b: 5600 }, { a: 50, b: 50 });
    expect(bad.mismatch).toBe(true);
    expect(bad.p_value).toBeLessThan(1e-5);
    // chi2 = 3.84 with one degree of freedom is p = 0.05.
    expect(sampleRatioCheck({ a: 1098, b: 902 }, { a: 1, b: 1 }).p_value).toBeCloseTo(0.0000118, 4);
    expect(sampleRatioCheck({ a: 0, b: 0 }, { a: 1, b: 1 }).p_value).toBe(1);
  });
});
