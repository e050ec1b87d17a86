import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { indexCatalog } from '../../indexer/index-catalog.ts';
import { tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { demoShop, type DemoShop } from '../../test/helpers/demo-service.ts';
import type { Service } from '../service.ts';

/** GET /v1/suggest over HTTP on the demo catalog (327 products, English and Chinese), default settings. */
let shop: DemoShop;
beforeAll(async () => {
  shop = await demoShop('shelf-suggest-');
}, 120_000);

interface Suggestion {
  text: string;
  source: string;
  count: number;
  category?: string;
}
const get = async (s: Service, query: string) => {
  const res = await s.app.request(`/v1/suggest?${query}`);
  return { status: res.status, body: (await res.json()) as { suggestions: Suggestion[]; error?: unknown } };
};
const suggest = async (s: Service, q: string, size = 8) => {
  const { status, body } = await get(s, `q=${encodeURIComponent(q)}&size=${size}`);
  expect(status).toBe(200);
  return body.suggestions;
};

describe('GET /v1/suggest (demo catalog)', () => {
  it('completes "run" from titles, categories and brands, by product count', async () => {
    await shop.withService({}, async (s) => {
      const got = await suggest(s, 'run', 8);
      expect(got[0]).toEqual({ text: 'running', source: 'title', count: 7 });
      for (const x of got) {
        expect(x.text.toLowerCase()).toMatch(/(^|[\s-])run/);
        expect(['title', 'category', 'brand']).toContain(x.source);
      }
      const counts = got.map((x) => x.count);
      expect(counts).toEqual([...counts].sort((a, b) => b - a));
      expect(got).toContainEqual({
        text: 'Running Shoes',
        source: 'category',
        count: 6,
        category: 'Sports/Footwear/Running Shoes',
      });
      // Case and accents do not matter; a brand completes from its name.
      expect((await suggest(s, 'RUN', 8)).map((x) => x.text)).toEqual(got.map((x) => x.text));
      expect(await suggest(s, 'adid', 3)).toContainEqual({ text: 'adidas', source: 'brand', count: 4 });
    });
  });

  it('completes Chinese', async () => {
    await shop.withService({}, async (s) => {
      const got = await suggest(s, '跑步', 8);
      expect(got.length).toBeGreaterThan(0);
      for (const x of got) expect(x.text).toContain('跑步');
      expect(got).toContainEqual(expect.objectContaining({ text: '跑步鞋', source: 'category' }));
      expect((await suggest(s, '小', 8)).map((x) => x.text)).toContain('小米');
    });
  });

  it('bad input is a 400 naming the parameter; size is bounded by suggest.max_size', async () => {
    await shop.withService({ SHELF__SUGGEST__MAX_SIZE: '10' }, async (s) => {
      const cases: Array<[string, string, string]> = [
        ['size=5', 'invalid_query', 'q'],
        ['q=%20%20', 'invalid_query', 'q'],
        [`q=${'a'.repeat(101)}`, 'invalid_query', 'q'],
        ['q=run&size=0', 'invalid_parameter', 'size'],
        ['q=run&size=11', 'invalid_parameter', 'size'],
        ['q=run&size=two', 'invalid_parameter', 'size'],
        ['q=run&limit=5', 'unknown_parameter', 'limit'],
      ];
      for (const [query, code, field] of cases) {
        const { status, body } = await get(s, query);
        expect(status, query).toBe(400);
        expect(body.error, query).toMatchObject({ code, field });
      }
      expect(await suggest(s, 'r', 10)).toHaveLength(10);
      // Without a size: suggest.default_size (8).
      expect((await get(s, 'q=r')).body.suggestions).toHaveLength(8);
    });
  });

  it('suggests popular searches that found products first, never one that found nothing', async () => {
    await shop.withService({ SHELF__SUGGEST__MIN_QUERY_COUNT: '2' }, async (s) => {
      const searchAs = async (q: string, user: string) => {
        const res = await s.app.request(`/v1/search?q=${encodeURIComponent(q)}&user_id=${user}`);
        expect(res.status).toBe(200);
        return ((await res.json()) as { total: number }).total;
      };
      for (const u of ['ann', 'bob', 'cy']) expect(await searchAs('running shoes men', u)).toBeGreaterThan(0);
      for (const u of ['ann', 'bob']) expect(await searchAs('Running Socks', u)).toBeGreaterThan(0);
      // Searched often, found nothing: never suggested.
      for (const u of ['ann', 'bob', 'cy', 'dee']) expect(await searchAs('runcible spoon', u)).toBe(0);
      // Once only: below suggest.min_query_count.
      expect(await searchAs('running jacket', 'ann')).toBeGreaterThan(0);
      await s.served.flush();
      const suggester = s.suggester!;
      for (let i = 0; i < 300 && suggester.trackedQueries < 3; i++) await new Promise((r) => setTimeout(r, 10));
      suggester.refreshQueries();
      const got = await suggest(s, 'run', 8);
      expect(got.slice(0, 2)).toEqual([
        { text: 'running shoes men', source: 'query', count: 3 },
        { text: 'running socks', source: 'query', count: 2 },
      ]);
      expect(got[2]!.source).not.toBe('query');
      const all = (await suggest(s, 'run', 20)).map((x) => x.text);
      expect(all).not.toContain('runcible spoon');
      expect(all).not.toContain('running jacket');
    });
  });

  // Last: it adds a product to the shop's index.
  it('follows a new index generation without a restart', async () => {
    await shop.withService({}, async (s) => {
      expect(await suggest(s, 'kayak')).toEqual([]);
      const file = writeJsonl(path.join(tempDir('shelf-suggest-kayak-'), 'c.jsonl'), [
        { id: 'K1', title: 'Sea Kayak Touring Paddle', category: 'Sports/Water Sports/Kayaks', brand: 'Aquabound' },
      ]);
      await indexCatalog({ catalogPath: file, dataDir: shop.dataDir, backend: s.backend, embedder: shop.embedder });
      expect(await s.searcher.refresh()).toBe(true);
      // The request that sees the new generation is answered at once (from the old one); the
      // new one is built behind it.
      expect(await suggest(s, 'kayak')).toEqual([]);
      await s.suggester!.followIndex();
      expect(s.suggester!.generation).toBe(s.searcher.generation);
      expect(await suggest(s, 'kayak')).toEqual([
        { text: 'kayak', source: 'title', count: 1 },
        { text: 'Kayaks', source: 'category', count: 1, category: 'Sports/Water Sports/Kayaks' },
      ]);
    });
  });
});
