import { describe, expect, it } from 'vitest';
import { BehaviorConfigSchema, defaultBehaviorConfig } from './config.ts';
import { BehaviorEventSchema, validateEvents, type BehaviorEvent, type BehaviorEventInput } from './event.ts';
import { SqliteStateStore } from './embedded/sqlite-state-store.ts';
import { applyBatch } from './consumer.ts';
import { staticItems } from './item-lookup.ts';
import { applyEvents, emptyUserState, priceBand, queryVector, type ItemInfo, type UserState } from './user-state.ts';

const cfg = defaultBehaviorConfig();
const T0 = Date.UTC(2026, 0, 1);
let n = 0;
const ev = (e: Partial<BehaviorEventInput> & Pick<BehaviorEventInput, 'type'>): BehaviorEvent =>
  BehaviorEventSchema.parse({ event_id: `e${++n}`, user_id: 'u1', ts: T0, ...e });

const items = new Map<string, ItemInfo>([
  ['shoe', { vector: new Float32Array([1, 0, 0]), categoryKey: 'sports/shoes', brandKey: 'acme', price: 100 }],
  ['sock', { vector: new Float32Array([0, 1, 0]), categoryKey: 'sports/socks', brandKey: 'acme', price: 10 }],
  ['pan', { vector: new Float32Array([0, 0, 1]), categoryKey: 'kitchen', brandKey: 'chef', price: 40 }],
]);

function run(events: BehaviorEvent[], users = new Map<string, UserState>()) {
  const r = applyEvents(events, users, items, cfg);
  return { users, ...r };
}

describe('event validation', () => {
  it('accepts valid events and rejects each bad one with its index and field', () => {
    const { accepted, rejected } = validateEvents([
      { event_id: 'a', type: 'click', user_id: 'u', product_id: 'p', ts: T0 },
      { event_id: 'b', type: 'click', user_id: 'u', ts: T0 },
      { event_id: 'c', type: 'teleport', user_id: 'u', ts: T0 },
      { event_id: 'd', type: 'view', product_id: 'p', ts: T0 },
      { event_id: 'e', type: 'view', user_id: 'u', product_id: 'p', ts: '2026-01-01T00:00:00Z' },
      { event_id: 'f', type: 'view', user_id: 'u', product_id: 'p', ts: T0, colour: 'red' },
      'nonsense',
    ]);
    expect(accepted.map((e) => e.event_id)).toEqual(['a', 'e']);
    expect(accepted[1]!.ts).toBe(T0);
    expect(rejected.map((r) => [r.index, r.field])).toEqual([
      [1, 'product_id'],
      [2, 'type'],
      [3, 'user_id'],
      [5, 'colour'],
      [6, undefined],
    ]);
    expect(rejected[3]!.code).toBe('unknown_field');
  });
});

describe('applyEvents', () => {
  it('weights purchases over carts over clicks over views', () => {
    const a = run([ev({ type: 'view', product_id: 'shoe' }), ev({ type: 'purchase', product_id: 'sock' })]).users.get(
      'u:u1',
    )!;
    expect(a.short![1]!).toBeGreaterThan(a.short![0]!);
    const b = run([ev({ type: 'purchase', product_id: 'shoe' }), ev({ type: 'click', product_id: 'sock' })]).users.get(
      'u:u1',
    )!;
    expect(b.short![0]!).toBeGreaterThan(b.short![1]!);
    expect(cfg.weights.purchase).toBeGreaterThan(cfg.weights.add_to_cart);
    expect(cfg.weights.add_to_cart).toBeGreaterThan(cfg.weights.click);
    expect(cfg.weights.click).toBeGreaterThan(cfg.weights.view);
  });

  it('decays short-term interest in event time, long-term barely', () => {
    const hour = 3_600_000;
    const s = run([
      ev({ type: 'click', product_id: 'shoe' }),
      ev({ type: 'click', product_id: 'pan', ts: T0 + 2 * hour }),
    ]).users.get('u:u1')!;
    // Two hours = four short half-lives: the shoe is nearly forgotten this visit, not overall.
    expect(s.short![0]! / s.short![2]!).toBeCloseTo(1 / 16, 5);
    expect(s.long![0]! / s.long![2]!).toBeGreaterThan(0.99);
    const q = queryVector(s, T0 + 2 * hour, cfg)!;
    expect(q[2]!).toBeGreaterThan(q[0]!);
  });

  it('gives the same state whatever order the events arrive in', () => {
    const evs = [
      ev({ type: 'view', product_id: 'shoe', ts: T0 }),
      ev({ type: 'add_to_cart', product_id: 'sock', ts: T0 + 60_000 }),
      ev({ type: 'purchase', product_id: 'pan', ts: T0 + 120_000 }),
    ];
    const a = run(evs).users.get('u:u1')!;
    const b = run([evs[2]!, evs[0]!, evs[1]!]).users.get('u:u1')!;
    for (let i = 0; i < 3; i++) {
      expect(b.short![i]!).toBeCloseTo(a.short![i]!, 10);
      expect(b.long![i]!).toBeCloseTo(a.long![i]!, 10);
    }
    expect(b.categories['kitchen']).toBeCloseTo(a.categories['kitchen']!, 10);
    expect(b.recent.map((r) => r.id)).toEqual(a.recent.map((r) => r.id));
  });

  it('keeps recent items, purchases, shown items, affinities and price band', () => {
    const s = run([
      ev({ type: 'impression', product_id: 'pan' }),
      ev({ type: 'click', product_id: 'shoe', ts: T0 + 1 }),
      ev({ type: 'purchase', product_id: 'sock', ts: T0 + 2, coupon_id: 'c1' }),
      ev({ type: 'coupon_claim', coupon_id: 'c1', ts: T0 + 3 }),
    ]).users.get('u:u1')!;
    expect(s.recent.map((r) => r.id)).toEqual(['sock', 'shoe']);
    expect(s.purchased).toEqual(['sock']);
    expect(s.shown).toEqual(['pan']);
    expect(Object.keys(s.brands)).toEqual(['acme']);
    expect(s.coupons).toEqual({ claimed: 1, redeemed: 0, coupon_purchases: 1 });
    const band = priceBand(s)!;
    expect(band).toBeGreaterThan(10);
    expect(band).toBeLessThan(100);
  });

  it('emits co-occurrence with the previous items and trending per category level', () => {
    const { effects } = run([
      ev({ type: 'click', product_id: 'shoe' }),
      ev({ type: 'click', product_id: 'sock', ts: T0 + 1 }),
      ev({ type: 'click', product_id: 'sock', ts: T0 + 2 }),
    ]);
    expect(effects.cooc).toEqual([
      { a: 'shoe', b: 'sock', w: 1 },
      { a: 'sock', b: 'shoe', w: cfg.cooc_backward_weight },
    ]);
    expect(effects.trending.filter((t) => t.id === 'shoe').map((t) => t.scope)).toEqual(['', 'sports', 'sports/shoes']);
  });

  it('weights the backward pair (later → earlier item) by cooc_backward_weight', () => {
    const events = [
      ev({ type: 'click', product_id: 'shoe' }),
      ev({ type: 'click', product_id: 'sock', ts: T0 + 1 }),
      ev({ type: 'click', product_id: 'pan', ts: T0 + 2 }),
    ];
    const pairs = (backward: number) =>
      applyEvents(events, new Map(), items, BehaviorConfigSchema.parse({ cooc_backward_weight: backward })).effects
        .cooc;
    expect(pairs(0.5)).toEqual([
      { a: 'shoe', b: 'sock', w: 1 },
      { a: 'sock', b: 'shoe', w: 0.5 },
      { a: 'sock', b: 'pan', w: 1 },
      { a: 'pan', b: 'sock', w: 0.5 },
      { a: 'shoe', b: 'pan', w: 0.5 },
      { a: 'pan', b: 'shoe', w: 0.25 },
    ]);
    expect(pairs(0)).toEqual([
      { a: 'shoe', b: 'sock', w: 1 },
      { a: 'sock', b: 'pan', w: 1 },
      { a: 'shoe', b: 'pan', w: 0.5 },
    ]);
    expect(pairs(1).filter((p) => p.a === 'pan')).toEqual([
      { a: 'pan', b: 'sock', w: 1 },
      { a: 'pan', b: 'shoe', w: 0.5 },
    ]);
  });

  it('moves a session history to the user on identify, and later session events follow', () => {
    const users = new Map<string, UserState>();
    run([ev({ type: 'click', product_id: 'shoe', user_id: undefined, session_id: 's1' })], users);
    run([ev({ type: 'view', product_id: 'pan', ts: T0 + 5 })], users);
    run(
      [
        ev({ type: 'identify', session_id: 's1', ts: T0 + 10 }),
        ev({ type: 'click', product_id: 'sock', user_id: undefined, session_id: 's1', ts: T0 + 20 }),
      ],
      users,
    );
    const u = users.get('u:u1')!;
    expect(u.recent.map((r) => r.id)).toEqual(['sock', 'pan', 'shoe']);
    expect(u.counts.click).toBe(2);
    const s = users.get('s:s1')!;
    expect(s.linked_to).toBe('u:u1');
    expect(s.recent).toEqual([]);
  });

  it('bumps the version of every state it changes', () => {
    const users = new Map([['u:u1', { ...emptyUserState('u:u1'), version: 7 }]]);
    const { changed } = run([ev({ type: 'view', product_id: 'shoe' })], users);
    expect(changed.map((c) => c.version)).toEqual([8]);
  });
});

describe('event times far from the clock', () => {
  const HOUR = 3_600_000;
  const limits = { max_future_skew_ms: cfg.max_future_skew_ms, min_event_ts: cfg.min_event_ts };

  it('defaults: one hour of skew, nothing before 2000', () => {
    expect(cfg.max_future_skew_ms).toBe(HOUR);
    expect(cfg.min_event_ts).toBe(Date.UTC(2000, 0, 1));
  });

  it('validateEvents rejects a ts past the skew or before the earliest time, with field ts', () => {
    const base = { type: 'click', user_id: 'u', product_id: 'p' };
    const { accepted, rejected } = validateEvents(
      [
        { ...base, event_id: 'ok', ts: T0 + HOUR },
        { ...base, event_id: 'max', ts: 8_640_000_000_000_000 },
        { ...base, event_id: 'iso', ts: '9999-12-31T23:59:59Z' },
        { ...base, event_id: 'soon', ts: T0 + HOUR + 1 },
        { ...base, event_id: 'old', ts: Date.UTC(1999, 11, 31) },
      ],
      { now: T0, limits },
    );
    expect(accepted.map((e) => e.event_id)).toEqual(['ok']);
    expect(rejected.map((r) => [r.index, r.event_id, r.code, r.field])).toEqual([
      [1, 'max', 'invalid_event', 'ts'],
      [2, 'iso', 'invalid_event', 'ts'],
      [3, 'soon', 'invalid_event', 'ts'],
      [4, 'old', 'invalid_event', 'ts'],
    ]);
    expect(rejected[0]!.reason).toMatch(/ahead of the server clock/);
  });

  it('the reducer skips an event from the far future instead of decaying everything by it', () => {
    const users = new Map<string, UserState>();
    const future = ev({ type: 'purchase', product_id: 'pan', ts: 8_640_000_000_000_000 });
    const r = applyEvents(
      [ev({ type: 'click', product_id: 'shoe' }), future, ev({ type: 'click', product_id: 'sock', ts: T0 + 1 })],
      users,
      items,
      cfg,
      { now: T0 },
    );
    expect(r.skipped).toEqual([future]);
    expect(r.effects.trending.map((t) => t.id)).not.toContain('pan');
    expect(Math.max(...r.effects.trending.map((t) => t.ts))).toBe(T0 + 1);
    const u = users.get('u:u1')!;
    expect(u.ts).toBe(T0 + 1);
    expect(u.counts.purchase).toBe(0);
  });

  it('a stored far-future event does not zero trending', async () => {
    const store = new SqliteStateStore({ file: ':memory:', trendingHalfLifeMs: cfg.trending_half_life_ms });
    const now = Date.now();
    const rec = (e: BehaviorEvent, i: number) => ({ position: `${i}`, key: undefined, value: JSON.stringify(e) });
    const events = [
      ev({ type: 'click', product_id: 'shoe', ts: now - 1000 }),
      ev({ type: 'purchase', product_id: 'pan', ts: '9999-12-31T23:59:59Z' }),
    ];
    const r = await applyBatch(events.map(rec), {
      state: store,
      items: staticItems(items),
      config: cfg,
      now: () => now,
    });
    expect(r.events.map((e) => e.product_id)).toEqual(['shoe']);
    expect(r.deadLetters).toBe(1);
    const top = await store.trending('', 5);
    expect(top.map((t) => t.id)).toEqual(['shoe']);
    expect(top[0]!.score).toBeGreaterThan(0);
    await store.close();
  });
});
