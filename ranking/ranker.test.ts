import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import client from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Candidate } from '../core/candidate.ts';
import { tempDir } from '../test/helpers/catalog.ts';
import { rankInput } from './apply.ts';
import { RankConfigSchema } from './config.ts';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SPEC_VERSION } from './features.ts';
import type { RankInput } from './inputs.ts';
import { RankModel } from './model.ts';
import { Ranker, finalScore, heuristicScore } from './ranker.ts';

const DEFAULT_MODEL = new URL('../models/ranker/default', import.meta.url).pathname;
const open: Ranker[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!.close();
});

function candidates(n: number): RankInput[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `c${i}`,
    fusion_position: i,
    fused_score: 1 / (61 + i),
    routes: { bm25: { rank: i + 1, score: 10 - i * 0.01 } },
    category_key: i % 2 ? 'sports/shoes' : 'home/kitchen',
    brand_key: i % 3 ? 'nike' : 'tefal',
    price: 10 + i,
  }));
}

/** A copy of the shipped model whose metadata is edited by `edit`. */
function modelCopy(edit: (m: Record<string, unknown>) => void): string {
  const dir = path.join(tempDir(), 'model');
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(DEFAULT_MODEL, 'model.onnx'), path.join(dir, 'model.onnx'));
  const meta = JSON.parse(readFileSync(path.join(DEFAULT_MODEL, 'metadata.json'), 'utf8')) as Record<string, unknown>;
  edit(meta);
  writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify(meta));
  return dir;
}

async function openRanker(
  input: Parameters<typeof RankConfigSchema.parse>[0],
  registry = new client.Registry(),
  log: string[] = [],
) {
  const r = await Ranker.open(RankConfigSchema.parse(input), { registry, log: (l) => log.push(l) });
  open.push(r);
  return r;
}

describe('Ranker with the shipped model', () => {
  it('scores every candidate in one batch and orders by pCTR^a · pCVR^b · price^c', async () => {
    const r = await openRanker({ model_dir: DEFAULT_MODEL, refresh_ms: 0 });
    expect(r.status.mode).toBe('model');
    const out = await r.rank({ surface: 'search' }, candidates(500));
    expect(out.mode).toBe('model');
    expect(out.model_version).toBe(r.status.model_version);
    expect(out.items).toHaveLength(500);
    for (const it of out.items) {
      expect(it.p_ctr).toBeGreaterThan(0);
      expect(it.p_ctr).toBeLessThan(1);
      expect(it.score).toBeCloseTo(it.p_ctr! * it.p_cvr!, 9);
      expect(it.features).toHaveLength(FEATURE_COUNT);
    }
    for (let i = 1; i < out.items.length; i++)
      expect(out.items[i - 1]!.score).toBeGreaterThanOrEqual(out.items[i]!.score);
    // One batch: the same features scored by the model directly give the same probabilities.
    const model = await RankModel.load(DEFAULT_MODEL);
    const direct = await model.predict(out.items.map((it) => it.features));
    out.items.forEach((it, i) => expect(direct.pCtr[i]).toBe(it.p_ctr));
    await model.close();
  });

  it('a, b and c change the final score as configured', async () => {
    expect(finalScore(0.2, 0.5, 100, { a: 1, b: 1, c: 0 })).toBeCloseTo(0.1, 12);
    expect(finalScore(0.2, 0.5, 100, { a: 2, b: 0, c: 0 })).toBeCloseTo(0.04, 12);
    expect(finalScore(0.2, 0.5, 100, { a: 1, b: 1, c: 1 })).toBeCloseTo(10, 9);
    expect(finalScore(0.2, 0.5, undefined, { a: 1, b: 1, c: 1 })).toBeCloseTo(0.1, 12);
    const r = await openRanker({ model_dir: DEFAULT_MODEL, refresh_ms: 0, c: 2 });
    const out = await r.rank({ surface: 'feed' }, candidates(50));
    for (const it of out.items) expect(it.score).toBeCloseTo(it.p_ctr! * it.p_cvr! * it.candidate.price! ** 2, 6);
  });
});

describe('Ranker fallback and refusal', () => {
  it('refuses a model trained on another feature spec, logs why, and serves the heuristic order', async () => {
    const dir = modelCopy((m) => (m.feature_spec_version = 'rank-features-v0'));
    const registry = new client.Registry();
    const log: string[] = [];
    const r = await openRanker({ model_dir: dir, refresh_ms: 0 }, registry, log);
    expect(r.status.mode).toBe('heuristic');
    expect(r.status.reason).toMatch(/feature spec rank-features-v0/);
    expect(log.join('\n')).toMatch(
      new RegExp(
        `trained on feature spec rank-features-v0, this build computes ${FEATURE_SPEC_VERSION}: refused; falling back to the heuristic order`,
      ),
    );
    const out = await r.rank({ surface: 'search' }, candidates(20));
    expect(out.mode).toBe('heuristic');
    expect(out.items[0]!.p_ctr).toBeUndefined();
    // Anonymous shopper: the heuristic is fusion order.
    expect(out.items.map((it) => it.candidate.id)).toEqual(candidates(20).map((c) => c.id));
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/shelf_rank_model_refused_total\{reason="feature_spec_mismatch"\} 1/);
    expect(metrics).toMatch(/shelf_rank_requests_total\{surface="search",mode="heuristic"\} 1/);
  });

  it('without any model folder the heuristic serves and says so', async () => {
    const r = await openRanker({ model_dir: path.join(tempDir(), 'none'), refresh_ms: 0 });
    expect(r.status).toMatchObject({ mode: 'heuristic', reason: expect.stringMatching(/no model/) });
  });

  it('the heuristic boosts the shopper’s categories and brands and damps price distance', () => {
    const f = (set: Record<string, number>) => {
      const v = new Array<number>(FEATURE_COUNT).fill(0);
      for (const [k, x] of Object.entries(set)) v[FEATURE_NAMES.indexOf(k)] = x;
      return v;
    };
    expect(heuristicScore(f({ fused_score: 1 }))).toBe(1);
    expect(heuristicScore(f({ fused_score: 1, user_cat_share: 1, user_cat_top_share: 1, user_brand_share: 1 }))).toBe(
      2.5,
    );
    expect(heuristicScore(f({ fused_score: 1, price_gap_abs: 2 }))).toBeCloseTo(1 / 1.5, 12);
  });
});

describe('Ranker hot reload', () => {
  it('picks up a new model version written into the folder, without a restart', async () => {
    const dir = modelCopy((m) => (m.version = 'v-one'));
    const log: string[] = [];
    const r = await openRanker({ model_dir: dir, refresh_ms: 50 }, new client.Registry(), log);
    expect(r.status.model_version).toBe('v-one');
    const meta = JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(dir, 'metadata.json.tmp'), JSON.stringify({ ...meta, version: 'v-two' }));
    const { renameSync } = await import('node:fs');
    renameSync(path.join(dir, 'metadata.json.tmp'), path.join(dir, 'metadata.json'));
    for (let i = 0; i < 100 && r.status.model_version !== 'v-two'; i++) await new Promise((res) => setTimeout(res, 20));
    expect(r.status.model_version).toBe('v-two');
    expect((await r.rank({ surface: 'search' }, candidates(3))).model_version).toBe('v-two');
    expect(log.some((l) => /serving model v-two .* replacing v-one/.test(l))).toBe(true);
  });

  it('keeps serving the current model when a refused version is deployed', async () => {
    const dir = modelCopy((m) => (m.version = 'good'));
    const log: string[] = [];
    const r = await openRanker({ model_dir: dir, refresh_ms: 50 }, new client.Registry(), log);
    const meta = JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      path.join(dir, 'metadata.json'),
      JSON.stringify({ ...meta, version: 'bad', feature_spec_version: 'rank-features-v9' }),
    );
    for (let i = 0; i < 100 && !log.some((l) => /refused/.test(l)); i++)
      await new Promise((res) => setTimeout(res, 20));
    expect(log.some((l) => /rank-features-v9.*refused; keeping model good/.test(l))).toBe(true);
    expect(r.status.model_version).toBe('good');
  });

  it('does not load a half-deployed pair (model.onnx newer than metadata.json)', async () => {
    const dir = modelCopy((m) => (m.model_sha256 = 'not-this-file'));
    const r = await openRanker({ model_dir: dir, refresh_ms: 0 });
    expect(r.status.mode).toBe('heuristic');
  });
});

describe('term coverage through the ranking stage', () => {
  it("a search candidate's BM25 coverage reaches its features: more of the query's words, higher values, all else equal", async () => {
    const cand = (id: string, coverage: number | undefined): Candidate => ({
      id,
      product: { id, title: id, in_stock: true, category: 'Electronics/Audio', brand: 'Sony', price: 99 },
      routes: {
        bm25: { rank: 3, score: 5.5, ...(coverage !== undefined && { coverage }) },
        vector: { rank: 2, score: 0.4 },
      },
      fused_score: 0.03,
      fusion_position: 2,
      score: 0.03,
    });
    const r = await openRanker({ model_dir: DEFAULT_MODEL, refresh_ms: 0 });
    const out = await r.rank(
      { surface: 'search', now: Date.parse('2026-01-01T00:00:00Z'), shopper: { user: undefined } },
      [cand('third', 1 / 3), cand('half', 0.5), cand('all', 1), cand('unknown', undefined)].map(rankInput),
    );
    const f = new Map(out.items.map((it) => [it.candidate.id, Array.from(it.features)]));
    const at = (id: string, name: string) => f.get(id)![FEATURE_NAMES.indexOf(name)]!;
    expect(at('third', 'bm25_coverage')).toBeLessThan(at('half', 'bm25_coverage'));
    expect(at('half', 'bm25_coverage')).toBeLessThan(at('all', 'bm25_coverage'));
    expect(['third', 'half', 'all', 'unknown'].map((id) => at(id, 'bm25_all_terms'))).toEqual([0, 0, 1, 1]);
    // Nothing else differs: the model sees the coverage and only it.
    const diff = FEATURE_NAMES.filter((n) => at('third', n) !== at('all', n));
    expect(diff).toEqual(['bm25_coverage', 'bm25_all_terms']);
    expect(f.get('unknown')).toEqual(f.get('all'));
  });
});

describe('Ranker with several deployed versions', () => {
  const ALT = new URL('../test/fixtures/models/ranker-alt', import.meta.url).pathname;

  it('scores a request by the version it names, and the served model otherwise', async () => {
    const log: string[] = [];
    const r = await openRanker(
      {
        model_dir: DEFAULT_MODEL,
        extra_model_dirs: [ALT, modelCopy((m) => (m.feature_spec_version = 'x'))],
        refresh_ms: 0,
      },
      new client.Registry(),
      log,
    );
    const shipped = r.status.model_version!;
    expect(r.versions).toEqual([shipped, 'ranker-fixture-alt']);
    expect(log.join('\n')).toMatch(/extra model folder .*not available/);
    const served = await r.rank({ surface: 'search' }, candidates(20));
    const alt = await r.rank({ surface: 'search', model_version: 'ranker-fixture-alt' }, candidates(20));
    expect(served.model_version).toBe(shipped);
    expect(alt.model_version).toBe('ranker-fixture-alt');
    const pAlt = new Map(alt.items.map((i) => [i.candidate.id, i.p_ctr]));
    for (const it of served.items) expect(pAlt.get(it.candidate.id)).not.toBeCloseTo(it.p_ctr!, 4);
    expect((await r.rank({ surface: 'search', model_version: shipped }, candidates(3))).model_version).toBe(shipped);
  });

  it('scores by the served model, and says so, when the version named is not deployed', async () => {
    const r = await openRanker({ model_dir: DEFAULT_MODEL, refresh_ms: 0 });
    const out = await r.rank({ surface: 'search', model_version: 'gone' }, candidates(3));
    expect(out.model_version).toBe(r.status.model_version);
    expect(out.reason).toMatch(/model version gone is not deployed; scored by /);
  });
});
