import { describe, expect, it } from 'vitest';
import type { ServedEntry } from '../../behavior/served-log.ts';
import { ExperimentSchema, type Experiment } from '../../pipeline/experiments/experiment.ts';
import { attribute, type LoggedEvent } from './attribution.ts';
import { experimentReport } from './experiment.ts';
import { shopReport } from './shop.ts';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const HOUR = 3_600_000;
const exp: Experiment = {
  ...ExperimentSchema.parse({
    id: 'x',
    surface: 'all',
    status: 'running',
    arms: [
      { name: 'control', weight: 1 },
      { name: 'b', weight: 1, overrides: { 'ranking.mode': 'off' } },
    ],
  }),
  created_at: T0,
};
const entry = (id: string, user: string, arm: string | undefined, o: Partial<ServedEntry> = {}): ServedEntry => ({
  request_id: id,
  surface: 'search',
  ts: T0,
  subject: `u:${user}`,
  query: 'shoes',
  items: [
    { id: 'P1', position: 0, score: 1 },
    { id: 'P2', position: 1, score: 0.5 },
  ],
  ...(arm && { experiment: { id: 'x', arm } }),
  ...o,
});
const ev = (type: string, user: string, o: Partial<LoggedEvent> = {}): LoggedEvent => ({
  type,
  user_id: user,
  ts: T0 + 1000,
  ...o,
});

describe('attribution', () => {
  it('credits by request_id, or a purchase within the window after a click on the same product', () => {
    const served = [entry('r1', 'a', 'control'), entry('r2', 'b', 'b')];
    const a = attribute(
      served,
      [
        ev('click', 'a', { request_id: 'r1', product_id: 'P2' }),
        ev('add_to_cart', 'a', { request_id: 'r1', product_id: 'P2' }),
        ev('purchase', 'a', { product_id: 'P2', price: 30, quantity: 2, ts: T0 + HOUR }),
        ev('click', 'b', { request_id: 'r2', product_id: 'P1' }),
        // Outside the window: nobody's.
        ev('purchase', 'b', { product_id: 'P1', price: 10, ts: T0 + 30 * HOUR }),
        // Another product than the one clicked: nobody's.
        ev('purchase', 'b', { product_id: 'P2', price: 10, ts: T0 + HOUR }),
        ev('coupon_redeem', 'a', { request_id: 'r1', coupon_id: 'c', price: 5 }),
      ],
      { windowMs: 24 * HOUR },
    );
    const r1 = a.outcomes.get('r1')!;
    expect([...r1.clicks]).toEqual(['P2']);
    expect(r1.clickedPositions).toEqual([1]);
    expect([...r1.carts]).toEqual(['P2']);
    expect(r1.revenue).toBe(60);
    expect(r1.couponCost).toBe(5);
    expect(a.outcomes.get('r2')!.purchases.size).toBe(0);
    expect(a.purchases).toEqual({ by_request_id: 0, by_click_window: 1, unattributed: 2 });
  });
});

describe('experiment report', () => {
  it('counts per arm and surface, compares with control, and asks for more data when it is thin', () => {
    const served = [
      entry('r1', 'a', 'control'),
      entry('r2', 'a', 'control', { surface: 'feed', query: undefined }),
      entry('r3', 'b', 'b'),
      entry('r4', 'c', 'b'),
      entry('r5', 'd', 'control'),
      entry('r6', 'z', undefined),
      { ...entry('r7', 'e', 'b'), experiment: { id: 'other', arm: 'b' } },
    ];
    const r = experimentReport(
      exp,
      served,
      [
        ev('click', 'a', { request_id: 'r1', product_id: 'P1' }),
        ev('purchase', 'a', { request_id: 'r1', product_id: 'P1', price: 20 }),
        ev('click', 'b', { request_id: 'r3', product_id: 'P1' }),
        ev('click', 'z', { request_id: 'r6', product_id: 'P1' }),
        // No request named: the shopper's arm pays for it.
        ev('coupon_redeem', 'b', { coupon_id: 'c', price: 4, ts: T0 + 5000 }),
      ],
      { windowMs: HOUR },
    );
    const all = (arm: string) => r.rows.find((x) => x.surface === 'all' && x.arm === arm)!;
    expect(all('control')).toMatchObject({ requests: 3, shoppers: 2 });
    expect(all('b')).toMatchObject({ requests: 2, shoppers: 2 });
    expect(all('control').metrics.ctr.value).toBeCloseTo(1 / 3, 10);
    expect(all('control').metrics.conversion.value).toBe(0.5);
    expect(all('control').metrics.revenue_per_shopper.value).toBe(10);
    expect(all('b').metrics.coupon_cost_per_shopper.value).toBe(2);
    expect(all('control').lift).toBeUndefined();
    expect(all('b').lift!.conversion.relative).toBe(-1);
    expect(r.rows.filter((x) => x.surface === 'feed').map((x) => [x.arm, x.requests])).toEqual([
      ['control', 1],
      ['b', 0],
    ]);
    expect(r.srm.mismatch).toBe(false);
    expect(r.shoppers_needed_per_arm).toBeGreaterThan(1000);
    expect(r.verdict.tone).toBe('wait');
    expect(r.verdict.text).toMatch(/^not enough data yet: about [\d,]+ more shoppers needed for a 5% lift$/);
  });

  it('names the winner with its interval when the lift is clear, and flags a broken split', () => {
    const served: ServedEntry[] = [];
    const events: LoggedEvent[] = [];
    for (let i = 0; i < 4000; i++) {
      const arm = i % 2 ? 'b' : 'control';
      served.push(entry(`r${i}`, `s${i}`, arm));
      if (i % (arm === 'b' ? 5 : 10) === 0 || (arm === 'b' && i % 10 === 3))
        events.push(ev('purchase', `s${i}`, { request_id: `r${i}`, product_id: 'P1', price: 10 }));
    }
    const r = experimentReport(exp, served, events, { windowMs: HOUR });
    expect(r.verdict.tone).toBe('good');
    expect(r.verdict.text).toMatch(
      /^b lifts conversion by \d+\.\d% \[\d+\.\d%, \d+\.\d%\] against control \(p = < 0\.001\)/,
    );
    const skewed = experimentReport(
      exp,
      served.slice(0, 3000).filter((s, i) => i % 2 === 1 || i < 1000),
      events,
      {
        windowMs: HOUR,
      },
    );
    expect(skewed.srm.mismatch).toBe(true);
    expect(skewed.verdict.text).toMatch(/^sample ratio mismatch/);
  });
});

describe('shop report', () => {
  it('zero-result queries, queries with few clicks, CTR by position, coupons', () => {
    const served = [
      entry('r1', 'a', undefined, { query: 'Shoes' }),
      entry('r2', 'b', undefined, { query: 'shoes ' }),
      entry('r3', 'c', undefined, { query: 'shoes' }),
      entry('r4', 'a', undefined, { query: 'xyzzy', items: [] }),
      entry('r5', 'a', undefined, { surface: 'feed', query: undefined }),
      entry('r9', 'a', undefined, { ts: T0 - 10 * HOUR }),
    ];
    const r = shopReport(
      served,
      [
        ev('click', 'a', { request_id: 'r1', product_id: 'P1' }),
        ev('click', 'a', { request_id: 'r5', product_id: 'P2' }),
        ev('coupon_claim', 'a', { coupon_id: 'c' }),
        ev('coupon_redeem', 'a', { coupon_id: 'c', price: 3 }),
      ],
      { windowMs: HOUR, from: T0 - HOUR, minSearches: 2 },
    );
    expect(r.search.searches).toBe(4);
    expect(r.search.zero_result_rate).toBe(0.25);
    expect(r.search.top_zero_result).toEqual([{ query: 'xyzzy', searches: 1 }]);
    expect(r.search.top_queries[0]).toEqual({ query: 'shoes', searches: 3, ctr: 1 / 3, conversion: 0 });
    expect(r.search.few_clicks.map((q) => q.query)).toEqual(['shoes']);
    expect(r.ctr_by_position).toEqual([
      { position: 0, impressions: 4, clicks: 1, ctr: 0.25 },
      { position: 1, impressions: 4, clicks: 1, ctr: 0.25 },
    ]);
    expect(r.surfaces.map((s) => [s.surface, s.requests])).toEqual([
      ['search', 4],
      ['feed', 1],
    ]);
    expect(r.coupons).toMatchObject({ claims: 1, redemptions: 1, spend: 3 });
    expect(r.warnings[0]).toMatch(/too little data: 4 searches/);
  });
});
