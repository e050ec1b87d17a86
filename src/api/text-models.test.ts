import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TextEmbedder } from '../../core/embedding/embedder.ts';
import { DEFAULT_MODEL_DIR, loadTextEmbedder, parseEmbedderSpec } from '../../core/embedding/load.ts';
import { indexCatalog } from '../../indexer/index-catalog.ts';
import { tempDir } from '../../test/helpers/catalog.ts';
import { servedEntry } from '../../test/helpers/served.ts';
import { ROOT, loadConfig } from '../config.ts';
import { openService, type Service } from '../service.ts';

/**
 * Issue 13/16: a new text model deployed without a restart (the index generation names its model,
 * the service switches query encoder and vectors together), and several text models deployed at
 * once, picked per request by `embedder.model_version` (an experiment arm).
 */
const CATALOG = path.join(ROOT, 'data/demo/catalog.jsonl');
/** A second, real text model: a tiny transformers.js BERT (another kind, another dimension). */
const TINY_BERT = path.join(ROOT, 'test/fixtures/models/tiny-bert');
const KEY = 'text-models-admin-key-0123456789';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The shipped n-gram model under another version (its id changes): a "retrained" model in its own folder. */
function ngramCopy(version: string): string {
  const dir = path.join(tempDir('shelf-text-model-'), version);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(DEFAULT_MODEL_DIR, 'model.onnx'), path.join(dir, 'model.onnx'));
  const meta = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'metadata.json'), 'utf8')) as Json;
  fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify({ ...meta, version }));
  return dir;
}

async function get(s: Service, url: string, headers: Record<string, string> = {}) {
  const res = await s.app.request(url, { headers });
  return { status: res.status, body: (await res.json()) as Json };
}

let modelA: TextEmbedder;
beforeAll(async () => {
  modelA = await loadTextEmbedder(parseEmbedderSpec('default'));
});
afterAll(async () => {
  await modelA.close?.();
});

describe('hot-loading a new text model', () => {
  it('switches query encoder and index together on refresh, with no failed request and no mixed model', async () => {
    const dataDir = path.join(tempDir('shelf-text-switch-'), 'data');
    await indexCatalog({ catalogPath: CATALOG, dataDir, embedder: modelA });
    const config = loadConfig({ SHELF_DATA_DIR: dataDir, SHELF_CATALOG: '', SHELF_CONSUMER: 'off' });
    const s = await openService(config, { embedder: modelA, log: () => {} });
    // The indexer side (another process in production): the new model from its folder.
    const modelB = await loadTextEmbedder(parseEmbedderSpec(TINY_BERT));
    try {
      const genA = s.searcher.generation!;
      const seen: Array<{ status: number; generation: string; version: string; degraded: unknown }> = [];
      let stop = false;
      // Searches keep arriving while the catalog is re-embedded and the service switches.
      const traffic = (async () => {
        while (!stop) {
          const r = await get(s, '/v1/search?q=wireless+headphones&size=5&debug=true');
          seen.push({
            status: r.status,
            generation: r.body.debug?.generation,
            version: r.body.debug?.text_model?.version,
            degraded: r.body.degraded,
          });
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const sum = await indexCatalog({ catalogPath: CATALOG, dataDir, embedder: modelB });
      expect(sum.generation).not.toBe(genA);
      // What the serve loop does every service.refreshMs: the service loads B from the folder the generation names.
      expect(await s.searcher.refresh()).toBe(true);
      const switchedAt = seen.length;
      while (seen.length < switchedAt + 5) await new Promise((resolve) => setTimeout(resolve, 5));
      stop = true;
      await traffic;

      expect(seen.every((r) => r.status === 200 && r.degraded === undefined)).toBe(true);
      // Every answer searched a generation with the model that generation was embedded with.
      for (const r of seen) expect(r.version).toBe(r.generation === genA ? modelA.id : modelB.id);
      expect(seen.some((r) => r.generation === genA)).toBe(true);
      expect(seen.at(-1)).toMatchObject({ generation: sum.generation, version: modelB.id });
      const ready = await get(s, '/readyz');
      expect(ready.body.text_models).toEqual({ served: modelB.id, deployed: [modelB.id], unavailable: [] });
    } finally {
      await s.close();
      await modelB.close?.();
    }
  }, 120_000);

  it('keeps serving the old generation when the new one names a model it cannot load, and says so', async () => {
    const dataDir = path.join(tempDir('shelf-text-refuse-'), 'data');
    await indexCatalog({ catalogPath: CATALOG, dataDir, embedder: modelA });
    const config = loadConfig({ SHELF_DATA_DIR: dataDir, SHELF_CATALOG: '', SHELF_CONSUMER: 'off' });
    const s = await openService(config, { embedder: modelA, log: () => {} });
    const dir = ngramCopy('shop-retrained');
    const modelC = await loadTextEmbedder(parseEmbedderSpec(dir));
    try {
      const genA = s.searcher.generation!;
      const sum = await indexCatalog({ catalogPath: CATALOG, dataDir, embedder: modelC });
      // The model's folder is gone before the service gets to it (a bad deploy).
      fs.rmSync(dir, { recursive: true });
      expect(await s.searcher.refresh()).toBe(false);
      expect(s.searcher.generation).toBe(genA);
      const r = await get(s, '/v1/search?q=wireless+headphones&size=5&debug=true');
      expect(r.status).toBe(200);
      expect(r.body.degraded).toBeUndefined();
      expect(r.body.debug).toMatchObject({ generation: genA, text_model: { version: modelA.id } });
      const ready = await get(s, '/readyz');
      expect(ready.body.text_models).toMatchObject({
        served: modelA.id,
        refused: { generation: sum.generation, model: modelC.id, reason: expect.stringMatching(/cannot load/) },
      });
      // The reason is shown without the folder's path (readyz is unauthenticated).
      expect(ready.body.text_models.refused.reason).not.toContain(dir);
      const metrics = await (await s.app.request('/metrics')).text();
      expect(metrics).toMatch(/^shelf_text_model_refused_total 1$/m);
    } finally {
      await s.close();
      await modelC.close?.();
    }
  }, 120_000);
});

describe('several text models deployed at once', () => {
  let dataDir: string;
  let extraId: string;

  beforeAll(async () => {
    // `npm start` with an extra model: the indexer writes its vector set into the same generation.
    dataDir = path.join(tempDir('shelf-text-extra-'), 'data');
    const config = loadConfig({
      SHELF_DATA_DIR: dataDir,
      SHELF_CATALOG: '',
      SHELF_CONSUMER: 'inline',
      SHELF__EMBEDDER__EXTRA_MODELS: TINY_BERT,
    });
    const s = await openService(config, { embedder: modelA, catalog: CATALOG, log: () => {} });
    try {
      expect(s.searcher.textModels.deployed).toHaveLength(2);
      extraId = s.searcher.textModels.deployed[1]!;
      expect(extraId).toMatch(/^transformers:tiny-bert:/);
    } finally {
      await s.close();
    }
  }, 120_000);

  const withService = async (fn: (s: Service) => Promise<void>) => {
    const config = loadConfig({
      SHELF_DATA_DIR: dataDir,
      SHELF_CATALOG: '',
      SHELF_CONSUMER: 'inline',
      SHELF__EMBEDDER__EXTRA_MODELS: TINY_BERT,
      SHELF__COUPONS__ADMIN_API_KEY: KEY,
      SHELF__EXPERIMENTS__CACHE_MS: '0',
    });
    const s = await openService(config, { embedder: modelA, log: () => {} });
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };
  const auth = { Authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const post = async (s: Service, url: string, body: unknown) => {
    const res = await s.app.request(url, { method: 'POST', headers: auth, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Json };
  };

  it('an experiment arm searches with the text model it names; responses and the served log say which', async () => {
    await withService(async (s) => {
      const experiment = {
        id: 'text-models',
        surface: 'search',
        status: 'running',
        arms: [
          { name: 'control', weight: 50 },
          { name: 'bert', weight: 50, overrides: { 'embedder.model_version': extraId } },
        ],
      };
      const unknown = await post(s, '/v1/admin/experiments', {
        ...experiment,
        arms: [experiment.arms[0], { name: 'bert', weight: 50, overrides: { 'embedder.model_version': 'ngram-v9:0' } }],
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toMatchObject({ code: 'invalid_override', field: 'embedder.model_version' });
      expect(unknown.body.error.message).toContain(`"ngram-v9:0" is not deployed (deployed: ${modelA.id}, ${extraId}`);
      expect((await post(s, '/v1/admin/experiments', experiment)).status).toBe(201);

      const byArm = new Map<string, { body: Json; entry: Awaited<ReturnType<typeof servedEntry>> }>();
      for (let i = 0; i < 40 && byArm.size < 2; i++) {
        const r = await get(s, `/v1/search?q=wireless+headphones&size=20&user_id=tm${i}&debug=true`);
        expect(r.status).toBe(200);
        if (byArm.has(r.body.experiment.arm)) continue;
        byArm.set(r.body.experiment.arm, { body: r.body, entry: await servedEntry(s, dataDir, r.body.request_id) });
      }
      const control = byArm.get('control')!;
      const bert = byArm.get('bert')!;
      expect(control.body.debug.text_model).toEqual({ version: modelA.id });
      expect(bert.body.debug.text_model).toEqual({ version: extraId, requested: extraId });
      expect(control.entry.text_model).toBe(modelA.id);
      expect(bert.entry.text_model).toBe(extraId);
      expect(bert.entry.experiment).toEqual({ id: 'text-models', arm: 'bert' });
      // The vector route found other neighbours, with other similarities: another model's space.
      const vectorHits = (b: Json) =>
        (b.items as Json[])
          .filter((it) => it.debug.vector_rank !== undefined)
          .map((it) => `${it.id}:${it.debug.vector_score.toFixed(4)}`);
      expect(vectorHits(bert.body).length).toBeGreaterThan(0);
      expect(vectorHits(bert.body)).not.toEqual(vectorHits(control.body));
      expect(bert.body.degraded).toBeUndefined();
    });
  }, 120_000);
});
