/**
 * Feed settings from SHELF_FEED_CONFIG end to end, as `npm run eval -- feed` may choose them:
 * the item-CF confidence gate firing once shoppers have made the same step often enough (and debug
 * saying so), and a page for a new shopper although trending and category are weighted 0, or
 * although the shop has no events at all.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { loadConfig } from '../config.ts';
import { openService, type Service } from '../service.ts';

let service: Service;
let seq = 0;
const T0 = Date.now();

async function serve(settings: object): Promise<Service> {
  const dir = tempDir();
  const catalog = writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS);
  const feedConfig = path.join(dir, 'feed-config.json');
  writeFileSync(feedConfig, JSON.stringify(settings));
  const env = {
    SHELF_DATA_DIR: path.join(dir, 'data'),
    SHELF_CATALOG: '',
    SHELF_RANK: 'off',
    SHELF_MMR_FEED_ENABLED: 'false',
    SHELF_FEED_CONFIG: feedConfig,
  };
  return openService(loadConfig(env), { embedder: new HashEmbedder(), catalog });
}

beforeAll(async () => {
  // Item-CF scores are plain co-occurrence counts (cooc_alpha 0); confident from 3 shoppers making the
  // same step; scale 0: once item-CF is confident, the user-vector route only fills the tail.
  service = await serve({
    weights: { uservector: 1, itemcf: 1, trending: 0, category: 0 },
    rrf_k: 0,
    cooc_alpha: 0,
    itemcf_confident_score: 3,
    itemcf_confident_scale: 0,
  });
});
afterAll(async () => service?.close());

const click = (user: string, product: string) => ({
  event_id: `g${++seq}`,
  ts: T0 + seq,
  type: 'click',
  user_id: user,
  product_id: product,
});
async function send(events: unknown[], to = service): Promise<void> {
  const res = await to.app.request('/v1/events', {
    method: 'POST',
    body: JSON.stringify(events),
    headers: { 'content-type': 'application/json' },
  });
  expect(res.status).toBe(200);
  for (let i = 0; i < 300; i++) {
    if ((await to.behavior.state.applied([`g${seq}`])).has(`g${seq}`)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('consumer did not catch up');
}
type Body = {
  items: Array<{ id: string; score: number; routes?: Record<string, { rank: number }> }>;
  debug: { itemcf_gate: { score: number; scale: number; confident: boolean } };
};
const feed = async (user: string): Promise<Body> =>
  (await service.app.request(`/v1/feed?user_id=${user}&size=6&debug=true`)).json() as Promise<Body>;

describe('item-CF confidence gate', () => {
  it('lets the user vector in while co-occurrence is thin, and puts item-CF first once it is strong', async () => {
    await send([click('a', 'p1'), click('a', 'p2')]);
    await send([click('me', 'p1')]);
    const thin = await feed('me');
    expect(thin.debug.itemcf_gate).toEqual({ score: 3, scale: 0, confident: false });
    // Items only the user vector found keep their weight (1 / rank with rrf_k 0) ...
    const uvOnly = (b: Body) => b.items.filter((it) => it.routes!.itemcf === undefined);
    expect(uvOnly(thin).length).toBeGreaterThan(0);
    for (const it of uvOnly(thin)) expect(it.score).toBeCloseTo(1 / it.routes!.uservector!.rank, 9);

    for (const u of ['b', 'c', 'd']) await send([click(u, 'p1'), click(u, 'p2')]);
    const strong = await feed('me');
    expect(strong.debug.itemcf_gate.confident).toBe(true);
    expect(strong.items[0]!.id).toBe('p2');
    // Every item item-CF found comes before every item only another route found.
    // ... and lose it once item-CF is confident.
    expect(uvOnly(strong).length).toBeGreaterThan(0);
    for (const it of uvOnly(strong)) expect(it.score).toBe(0);
    const found = strong.items.map((it) => it.routes!.itemcf !== undefined);
    expect(found.indexOf(false) === -1 || found.lastIndexOf(true) < found.indexOf(false)).toBe(true);
  });

  it('gives a new shopper a page of best-sellers although trending and category are weighted 0', async () => {
    const body = await feed('nobody-yet');
    // the two products anyone has touched, most touched first (p1 by 5 shoppers, p2 by 4), then the
    // catalog's in-stock products by id fill the page (p4 is out of stock)
    expect(body.items.map((i) => i.id)).toEqual(['p1', 'p2', 'p3', 'p5', 'p6', 'p7']);
    for (const it of body.items.slice(0, 2)) expect(it.routes).toEqual({ trending: expect.any(Object) });
    for (const it of body.items.slice(2)) expect(it.routes).toEqual({ catalog: expect.any(Object) });
  });

  it('fills the page of a new shopper from the catalog in a shop with no events yet', async () => {
    const fresh = await serve({});
    try {
      const res = await fresh.app.request('/v1/feed?user_id=first&size=3&debug=true');
      const body = (await res.json()) as Body & { cold_start: boolean };
      expect(body.cold_start).toBe(true);
      expect(body.items.map((i) => i.id)).toEqual(['p1', 'p2', 'p3']);
      for (const it of body.items) expect(it.routes).toEqual({ catalog: { rank: expect.any(Number), score: 0 } });
      // In the context category only, and never what is out of stock.
      const inContext = await fresh.app.request('/v1/feed', {
        method: 'POST',
        body: JSON.stringify({ user_id: 'first', size: 5, context: { category: 'Clothing' } }),
        headers: { 'content-type': 'application/json' },
      });
      expect(((await inContext.json()) as Body).items).toEqual([]);
      const audio = await fresh.app.request('/v1/feed', {
        method: 'POST',
        body: JSON.stringify({ user_id: 'first', size: 5, context: { category: 'Electronics/Audio' } }),
        headers: { 'content-type': 'application/json' },
      });
      expect(((await audio.json()) as Body).items.map((i) => i.id)).toEqual(['p7', 'p8']);
    } finally {
      await fresh.close();
    }
  });

  it('tops the page up when what the routes found is out of stock', async () => {
    // Item-CF alone: the only step others made from p1 leads to p4, which is out of stock.
    const only = await serve({ weights: { uservector: 0, itemcf: 1, trending: 0, category: 0 } });
    try {
      for (const u of ['a', 'b']) await send([click(u, 'p1'), click(u, 'p4')], only);
      await send([click('c', 'p2')], only);
      await send([click('me', 'p1')], only);
      const res = await only.app.request('/v1/feed?user_id=me&size=1&debug=true');
      const body = (await res.json()) as Body;
      // p4 was found and dropped; the page is not left empty: the best-seller p2 fills it (p1, the
      // shopper's own recent item, is left out like any recent item).
      expect(body.items.map((i) => i.id)).toEqual(['p2']);
      expect(body.items[0]!.routes).toEqual({ trending: expect.any(Object) });
    } finally {
      await only.close();
    }
  });
});
