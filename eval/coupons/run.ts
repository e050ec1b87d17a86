import { BehaviorConfigSchema } from '../../behavior/config.ts';
import type { BehaviorEvent } from '../../behavior/event.ts';
import { applyEvents, type ItemInfo, type UserState } from '../../behavior/user-state.ts';
import { scoreOffer, shopperPropensity } from '../../coupons/affinity.ts';
import { CouponConfigSchema, type CouponConfigInput } from '../../coupons/config.ts';
import { productKeys } from '../../retrieval/index/stores.ts';
import { mulberry32, shuffled } from '../../core/rng.ts';
import { buildWorld, loadCatalogProducts, normal, type SimProduct, type SimUser } from '../simulate/world.ts';
import { couponShoppers, drawClick, occasionTruth, simulateOccasion, type CouponShopper } from './world.ts';

/**
 * Coupon targeting on simulated shoppers with known ground truth (eval/coupons/world.ts):
 *
 * 1. History: each shopper clicks `historyVisits` products over 30 days; after a click a coupon
 *    (10–25% off) is offered with probability 0.4 and claimed, redeemed or ignored as their
 *    hidden sensitivity says. The events go through the real reducer (behavior/user-state.ts
 *    applyEvents) into a UserState per shopper: the only thing the scorer sees.
 * 2. Held out: `occasions` fresh clicks per shopper on day 31. One coupon (`discount`% off) is
 *    offered (a) where coupons/affinity.ts values it above `min_value`, (b) to everyone, (c) to a
 *    seeded random set of the same size as (a), and (d) as a ceiling, where the hidden truth says
 *    it pays. (a) scores without a ranker (the shopper's own conversion as base rate); a second
 *    affinity arm gets an item-level pCVR as a served ranker would give it, stood in for by the
 *    true conversion blurred with N(0, 0.7) on the log-odds. Each occasion is valued with the true claim and purchase probabilities with and
 *    without the coupon (expectations, so the arms differ only in who gets the coupon, not in luck).
 *
 * Money is summed in USD; CNY prices of the demo catalog count at 1/7.1.
 */
export interface CouponEvalOptions {
  catalog: string;
  users: number;
  historyVisits: number;
  occasions: number;
  /** Percent off of the held-out coupon. */
  discount: number;
  seed: number;
  coupons?: CouponConfigInput;
}

/** One arm's totals; everything but `offered` is an expectation under the true probabilities. */
export interface ArmResult {
  offered: number;
  claimed: number;
  redeemed: number;
  /** redeemed / offered */
  redemption_rate: number;
  /** Σ (bought with the offer − bought without) · price, USD. */
  incremental_gmv: number;
  /** Σ discount over redeemed purchases (including those that would have happened anyway), USD. */
  cost: number;
  /** incremental_gmv − cost */
  net: number;
}

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const USD_PER: Record<string, number> = { USD: 1, CNY: 1 / 7.1 };
/** Log-odds noise of the stand-in ranker pCVR (an item-level conversion estimate, not the truth). */
const RANKER_NOISE = 0.7;

export function runCouponEval(opts: CouponEvalOptions) {
  const world = buildWorld(loadCatalogProducts(opts.catalog), opts.users, opts.seed);
  const rng = mulberry32(opts.seed * 7919 + 1);
  const shoppers = couponShoppers(world, rng);
  const pools = new Map<SimUser, SimProduct[]>();

  // 1. History → events → UserState through the real reducer.
  const events: BehaviorEvent[] = [];
  let n = 0;
  const ev = (e: Omit<BehaviorEvent, 'event_id'>) => events.push({ event_id: `h${n++}`, ...e } as BehaviorEvent);
  for (const s of shoppers) {
    for (let v = 0; v < opts.historyVisits; v++) {
      const ts = T0 + Math.floor(((v + rng()) / opts.historyVisits) * 30 * DAY);
      const { product, viewed } = drawClick(s, world, pools, rng);
      const user_id = s.user.id;
      for (const p of viewed) ev({ type: 'view', user_id, product_id: p.product.id, ts });
      ev({ type: 'click', user_id, product_id: product.product.id, ts: ts + 1 });
      const offered = rng() < 0.4;
      const pct = offered ? 10 + Math.floor(rng() * 16) : 0;
      const discount = (product.product.price! * pct) / 100;
      const o = simulateOccasion(s, product, discount, rng);
      const coupon_id = `hist-${pct}`;
      if (o.claimed) ev({ type: 'coupon_claim', user_id, coupon_id, ts: ts + 2 });
      if (o.bought) {
        ev({
          type: 'purchase',
          user_id,
          product_id: product.product.id,
          price: product.product.price!,
          ts: ts + 3,
          ...(o.claimed && { coupon_id }),
        });
        if (o.claimed) ev({ type: 'coupon_redeem', user_id, coupon_id, ts: ts + 3 });
      }
    }
  }
  const items = new Map<string, ItemInfo>(world.products.map((p) => [p.product.id, productKeys(p.product)]));
  const states = new Map<string, UserState>();
  applyEvents(events, states, items, BehaviorConfigSchema.parse({}));

  // 2. Held-out occasions, each scored once and valued under the true probabilities.
  const cfg = CouponConfigSchema.parse(opts.coupons ?? {});
  const now = T0 + 31 * DAY;
  const validUntil = now + 7 * DAY;
  interface Occasion {
    shopper: CouponShopper;
    /** The scorer's expected value (item currency). */
    value: number;
    /** The same with a stand-in ranker's pCVR for the item (the truth blurred, see below). */
    valueWithPcvr: number;
    /** Truth, in USD: expected redemptions, incremental GMV and discount cost if offered. */
    redeem: number;
    claim: number;
    gmv: number;
    cost: number;
  }
  const occasions: Occasion[] = [];
  for (const s of shoppers) {
    const propensity = shopperPropensity(states.get(`u:${s.user.id}`), cfg.affinity);
    for (let k = 0; k < opts.occasions; k++) {
      const { product } = drawClick(s, world, pools, rng);
      const price = product.product.price!;
      const usd = USD_PER[product.product.currency ?? 'USD'] ?? 1;
      const discount = Math.floor(price * opts.discount) / 100;
      const a = scoreOffer(propensity, { price }, { discount, validUntil }, now, cfg.affinity);
      const t = occasionTruth(s, product, discount);
      // A stand-in for a trained ranker's pCVR: the true no-coupon conversion, blurred on the log-odds.
      const pCvr = 1 / (1 + Math.exp(-(Math.log(t.p0 / (1 - t.p0)) + RANKER_NOISE * normal(rng))));
      const withPcvr = scoreOffer(propensity, { price, pCvr }, { discount, validUntil }, now, cfg.affinity);
      occasions.push({
        shopper: s,
        value: a.value,
        valueWithPcvr: withPcvr.value,
        claim: t.claim,
        redeem: t.claim * t.p1,
        gmv: t.claim * (t.p1 - t.p0) * price * usd,
        cost: t.claim * t.p1 * discount * usd,
      });
    }
  }

  const r2 = (x: number) => Math.round(x * 100) / 100;
  const arm = (offered: readonly Occasion[]): ArmResult => {
    const sum = (f: (o: Occasion) => number) => offered.reduce((acc, o) => acc + f(o), 0);
    const redeemed = sum((o) => o.redeem);
    const gmv = sum((o) => o.gmv);
    const cost = sum((o) => o.cost);
    return {
      offered: offered.length,
      claimed: r2(sum((o) => o.claim)),
      redeemed: r2(redeemed),
      redemption_rate: offered.length > 0 ? Math.round((redeemed / offered.length) * 1e4) / 1e4 : 0,
      incremental_gmv: r2(gmv),
      cost: r2(cost),
      net: r2(gmv - cost),
    };
  };
  const targeted = occasions.filter((o) => o.value > cfg.min_value);
  const targetedWithPcvr = occasions.filter((o) => o.valueWithPcvr > cfg.min_value);
  const random = shuffled(occasions, mulberry32(opts.seed + 101)).slice(0, targeted.length);
  const oracle = occasions.filter((o) => o.gmv - o.cost > 0);
  const intervals = netIntervals(
    occasions,
    { affinity: targeted, affinity_with_pcvr: targetedWithPcvr, everyone: occasions, random, oracle },
    opts.seed,
  );
  const sensitive = (os: readonly Occasion[]) =>
    os.length > 0 ? Math.round((os.filter((o) => o.shopper.sensitivity >= 1).length / os.length) * 1000) / 1000 : 0;
  return {
    note: 'SIMULATED data: shoppers with hidden coupon sensitivity, baseline purchase propensity and claim propensity (eval/coupons/world.ts) over the real demo catalog; outcomes are expectations under the true probabilities. It measures the targeting logic against a known truth, not a real shop.',
    affinity: arm(targeted),
    everyone: arm(occasions),
    random: arm(random),
    /** Affinity as served with a ranker: its pCVR stands in as the truth blurred by N(0, RANKER_NOISE) on the log-odds. */
    affinity_with_pcvr: arm(targetedWithPcvr),
    /** Ceiling: offered exactly where the true expected net is positive (needs the hidden truth). */
    oracle: arm(oracle),
    /** 95% bootstrap intervals (over shoppers) of each arm's net, and of each arm's net minus the affinity arm's. */
    net_ci95: intervals.net,
    net_vs_affinity_ci95: intervals.vsAffinity,
    share_coupon_driven: {
      affinity: sensitive(targeted),
      affinity_with_pcvr: sensitive(targetedWithPcvr),
      everyone: sensitive(occasions),
      random: sensitive(random),
      oracle: sensitive(oracle),
    },
    data: {
      shoppers: shoppers.length,
      history_events: events.length,
      history_visits_per_shopper: opts.historyVisits,
      held_out_occasions: occasions.length,
    },
    coupon: { type: 'percent', value: opts.discount, valid_for_days: 7 },
    config: {
      seed: opts.seed,
      ranker_pcvr_noise: RANKER_NOISE,
      min_value: cfg.min_value,
      affinity: cfg.affinity,
      currency: 'USD (CNY at 1/7.1)',
    },
  };
}

type ArmName = 'affinity' | 'affinity_with_pcvr' | 'everyone' | 'random' | 'oracle';

/**
 * Percentile-bootstrap 95% intervals of each arm's net value, resampling shoppers (the unit that
 * repeats: one shopper's occasions are not independent) with replacement, seeded.
 */
function netIntervals<O extends { shopper: unknown; gmv: number; cost: number }>(
  occasions: readonly O[],
  arms: Record<ArmName, readonly O[]>,
  seed: number,
  rounds = 2000,
): { net: Record<ArmName, [number, number]>; vsAffinity: Record<ArmName, [number, number]> } {
  const names = Object.keys(arms) as ArmName[];
  const shoppers = [...new Set(occasions.map((o) => o.shopper))];
  const index = new Map(shoppers.map((s, i) => [s, i]));
  // Per arm, per shopper: the net of the occasions the arm offered to.
  const per = Object.fromEntries(
    names.map((a) => {
      const v = new Float64Array(shoppers.length);
      for (const o of arms[a]) v[index.get(o.shopper)!]! += o.gmv - o.cost;
      return [a, v];
    }),
  ) as Record<ArmName, Float64Array>;
  const rng = mulberry32(seed * 131 + 17);
  const totals = Object.fromEntries(names.map((a) => [a, new Float64Array(rounds)])) as Record<ArmName, Float64Array>;
  const diffs = Object.fromEntries(names.map((a) => [a, new Float64Array(rounds)])) as Record<ArmName, Float64Array>;
  for (let r = 0; r < rounds; r++) {
    const sums = Object.fromEntries(names.map((a) => [a, 0])) as Record<ArmName, number>;
    for (let i = 0; i < shoppers.length; i++) {
      const j = Math.floor(rng() * shoppers.length);
      for (const a of names) sums[a] += per[a][j]!;
    }
    for (const a of names) {
      totals[a][r] = sums[a];
      diffs[a][r] = sums[a] - sums.affinity;
    }
  }
  const ci = (x: Float64Array): [number, number] => {
    const s = Array.from(x).sort((a, b) => a - b);
    const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 100) / 100;
    return s.length === 0 ? [0, 0] : [at(0.025), at(0.975)];
  };
  return {
    net: Object.fromEntries(names.map((a) => [a, ci(totals[a])])) as Record<ArmName, [number, number]>,
    vsAffinity: Object.fromEntries(names.map((a) => [a, ci(diffs[a])])) as Record<ArmName, [number, number]>,
  };
}

export type CouponEvalResult = ReturnType<typeof runCouponEval>;
