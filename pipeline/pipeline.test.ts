import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StateStore } from '../behavior/state-store.ts';
import { createMetrics } from '../core/metrics.ts';
import { FEATURE_COUNT, FEATURE_NAMES } from '../ranking/features.ts';
import { joinTraining, readSqliteLog } from '../ranking/training-data.ts';
import type { Searcher } from '../retrieval/recall/searcher.ts';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { Service } from '../src/service.ts';
import { demoShop, type DemoShop } from '../test/helpers/demo-service.ts';
import { servedEntry } from '../test/helpers/served.ts';
import { withOverrides } from './context.ts';
import { Pipeline } from './pipeline.ts';

/**
 * The serving pipeline over HTTP on the demo catalog with the shipped ranker: every surface runs
 * recall → rank → diversify → page → coupons over one request context.
 */
let shop: DemoShop;

interface Item {
  id: string;
  score: number;
  routes?: Record<string, { rank: number; score: number }>;
  debug?: Record<string, unknown> & { p_ctr?: number; rank_score?: number | null; fusion_position?: number };
}
interface Body {
  request_id: string;
  items: Item[];
  debug?: { ranking: { mode: string; model_version?: string }; mmr: { enabled: boolean; top_n?: number } };
}

beforeAll(async () => {
  shop = await demoShop('shelf-pipeline-');
});

// Search ranking is off by default (ranking.search); these tests follow the ranker on every surface.
const withService = <T>(fn: (s: Service) => Promise<T>) => shop.withService({ SHELF_RANK_SEARCH: 'model' }, fn);

const get = async (app: { request(url: string): Response | Promise<Response> }, url: string): Promise<Body> => {
  const res = await app.request(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Body;
};

describe('similar items through the serving pipeline', () => {
  it('are ranked and diversified like search and the feed, shown under debug and written to the served log', async () => {
    await withService(async (s) => {
      const body = await get(s.app, '/v1/products/P0150/similar?size=6&debug=true');
      expect(body.items.length).toBe(6);
      expect(body.items.map((i) => i.id)).not.toContain('P0150');
      expect(body.debug!.ranking).toMatchObject({ mode: 'model', model_version: expect.any(String) });
      expect(body.debug!.mmr).toMatchObject({ enabled: true, top_n: expect.any(Number) });
      for (const it of body.items) {
        expect(it.routes).toBeDefined();
        expect(it.debug!.p_ctr).toBeGreaterThan(0);
        expect(it.score).toBe(it.debug!.rank_score);
        expect(typeof it.debug!.fusion_position).toBe('number');
      }
      const entry = await servedEntry(s, shop.dataDir, body.request_id);
      expect(entry.surface).toBe('similar');
      expect(entry.ranking).toMatchObject({ mode: 'model' });
      expect(entry.items.map((i) => i.id)).toEqual(body.items.map((i) => i.id));
      for (const it of entry.items) expect(it.features).toHaveLength(FEATURE_COUNT);

      const plain = await get(s.app, '/v1/products/P0150/similar?size=6');
      expect(plain.items.map((i) => i.id)).toEqual(body.items.map((i) => i.id));
      expect(plain.items.every((i) => i.debug === undefined && i.routes === undefined)).toBe(true);
    });
  });
});

describe('one request context', () => {
  it('pins one index snapshot and reads the shopper state once per request, on every surface', async () => {
    await withService(async (s) => {
      let snapshots = 0;
      let stateReads = 0;
      const searcher: Searcher = Object.create(s.searcher, {
        withSnapshot: {
          value: <T>(fn: Parameters<Searcher['withSnapshot']>[0]) => (snapshots++, s.searcher.withSnapshot(fn)) as T,
        },
      });
      const state: StateStore = Object.create(s.behavior.state, {
        getUsers: { value: (ids: readonly string[]) => (stateReads++, s.behavior.state.getUsers(ids)) },
      });
      const c = loadConfig({});
      const app = createApp({
        searcher,
        embedder: shop.embedder,
        ranker: s.ranker,
        mmr: c.diversity,
        behavior: { log: s.behavior.log, state, served: s.served, feed: c.feed, config: c.behavior },
      });
      for (const url of [
        '/v1/search?q=headphones&size=10&user_id=ana&debug=true',
        '/v1/feed?user_id=ana&size=10&debug=true',
        '/v1/products/P0150/similar?size=5&debug=true',
      ]) {
        snapshots = 0;
        stateReads = 0;
        const body = await get(app, url);
        expect(body.debug!.ranking.mode).toBe('model');
        expect(body.debug!.mmr.enabled).toBe(true);
        expect({ url, snapshots }).toEqual({ url, snapshots: 1 });
        // Similar items are anonymous; search and the feed read ana's state once for every stage.
        expect({ url, stateReads }).toEqual({ url, stateReads: url.includes('similar') ? 0 : 1 });
      }
    });
  });

  it('debug is a view: the page, its scores and the served log are the same with and without it', async () => {
    await withService(async (s) => {
      const url = '/v1/search?q=wireless%20earbuds&size=8&user_id=bo';
      const plain = await get(s.app, url);
      const debug = await get(s.app, `${url}&debug=true`);
      expect(plain.items.map((i) => i.id)).toEqual(debug.items.map((i) => i.id));
      plain.items.forEach((it, i) => expect(it.score).toBeCloseTo(debug.items[i]!.score, 6));
      // The product-age feature moves with the clock between the two requests; the rest is the same.
      const slots = async (id: string) =>
        (await servedEntry(s, shop.dataDir, id)).items.map(({ id, position, fusion_position, rank_position }) => ({
          id,
          position,
          fusion_position,
          rank_position,
        }));
      expect(await slots(plain.request_id)).toEqual(await slots(debug.request_id));
    });
  });
});

describe('term coverage from recall to the training data', () => {
  it("each ranked search item's served features carry its BM25 term coverage, and the training join keeps them", async () => {
    await withService(async (s) => {
      const body = await get(s.app, '/v1/search?q=noise%20cancelling%20headphones&size=40&user_id=cov&debug=true');
      const entry = await servedEntry(s, shop.dataDir, body.request_id);
      const at = (f: number[] | undefined, name: string) => f![FEATURE_NAMES.indexOf(name)]!;
      const byId = new Map(entry.items.map((it) => [it.id, it.features]));
      const seen = new Set<string>();
      for (const it of body.items) {
        const coverage = it.debug!.bm25_coverage as number | undefined;
        const f = byId.get(it.id);
        if (it.debug!.rank_score === null) continue; // beyond the ranking window: no features
        // The embedded store reports coverage for every BM25 hit; a vector-only hit has none.
        const expected = it.debug!.bm25_rank === undefined ? 0 : coverage!;
        expect(at(f, 'bm25_coverage'), it.id).toBeCloseTo(expected, 6);
        expect(at(f, 'bm25_all_terms'), it.id).toBe(it.debug!.bm25_rank !== undefined && expected === 1 ? 1 : 0);
        seen.add(expected === 0 ? 'none' : expected < 1 ? 'partial' : 'all');
      }
      // The page holds full and partial matches (products with one or two of the three words), so both were checked.
      expect(seen).toContain('all');
      expect(seen).toContain('partial');

      const click = entry.items.find(
        (it) => at(it.features, 'bm25_coverage') < 1 && at(it.features, 'bm25_coverage') > 0,
      )!;
      const { rows } = joinTraining(readSqliteLog(path.join(shop.dataDir, 'behavior', 'served.sqlite')), [
        JSON.stringify({
          event_id: 'e1',
          type: 'click',
          user_id: 'cov',
          request_id: body.request_id,
          product_id: click.id,
          ts: 1,
        }),
      ]);
      const row = rows.find((r) => r.request_id === body.request_id && r.click === 1)!;
      expect(at(row.features, 'bm25_coverage')).toBe(at(click.features, 'bm25_coverage'));
      expect(row.features).toEqual(click.features);
    });
  });
});

describe('per-request settings', () => {
  it('an override changes only the request that carries it, and debug shows the settings in force', async () => {
    await withService(async (s) => {
      const c = loadConfig({});
      const pipeline = new Pipeline({
        searcher: s.searcher,
        metrics: createMetrics(),
        state: s.behavior.state,
        ranker: s.ranker,
        diversity: c.diversity,
        feed: c.feed,
        behavior: c.behavior,
      });
      const ask = { requestId: 'r', q: 'wireless headphones', page: 1, size: 10, debug: true, user_id: 'cy' };
      const base = await pipeline.search(ask);
      expect(base.debug!.ranking).toMatchObject({ mode: 'model', a: 1, b: 1 });

      const arm = await pipeline.search({
        ...ask,
        overrides: {
          retrieval: { weights: { bm25: 1, vector: 0, image: 0 } },
          ranking: { mode: 'off' },
          diversity: { enabled: false },
        },
      });
      expect(arm.debug!.ranking).toEqual({ mode: 'off' });
      expect(arm.debug!.mmr).toEqual({ enabled: false });
      expect(arm.debug!.weights).toEqual({ bm25: 1, vector: 0, image: 0 });
      // Fusion order with BM25 alone (the default score fusion): BM25 over the best BM25 × term coverage.
      const scores = arm.items.map((i) => i.score);
      expect(scores).toEqual([...scores].sort((x, y) => y - x));
      const best = Math.max(...arm.items.map((i) => (i.debug!.bm25_score as number | undefined) ?? 0));
      for (const it of arm.items) {
        const d = it.debug as { bm25_score: number; bm25_coverage: number };
        expect(it.score).toBeCloseTo((d.bm25_score / best) * d.bm25_coverage, 12);
      }

      const reweighted = await pipeline.search({
        ...ask,
        overrides: { ranking: { a: 0, b: 1 }, diversity: { lambda: 0.5 } },
      });
      expect(reweighted.debug!.ranking).toMatchObject({ mode: 'model', a: 0, b: 1 });
      expect(reweighted.debug!.mmr).toMatchObject({ enabled: true, lambda: 0.5 });
      for (const it of reweighted.items.filter((i) => i.debug!.p_cvr !== undefined))
        expect(it.debug!.rank_score).toBeCloseTo(it.debug!.p_cvr as number, 6);

      // The service's settings are untouched.
      expect((await pipeline.search(ask)).debug!.ranking).toMatchObject({ mode: 'model', a: 1, b: 1 });
      const service = pipeline.settingsFor('search');
      const merged = withOverrides(service, { ranking: { a: 0 } });
      expect([merged.ranking.a, merged.ranking.b, service.ranking.a]).toEqual([0, 1, 1]);
    });
  });
});
