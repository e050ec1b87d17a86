import { decayFactor, priceBand, type UserState } from '../behavior/user-state.ts';
import type { AffinityConfig } from './config.ts';

/**
 * Coupon affinity: what showing coupon c next to item i is worth to the shop for shopper u, in
 * the item's currency, per click-through on the item. Pure: the same inputs give the same number.
 * README.md ("Coupons on search and feed results") explains it for shop owners; the formula:
 *
 *   p_claim   = (claimed + a_c) / (claimed + a_c + b_c + purchases_without_coupon)
 *   p̄         = (purchases + k'·π) / (clicks + k')                  the shopper's own conversion
 *   cw, cn    = conversion after a claimed coupon, and on other clicks, each shrunk towards p̄:
 *               cw = (redeemed + k·p̄) / (claimed + k),  cn = (purchases − coupon_purchases + k·p̄) / (clicks − claimed + k)
 *   ŝ         = max(0, logit cw − logit cn) / (elasticity · d_ref)   observed sensitivity
 *   share     = (coupon_purchases + k_m·m) / (purchases + k_m)       coupon-driven share of purchases
 *   band      = clamp((price / price_band)^γ, 1/2, 2)               1 when the band is unknown
 *   s         = min(s_max, (claimed·ŝ + k_s·share/m) / (claimed + k_s) · band)   price sensitivity
 *               (1 = the prior shopper; the observed lift takes over as claims accumulate)
 *   p0        = pCVR from the ranker, else p̄
 *   time      = 0 once expired, else (1 + urgency · 2^(−ttl/h)) · min(1, ttl / min_ttl)
 *   δ         = elasticity · s · min(discount/price, cap) · time     log-odds shift of conversion
 *   p1        = σ(logit(p0) + δ)                                     conversion with the coupon
 *   lift      = p1/p0 − 1
 *   gmv       = p_claim · (p1 − p0) · price                          expected incremental GMV
 *   cost      = p_claim · p1 · discount                              discount paid, incl. purchases
 *                                                                    that would have happened anyway
 *   value     = gmv − cost,   p_redeem = p_claim · p1
 *
 * The coupon only changes anything when it is claimed, so both GMV and cost scale with p_claim.
 * Cost counts the discount on every redeemed purchase (cannibalisation): for a shopper who buys
 * anyway (p0 near 1) p1 − p0 is tiny while the cost is the whole discount, so the value is
 * negative, which is what makes targeting beat giving the coupon to everyone.
 */
export interface ShopperPropensity {
  p_claim: number;
  /** Conversion after claiming a coupon, shrunk towards the shopper's own conversion. */
  redeem_rate: number;
  /** Sensitivity before the item's price enters (band factor 1). */
  base_sensitivity: number;
  /** Fallback post-click conversion from the shopper's own history (p̄). */
  p_cvr_prior: number;
  /** Geometric mean price the shopper engages with, when known. */
  band: number | undefined;
}

export interface Affinity {
  p_claim: number;
  p_redeem: number;
  price_sensitivity: number;
  p_cvr: number;
  lift: number;
  time_factor: number;
  expected_incremental_gmv: number;
  expected_cost: number;
  value: number;
}

/** The per-shopper part, computed once per request. `undefined` (anonymous): the priors. */
export function shopperPropensity(user: UserState | undefined, cfg: AffinityConfig): ShopperPropensity {
  const claimed = user?.coupons.claimed ?? 0;
  const redeemed = Math.min(user?.coupons.redeemed ?? 0, claimed);
  const purchases = user?.counts.purchase ?? 0;
  const couponPurchases = Math.min(user?.coupons.coupon_purchases ?? 0, purchases);
  // A shopper whose clicks were not logged still gets a conversion below 1.
  const clicks = Math.max(user?.counts.click ?? 0, purchases);
  const { claim_prior: cp, coupon_share_prior: sp, cvr_prior: vp, conversion_strength: k } = cfg;
  const p_claim = (claimed + cp.a) / (claimed + cp.a + cp.b + (purchases - couponPurchases));
  const pBar = clamp((purchases + vp.strength * vp.mean) / (clicks + vp.strength), 1e-4, 0.99);
  const withCoupon = clamp((redeemed + k * pBar) / (claimed + k), 1e-4, 1 - 1e-4);
  const without = clamp((purchases - couponPurchases + k * pBar) / (Math.max(0, clicks - claimed) + k), 1e-4, 1 - 1e-4);
  const observed = Math.max(0, logit(withCoupon) - logit(without)) / (cfg.elasticity * cfg.reference_discount || 1);
  const share = (couponPurchases + sp.strength * sp.mean) / (purchases + sp.strength);
  const base_sensitivity = (claimed * observed + cfg.lift_strength * (share / sp.mean)) / (claimed + cfg.lift_strength);
  return {
    p_claim,
    redeem_rate: withCoupon,
    base_sensitivity,
    p_cvr_prior: pBar,
    band: user ? priceBand(user) : undefined,
  };
}

/** Time factor of a coupon valid until `validUntil` seen at `now`. */
export function timeFactor(validUntil: number, now: number, cfg: AffinityConfig): number {
  const ttl = validUntil - now;
  if (!(ttl > 0)) return 0;
  const usable = cfg.min_ttl_ms > 0 ? Math.min(1, ttl / cfg.min_ttl_ms) : 1;
  return (1 + cfg.urgency * decayFactor(ttl, cfg.urgency_half_life_ms)) * usable;
}

/**
 * Scores one (shopper, item, coupon): `discount` is what the coupon takes off this item's price
 * (coupon.ts discountFor), `pCvr` the ranker's post-click conversion for the item when it served
 * a model.
 */
export function scoreOffer(
  shopper: ShopperPropensity,
  item: { price: number; pCvr?: number | undefined },
  offer: { discount: number; validUntil: number },
  now: number,
  cfg: AffinityConfig,
): Affinity {
  const { price } = item;
  const band =
    shopper.band !== undefined && shopper.band > 0 && price > 0
      ? clamp(Math.pow(price / shopper.band, cfg.band_exponent), 0.5, 2)
      : 1;
  const s = Math.min(cfg.max_sensitivity, shopper.base_sensitivity * band);
  const p0 = clamp(item.pCvr ?? shopper.p_cvr_prior, 1e-6, 1 - 1e-6);
  const time = timeFactor(offer.validUntil, now, cfg);
  const relative = price > 0 ? Math.min(offer.discount / price, cfg.max_relative_discount) : 0;
  const delta = cfg.elasticity * s * relative * time;
  const p1 = delta === 0 ? p0 : sigmoid(logit(p0) + delta);
  const gmv = shopper.p_claim * (p1 - p0) * price;
  const cost = shopper.p_claim * p1 * offer.discount;
  return {
    p_claim: shopper.p_claim,
    p_redeem: shopper.p_claim * p1,
    price_sensitivity: s,
    p_cvr: p0,
    lift: p1 / p0 - 1,
    time_factor: time,
    expected_incremental_gmv: gmv,
    expected_cost: cost,
    value: gmv - cost,
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const logit = (p: number) => Math.log(p / (1 - p));
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
