import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, loadConfig } from '../src/config.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { openService, type Service } from '../src/service.ts';
import { tempDir } from '../test/helpers/catalog.ts';
import { demoShop, type DemoShop } from '../test/helpers/demo-service.ts';
import { FEATURE_COUNT, FEATURE_NAMES } from './features.ts';
import { RankModel } from './model.ts';
import { servedEntry as servedEntryIn } from '../test/helpers/served.ts';

const DEFAULT_MODEL = path.join(ROOT, 'models/ranker/default');
const defaultVersion = (
  JSON.parse(readFileSync(path.join(DEFAULT_MODEL, 'metadata.json'), 'utf8')) as { version: string }
).version;

/** These tests pin the ranker's order; diversity (diversity/) has its own API tests. */
// Search ranking is off by default (ranking.search): these tests rank search with the shipped model.
const MMR_OFF = { SHELF_MMR_SEARCH_ENABLED: 'false', SHELF_MMR_FEED_ENABLED: 'false', SHELF_RANK_SEARCH: 'model' };

let shop: DemoShop;
let embedder: TextEmbedder;
let dataDir: string;

interface Item {
  id: string;
  score: number;
  debug?: {
    p_ctr?: number;
    p_cvr?: number;
    rank_score?: number | null;
    fusion_position?: number;
    fused_score?: number;
  };
  routes?: unknown;
}
interface Body {
  request_id: string;
  items: Item[];
  debug?: { ranking: { mode: string; model_version?: string; reason?: string; feature_spec?: string } };
}

const withService = <T>(env: Record<string, string>, fn: (s: Service) => Promise<T>): Promise<T> =>
  shop.withService({ ...MMR_OFF, ...env }, fn);

const get = async (s: Service, url: string): Promise<Body> => {
  const res = await s.app.request(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Body;
};

const servedEntry = (s: Service, requestId: string) => servedEntryIn(s, dataDir, requestId);

beforeAll(async () => {
  shop = await demoShop('shelf-rank-api-');
  ({ embedder, dataDir } = shop);
});

describe('ranking on /v1/search and /v1/feed', () => {
  let service: Service;
  beforeAll(async () => {
    service = await openService(
      loadConfig({
        SHELF_DATA_DIR: dataDir,
        SHELF_CATALOG: '',
        SHELF_CONSUMER: 'inline',
        SHELF_RANK_MODEL_DIR: DEFAULT_MODEL,
        ...MMR_OFF,
      }),
      { embedder, log: () => {} },
    );
  });
  afterAll(async () => service?.close());

  it('search: debug names the serving model and shows pCTR, pCVR and the final score per item, best first', async () => {
    const body = await get(service, '/v1/search?q=headphones&size=10&debug=true&user_id=alice');
    expect(body.debug!.ranking).toMatchObject({
      mode: 'model',
      model_version: defaultVersion,
      feature_spec: 'rank-features-v2',
    });
    expect(body.items.length).toBeGreaterThan(2);
    for (const it of body.items) {
      expect(it.debug!.p_ctr).toBeGreaterThan(0);
      expect(it.debug!.p_cvr).toBeGreaterThan(0);
      expect(it.debug!.rank_score).toBeCloseTo(it.debug!.p_ctr! * it.debug!.p_cvr!, 6);
      expect(it.score).toBe(it.debug!.rank_score);
      expect(typeof it.debug!.fusion_position).toBe('number');
    }
    const scores = body.items.map((it) => it.debug!.rank_score!);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const plain = await get(service, '/v1/search?q=headphones&size=10&user_id=alice');
    expect(plain.items.map((it) => it.id)).toEqual(body.items.map((it) => it.id));
    expect(plain.items.every((it) => it.debug === undefined)).toBe(true);
  });

  it('the served log records, per shown item, the exact feature vector the model scored', async () => {
    const body = await get(service, '/v1/search?q=running%20shoes&size=5&debug=true&user_id=bob');
    const entry = await servedEntry(service, body.request_id);
    expect(entry.subject).toBe('u:bob');
    expect(entry.ranking).toMatchObject({ mode: 'model', model_version: defaultVersion });
    expect(entry.items.map((it) => it.id)).toEqual(body.items.map((it) => it.id));
    const model = await RankModel.load(DEFAULT_MODEL);
    try {
      const { pCtr, pCvr } = await model.predict(entry.items.map((it) => it.features!));
      entry.items.forEach((it, i) => {
        expect(it.features).toHaveLength(FEATURE_COUNT);
        expect(pCtr[i]).toBeCloseTo(body.items[i]!.debug!.p_ctr!, 8);
        expect(pCvr[i]).toBeCloseTo(body.items[i]!.debug!.p_cvr!, 8);
        expect(it.p_ctr).toBe(pCtr[i]);
      });
    } finally {
      await model.close();
    }
  });

  it('feed: ranked after fusion, with pCTR/pCVR in debug and features in the served log', async () => {
    const ts = Date.now();
    const events = ['P0150', 'P0151', 'P0152'].map((id, i) => ({
      event_id: `f${i}`,
      type: 'click',
      user_id: 'carol',
      product_id: id,
      ts: ts + i,
    }));
    const res = await service.app.request('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    expect(res.status).toBe(200);
    for (let i = 0; i < 300 && !(await service.behavior.state.applied(['f2'])).has('f2'); i++)
      await new Promise((r) => setTimeout(r, 10));
    const body = await get(service, '/v1/feed?user_id=carol&size=8&debug=true');
    expect(body.debug!.ranking).toMatchObject({ mode: 'model', model_version: defaultVersion });
    expect(body.items.length).toBe(8);
    for (const it of body.items) expect(it.debug!.p_cvr).toBeGreaterThan(0);
    const scores = body.items.map((it) => it.debug!.rank_score!);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const entry = await servedEntry(service, body.request_id);
    expect(entry.surface).toBe('feed');
    expect(entry.items.every((it) => it.features?.length === FEATURE_COUNT)).toBe(true);
    // user features come from carol's state: she is known and has clicked
    const f = entry.items[0]!.features!;
    expect(f[FEATURE_NAMES.indexOf('user_known')]).toBe(1);
    expect(f[FEATURE_NAMES.indexOf('user_clicks')]).toBeCloseTo(Math.log1p(3) / 5, 6);
    expect(f[FEATURE_NAMES.indexOf('surface_feed')]).toBe(1);
    const plain = await get(service, '/v1/feed?user_id=carol&size=8');
    expect(plain.items.every((it) => it.routes === undefined && it.debug === undefined)).toBe(true);
  });
});

describe('ranking configuration', () => {
  it('SHELF_RANK=off keeps fusion order and logs no features', async () => {
    await withService({ SHELF_RANK: 'off', SHELF_RANK_MODEL_DIR: DEFAULT_MODEL }, async (s) => {
      const body = await get(s, '/v1/search?q=headphones&size=10&debug=true');
      expect(body.debug!.ranking.mode).toBe('off');
      const fused = body.items.map((it) => it.score);
      expect(fused).toEqual([...fused].sort((a, b) => b - a));
      expect(body.items.every((it) => it.debug!.p_ctr === undefined)).toBe(true);
      expect((await servedEntry(s, body.request_id)).items.every((it) => it.features === undefined)).toBe(true);
    });
  });

  it('a model trained on another feature spec is refused: heuristic order, said in debug and in /metrics', async () => {
    const dir = path.join(tempDir(), 'model');
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(DEFAULT_MODEL, 'model.onnx'), path.join(dir, 'model.onnx'));
    const meta = JSON.parse(readFileSync(path.join(DEFAULT_MODEL, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      path.join(dir, 'metadata.json'),
      JSON.stringify({ ...meta, feature_spec_version: 'rank-features-v0' }),
    );
    await withService({ SHELF_RANK_MODEL_DIR: dir, SHELF_RANK_SEARCH: 'model' }, async (s) => {
      const body = await get(s, '/v1/search?q=headphones&size=5&debug=true');
      expect(body.debug!.ranking.mode).toBe('heuristic');
      expect(body.debug!.ranking.reason).toMatch(/feature spec rank-features-v0.*refused/);
      expect(body.items.every((it) => it.debug!.p_ctr === undefined && typeof it.debug!.rank_score === 'number')).toBe(
        true,
      );
      const metrics = await (await s.app.request('/metrics')).text();
      expect(metrics).toMatch(/shelf_rank_requests_total\{surface="search",mode="heuristic"\} 1/);
      expect(metrics).toMatch(/shelf_rank_model_refused_total\{reason="feature_spec_mismatch"\} 1/);
    });
  });

  it('search and feed accept the configured exponents', () => {
    const c = loadConfig({ SHELF_RANK_A: '2', SHELF_RANK_B: '0.5', SHELF_RANK_C: '-1', SHELF_RANK_WINDOW: '300' });
    expect(c.ranking).toMatchObject({ a: 2, b: 0.5, c: -1, window: 300, mode: 'model' });
    expect(() => loadConfig({ SHELF_RANK: 'sometimes' })).toThrow(/SHELF_RANK/);
  });
});
