import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_COUNT } from '../ranking/features.ts';
import type { Searcher } from '../retrieval/recall/searcher.ts';
import { filterKey } from '../retrieval/index/stores.ts';
import { createApp } from '../src/app.ts';
import { ConfigError, ROOT, loadConfig } from '../src/config.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { createMetrics } from '../core/metrics.ts';
import type { Service } from '../src/service.ts';
import { demoShop, type DemoShop } from '../test/helpers/demo-service.ts';
import { diversify, servedVectors } from './apply.ts';
import { candidatesOf } from '../core/candidate.ts';
import { categoryCoverage, intraListDiversity } from './diversity.ts';
import { servedEntry as servedEntryIn } from '../test/helpers/served.ts';

const DEFAULT_MODEL = path.join(ROOT, 'models/ranker/default');

interface Item {
  id: string;
  brand?: string;
  category?: string;
  score: number;
  debug?: {
    p_ctr?: number;
    mmr?: {
      relevance: number;
      penalty: number;
      position_before: number;
      position_after: number;
      cap_relaxed?: boolean;
    };
  };
}
interface Body {
  request_id: string;
  items: Item[];
  debug?: {
    ranking: { mode: string };
    mmr: {
      enabled: boolean;
      lambda?: number;
      top_n?: number;
      similarity?: string;
      reason?: string;
      max_per_brand?: number;
    };
  };
}

let shop: DemoShop;
let embedder: TextEmbedder;
let dataDir: string;

beforeAll(async () => {
  shop = await demoShop('shelf-mmr-api-');
  ({ embedder, dataDir } = shop);
});

// MMR reorders a head of top_n (30) candidates; the demo catalog holds fewer matches than that for
// these queries, so every neighbour counts here (threshold -1): these tests are about MMR, not matching.
const withService = <T>(env: Record<string, string>, fn: (s: Service) => Promise<T>): Promise<T> =>
  shop.withService(
    {
      SHELF_RANK_MODEL_DIR: DEFAULT_MODEL,
      SHELF_RANK_SEARCH: 'model',
      SHELF__RETRIEVAL__MATCH__MIN_SIMILARITY: '-1',
      ...env,
    },
    fn,
  );

const get = async (app: { request(url: string): Response | Promise<Response> }, url: string): Promise<Body> => {
  const res = await app.request(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Body;
};

const vectorsOf = (searcher: Searcher, ids: string[]) =>
  searcher.withSnapshot(async (snap) => snap!.vectors!.vectorsOf!(ids));

const servedEntry = (s: Service, requestId: string) => servedEntryIn(s, dataDir, requestId);

describe('MMR configuration', () => {
  it('diversifies the feed by default and keeps search mild', () => {
    const c = loadConfig({});
    expect(c.diversity.feed).toMatchObject({ enabled: true, lambda: 0.7, max_per_brand: 3 });
    expect(c.diversity.search).toMatchObject({ enabled: true, lambda: 0.85, max_per_brand: 0 });
    expect(c.diversity.search.lambda).toBeGreaterThan(c.diversity.feed.lambda);
  });

  it('reads SHELF_MMR_<SURFACE>_* and refuses bad values naming the variable', () => {
    const c = loadConfig({
      SHELF_MMR_FEED_LAMBDA: '0.4',
      SHELF_MMR_FEED_TOP_N: '20',
      SHELF_MMR_SEARCH_ENABLED: 'false',
      SHELF_MMR_SEARCH_MAX_PER_CATEGORY: '2',
      SHELF_MMR_FEED_BRAND_WEIGHT: '',
    });
    expect(c.diversity.feed).toMatchObject({ lambda: 0.4, top_n: 20, brand_weight: 0.2 });
    expect(c.diversity.search).toMatchObject({ enabled: false, max_per_category: 2 });
    expect(() => loadConfig({ SHELF_MMR_FEED_LAMBDA: '1.5' })).toThrow(ConfigError);
    expect(() => loadConfig({ SHELF_MMR_FEED_LAMBDA: '1.5' })).toThrow(/SHELF_MMR_FEED_LAMBDA/);
    expect(() => loadConfig({ SHELF_MMR_SEARCH_LAMBDA: 'high' })).toThrow(/SHELF_MMR_SEARCH_LAMBDA/);
    expect(() => loadConfig({ SHELF_MMR_FEED_TOP_N: '2.5' })).toThrow(/SHELF_MMR_FEED_TOP_N/);
    expect(() => loadConfig({ SHELF_MMR_FEED_MAX_PER_BRAND: '-1' })).toThrow(/SHELF_MMR_FEED_MAX_PER_BRAND/);
    expect(() => loadConfig({ SHELF_MMR_SEARCH_ENABLED: 'maybe' })).toThrow(/SHELF_MMR_SEARCH_ENABLED/);
    expect(() => loadConfig({ SHELF_MMR_SEARCH_CATEGORY_WEIGHT: '0.7', SHELF_MMR_SEARCH_BRAND_WEIGHT: '0.6' })).toThrow(
      /SHELF_MMR_SEARCH_BRAND_WEIGHT: category_weight \+ brand_weight/,
    );
  });
});

describe('MMR on /v1/search and /v1/feed (demo catalog)', () => {
  it('search: debug shows the settings and, per item, relevance, penalty and position change; the served log keeps final positions and features', async () => {
    await withService({ SHELF_MMR_SEARCH_LAMBDA: '0.5' }, async (s) => {
      const body = await get(s.app, '/v1/search?q=headphones&size=8&debug=true&user_id=mia');
      expect(body.debug!.ranking.mode).toBe('model');
      expect(body.debug!.mmr).toMatchObject({ enabled: true, lambda: 0.5, top_n: 30, similarity: 'embeddings' });
      expect(body.items.length).toBe(8);
      body.items.forEach((it, i) => {
        const m = it.debug!.mmr!;
        expect(m.position_after).toBe(i);
        expect(m.relevance).toBeGreaterThanOrEqual(0);
        expect(m.relevance).toBeLessThanOrEqual(1);
        expect(m.penalty).toBeGreaterThanOrEqual(0);
        expect(typeof it.debug!.p_ctr).toBe('number');
      });
      expect(body.items[0]!.debug!.mmr!.penalty).toBe(0);
      const moved = body.items.filter((it) => it.debug!.mmr!.position_before !== it.debug!.mmr!.position_after);
      expect(moved.length).toBeGreaterThan(0);

      const entry = await servedEntry(s, body.request_id);
      expect(entry.items.map((it) => [it.id, it.position, it.rank_position])).toEqual(
        body.items.map((it, i) => [it.id, i, it.debug!.mmr!.position_before]),
      );
      expect(entry.items.every((it) => it.features?.length === FEATURE_COUNT)).toBe(true);
      entry.items.forEach((it, i) => expect(it.p_ctr).toBeCloseTo(body.items[i]!.debug!.p_ctr!, 8));

      const page2 = await get(s.app, '/v1/search?q=headphones&size=8&page=2&debug=true&user_id=mia');
      const placed = page2.items.map((it) => it.debug!.mmr?.position_after ?? -1).filter((p) => p >= 0);
      expect(placed.length).toBeGreaterThan(0);
      expect(placed.every((p) => p >= 8)).toBe(true);
      expect(page2.items.some((it) => body.items.some((b) => b.id === it.id))).toBe(false);
    });
  });

  it('the diversity stage the eval applies to a ranked answer gives exactly the served page', async () => {
    const url = (size: number) => `/v1/search?q=headphones&size=${size}&user_id=eve`;
    const served = await withService({ SHELF_MMR_SEARCH_LAMBDA: '0.5' }, async (s) =>
      (await get(s.app, url(10))).items.map((it) => it.id),
    );
    const offline = await withService({ SHELF_MMR_SEARCH_ENABLED: 'false' }, async (s) => {
      const ranked = candidatesOf(
        (await get(s.app, url(30))).items.map((it) => ({
          id: it.id,
          title: '',
          in_stock: true,
          score: it.score,
          ...(it.category !== undefined && { category: it.category }),
          ...(it.brand !== undefined && { brand: it.brand }),
        })),
      );
      const d = await diversify(
        ranked,
        { ...loadConfig({}).diversity.search, lambda: 0.5 },
        { vectors: servedVectors(s.searcher), pageSize: 10 },
      );
      return d.order.slice(0, 10).map((o) => o.id);
    });
    expect(offline).toEqual(served);
  });

  it('a page of near-duplicates gets diversified: higher intra-list diversity and category coverage, brand cap honoured', async () => {
    const q = '/v1/search?q=%E5%B0%8F%E7%B1%B3&size=6&debug=true'; // "小米": many Xiaomi products
    const off = await withService({ SHELF_RANK: 'off', SHELF_MMR_SEARCH_ENABLED: 'false' }, async (s) => {
      const b = await get(s.app, q);
      return {
        body: b,
        vectors: await vectorsOf(
          s.searcher,
          b.items.map((it) => it.id),
        ),
      };
    });
    const on = await withService(
      { SHELF_RANK: 'off', SHELF_MMR_SEARCH_LAMBDA: '0.3', SHELF_MMR_SEARCH_MAX_PER_BRAND: '2' },
      async (s) => {
        const b = await get(s.app, q);
        return {
          body: b,
          vectors: await vectorsOf(
            s.searcher,
            b.items.map((it) => it.id),
          ),
        };
      },
    );
    expect(off.body.debug!.mmr.enabled).toBe(false);
    const brands = (b: Body) => b.items.map((it) => (it.brand ? filterKey(it.brand) : undefined));
    expect(brands(off.body).filter((x) => x === '小米').length).toBeGreaterThan(2);
    expect(brands(on.body).filter((x) => x === '小米').length).toBeLessThanOrEqual(2);
    const ild = (x: typeof off) =>
      intraListDiversity(
        x.body.items.map((it) => x.vectors.get(it.id)),
        6,
      );
    const cov = (x: typeof off) =>
      categoryCoverage(
        x.body.items.map((it) => (it.category ? filterKey(it.category) : undefined)),
        6,
      );
    expect(ild(on)).toBeGreaterThan(ild(off));
    expect(cov(on)).toBeGreaterThanOrEqual(cov(off));
  });

  it('feed: diversified (on by default) with the brand cap honoured, debug per item', async () => {
    await withService({ SHELF_MMR_FEED_MAX_PER_BRAND: '1' }, async (s) => {
      // A Xiaomi fan: similar items and co-clicks pull in brands a page should not repeat.
      const ts = Date.now();
      const events = ['P0004', 'P0008', 'P0020', 'P0021', 'P0059', 'P0118'].map((id, i) => ({
        event_id: `x${i}`,
        type: 'click',
        user_id: 'xiaomi-fan',
        product_id: id,
        ts: ts + i,
      }));
      const res = await s.app.request('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events }),
      });
      expect(res.status).toBe(200);
      for (let i = 0; i < 300 && !(await s.behavior.state.applied(['x5'])).has('x5'); i++)
        await new Promise((r) => setTimeout(r, 10));
      // 20 items: enough that the page without MMR repeats a brand, whatever the shipped model ranks first.
      const url = '/v1/feed?user_id=xiaomi-fan&size=20&debug=true&product_id=P0021';
      const plain = createApp({
        searcher: s.searcher,
        embedder,
        ranker: s.ranker,
        behavior: {
          log: s.behavior.log,
          state: s.behavior.state,
          feed: loadConfig({}).feed,
          config: loadConfig({}).behavior,
        },
      });
      const off = await get(plain, url);
      const body = await get(s.app, url);
      expect(off.debug!.mmr.enabled).toBe(false);
      expect(body.debug!.mmr).toMatchObject({ enabled: true, lambda: 0.7, max_per_brand: 1 });
      expect(body.items.length).toBe(20);
      const mostOfOneBrand = (b: Body) => {
        const n = new Map<string, number>();
        for (const it of b.items)
          if (it.brand !== undefined) n.set(filterKey(it.brand), (n.get(filterKey(it.brand)) ?? 0) + 1);
        return Math.max(0, ...n.values());
      };
      expect(mostOfOneBrand(off)).toBeGreaterThan(1);
      expect(mostOfOneBrand(body)).toBe(1);
      expect(
        body.items.every((it, i) => it.debug!.mmr!.position_after === i && it.debug!.mmr!.cap_relaxed === undefined),
      ).toBe(true);
    });
  });

  it('a page past the head is served without MMR work unless debug asks for it, and is the same page either way', async () => {
    await withService({ SHELF_MMR_SEARCH_LAMBDA: '0.5' }, async (s) => {
      let reads = 0;
      const counting: Searcher = Object.create(s.searcher, {
        withSnapshot: {
          value: <T>(fn: (snap: Parameters<Parameters<Searcher['withSnapshot']>[0]>[0]) => Promise<T>) =>
            s.searcher.withSnapshot((snap) =>
              fn(
                snap &&
                  // The request pins one snapshot for every stage: recall searches these vectors too.
                  Object.assign(Object.create(snap), {
                    vectors: Object.assign(Object.create(snap.vectors!), {
                      vectorsOf: (ids: readonly string[]) => (reads++, snap.vectors!.vectorsOf!(ids)),
                    }),
                  }),
              ),
            ),
        },
      });
      const app = createApp({
        searcher: counting,
        embedder,
        ranker: s.ranker,
        mmr: loadConfig({ SHELF_MMR_SEARCH_LAMBDA: '0.5' }).diversity,
      });
      // top_n 30 (under the ranking window): page 4 of 10 starts at the head's end.
      const plain = await get(app, '/v1/search?q=headphones&size=10&page=4&user_id=mia');
      expect(plain.items.length).toBe(10);
      expect(reads).toBe(0);
      const debug = await get(app, '/v1/search?q=headphones&size=10&page=4&user_id=mia&debug=true');
      expect(reads).toBe(1);
      expect(debug.debug!.mmr).toMatchObject({ enabled: true, top_n: 30, similarity: 'embeddings' });
      expect(debug.items.map((it) => it.id)).toEqual(plain.items.map((it) => it.id));
      await get(app, '/v1/search?q=headphones&size=10&page=3&user_id=mia');
      expect(reads).toBe(2);
    });
  });

  it('without product vectors it falls back to category/brand penalties, says so in debug and /metrics, and still answers', async () => {
    await withService({ SHELF_MMR_SEARCH_LAMBDA: '0.5' }, async (s) => {
      const broken: Searcher = Object.create(s.searcher, {
        withSnapshot: {
          value: <T>(fn: (snap: Parameters<Parameters<Searcher['withSnapshot']>[0]>[0]) => Promise<T>) =>
            s.searcher.withSnapshot((snap) =>
              fn(
                snap &&
                  Object.assign(Object.create(snap), {
                    vectors: Object.assign(Object.create(snap.vectors!), {
                      vectorsOf: () => Promise.reject(new Error('qdrant timed out')),
                    }),
                  }),
              ),
            ),
        },
      });
      const metrics = createMetrics();
      // An index with no vector store at all: recall answers from BM25, MMR from category and brand.
      const noStore: Searcher = Object.create(s.searcher, {
        withSnapshot: {
          value: <T>(fn: (snap: Parameters<Parameters<Searcher['withSnapshot']>[0]>[0]) => Promise<T>) =>
            s.searcher.withSnapshot((snap) => fn(snap && Object.assign(Object.create(snap), { vectors: undefined }))),
        },
      });
      const c = loadConfig({ SHELF_MMR_SEARCH_LAMBDA: '0.5' });
      for (const [searcher, reason, pattern] of [
        [broken, 'error', /vectors could not be read: qdrant timed out/],
        [noStore, 'no_vector_store', /no vector store/],
      ] as const) {
        const app = createApp({ searcher, embedder, metrics, mmr: c.diversity });
        const body = await get(app, '/v1/search?q=headphones&size=5&debug=true');
        expect(body.items.length).toBe(5);
        expect(body.debug!.mmr).toMatchObject({ enabled: true, similarity: 'keys_only' });
        expect(body.debug!.mmr.reason).toMatch(pattern);
        const text = await (await app.request('/metrics')).text();
        expect(text).toContain(`shelf_mmr_vectors_unavailable_total{surface="search",reason="${reason}"} 1`);
      }
    });
  });
});
