/**
 * The statistics of an online experiment, where the unit of randomisation is the shopper: normal
 * intervals of per-shopper means and of ratio metrics (delta method), the relative lift of one arm
 * over another with its interval and a two-sided p-value (delta method), the sample size a lift
 * needs, and the sample-ratio-mismatch test (chi-square). Pure functions.
 */

export const Z95 = 1.959963984540054;
const Z_POWER80 = 0.8416212335729143;

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** An estimate with its standard error and 95% interval. */
export interface Estimate {
  value: number;
  se: number;
  ci: [number, number];
  /** Shoppers it is computed over. */
  n: number;
}

const estimate = (value: number, se: number, n: number): Estimate => ({
  value,
  se,
  ci: [value - Z95 * se, value + Z95 * se],
  n,
});

/** Mean of one number per shopper (a rate of 0/1 values is a proportion). */
export function meanEstimate(xs: readonly number[]): Estimate {
  const n = xs.length;
  if (n === 0) return estimate(NaN, NaN, 0);
  const m = xs.reduce((s, x) => s + x, 0) / n;
  const v = n > 1 ? xs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1) : 0;
  return estimate(m, Math.sqrt(v / n), n);
}

/**
 * Σnum / Σden over shoppers (e.g. clicked requests per request), its standard error by the delta
 * method, since a shopper's requests are not independent of each other.
 */
export function ratioEstimate(num: readonly number[], den: readonly number[]): Estimate {
  const n = num.length;
  const sd = den.reduce((s, x) => s + x, 0);
  if (n === 0 || sd === 0) return estimate(NaN, NaN, n);
  const r = num.reduce((s, x) => s + x, 0) / sd;
  const dbar = sd / n;
  const resid = num.map((x, i) => x - r * den[i]!);
  const v = n > 1 ? resid.reduce((s, x) => s + x * x, 0) / (n - 1) : 0;
  return estimate(r, Math.sqrt(v / n) / dbar, n);
}

/** How arm B compares with control A on one metric. */
export interface Lift {
  /** (B − A) / A. */
  relative: number;
  ci: [number, number];
  /** Two-sided, of B − A = 0. */
  p_value: number;
}

/** Relative lift of `b` over `a`, its interval and p-value by the delta method (a and b independent). */
export function liftOf(a: Estimate, b: Estimate): Lift {
  if (!(a.value > 0) || !Number.isFinite(b.value)) return { relative: NaN, ci: [NaN, NaN], p_value: NaN };
  const rel = b.value / a.value - 1;
  const se = Math.sqrt(b.se ** 2 / a.value ** 2 + (b.value ** 2 * a.se ** 2) / a.value ** 4);
  // The p-value from the same delta-method z as the interval, so "the interval excludes 0" and
  // "p < 0.05" always agree.
  // No spread at all (every shopper 0, or 1) says nothing about chance: no p-value.
  const p = se > 0 ? 2 * (1 - normalCdf(Math.abs(rel) / se)) : rel === 0 ? 1 : NaN;
  return { relative: rel, ci: [rel - Z95 * se, rel + Z95 * se], p_value: p };
}

/**
 * Shoppers each arm needs to detect a relative lift `lift` of a proportion `p` (two-sided α 0.05,
 * power 0.8); NaN when p is 0 or 1 (nothing to scale).
 */
export function shoppersPerArmFor(p: number, lift = 0.05): number {
  if (!(p > 0 && p < 1)) return NaN;
  const p2 = Math.min(0.999999, p * (1 + lift));
  return Math.ceil(((Z95 + Z_POWER80) ** 2 * (p * (1 - p) + p2 * (1 - p2))) / (p2 - p) ** 2);
}

/** Regularised upper incomplete gamma Q(a, x), for the chi-square tail (series / continued fraction). */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnGammaA = lnGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 500; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-14) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lnGammaA);
  }
  let b = x + 1 - a;
  let c = 1e300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-14) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGammaA) * h;
}

function lnGamma(z: number): number {
  const g = [
    676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  z -= 1;
  let x = 0.99999999999980993;
  for (let i = 0; i < g.length; i++) x += g[i]! / (z + i + 1);
  const t = z + g.length - 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(x);
}

export interface SampleRatioCheck {
  observed: Record<string, number>;
  expected_share: Record<string, number>;
  chi2: number;
  p_value: number;
  /** p < 0.001: the split is not what the weights say (a bug in assignment or logging, not chance). */
  mismatch: boolean;
}

/** Chi-square goodness of fit of the shoppers per arm against the arms' weights. */
export function sampleRatioCheck(observed: Record<string, number>, weights: Record<string, number>): SampleRatioCheck {
  const arms = Object.keys(weights);
  const total = arms.reduce((s, a) => s + (observed[a] ?? 0), 0);
  const wsum = arms.reduce((s, a) => s + weights[a]!, 0);
  const share = Object.fromEntries(arms.map((a) => [a, weights[a]! / wsum]));
  let chi2 = 0;
  for (const a of arms) {
    const e = total * share[a]!;
    if (e > 0) chi2 += ((observed[a] ?? 0) - e) ** 2 / e;
  }
  const p = total === 0 ? 1 : gammaQ((arms.length - 1) / 2, chi2 / 2);
  return { observed, expected_share: share, chi2, p_value: p, mismatch: p < 0.001 };
}
