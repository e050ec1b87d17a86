/**
 * The statistics every evaluation reports with: means, percentiles, and paired comparisons
 * (randomization test p-value, bootstrap interval of the mean difference), seeded.
 */
import { mulberry32 } from '../../core/rng.ts';

export function mean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * p-th percentile (0..100) by linear interpolation between closest ranks
 * (the same definition as numpy's default). Empty input → NaN.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = values.slice().sort((a, b) => a - b);
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface PairedTestOptions {
  /** Randomization rounds and bootstrap resamples. Default 10,000. */
  rounds?: number;
  /** Seed of the PRNG; the same seed gives the same p-value and interval. Default 42. */
  seed?: number;
  /** Confidence level of the bootstrap interval. Default 0.95. */
  level?: number;
}

export interface PairedComparison {
  /** Number of paired observations (queries). */
  n: number;
  mean_a: number;
  mean_b: number;
  /** mean(a − b): positive means A is better. */
  mean_diff: number;
  /** Percentile-bootstrap interval of mean(a − b) at `level`. */
  ci_low: number;
  ci_high: number;
  level: number;
  /** Two-sided p-value of the paired randomization (sign-flip) test. */
  p_value: number;
  rounds: number;
  seed: number;
}

function pairedDiffs(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`);
  return a.map((x, i) => x - b[i]!);
}

/**
 * Paired randomization test (Fisher's sign-flip permutation test, as in Smucker, Allan &
 * Carterette 2007): under H0 the labels A/B of each query are exchangeable, so each per-query
 * difference is equally likely to have either sign. p = (#rounds with |mean| ≥ observed + 1) /
 * (rounds + 1), two-sided; the +1 keeps p > 0 and the test valid with a finite number of rounds.
 */
export function pairedRandomizationTest(
  a: readonly number[],
  b: readonly number[],
  opts: PairedTestOptions = {},
): number {
  const diffs = pairedDiffs(a, b);
  const rounds = opts.rounds ?? 10_000;
  const n = diffs.length;
  if (n === 0) return 1;
  const observed = Math.abs(mean(diffs));
  const rng = mulberry32(opts.seed ?? 42);
  // Tolerance so that permutations equal to the observed statistic (up to float noise) count as extreme.
  const eps = 1e-12 * Math.max(1, observed);
  let extreme = 0;
  for (let r = 0; r < rounds; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rng() < 0.5 ? -diffs[i]! : diffs[i]!;
    if (Math.abs(s / n) >= observed - eps) extreme++;
  }
  return (extreme + 1) / (rounds + 1);
}

/** Percentile-bootstrap confidence interval of mean(a − b), resampling queries with replacement. */
export function bootstrapMeanDiffCI(
  a: readonly number[],
  b: readonly number[],
  opts: PairedTestOptions = {},
): { low: number; high: number; level: number } {
  const diffs = pairedDiffs(a, b);
  const rounds = opts.rounds ?? 10_000;
  const level = opts.level ?? 0.95;
  const n = diffs.length;
  if (n === 0) return { low: 0, high: 0, level };
  // A different stream from the randomization test so the two are independent for the same seed.
  const rng = mulberry32(((opts.seed ?? 42) ^ 0x9e3779b9) >>> 0);
  const means = new Array<number>(rounds);
  for (let r = 0; r < rounds; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diffs[Math.floor(rng() * n)]!;
    means[r] = s / n;
  }
  const tail = ((1 - level) / 2) * 100;
  return { low: percentile(means, tail), high: percentile(means, 100 - tail), level };
}

/** Both tests at once: the numbers to report when saying "config A beats config B by …". */
export function comparePaired(
  a: readonly number[],
  b: readonly number[],
  opts: PairedTestOptions = {},
): PairedComparison {
  const rounds = opts.rounds ?? 10_000;
  const seed = opts.seed ?? 42;
  const ci = bootstrapMeanDiffCI(a, b, { ...opts, rounds, seed });
  return {
    n: a.length,
    mean_a: mean(a),
    mean_b: mean(b),
    mean_diff: mean(pairedDiffs(a, b)),
    ci_low: ci.low,
    ci_high: ci.high,
    level: ci.level,
    p_value: pairedRandomizationTest(a, b, { rounds, seed }),
    rounds,
    seed,
  };
}

/** Percentile-bootstrap confidence interval of a mean (resampling the values with replacement), seeded. */
export function bootstrapMeanCI(
  values: readonly number[],
  opts: PairedTestOptions = {},
): { mean: number; low: number; high: number } {
  const ci = bootstrapMeanDiffCI(values, new Array<number>(values.length).fill(0), opts);
  return { mean: mean(values), low: ci.low, high: ci.high };
}
