import { describe, expect, it } from 'vitest';
import { emptyUserState } from '../behavior/user-state.ts';
import { fromZod } from '../src/api/errors.ts';
import { coupon, HOUR, T0 } from '../test/helpers/coupons.ts';
import { CouponSchema, discountFor, isEligible, shopperSegments, type CouponInput, type Segment } from './coupon.ts';

const base: CouponInput = {
  id: 'c1',
  name: 'c',
  type: 'fixed',
  value: 5,
  valid_from: T0,
  valid_until: T0 + HOUR,
  stock: 10,
};
/** The field and reason the API would answer with. */
const rejection = (overrides: Record<string, unknown>) => {
  const r = CouponSchema.safeParse({ ...base, ...overrides });
  if (r.success) throw new Error('expected a rejection');
  const e = fromZod(r.error);
  return { field: e.field, message: e.message };
};

describe('CouponSchema', () => {
  it('fills defaults and turns ISO-8601 times into epoch ms', () => {
    const c = CouponSchema.parse({
      ...base,
      valid_from: '2026-06-01T12:00:00Z',
      valid_until: '2026-06-02T12:00:00+02:00',
    });
    expect(c).toMatchObject({
      per_user_limit: 1,
      active: true,
      eligibility: { categories: [], brands: [], segments: [] },
      valid_from: T0,
    });
    expect(c.valid_until).toBe(T0 + 22 * HOUR);
  });

  it('rejects invalid definitions with the field and the reason', () => {
    expect(rejection({ id: 'has space' })).toMatchObject({ field: 'id' });
    expect(rejection({ id: 'x'.repeat(129) })).toMatchObject({ field: 'id' });
    // Dot segments: no URL can name them (a client sends "/v1/admin/coupons/.." as "/v1/admin").
    expect(rejection({ id: '..' })).toMatchObject({ field: 'id' });
    expect(rejection({ id: '.' })).toMatchObject({ field: 'id' });
    expect(CouponSchema.safeParse({ ...base, id: 'v1.2...x' }).success).toBe(true);
    expect(rejection({ type: 'bogo' })).toMatchObject({ field: 'type' });
    expect(rejection({ value: 0 })).toMatchObject({ field: 'value' });
    expect(rejection({ type: 'percent', value: 100 })).toEqual({
      field: 'value',
      message: 'value: a percent coupon takes a value between 0 and 100 (exclusive)',
    });
    expect(rejection({ type: 'threshold', value: 20 })).toEqual({
      field: 'min_spend',
      message: 'min_spend: required for threshold coupons',
    });
    expect(rejection({ type: 'threshold', value: 20, min_spend: 20 })).toEqual({
      field: 'min_spend',
      message: 'min_spend: must be greater than value for threshold coupons',
    });
    expect(rejection({ max_discount: 3 })).toEqual({
      field: 'max_discount',
      message: 'max_discount: only applies to percent coupons',
    });
    expect(rejection({ valid_until: T0 })).toEqual({
      field: 'valid_until',
      message: 'valid_until: must be after valid_from',
    });
    expect(rejection({ valid_from: 'tomorrow' })).toMatchObject({ field: 'valid_from' });
    expect(rejection({ stock: -1 })).toMatchObject({ field: 'stock' });
    expect(rejection({ stock: 1.5 })).toMatchObject({ field: 'stock' });
    expect(rejection({ per_user_limit: 0 })).toMatchObject({ field: 'per_user_limit' });
    expect(rejection({ budget: -5 })).toMatchObject({ field: 'budget' });
    expect(rejection({ currency: 'euro' })).toMatchObject({ field: 'currency' });
    expect(rejection({ eligibility: { segments: ['gold'] } })).toMatchObject({ field: 'eligibility.segments.0' });
    expect(rejection({ eligibility: { segments: ['vip', 'vip'] } })).toMatchObject({ field: 'eligibility.segments' });
    expect(rejection({ eligibility: { colours: ['red'] } })).toMatchObject({ field: 'eligibility.colours' });
    expect(rejection({ colour: 'red' })).toEqual({ field: 'colour', message: 'unknown parameter "colour"' });
  });
});

describe('discountFor', () => {
  it('takes a fixed amount off, never more than the spend', () => {
    expect(discountFor(coupon({ value: 10 }), 50)).toBe(10);
    expect(discountFor(coupon({ value: 10 }), 4)).toBe(4);
    expect(discountFor(coupon({ value: 10, min_spend: 30 }), 29.99)).toBe(0);
    expect(discountFor(coupon({ value: 10 }), 0)).toBe(0);
  });
  it('takes a percentage, capped by max_discount, rounded down to cents', () => {
    const pct = coupon({ type: 'percent', value: 15, max_discount: 20 });
    expect(discountFor(pct, 100)).toBe(15);
    expect(discountFor(pct, 1000)).toBe(20);
    expect(discountFor(pct, 19.99)).toBe(2.99);
  });
  it('gives a threshold (满减) discount only once the spend reaches min_spend', () => {
    const t = coupon({ type: 'threshold', value: 30, min_spend: 200 });
    expect(discountFor(t, 199.99)).toBe(0);
    expect(discountFor(t, 200)).toBe(30);
    expect(discountFor(t, 500)).toBe(30);
  });
});

describe('shopperSegments', () => {
  const buyer = (purchases: number) => {
    const s = emptyUserState('u:x');
    s.counts.purchase = purchases;
    return s;
  };
  it('puts shoppers without purchases in new, buyers in returning, frequent buyers in vip too', () => {
    expect(shopperSegments(undefined)).toEqual(new Set(['new']));
    expect(shopperSegments(buyer(0))).toEqual(new Set(['new']));
    expect(shopperSegments(buyer(1))).toEqual(new Set(['returning']));
    expect(shopperSegments(buyer(5))).toEqual(new Set(['returning', 'vip']));
    expect(shopperSegments(buyer(2), { vip_purchases: 2 })).toEqual(new Set(['returning', 'vip']));
  });
});

describe('isEligible', () => {
  const any = new Set<Segment>(['new']);
  const c = coupon({ eligibility: { categories: ['Sports/Footwear/', ' Home '], brands: ['NIKE'], segments: [] } });
  it('matches category prefixes and brands through filterKey', () => {
    expect(isEligible(c, { categoryKey: 'sports/footwear/running', brandKey: 'nike' }, any, T0)).toBe(true);
    expect(isEligible(c, { categoryKey: 'sports/footwear', brandKey: 'nike' }, any, T0)).toBe(true);
    expect(isEligible(c, { categoryKey: 'home', brandKey: 'nike' }, any, T0)).toBe(true);
    expect(isEligible(c, { categoryKey: 'sports/footwearx', brandKey: 'nike' }, any, T0)).toBe(false);
    expect(isEligible(c, { categoryKey: 'sports', brandKey: 'nike' }, any, T0)).toBe(false);
    expect(isEligible(c, { categoryKey: 'sports/footwear', brandKey: 'adidas' }, any, T0)).toBe(false);
    expect(isEligible(c, { brandKey: 'nike' }, any, T0)).toBe(false);
    expect(isEligible(coupon(), {}, any, T0)).toBe(true);
  });
  it('checks the segment, the validity window and active', () => {
    const vip = coupon({ eligibility: { segments: ['vip'] } });
    expect(isEligible(vip, {}, new Set(['returning']), T0)).toBe(false);
    expect(isEligible(vip, {}, new Set(['returning', 'vip']), T0)).toBe(true);
    expect(isEligible(coupon(), {}, any, coupon().valid_from - 1)).toBe(false);
    expect(isEligible(coupon(), {}, any, coupon().valid_until)).toBe(false);
    expect(isEligible(coupon({ active: false }), {}, any, T0)).toBe(false);
  });
  it('needs the item alone to reach min_spend', () => {
    const t = coupon({ type: 'threshold', value: 30, min_spend: 200 });
    expect(isEligible(t, { price: 199 }, any, T0)).toBe(false);
    expect(isEligible(t, { price: 200 }, any, T0)).toBe(true);
    expect(isEligible(t, {}, any, T0)).toBe(false);
  });
});
