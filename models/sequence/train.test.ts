import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SequenceModel, SequenceModelRefusedError } from '../../retrieval/recall/sequence-model.ts';
import { SequenceConfigSchema, SequenceRecall } from '../../retrieval/recall/sequence-recall.ts';
import { runSequenceBench } from '../../bench/sequence-bench.ts';
import { ROOT } from '../../src/config.ts';

const run = promisify(execFile);

let hasTorch = true;
try {
  execFileSync('/usr/bin/python3', ['-c', 'import torch, onnx, numpy'], { stdio: 'ignore' });
} catch {
  hasTorch = false;
}

/**
 * A tiny shop whose shoppers walk the catalog in order (item k is followed by k + 1, from a seeded
 * random start): a next-item model must learn the step; any model that ignores the order scores
 * about 10 / 40 at HR@10.
 */
function tinyInteractions(): string {
  const lines = ['user_id\titem_id\ttimestamp'];
  let s = 12345;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let u = 0; u < 160; u++) {
    const start = Math.floor(rand() * 40);
    const len = 5 + Math.floor(rand() * 5);
    for (let i = 0; i < len; i++) lines.push(`u${u}\tP${(start + i) % 40}\t${1_700_000_000_000 + i * 60_000}`);
  }
  return lines.join('\n') + '\n';
}

/** The tiny shop's catalog: its products' text vectors fit the text projection (train --catalog). */
function tinyCatalog(): string {
  const kinds = ['trail shoe', 'rain jacket', 'water bottle', 'head torch'];
  return (
    Array.from({ length: 40 }, (_, k) =>
      JSON.stringify({
        id: `P${k}`,
        title: `Step ${k} ${kinds[k % 4]}`,
        category: `Outdoor/${kinds[k % 4]}`,
        price: 10 + k,
        in_stock: true,
      }),
    ).join('\n') + '\n'
  );
}

interface Vectors {
  cases: Array<{ items: string[]; shopper: number[] }>;
  item_vectors: Record<string, number[]>;
  projection: { ids: Array<string | null>; text: number[][]; vectors: number[][] };
}

describe.skipIf(!hasTorch)('npm run train -- sequence (end to end on a tiny data set)', () => {
  let dir: string;
  const train = (out: string) =>
    run(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'cli/train.ts'),
        'sequence',
        '--data',
        path.join(dir, 'data'),
        '--out',
        out,
        '--dim',
        '16',
        '--max-len',
        '10',
        '--epochs',
        '40',
        '--eval-every',
        '4',
        '--negatives',
        '32',
        '--batch',
        '32',
        '--lr',
        '0.005',
        '--dropout',
        '0.1',
        '--catalog',
        path.join(dir, 'catalog.jsonl'),
        '--embedder',
        'default',
        '--quiet',
      ],
      { cwd: ROOT },
    );

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'shelf-seq-'));
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'data', 'interactions.tsv'), tinyInteractions());
    await writeFile(path.join(dir, 'catalog.jsonl'), tinyCatalog());
    await train(path.join(dir, 'a'));
  }, 240_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('learns the next item, writes the model card, and stops early on validation', async () => {
    const meta = JSON.parse(await readFile(path.join(dir, 'a', 'metadata.json'), 'utf8')) as {
      metrics: Record<string, { users: number; full: Record<string, number>; sampled100: Record<string, number> }>;
      training: { best_epoch: number; seconds: number };
      items: number;
    };
    expect(meta.items).toBe(40);
    expect(meta.metrics.valid!.users).toBe(160);
    expect(meta.metrics.test!.full['hr@10']).toBeGreaterThan(0.6);
    expect(meta.metrics.test!.full['ndcg@10']).toBeGreaterThan(0.3);
    expect(meta.training.best_epoch).toBeGreaterThan(0);
    expect(meta.training.seconds).toBeGreaterThan(0);
    const card = await readFile(path.join(dir, 'a', 'MODEL_CARD.md'), 'utf8');
    expect(card).toMatch(/\| test \| 160 \|/);
    expect(card).toMatch(/training time/);
    // The text projection was fitted on the products with interactions, validated on held-out ones.
    const tp = (meta as unknown as { text_projection: Record<string, any>; files: Record<string, string> })
      .text_projection;
    expect(tp.items).toBe(40);
    expect(tp.text_dim).toBeGreaterThan(0);
    expect(tp.validation.held_out_items).toBe(8);
    expect(tp.validation.cold_start).toHaveProperty('projection');
    expect(tp.validation.cold_start).toHaveProperty('mean_row');
    expect((meta as unknown as { files: Record<string, string> }).files['text_projection.onnx']).toMatch(
      /^[0-9a-f]{64}$/,
    );
    expect(card).toMatch(/Products with no interactions/);
  });

  it('--holdout none trains on every item for exactly --epochs (a count chosen before), and refuses --catalog', async () => {
    const base = ['--import', 'tsx', path.join(ROOT, 'cli/train.ts'), 'sequence', '--data', path.join(dir, 'data')];
    const tiny = ['--dim', '8', '--max-len', '10', '--negatives', '8', '--batch', '32', '--holdout', 'none', '--quiet'];
    await run(process.execPath, [...base, '--out', path.join(dir, 'all'), '--epochs', '3', ...tiny], { cwd: ROOT });
    const meta = JSON.parse(await readFile(path.join(dir, 'all', 'metadata.json'), 'utf8')) as {
      metrics: Record<string, unknown>;
      training: { best_epoch: number; split: string; history: unknown[] };
      items: number;
    };
    expect(meta.items).toBe(40);
    expect(meta.training.best_epoch).toBe(3);
    expect(meta.training.split).toContain('every item');
    expect(meta.training.history).toEqual([]);
    expect(meta.metrics).toEqual({});
    const card = await readFile(path.join(dir, 'all', 'MODEL_CARD.md'), 'utf8');
    expect(card).toContain('exactly 3 epochs');
    expect(card).toContain('every item was trained on');
    // The new-product map is validated on held-out items: with none held out there is nothing to check it on.
    await expect(
      run(
        process.execPath,
        [
          ...base,
          '--out',
          path.join(dir, 'none-cat'),
          '--epochs',
          '1',
          ...tiny,
          '--catalog',
          path.join(dir, 'catalog.jsonl'),
        ],
        { cwd: ROOT },
      ),
    ).rejects.toThrow(/holdout none/);
  }, 120_000);

  it('serves the same vectors with onnxruntime-node as PyTorch computed (shared test vectors)', async () => {
    const model = await SequenceModel.load(path.join(dir, 'a'));
    try {
      const tv = JSON.parse(await readFile(path.join(dir, 'a', 'test_vectors.json'), 'utf8')) as Vectors;
      expect(tv.cases.length).toBeGreaterThanOrEqual(2);
      for (const c of tv.cases) {
        const v = (await model.shopperVector(c.items))!;
        expect(v).toHaveLength(16);
        c.shopper.forEach((x, i) => expect(Math.abs(v[i]! - x)).toBeLessThan(1e-4));
      }
      for (const [id, want] of Object.entries(tv.item_vectors)) {
        const v = model.itemVector(id)!;
        want.forEach((x, i) => expect(Math.abs(v[i]! - x)).toBeLessThan(1e-5));
      }
      // The text projection (new products): onnxruntime-node gives PyTorch's vectors, for known and made-up text.
      expect(model.textEmbedderId).toMatch(/\S/);
      expect(tv.projection.text).toHaveLength(tv.projection.vectors.length);
      expect(tv.projection.ids).toContain(null);
      const projected = await model.project(tv.projection.text.map((t) => Float32Array.from(t)));
      projected.forEach((v, k) => {
        expect(v).toHaveLength(16);
        tv.projection.vectors[k]!.forEach((x, i) => expect(Math.abs(v[i]! - x)).toBeLessThan(1e-4));
      });
      // The learned step: after P3, P4 the best unseen item is P5.
      const h = (await model.shopperVector(['P2', 'P3', 'P4']))!;
      const score = (id: string) => model.itemVector(id)!.reduce((s, x, i) => s + x * h[i]!, 0);
      const ranked = model.itemIds.filter((id) => !['P2', 'P3', 'P4'].includes(id)).sort((a, b) => score(b) - score(a));
      expect(ranked.slice(0, 3)).toContain('P5');
      expect(await model.shopperVector(['not-in-the-table'])).toBeUndefined();
      expect(model.coverage(['P1', 'P2', 'X'])).toBeCloseTo(2 / 3);
    } finally {
      await model.close();
    }
  });

  it('is deterministic: the same data and seed give the same weights', async () => {
    await train(path.join(dir, 'b'));
    const version = async (d: string) =>
      (JSON.parse(await readFile(path.join(dir, d, 'metadata.json'), 'utf8')) as { version: string }).version;
    expect(await version('b')).toBe(await version('a'));
  }, 240_000);

  it('refuses a folder whose files do not match metadata.json (a deploy in progress)', async () => {
    await cp(path.join(dir, 'a'), path.join(dir, 'c'), { recursive: true });
    await writeFile(path.join(dir, 'c', 'items.json'), '["P1"]\n');
    const err = await SequenceModel.load(path.join(dir, 'c')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SequenceModelRefusedError);
    expect((err as SequenceModelRefusedError).reason).toBe('incomplete');
  });

  it('serves the sequence route and item-to-item neighbours, hot-reloads a new version, refuses a foreign catalog', async () => {
    const live = path.join(dir, 'live');
    await cp(path.join(dir, 'a'), live, { recursive: true });
    const logs: string[] = [];
    const catalog = new Set(Array.from({ length: 40 }, (_, i) => `P${i}`));
    const cfg = SequenceConfigSchema.parse({ model_dir: live, refresh_ms: 0 });
    const seq = await SequenceRecall.open(cfg, {
      catalogHas: async (ids) => new Set(ids.filter((id) => catalog.has(id))),
      log: (l) => logs.push(l),
    });
    try {
      const v1 = seq.status.model_version!;
      expect(seq.status.active).toBe(true);
      const next = await seq.recall(['P2', 'P3', 'P4'], 5);
      expect(next.map((h) => h.id).slice(0, 3)).toContain('P5');
      expect(next.map((h) => h.id)).not.toContain('P4');
      // The same history again is a cache hit with the same answer.
      expect(await seq.recall(['P2', 'P3', 'P4'], 5)).toEqual(next);
      const near = await seq.neighbours('P10', 5);
      expect(near).toHaveLength(5);
      expect(near.map((h) => h.id)).not.toContain('P10');
      expect(await seq.recall(['unknown'], 5)).toEqual([]);

      // A new version in the folder (metadata.json written last) is swapped in at the next poll.
      const meta = JSON.parse(await readFile(path.join(live, 'metadata.json'), 'utf8')) as { version: string };
      await writeFile(path.join(live, 'metadata.json'), JSON.stringify({ ...meta, version: 'sequence-next' }));
      await seq.reload();
      expect(seq.status.model_version).toBe('sequence-next');
      expect(logs.join('\n')).toMatch(new RegExp(`replacing ${v1}`));
    } finally {
      await seq.close();
    }

    // A model whose items the catalog does not hold: refused, the route stays empty.
    const foreign = await SequenceRecall.open(cfg, { catalogHas: async () => new Set(), log: () => {} });
    try {
      expect(foreign.status.active).toBe(false);
      expect(foreign.status.reason).toMatch(/in the catalog/);
      expect(await foreign.recall(['P2', 'P3'], 5)).toEqual([]);
    } finally {
      await foreign.close();
    }
    const none = await SequenceRecall.open(SequenceConfigSchema.parse({}));
    expect(none.status).toEqual({ active: false, reason: 'no sequence model configured' });
  });

  it('gives a product added after training a vector from its text: recalled, similar, followed across catalog generations', async () => {
    const tv = JSON.parse(await readFile(path.join(dir, 'a', 'test_vectors.json'), 'utf8')) as Vectors;
    const meta = JSON.parse(await readFile(path.join(dir, 'a', 'metadata.json'), 'utf8')) as {
      text_projection: { embedder_id: string };
    };
    // The served index: its stored text vectors, by generation; P-new arrives in g1, P-newer in g2.
    const text = (k: number) => Float32Array.from(tv.projection.text[k]!);
    const catalog = {
      generation: 'g1',
      embedderId: meta.text_projection.embedder_id,
      vectors: new Map([['P-new', text(0)]]),
      async missing(known: (id: string) => boolean) {
        const vectors = new Map([...this.vectors].filter(([id]) => !known(id)));
        return { embedderId: this.embedderId, vectors };
      },
    };
    const logs: string[] = [];
    const seq = await SequenceRecall.open(
      SequenceConfigSchema.parse({ model_dir: path.join(dir, 'a'), refresh_ms: 0 }),
      {
        catalog,
        log: (l) => logs.push(l),
      },
    );
    try {
      expect(seq.status).toMatchObject({ active: true, projected: 1 });
      expect(logs.join('\n')).toMatch(/1 product\(s\) model .* never saw get a vector from their text/);
      // Its vector is the projection of its text (so a twin of a known product's text lands where that text projects).
      const twin = (await seq.model!.project([text(0)]))[0]!;
      const near = await seq.neighbours('P-new', 5);
      expect(near).toHaveLength(5);
      expect(near.map((h) => h.id)).not.toContain('P-new');
      const byDot = seq
        .model!.itemIds.map((id) => ({ id, s: seq.model!.itemVector(id)!.reduce((a, x, i) => a + x * twin[i]!, 0) }))
        .sort((a, b) => b.s - a.s);
      expect(near[0]!.id).toBe(byDot[0]!.id);
      // The route serves it like any item, scored by the shopper vector · its projection (whether it
      // ranks high is the projection's quality: the model card's cold-start figures, and the demo test).
      const h = (await seq.model!.shopperVector(['P2', 'P3']))!;
      const all = await seq.recall(['P2', 'P3'], 40);
      const hit = all.find((x) => x.id === 'P-new')!;
      expect(hit).toBeDefined();
      expect(hit.score).toBeCloseTo(
        twin.reduce((a, x, i) => a + x * h[i]!, 0),
        4,
      );

      // A new generation with another new product: the next request notices it, the sync projects it.
      catalog.generation = 'g2';
      catalog.vectors.set('P-newer', text(1));
      await seq.recall(['P1'], 5);
      await seq.syncNewProducts();
      expect(seq.status.projected).toBe(2);
      expect(await seq.neighbours('P-newer', 3)).toHaveLength(3);
    } finally {
      await seq.close();
    }

    // Vectors from another text embedder are not what the map was fitted on: no vector, said why.
    const other = await SequenceRecall.open(
      SequenceConfigSchema.parse({ model_dir: path.join(dir, 'a'), refresh_ms: 0 }),
      {
        catalog: {
          generation: 'g1',
          missing: async (known: (id: string) => boolean) => ({
            ...(await catalog.missing(known)),
            embedderId: 'another-embedder',
          }),
        },
        log: () => {},
      },
    );
    try {
      expect(other.status.projected).toBe(0);
      expect(other.status.projection).toMatch(/reads .* vectors, the index holds another-embedder/);
      expect(await other.neighbours('P-new', 3)).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('npm run bench -- sequence times the tower and the route per call', async () => {
    const r = await runSequenceBench({ modelDir: path.join(dir, 'a'), calls: 30, k: 5, seed: 1 });
    expect(r.model).toMatchObject({ items: 40, dim: 16, max_len: 10 });
    for (const s of [r.shopper_tower, r.route_cache_miss, r.route_cache_hit]) {
      expect(s.n).toBe(30);
      expect(s.p99_ms).toBeGreaterThanOrEqual(s.p50_ms);
      expect(s.p50_ms).toBeGreaterThan(0);
    }
  });
});
