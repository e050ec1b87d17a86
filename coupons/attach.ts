import type { CouponAffinity } from '../core/candidate.ts';
import type { UserState } from '../behavior/user-state.ts';
import { productKeys } from '../retrieval/index/stores.ts';
import { scoreOffer, shopperPropensity, type Affinity } from './affinity.ts';
import type { CouponConfig } from './config.ts';
import {
  discountFor,
  isLive,
  itemAllowed,
  segmentAllowed,
  shopperSegments,
  type Coupon,
  type CouponType,
} from './coupon.ts';
import type { CouponStatus } from './ledger.ts';

/**
 * Coupons on a final page of results, pure: which coupons this shopper may be offered at all
 * (`offerable`), the best one per item by expected value (`bestOffers`, coupons/affinity.ts),
 * and the page with the winners attached and, when configured, re-sorted (`attachCoupons`).
 * coupons/offers.ts feeds these from the ledger and the state store.
 */

/** What a page item shows. `expected_value` is per click-through on the item, in its currency. */
export interface AttachedCoupon {
  id: string;
  name: string;
  type: CouponType;
  discount: number;
  expected_value: number;
}

/** The fields of a search or feed item this stage reads. */
export interface CouponPageItem {
  id: string;
  score: number;
  price?: number | undefined;
  category?: string | undefined;
  brand?: string | undefined;
}

export interface Offer {
  coupon: Coupon;
  discount: number;
  affinity: Affinity;
}

/**
 * Coupons the shopper could claim right now: live, stock left, budget not spent, and fewer
 * claims than `per_user_limit`. `claims` absent (anonymous shopper): none held.
 */
export function offerable(
  coupons: readonly Coupon[],
  status: ReadonlyMap<string, CouponStatus>,
  claims: ReadonlyMap<string, number> | undefined,
  now: number,
): Coupon[] {
  return coupons.filter((c) => {
    const s = status.get(c.id);
    // No status means the ledger does not know it: never offer what cannot be claimed.
    if (!s || !isLive(c, now) || s.stock_left <= 0) return false;
    if (s.budget_left !== null && s.budget_left <= 0) return false;
    return (claims?.get(c.id) ?? 0) < c.per_user_limit;
  });
}

/**
 * Per item, the offerable coupon with the highest expected value (ties: the coupon listed first).
 * An item is considered only when it has a price; a coupon only when the item is eligible for it
 * and the remaining budget covers this item's discount.
 */
export function bestOffers(
  items: readonly CouponPageItem[],
  coupons: readonly Coupon[],
  ctx: {
    user: UserState | undefined;
    now: number;
    status: ReadonlyMap<string, CouponStatus>;
    pCvr?: ReadonlyMap<string, number> | undefined;
  },
  cfg: CouponConfig,
): Map<string, Offer> {
  const out = new Map<string, Offer>();
  const segments = shopperSegments(ctx.user, { vip_purchases: cfg.vip_purchases });
  // What depends on the shopper and the time only is decided once per page, not per item.
  const forShopper = coupons.filter((c) => isLive(c, ctx.now) && segmentAllowed(c, segments));
  if (forShopper.length === 0) return out;
  const shopper = shopperPropensity(ctx.user, cfg.affinity);
  for (const it of items) {
    const price = it.price;
    if (price === undefined || !(price > 0)) continue;
    const key = productKeys(it);
    let best: Offer | undefined;
    for (const c of forShopper) {
      if (!itemAllowed(c, key)) continue;
      const discount = discountFor(c, price);
      if (!(discount > 0)) continue;
      const budget = ctx.status.get(c.id)?.budget_left;
      if (budget !== undefined && budget !== null && budget < discount) continue;
      const affinity = scoreOffer(
        shopper,
        { price, pCvr: ctx.pCvr?.get(it.id) },
        { discount, validUntil: c.valid_until },
        ctx.now,
        cfg.affinity,
      );
      if (!best || affinity.value > best.affinity.value) best = { coupon: c, discount, affinity };
    }
    if (best) out.set(it.id, best);
  }
  return out;
}

/**
 * Attaches `coupon` to every item whose best offer clears `min_value`. With `boost` > 0 the page
 * is re-sorted by score × (1 + boost · expected_value / price) (stable; items without a coupon
 * keep their score): the expected value per click-through as a share of the price is a unitless
 * bonus, so one boost means the same for cheap and expensive items and across currencies.
 * `debug`: every item with an eligible coupon carries the affinity breakdown of its best offer
 * (`coupon_affinity`), shown or not.
 */
export function attachCoupons<T extends CouponPageItem>(
  items: readonly T[],
  offers: ReadonlyMap<string, Offer>,
  cfg: Pick<CouponConfig, 'min_value' | 'boost'>,
  debug: boolean,
): T[] {
  const out = items.map((it) => {
    const offer = offers.get(it.id);
    if (!offer) return it;
    const shown = offer.affinity.value > cfg.min_value;
    const next = { ...it } as T & { coupon?: AttachedCoupon; coupon_affinity?: CouponAffinity };
    if (shown) {
      const { coupon: c, discount, affinity } = offer;
      next.coupon = { id: c.id, name: c.name, type: c.type, discount, expected_value: round(affinity.value) };
      if (cfg.boost > 0) next.score = round(it.score * (1 + (cfg.boost * Math.max(0, affinity.value)) / it.price!));
    }
    if (debug) {
      const a = offer.affinity;
      next.coupon_affinity = {
        coupon_id: offer.coupon.id,
        discount: offer.discount,
        shown,
        ...Object.fromEntries(Object.entries(a).map(([k, v]) => [k, round(v)])),
        ...(shown && cfg.boost > 0 && { score_before_boost: it.score }),
      };
    }
    return next;
  });
  if (cfg.boost > 0) {
    // Array sort is stable: equal scores keep the page's order.
    out.sort((a, b) => b.score - a.score);
  }
  return out;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
