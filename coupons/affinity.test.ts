import { describe, expect, it } from 'vitest';
import { emptyUserState, type UserState } from '../behavior/user-state.ts';
import { scoreOffer, shopperPropensity, timeFactor } from './affinity.ts';
import { CouponConfigSchema } from './config.ts';

const cfg = CouponConfigSchema.parse({}).affinity;
const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

function shopper(o: {
  claimed?: number;
  redeemed?: number;
  couponPurchases?: number;
  purchases?: number;
  clicks?: number;
  band?: number;
}): UserState {
  const u = emptyUserState('u:t');
  u.coupons = { claimed: o.claimed ?? 0, redeemed: o.redeemed ?? 0, coupon_purchases: o.couponPurchases ?? 0 };
  u.counts = { ...u.counts, purchase: o.purchases ?? 0, click: o.clicks ?? 0 };
  if (o.band !== undefined) u.price = { w: 1, log_sum: Math.log(o.band) };
  return u;
}

const offer = (discount: number, validUntil = NOW + 7 * DAY) => ({ discount, validUntil });
const score = (
  u: UserState | undefined,
  price: number,
  discount: number,
  extra: { pCvr?: number; validUntil?: number } = {},
) => scoreOffer(shopperPropensity(u, cfg), { price, pCvr: extra.pCvr }, offer(discount, extra.validUntil), NOW, cfg);

describe('coupon affinity', () => {
  it('anonymous shoppers get the priors, and the value is incremental GMV minus cost', () => {
    const a = score(undefined, 100, 10);
    expect(a.p_claim).toBeCloseTo(0.5, 12);
    expect(a.p_cvr).toBeCloseTo(0.1, 12);
    expect(a.price_sensitivity).toBeCloseTo(1, 12);
    expect(a.lift).toBeGreaterThan(0);
    expect(a.value).toBeCloseTo(a.expected_incremental_gmv - a.expected_cost, 12);
    expect(a.p_redeem).toBeCloseTo(a.p_claim * a.p_cvr * (1 + a.lift), 12);
  });

  it('more redemptions of the same claims raise p_redeem and sensitivity', () => {
    const few = score(shopper({ claimed: 6, redeemed: 1, purchases: 4, couponPurchases: 1, clicks: 30 }), 100, 10);
    const many = score(shopper({ claimed: 6, redeemed: 5, purchases: 8, couponPurchases: 5, clicks: 30 }), 100, 10, {
      pCvr: few.p_cvr,
    });
    expect(many.p_redeem).toBeGreaterThan(few.p_redeem);
    expect(many.price_sensitivity).toBeGreaterThan(few.price_sensitivity);
    expect(many.value).toBeGreaterThan(few.value);
  });

  it('a deeper discount gives more lift and costs more', () => {
    const u = shopper({ claimed: 3, redeemed: 2, purchases: 3, couponPurchases: 2, clicks: 20 });
    const [small, deep] = [score(u, 100, 5), score(u, 100, 20)];
    expect(deep.lift).toBeGreaterThan(small.lift);
    expect(deep.expected_incremental_gmv).toBeGreaterThan(small.expected_incremental_gmv);
    expect(deep.expected_cost).toBeGreaterThan(small.expected_cost);
  });

  it('cannibalisation: a coupon is worth nothing for a shopper who buys anyway', () => {
    // Buys often, never with a coupon: every discount would be paid on a purchase that happens anyway.
    const loyal = shopper({ purchases: 20, clicks: 22, band: 100 });
    const a = score(loyal, 100, 10);
    expect(a.p_cvr).toBeGreaterThan(0.6);
    expect(a.value).toBeLessThan(0);
    // The same coupon on the same item pays off for a coupon-driven shopper who rarely converts.
    const hunter = shopper({ claimed: 8, redeemed: 6, purchases: 6, couponPurchases: 6, clicks: 60, band: 100 });
    expect(score(hunter, 100, 10).value).toBeGreaterThan(0);
    // And a given pCVR near 1 makes it worthless whoever the shopper is.
    expect(score(hunter, 100, 10, { pCvr: 0.97 }).value).toBeLessThan(0);
  });

  it('expiry: none after valid_until, urgency near the end, fading out in the last hour', () => {
    expect(timeFactor(NOW - 1, NOW, cfg)).toBe(0);
    const week = timeFactor(NOW + 7 * DAY, NOW, cfg);
    const hours = timeFactor(NOW + 6 * 3_600_000, NOW, cfg);
    expect(week).toBeCloseTo(1, 2);
    expect(hours).toBeGreaterThan(week);
    expect(timeFactor(NOW + 60_000, NOW, cfg)).toBeLessThan(0.1);
    const expired = score(undefined, 100, 10, { validUntil: NOW - 1 });
    expect(expired.lift).toBe(0);
    expect(expired.value).toBeLessThan(0);
    expect(score(undefined, 100, 10, { validUntil: NOW + 6 * 3_600_000 }).lift).toBeGreaterThan(
      score(undefined, 100, 10).lift,
    );
  });

  it("an item above the shopper's price band makes them more sensitive", () => {
    const u = shopper({ purchases: 2, clicks: 20, band: 50 });
    expect(score(u, 200, 20).price_sensitivity).toBeGreaterThan(score(u, 50, 5).price_sensitivity);
  });
});
