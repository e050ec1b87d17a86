import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { demoShop, type DemoShop } from '../../test/helpers/demo-service.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { loadConfig, ROOT } from '../config.ts';
import { openService, type Service } from '../service.ts';
import { DEFAULT_SEQUENCE_MODEL_DIR } from '../settings/schema.ts';

/**
 * The shipped sequence model (models/sequence/default, trained on the demo catalog's simulated
 * browsing): `npm start` serves the feed's `sequence` route with no training, products it never saw
 * get a vector from their text, and a catalog its item table does not match falls back cleanly.
 */
const DEMO = path.join(ROOT, 'data/demo/catalog.jsonl');
const demo = readFileSync(DEMO, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { id: string; title: string; category?: string });
const demoIds = new Set(demo.map((p) => p.id));

interface FeedBody {
  items: Array<{ id: string; routes?: Record<string, { rank: number; score: number }> }>;
  cold_start: boolean;
  degraded?: unknown[];
}
let n = 0;
async function click(s: Service, user: string, ids: readonly string[]): Promise<void> {
  const events = ids.map((id, i) => ({
    event_id: `seq-${++n}`,
    type: 'click',
    user_id: user,
    product_id: id,
    ts: Date.now() - 1000 * (ids.length - i),
  }));
  const res = await s.app.request('/v1/events', {
    method: 'POST',
    body: JSON.stringify({ events }),
    headers: { 'content-type': 'application/json' },
  });
  expect(res.status).toBe(200);
  for (let i = 0; i < 300 && !(await s.behavior.state.applied([`seq-${n}`])).size; i++)
    await new Promise((r) => setTimeout(r, 10));
}
const getFeed = async (s: Service, user: string) => {
  const res = await s.app.request(`/v1/feed?user_id=${user}&size=20&debug=true`);
  expect(res.status).toBe(200);
  return (await res.json()) as FeedBody;
};

describe('the shipped sequence model on the demo shop', () => {
  let shop: DemoShop;
  beforeAll(async () => {
    shop = await demoShop('shelf-feed-sequence-');
  }, 120_000);

  it('is served by default, and its item table is the demo catalog', async () => {
    await shop.withService({}, async (s) => {
      const meta = JSON.parse(readFileSync(path.join(DEFAULT_SEQUENCE_MODEL_DIR, 'metadata.json'), 'utf8')) as {
        version: string;
      };
      expect(s.sequence.status).toMatchObject({ active: true, model_version: meta.version });
      const table = s.sequence.model!.itemIds;
      expect(table.every((id) => demoIds.has(id))).toBe(true);
      expect(s.sequence.model!.coverage(demoIds)).toBeGreaterThan(0.9);
      // Demo products the simulated shoppers never reached are served with their text's projection.
      expect(s.sequence.status.projected).toBe(demo.filter((p) => !s.sequence.model!.has(p.id)).length);
    });
  });

  it("answers a shopper's clicks with the sequence route, demo products only, the clicked ones left out", async () => {
    await shop.withService({}, async (s) => {
      const laptops = demo.filter((p) => p.category === 'Electronics/Computers/Laptops').map((p) => p.id);
      await click(s, 'seq-alice', laptops.slice(0, 3));
      const feed = await getFeed(s, 'seq-alice');
      expect(feed.cold_start).toBe(false);
      expect(feed.degraded).toBeUndefined();
      const bySequence = feed.items.filter((i) => i.routes?.['sequence'] !== undefined);
      expect(bySequence.length).toBeGreaterThan(0);
      for (const i of feed.items) expect(demoIds.has(i.id)).toBe(true);
      for (const id of laptops.slice(0, 3)) expect(feed.items.map((i) => i.id)).not.toContain(id);
    });
    // Off (an empty model folder): no sequence route, the other routes serve the same shopper.
    await shop.withService({ SHELF_SEQUENCE_MODEL_DIR: '' }, async (off) => {
      expect(off.sequence.status).toEqual({ active: false, reason: 'no sequence model configured' });
      const feed = await getFeed(off, 'seq-alice');
      expect(feed.cold_start).toBe(false);
      expect(feed.items.some((i) => i.routes?.['sequence'] !== undefined)).toBe(false);
    });
  });

  it('gives a product added after training a vector from its text: recalled by the route and in similar items', async () => {
    const dir = tempDir('shelf-feed-sequence-new-');
    const laptop = demo.find((p) => p.category === 'Electronics/Computers/Laptops')!;
    const fresh = {
      ...JSON.parse(
        readFileSync(DEMO, 'utf8')
          .split('\n')
          .find((l) => l.includes(`"${laptop.id}"`))!,
      ),
      id: 'NEW-LAPTOP-1',
      title: `${laptop.title} (2027 edition)`,
    };
    const catalog = path.join(dir, 'catalog.jsonl');
    writeJsonl(catalog, [
      ...readFileSync(DEMO, 'utf8')
        .split('\n')
        .filter((l) => l.trim()),
      fresh,
    ]);
    const s = await openService(
      loadConfig({ SHELF_DATA_DIR: path.join(dir, 'data'), SHELF_CATALOG: '', SHELF_CONSUMER: 'inline' }),
      { embedder: shop.embedder, catalog, log: () => {} },
    );
    try {
      expect(s.sequence.model!.has('NEW-LAPTOP-1')).toBe(false);
      expect(s.sequence.status.projected).toBeGreaterThanOrEqual(1);
      // Similar items of the new product: its projected vector's neighbours, through the route.
      const near = await s.sequence.neighbours('NEW-LAPTOP-1', 10);
      expect(near.length).toBe(10);
      const similar = (await (
        await s.app.request('/v1/products/NEW-LAPTOP-1/similar?size=20&debug=true')
      ).json()) as FeedBody;
      expect(similar.items.some((i) => i.routes?.['sequence'] !== undefined)).toBe(true);
      // The feed's route recommends it: after some product, it is among the route's top 20.
      const reached: string[] = [];
      for (const id of s.sequence.model!.itemIds)
        if ((await s.sequence.recall([id], 20)).some((h) => h.id === 'NEW-LAPTOP-1')) reached.push(id);
      expect(reached.length).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  }, 120_000);
});

describe('the shipped sequence model on a catalog it was not trained on', () => {
  let s: Service;
  beforeAll(async () => {
    const dir = tempDir('shelf-feed-sequence-foreign-');
    const catalog = writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS);
    s = await openService(
      loadConfig({ SHELF_DATA_DIR: path.join(dir, 'data'), SHELF_CATALOG: '', SHELF_CONSUMER: 'inline' }),
      { embedder: new HashEmbedder(), catalog, log: () => {} },
    );
  });
  afterAll(async () => s?.close());

  it('refuses the model (its item table does not match) and the feed serves from the other routes', async () => {
    expect(s.sequence.status.active).toBe(false);
    expect(s.sequence.status.reason).toMatch(/in the catalog/);
    await click(s, 'seq-bob', ['p1', 'p2']);
    const feed = await getFeed(s, 'seq-bob');
    expect(feed.cold_start).toBe(false);
    expect(feed.items.length).toBeGreaterThan(0);
    expect(feed.degraded).toBeUndefined();
    expect(feed.items.some((i) => i.routes?.['sequence'] !== undefined)).toBe(false);
  });
});
