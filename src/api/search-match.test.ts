import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoShop, type DemoShop } from '../../test/helpers/demo-service.ts';

/** What the demo catalog answers by default: matches only, a true zero, and the count of matches. */
let shop: DemoShop;
beforeAll(async () => {
  shop = await demoShop('shelf-search-match-');
}, 120_000);
afterAll(() => {});

interface Body {
  items: Array<{ id: string; title: string; category?: string; debug?: Record<string, number> }>;
  total: number;
  notice?: { code: string; message: string };
}
const search = (s: { app: { request(u: string): Response | Promise<Response> } }, q: string, extra = '') =>
  Promise.resolve(s.app.request(`/v1/search?q=${encodeURIComponent(q)}${extra}`)).then(async (r) => {
    expect(r.status).toBe(200);
    return (await r.json()) as Body;
  });

describe('search matches (demo catalog, shipped model and settings)', () => {
  it('a query the shop has nothing for answers 200, no items, total 0, and says so', async () => {
    await shop.withService({}, async (s) => {
      for (const q of ['television', 'refrigerator', 'sofa']) {
        const body = await search(s, q);
        expect(body.items).toEqual([]);
        expect(body.total).toBe(0);
        expect(body.notice).toEqual({ code: 'no_match', message: `no product matches ${JSON.stringify(q)}` });
      }
    });
  });

  it('total counts the matching products, not the candidate pool', async () => {
    await shop.withService({}, async (s) => {
      const body = await search(s, 'yoga mat', '&size=100&debug=true');
      expect(body.notice).toBeUndefined();
      expect(body.total).toBe(body.items.length);
      expect(body.total).toBeLessThan(100);
      // Every item shown is a match: a lexical hit, or a neighbour at least the model's threshold close.
      for (const it of body.items) {
        const d = it.debug!;
        expect(d.bm25_rank !== undefined || (d.vector_score ?? 0) >= shop.embedder.similarityThreshold!).toBe(true);
      }
    });
  });

  it('facets, a price sort and total count the same match set, similarity threshold included', async () => {
    await shop.withService({}, async (s) => {
      const none = (await search(s, 'television', '&facets=brand,category,in_stock&sort=price:asc')) as Body & {
        facets: Record<string, Array<{ count: number }>>;
      };
      expect(none.total).toBe(0);
      expect(none.items).toEqual([]);
      for (const f of ['brand', 'category', 'in_stock']) expect(none.facets[f]).toEqual([]);

      const mats = (await search(s, 'yoga mat', '&facets=in_stock&size=100')) as Body & {
        facets: { in_stock: Array<{ count: number }> };
      };
      const sorted = await search(s, 'yoga mat', '&sort=price:asc&size=100');
      expect(mats.facets.in_stock.reduce((n, v) => n + v.count, 0)).toBe(mats.total);
      expect(sorted.total).toBe(mats.total);
      expect(sorted.items.map((i) => i.id).sort()).toEqual(mats.items.map((i) => i.id).sort());
    });
  });

  it('"noise cancelling headphones" shows only headphones and earbuds in its top 5 without the ranker', async () => {
    await shop.withService({ SHELF_RANK: 'off' }, async (s) => {
      const body = await search(s, 'noise cancelling headphones', '&size=5');
      expect(body.items).toHaveLength(5);
      for (const it of body.items) expect(it.category).toMatch(/Headphones|Earbuds/i);
    });
  });

  it('the shipped settings (ranker on) keep good matches on top: search ranking is off by default', async () => {
    await shop.withService({}, async (s) => {
      const body = await search(s, 'noise cancelling headphones', '&size=5&debug=true');
      expect(body.items).toHaveLength(5);
      for (const it of body.items) expect(it.category).toMatch(/Headphones|Earbuds/i);
      expect(await search(s, 'television')).toMatchObject({ items: [], total: 0 });
    });
  });
});
