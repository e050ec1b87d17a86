import { z } from 'zod';
import { DEFAULT_VIP_PURCHASES } from './coupon.ts';

const HOUR = 3_600_000;

/**
 * Coupon targeting knobs (coupons/affinity.ts, coupons/attach.ts), mounted at `coupons.targeting`
 * in the settings tree (src/settings/) and passed down. Priors and elasticities are documented
 * with the formula in coupons/README.md; the defaults are sensible starting points, not fitted.
 */
export const AffinityConfigSchema = z
  .object({
    /** Claim propensity prior: (claimed + a) / (claimed + a + b + purchases without coupon). New shopper: a/(a+b). */
    claim_prior: z.object({ a: z.number().positive().default(1), b: z.number().positive().default(1) }).prefault({}),
    /**
     * Conversion after a claimed coupon and without one are both shrunk towards the shopper's own
     * conversion with the weight of this many pseudo-clicks: (redeemed + k·p̄) / (claimed + k).
     */
    conversion_strength: z.number().positive().default(2),
    /** The observed lift counts as much as the coupon-share prior after this many claims. */
    lift_strength: z.number().positive().default(2),
    /** Typical depth of past coupons (discount / price): turns an observed log-odds lift into a sensitivity. */
    reference_discount: z.number().gt(0).max(1).default(0.15),
    /** Share of purchases made with a coupon, shrunk towards `mean` with the weight of `strength` purchases. */
    coupon_share_prior: z
      .object({ mean: z.number().gt(0).lt(1).default(0.3), strength: z.number().positive().default(2) })
      .prefault({}),
    /** Post-click conversion when the ranker gave no pCVR: (purchases + strength·mean) / (clicks + strength). */
    cvr_prior: z
      .object({ mean: z.number().gt(0).lt(1).default(0.1), strength: z.number().positive().default(10) })
      .prefault({}),
    /** Items priced above the shopper's band make a discount matter more: factor (price/band)^exponent, clamped to [1/2, 2]. */
    band_exponent: z.number().min(0).max(2).default(0.5),
    /** Largest price sensitivity (1 = the prior shopper). */
    max_sensitivity: z.number().positive().default(3),
    /** Log-odds shift of conversion per unit of relative discount for a shopper of sensitivity 1 (10% off → +0.4 at 4). */
    elasticity: z.number().min(0).max(50).default(4),
    /** Relative discounts above this count as this much (a 90%-off coupon is not 9× a 10% one). */
    max_relative_discount: z.number().gt(0).max(1).default(0.5),
    /** Extra pull of a coupon about to expire: time factor 1 + urgency · 2^(−ttl / urgency_half_life_ms). */
    urgency: z.number().min(0).max(5).default(0.5),
    urgency_half_life_ms: z
      .number()
      .positive()
      .default(24 * HOUR),
    /** A coupon with less than this left cannot reasonably be used; its time factor falls linearly to 0. */
    min_ttl_ms: z.number().min(0).default(HOUR),
  })
  .strict();

export const CouponConfigSchema = z
  .object({
    /** Attach coupons to search and feed items at all. */
    enabled: z.boolean().default(true),
    /**
     * A coupon is attached when its expected value (expected incremental GMV − expected cost, in the
     * item's currency, per click-through) is above this. 0: only when it is expected to pay for itself.
     */
    min_value: z.number().min(-1e9).max(1e9).default(0),
    /** Final order boost: score × (1 + boost · expected_value / price). 0 leaves the order alone. */
    boost: z.number().min(0).max(100).default(0),
    /** How long coupon definitions are reused before the ledger is asked again (stock, budget and claims: every request). */
    cache_ms: z.number().int().min(0).max(60_000).default(1000),
    /** Purchases that make a shopper `vip` for segment eligibility. */
    vip_purchases: z.number().int().min(1).default(DEFAULT_VIP_PURCHASES),
    affinity: AffinityConfigSchema.prefault({}),
  })
  .strict();

export type AffinityConfig = z.output<typeof AffinityConfigSchema>;
export type CouponConfig = z.output<typeof CouponConfigSchema>;
export type CouponConfigInput = z.input<typeof CouponConfigSchema>;
