import { describe, expect, it } from 'vitest';
import type { StateStore } from '../behavior/state-store.ts';
import { emptyUserState, type UserState } from '../behavior/user-state.ts';
import { attachCoupons, bestOffers, offerable, type CouponPageItem } from './attach.ts';
import { CouponConfigSchema, type CouponConfigInput } from './config.ts';
import { CouponSchema, type Coupon, type CouponInput } from './coupon.ts';
import type { CouponStatus } from './ledger.ts';
import { CouponOffers, type CouponReader } from './offers.ts';

const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

const coupon = (o: Partial<CouponInput> & { id: string }): Coupon =>
  CouponSchema.parse({
    name: o.id,
    type: 'percent',
    value: 10,
    valid_from: NOW - DAY,
    valid_until: NOW + 7 * DAY,
    stock: 100,
    ...o,
  });
const status = (o: Partial<CouponStatus> = {}): CouponStatus => ({
  stock_left: 100,
  claimed: 0,
  redeemed: 0,
  spent: 0,
  budget_left: null,
  ...o,
});

const ITEMS: CouponPageItem[] = [
  { id: 'shoe', score: 0.9, price: 100, category: 'Sports/Footwear', brand: 'Nike' },
  { id: 'pan', score: 0.8, price: 40, category: 'Home/Cookware', brand: 'T-fal' },
  { id: 'book', score: 0.7, price: 20, category: 'Books', brand: 'Penguin' },
  { id: 'noprice', score: 0.6, category: 'Books' },
];

/** A shopper who buys with coupons: every offer on them has a positive value. */
function hunter(): UserState {
  const u = emptyUserState('u:h');
  u.coupons = { claimed: 6, redeemed: 5, coupon_purchases: 5 };
  u.counts = { ...u.counts, purchase: 5, click: 60 };
  return u;
}

const cfg = (o: CouponConfigInput = {}) => CouponConfigSchema.parse(o);

function page(
  coupons: Coupon[],
  opts: {
    user?: UserState | undefined;
    status?: Map<string, CouponStatus>;
    claims?: Map<string, number>;
    cfg?: CouponConfigInput;
  } = {},
) {
  const st = opts.status ?? new Map(coupons.map((c) => [c.id, status()]));
  const c = cfg(opts.cfg);
  const available = offerable(coupons, st, opts.claims, NOW);
  const offers = bestOffers(ITEMS, available, { user: 'user' in opts ? opts.user : hunter(), now: NOW, status: st }, c);
  return attachCoupons(ITEMS, offers, c, true) as Array<
    CouponPageItem & {
      coupon?: { id: string; discount: number; expected_value: number };
      coupon_affinity?: Record<string, unknown>;
    }
  >;
}
const withCoupon = (items: ReturnType<typeof page>) =>
  Object.fromEntries(items.filter((i) => i.coupon).map((i) => [i.id, i.coupon!.id]));

describe('attachCoupons', () => {
  it('attaches the best eligible coupon with its discount and expected value, debug shows the breakdown', () => {
    const items = page([
      coupon({ id: 'ten' }),
      coupon({ id: 'fifteen-sports', value: 15, eligibility: { categories: ['sports'] } }),
    ]);
    expect(withCoupon(items)).toEqual({ shoe: 'fifteen-sports', pan: 'ten', book: 'ten' });
    const shoe = items.find((i) => i.id === 'shoe')!;
    expect(shoe.coupon).toMatchObject({ discount: 15, expected_value: expect.any(Number) });
    expect(shoe.coupon!.expected_value).toBeGreaterThan(0);
    expect(shoe.coupon_affinity).toMatchObject({
      coupon_id: 'fifteen-sports',
      shown: true,
      p_claim: expect.any(Number),
      lift: expect.any(Number),
      time_factor: expect.any(Number),
      value: shoe.coupon!.expected_value,
    });
    expect(items.find((i) => i.id === 'noprice')!.coupon).toBeUndefined();
    // The order is untouched without a boost.
    expect(items.map((i) => i.id)).toEqual(ITEMS.map((i) => i.id));
  });

  it('never attaches a coupon to an ineligible shopper or item', () => {
    expect(
      withCoupon(page([coupon({ id: 'vip', eligibility: { segments: ['vip'] } })], { user: emptyUserState('u:new') })),
    ).toEqual({});
    expect(withCoupon(page([coupon({ id: 'new-only', eligibility: { segments: ['new'] } })]))).toEqual({});
    expect(withCoupon(page([coupon({ id: 'nike', eligibility: { brands: ['nike'] } })]))).toEqual({ shoe: 'nike' });
    expect(withCoupon(page([coupon({ id: 'cook', eligibility: { categories: ['home/cookware'] } })]))).toEqual({
      pan: 'cook',
    });
    expect(withCoupon(page([coupon({ id: 'big-spend', type: 'threshold', value: 10, min_spend: 50 })]))).toEqual({
      shoe: 'big-spend',
    });
    expect(withCoupon(page([coupon({ id: 'expired', valid_from: NOW - 2 * DAY, valid_until: NOW - DAY })]))).toEqual(
      {},
    );
    expect(withCoupon(page([coupon({ id: 'off', active: false })]))).toEqual({});
  });

  it("never attaches a coupon out of stock, with its budget gone, or at the shopper's limit", () => {
    const c = coupon({ id: 'c', per_user_limit: 2, budget: 1000 });
    expect(withCoupon(page([c], { status: new Map([['c', status({ stock_left: 0 })]]) }))).toEqual({});
    expect(withCoupon(page([c], { status: new Map([['c', status({ budget_left: 0 })]]) }))).toEqual({});
    // Budget left covers the book's 2.00 off but not the shoe's 10.00.
    expect(withCoupon(page([c], { status: new Map([['c', status({ budget_left: 5 })]]) }))).toEqual({
      pan: 'c',
      book: 'c',
    });
    expect(withCoupon(page([c], { claims: new Map([['c', 2]]) }))).toEqual({});
    expect(withCoupon(page([c], { claims: new Map([['c', 1]]) }))).toEqual({ shoe: 'c', pan: 'c', book: 'c' });
    // A coupon the ledger has no status for is not offered.
    expect(withCoupon(page([c], { status: new Map() }))).toEqual({});
  });

  it('honours the threshold: below min_value the coupon stays off the item (debug says why)', () => {
    const items = page([coupon({ id: 'ten' })], { cfg: { min_value: 1e6 } });
    expect(withCoupon(items)).toEqual({});
    expect(items[0]!.coupon_affinity).toMatchObject({ coupon_id: 'ten', shown: false });
    // A shopper who buys anyway, never with coupons: value below 0, not shown at the default threshold.
    const loyal = emptyUserState('u:l');
    loyal.counts = { ...loyal.counts, purchase: 30, click: 32 };
    expect(withCoupon(page([coupon({ id: 'ten' })], { user: loyal }))).toEqual({});
  });

  it('boost reorders the page by expected value relative to price', () => {
    const c = coupon({ id: 'books', value: 40, eligibility: { categories: ['books'] } });
    const plain = page([c]);
    expect(plain.map((i) => i.id)).toEqual(['shoe', 'pan', 'book', 'noprice']);
    const boosted = page([c], { cfg: { boost: 50 } });
    expect(boosted.map((i) => i.id)).toEqual(['book', 'shoe', 'pan', 'noprice']);
    const book = boosted[0]!;
    expect(book.score).toBeGreaterThan(0.9);
    expect(book.coupon_affinity!.score_before_boost).toBe(0.7);
  });
});

describe('CouponOffers', () => {
  const ledger = (coupons: Coupon[], calls: { list: number; claims: number }, fail = false): CouponReader => ({
    list: async () => {
      calls.list++;
      if (fail) throw new Error('ledger down');
      return coupons;
    },
    status: async (ids) => new Map(ids.map((id) => [id, status()])),
    claimsOf: async (_subject, ids) => {
      calls.claims++;
      return new Map(ids.map((id) => [id, 0]));
    },
  });
  const state = {
    getUsers: async (s: readonly string[]) => new Map(s.map((x) => [x, hunter()])),
  } as unknown as StateStore;

  it('reads the coupon list once per cache period and the claims once per request', async () => {
    const calls = { list: 0, claims: 0 };
    const offers = new CouponOffers(ledger([coupon({ id: 'ten' })], calls), cfg(), { state });
    const a = await offers.apply(ITEMS, { surface: 'search', shopper: 'u:h', debug: true, now: NOW });
    await offers.apply(ITEMS, { surface: 'feed', shopper: 'u:h', debug: false, now: NOW + 500 });
    expect(calls).toEqual({ list: 1, claims: 2 });
    expect(a.items.filter((i) => (i as { coupon?: unknown }).coupon).length).toBe(3);
    expect(a.debug).toMatchObject({ live: 1, attached: 3 });
    await offers.apply(ITEMS, { surface: 'search', debug: false, now: NOW + 1500 });
    expect(calls).toEqual({ list: 2, claims: 2 });
  });

  it("a session linked to a user is held to the user's claims", async () => {
    const linked = { ...emptyUserState('s:x'), linked_to: 'u:h' };
    const linkedState = {
      getUsers: async (s: readonly string[]) => new Map(s.map((x) => [x, x === 's:x' ? linked : hunter()])),
    } as unknown as StateStore;
    const reader: CouponReader = {
      list: async () => [coupon({ id: 'ten' })],
      status: async (ids) => new Map(ids.map((id) => [id, status()])),
      claimsOf: async (subject, ids) => new Map(ids.map((id) => [id, subject === 'u:h' ? 1 : 0])),
    };
    const offers = new CouponOffers(reader, cfg(), { state: linkedState });
    const res = await offers.apply(ITEMS, { surface: 'feed', shopper: 's:x', debug: false, now: NOW });
    expect(res.items.some((i) => (i as { coupon?: unknown }).coupon)).toBe(false);
    const anon = await offers.apply(ITEMS, { surface: 'feed', shopper: 's:other', debug: false, now: NOW });
    expect(anon.items.some((i) => (i as { coupon?: unknown }).coupon)).toBe(true);
  });

  it('a failing ledger serves the page without coupons and says so', async () => {
    const offers = new CouponOffers(ledger([coupon({ id: 'ten' })], { list: 0, claims: 0 }, true), cfg(), { state });
    const res = await offers.apply(ITEMS, { surface: 'search', shopper: 'u:h', debug: false, now: NOW });
    expect(res.items).toBe(ITEMS);
    expect(res.degraded).toEqual({ route: 'coupons', reason: 'ledger down' });
  });
});
