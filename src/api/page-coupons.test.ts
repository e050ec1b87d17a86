import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CouponConfigSchema } from '../../coupons/config.ts';
import { CouponSchema, type CouponInput } from '../../coupons/coupon.ts';
import type { CouponLedger } from '../../coupons/ledger.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { tempDir } from '../../test/helpers/catalog.ts';
import { createApp } from '../app.ts';
import { loadConfig, ROOT } from '../config.ts';
import { openService, type Service } from '../service.ts';
import { servedEntry } from '../../test/helpers/served.ts';

const CATALOG = path.join(ROOT, 'data/demo/catalog.jsonl');
const HOUR = 3_600_000;
let service: Service;
let dataDir: string;

const define = (c: Partial<CouponInput> & { id: string }) =>
  service.coupons.define(
    CouponSchema.parse({
      name: c.id,
      type: 'percent',
      value: 10,
      valid_from: Date.now() - HOUR,
      valid_until: Date.now() + 72 * HOUR,
      stock: 100,
      ...c,
    }),
  );

interface Item {
  id: string;
  category?: string;
  price?: number;
  coupon?: { id: string; name: string; type: string; discount: number; expected_value: number };
  debug?: { p_cvr?: number; coupon_affinity?: Record<string, unknown> };
}

beforeAll(async () => {
  dataDir = path.join(tempDir('shelf-page-coupons-'), 'data');
  // No ledger cache, so each test sees the coupons it defines.
  service = await openService(
    loadConfig({
      SHELF_DATA_DIR: dataDir,
      SHELF_CATALOG: '',
      SHELF_CONSUMER: 'inline',
      SHELF_COUPON_CACHE_MS: '0',
      // The coupon affinity reads the ranker's pCVR on search: search ranked by the model.
      SHELF_RANK_SEARCH: 'model',
    }),
    { embedder: new HashEmbedder(), catalog: CATALOG },
  );
  await define({ id: 'sports15', value: 15, eligibility: { categories: ['Sports'] } });
  await define({ id: 'vip-only', value: 40, eligibility: { segments: ['vip'] } });
  await define({ id: 'sold-out', value: 45, stock: 0 });
  await define({ id: 'expired', value: 45, valid_from: Date.now() - 72 * HOUR, valid_until: Date.now() - HOUR });
}, 120_000);
afterAll(async () => service?.close());

const search = async (q: string, extra = '') =>
  (await service.app.request(`/v1/search?q=${encodeURIComponent(q)}&size=20&debug=true${extra}`)).json() as Promise<{
    items: Item[];
    degraded?: unknown[];
    debug: { coupons: Record<string, unknown> };
  }>;

describe('coupons on /v1/search and /v1/feed (demo catalog, embedded ledger)', () => {
  it('search items eligible for a coupon carry it, with its expected value and, under debug, the affinity', async () => {
    const body = await search('running shoes', '&user_id=anna');
    const withCoupon = body.items.filter((i) => i.coupon);
    expect(withCoupon.length).toBeGreaterThan(0);
    for (const it of withCoupon) {
      expect(it.category!.toLowerCase().startsWith('sports')).toBe(true);
      expect(it.coupon).toMatchObject({
        id: 'sports15',
        name: 'sports15',
        type: 'percent',
        discount: Math.floor(it.price! * 15) / 100,
      });
      expect(it.coupon!.expected_value).toBeGreaterThan(0);
      // The ranker served a model: its pCVR is the affinity's base conversion.
      expect(it.debug!.coupon_affinity!.p_cvr as number).toBeCloseTo(it.debug!.p_cvr!, 5);
      expect(it.debug!.coupon_affinity).toMatchObject({
        coupon_id: 'sports15',
        shown: true,
        p_claim: expect.any(Number),
        p_redeem: expect.any(Number),
        price_sensitivity: expect.any(Number),
        p_cvr: expect.any(Number),
        lift: expect.any(Number),
        time_factor: expect.any(Number),
        expected_incremental_gmv: expect.any(Number),
        expected_cost: expect.any(Number),
        value: it.coupon!.expected_value,
      });
    }
    // Outside the coupon's categories, nothing; vip-only, sold-out and expired never show to this new shopper.
    for (const it of body.items.filter((i) => !i.category?.toLowerCase().startsWith('sports')))
      expect(it.coupon).toBeUndefined();
    expect(body.debug.coupons).toMatchObject({ live: 2, min_value: 0 });
  });

  it('no debug, no breakdown; the coupon stays, and the served log records it', async () => {
    const body = (await (await service.app.request('/v1/search?q=running%20shoes&size=20&user_id=anna')).json()) as {
      request_id: string;
      items: Item[];
    };
    const it = body.items.find((i) => i.coupon)!;
    expect(it.coupon!.id).toBe('sports15');
    expect(it.debug).toBeUndefined();
    const entry = await servedEntry(service, dataDir, body.request_id);
    expect(entry.items.map((i) => i.id)).toEqual(body.items.map((i) => i.id));
    const logged = entry.items.find((i) => i.id === it.id)!;
    expect(logged.coupon).toEqual({
      id: 'sports15',
      discount: it.coupon!.discount,
      expected_value: it.coupon!.expected_value,
    });
    expect(logged.features).toBeDefined();
  });

  it('the feed carries coupons too', async () => {
    await define({ id: 'everything5', value: 5 });
    const ids = (await search('shoes')).items.map((i) => i.id);
    const events = ids.slice(0, 4).map((id, k) => ({
      event_id: `pc-${k}`,
      type: 'click',
      user_id: 'ben',
      product_id: id,
      ts: Date.now() - 1000 + k,
    }));
    await service.app.request('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    while (!(await service.behavior.state.applied(['pc-3'])).has('pc-3')) await new Promise((r) => setTimeout(r, 20));
    const body = (await (await service.app.request('/v1/feed?user_id=ben&size=10&debug=true')).json()) as {
      items: Item[];
    };
    const withCoupon = body.items.filter((i) => i.coupon);
    expect(withCoupon.length).toBeGreaterThan(0);
    for (const it of withCoupon) expect(['sports15', 'everything5']).toContain(it.coupon!.id);
    expect(withCoupon[0]!.debug!.coupon_affinity).toMatchObject({ shown: true });
    await service.coupons.deactivate('everything5');
  });

  it('search and feed read the shopper state once per request, for the ranker and the coupon stage', async () => {
    const state = service.behavior.state;
    const getUsers = state.getUsers.bind(state);
    const reads: string[] = [];
    state.getUsers = async (ids) => (reads.push(...ids), getUsers(ids));
    try {
      const body = await search('running shoes', '&user_id=anna');
      expect(body.items.some((i) => i.coupon)).toBe(true);
      expect(reads.filter((id) => id === 'u:anna')).toEqual(['u:anna']);
      reads.length = 0;
      await service.app.request('/v1/feed?user_id=anna&size=10');
      expect(reads.filter((id) => id === 'u:anna')).toEqual(['u:anna']);
    } finally {
      state.getUsers = getUsers;
    }
  });

  it('a failing ledger serves the results without coupons and says so', async () => {
    const broken = {
      list: async () => Promise.reject(new Error('ledger unreachable')),
      status: async () => new Map(),
      claimsOf: async () => new Map(),
    } as unknown as CouponLedger;
    const app = createApp({
      searcher: service.searcher,
      embedder: new HashEmbedder(),
      coupons: { ledger: broken },
      couponTargeting: CouponConfigSchema.parse({}),
    });
    const res = await app.request('/v1/search?q=running%20shoes&size=5');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: Item[]; degraded: unknown[] };
    expect(body.items.length).toBeGreaterThan(0);
    expect(body.items.every((i) => i.coupon === undefined)).toBe(true);
    expect(body.degraded).toEqual([{ route: 'coupons', reason: 'ledger unreachable' }]);
    expect(await (await app.request('/metrics')).text()).toMatch(/shelf_coupon_degraded_total\{surface="search"\} 1/);
  });
});
