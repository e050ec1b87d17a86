import { buyProb, clickProb, normal, sigmoid, type SimProduct, type SimUser, type World } from '../simulate/world.ts';
import type { Rng } from '../../core/rng.ts';

/**
 * Hidden coupon behaviour on top of the simulator's shoppers (eval/simulate/world.ts). Each
 * shopper gets, drawn and never shown to the scorer:
 *
 *   sensitivity σ: 35% of shoppers are coupon-driven (σ ~ U(1, 3)), the rest barely care (σ ~ U(0, 0.3))
 *   baseline b ~ N(0, 0.9): how much more (or less) than the catalog model they buy anyway
 *   claim c = 0.15 + 0.7 · sigmoid(σ − 1 + N(0, 0.5)): coupon lovers also take coupons more often
 *
 * After clicking a product the shopper buys with
 *
 *   P(buy | no coupon) = σ(logit(buyProb(u, p)) + b)
 *   P(buy | claimed)   = σ(logit(buyProb(u, p)) + b + K · σ · discount / price),  K = 4
 *
 * and a coupon offered is claimed with probability c (an unclaimed coupon changes nothing).
 * Because the truth is known, every offer has its exact no-coupon counterfactual.
 */
export const TRUE_ELASTICITY = 4;

export interface CouponShopper {
  user: SimUser;
  sensitivity: number;
  baseline: number;
  claim: number;
}

const logit = (p: number) => Math.log(p / (1 - p));

export function couponShoppers(world: World, rng: Rng): CouponShopper[] {
  return world.users.map((user) => {
    const sensitivity = rng() < 0.35 ? 1 + 2 * rng() : 0.3 * rng();
    const baseline = 0.9 * normal(rng);
    const claim = 0.15 + 0.7 * sigmoid(sensitivity - 1 + 0.5 * normal(rng));
    return { user, sensitivity, baseline, claim };
  });
}

/** A product the shopper clicks: drawn from their categories, accepted with the click probability. */
export function drawClick(
  s: CouponShopper,
  world: World,
  pools: Map<SimUser, SimProduct[]>,
  rng: Rng,
): { product: SimProduct; viewed: SimProduct[] } {
  let pool = pools.get(s.user);
  if (!pool) {
    pool = world.products.filter((p) => s.user.cats.has(p.top) && (p.product.price ?? 0) > 0);
    if (pool.length === 0) pool = world.products.filter((p) => (p.product.price ?? 0) > 0);
    pools.set(s.user, pool);
  }
  const viewed: SimProduct[] = [];
  for (;;) {
    const p = pool[Math.floor(rng() * pool.length)]!;
    viewed.push(p);
    if (rng() < clickProb(s.user, p) || viewed.length >= 20) return { product: p, viewed };
  }
}

/** The true probabilities after a click when a coupon with `discount` off is offered (0: none). */
export function occasionTruth(
  s: CouponShopper,
  p: SimProduct,
  discount: number,
): { claim: number; p0: number; p1: number } {
  const base = logit(Math.min(1 - 1e-9, Math.max(1e-9, buyProb(s.user, p)))) + s.baseline;
  const shift = discount > 0 ? (TRUE_ELASTICITY * s.sensitivity * discount) / p.product.price! : 0;
  return { claim: discount > 0 ? s.claim : 0, p0: sigmoid(base), p1: sigmoid(base + shift) };
}

export interface Outcome {
  claimed: boolean;
  /** Bought with the coupon offered (when claimed, the coupon is redeemed). */
  bought: boolean;
  /** Bought had no coupon been offered: the counterfactual (same draws). */
  boughtWithout: boolean;
}

/** One sampled outcome of an occasion: what the history is made of. */
export function simulateOccasion(s: CouponShopper, p: SimProduct, discount: number, rng: Rng): Outcome {
  const t = occasionTruth(s, p, discount);
  const uClaim = rng();
  const uBuy = rng();
  const claimed = uClaim < t.claim;
  const boughtWithout = uBuy < t.p0;
  return { claimed, bought: claimed ? uBuy < t.p1 : boughtWithout, boughtWithout };
}
