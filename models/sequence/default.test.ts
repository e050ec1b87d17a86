import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../src/config.ts';
import { DEFAULT_SEQUENCE_MODEL_DIR } from '../../src/settings/schema.ts';
import { simulateSequences, SEQUENCE_SIM_DEFAULTS } from '../../eval/simulate/sequences.ts';
import { loadTextEmbedder, parseEmbedderSpec } from '../../core/embedding/load.ts';
import { SequenceModel } from '../../retrieval/recall/sequence-model.ts';

/**
 * The shipped sequence model (models/sequence/default): small, our own weights, trained on data the
 * repository regenerates (models/sequence/README.md gives the commands), and served by
 * onnxruntime-node exactly as PyTorch computed it.
 */
const dir = DEFAULT_SEQUENCE_MODEL_DIR;
const meta = JSON.parse(readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as {
  version: string;
  dim: number;
  items: number;
  files: Record<string, string>;
  data: { sha256: string; shoppers: number };
  text_projection: { embedder_id: string; validation: { cold_start: Record<string, { 'ndcg@10': number }> } };
  metrics: { test: { full: { 'hr@10': number } } };
};

describe('models/sequence/default', () => {
  it('was trained on `npm run eval -- demo-sequences` with its defaults (same bytes)', () => {
    const rows = simulateSequences({
      catalog: path.join(ROOT, 'data/demo/catalog.jsonl'),
      users: SEQUENCE_SIM_DEFAULTS.users,
      seed: SEQUENCE_SIM_DEFAULTS.seed,
    });
    const body = ['user_id\titem_id\ttimestamp', ...rows.map((r) => r.join('\t'))].join('\n') + '\n';
    expect(createHash('sha256').update(body).digest('hex')).toBe(meta.data.sha256);
    expect(meta.data.shoppers).toBe(SEQUENCE_SIM_DEFAULTS.users);
  });

  it('is small, has a model card, and its text projection reads the shipped text embedder', async () => {
    let bytes = 0;
    for (const f of Object.keys(meta.files)) bytes += readFileSync(path.join(dir, f)).length;
    expect(bytes).toBeLessThan(2_000_000);
    const card = readFileSync(path.join(dir, 'MODEL_CARD.md'), 'utf8');
    expect(card).toMatch(/demo-sequences/);
    expect(card).toMatch(/Products with no interactions/);
    const embedder = await loadTextEmbedder(parseEmbedderSpec('default'));
    expect(meta.text_projection.embedder_id).toBe(embedder.id);
    await embedder.close?.();
  });

  it('serves with onnxruntime-node what PyTorch computed on the shared test vectors', async () => {
    const tv = JSON.parse(readFileSync(path.join(dir, 'test_vectors.json'), 'utf8')) as {
      cases: Array<{ items: string[]; shopper: number[] }>;
      item_vectors: Record<string, number[]>;
      projection: { text: number[][]; vectors: number[][] };
    };
    const model = await SequenceModel.load(dir);
    try {
      expect(model.version).toBe(meta.version);
      for (const c of tv.cases) {
        const v = (await model.shopperVector(c.items))!;
        c.shopper.forEach((x, i) => expect(Math.abs(v[i]! - x)).toBeLessThan(1e-4));
      }
      for (const [id, want] of Object.entries(tv.item_vectors))
        want.forEach((x, i) => expect(Math.abs(model.itemVector(id)![i]! - x)).toBeLessThan(1e-5));
      const projected = await model.project(tv.projection.text.map((t) => Float32Array.from(t)));
      projected.forEach((v, k) =>
        tv.projection.vectors[k]!.forEach((x, i) => expect(Math.abs(v[i]! - x)).toBeLessThan(1e-4)),
      );
    } finally {
      await model.close();
    }
  });
});
