import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTextEmbedder, parseEmbedderSpec } from '../../core/embedding/load.ts';
import { SqliteEventLog } from '../../behavior/embedded/sqlite-event-log.ts';
import { main as evalMain, type CliIo } from '../../cli/eval.ts';
import { ROOT } from '../../src/config.ts';

const run = promisify(execFile);

/** Cosine of two unit vectors (the embedders normalise). */
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

let hasTorch = true;
try {
  execFileSync('/usr/bin/python3', ['-c', 'import torch, onnx, numpy'], { stdio: 'ignore' });
} catch {
  hasTorch = false;
}

/**
 * A tiny shop whose shoppers use other words than its titles: they search "sofa" for couches,
 * "trainers" for sneakers, "fridge" for refrigerators. No n-gram of the query is in the titles,
 * so only training on the judged queries can bring them together.
 */
const GROUPS: Array<{ titles: string[]; queries: string[] }> = [
  {
    titles: ['Leather couch three seater', 'Fabric couch with chaise', 'Corner couch grey velvet'],
    queries: [
      'sofa',
      'grey sofa',
      'leather sofa',
      'sofa with chaise',
      'big sofa',
      'velvet sofa',
      'cheap sofa',
      'sofa 3 seats',
    ],
  },
  {
    titles: ['Trail sneakers men', 'Canvas sneakers white', 'Leather sneakers black'],
    queries: ['trainers', 'white trainers', 'black trainers', 'mens trainers', 'trail trainers', 'canvas trainers'],
  },
  {
    titles: ['Stainless refrigerator double door', 'Mini refrigerator for dorm rooms'],
    queries: ['fridge', 'mini fridge', 'double door fridge', 'steel fridge', 'dorm fridge', 'small fridge'],
  },
];
const FILLER = [
  'Cordless power drill 18V',
  'Stainless steel kitchen knife',
  'Ceramic coffee mug blue',
  'Electric kettle 1.7 litre',
  'Wool area rug beige',
  'Bath towel set cotton',
  'Desk lamp with LED bulb',
  'Memory foam pillow',
  'Garden hose 25 metres',
  'Cast iron skillet 10 inch',
  'Wireless computer mouse',
  'Yoga mat non slip',
];

function tinyJudgedSet(): { products: string; queries: string; qrels: string } {
  const products: string[] = [];
  const queries: string[] = [];
  const qrels: string[] = [];
  let q = 0;
  GROUPS.forEach((g, gi) => {
    const ids = g.titles.map((t, i) => {
      const id = `g${gi}p${i}`;
      products.push(JSON.stringify({ id, title: t }));
      return id;
    });
    for (const text of g.queries) {
      const qid = `q${++q}`;
      queries.push(`${qid}\t${text}`);
      ids.forEach((id) => qrels.push(`${qid} 0 ${id} 3`));
      qrels.push(`${qid} 0 f${q % FILLER.length} 0`);
    }
  });
  FILLER.forEach((t, i) => {
    products.push(JSON.stringify({ id: `f${i}`, title: t }));
    const qid = `q${++q}`;
    queries.push(`${qid}\t${t.split(' ').slice(0, 2).join(' ').toLowerCase()}`);
    qrels.push(`${qid} 0 f${i} 3`);
  });
  return { products: products.join('\n') + '\n', queries: queries.join('\n') + '\n', qrels: qrels.join('\n') + '\n' };
}

const train = (args: string[]) =>
  run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli/train.ts'), 'text-embedder', ...args], {
    cwd: ROOT,
  });

const SMALL = ['--dim', '32', '--buckets', '4096', '--steps', '150', '--batch', '16', '--lr', '0.02'];

interface Meta {
  model_sha256: string;
  similarity_threshold: number;
  similarity_threshold_calibration: { f1: number; queries: number; on: string };
  trained_on: { source: string; queries: { train: number; validation: number; heldout: number } };
  training: { seed: number; rows: { query_rows: number; view_rows: number; hard_negatives: number } };
  metrics: {
    heldout: { queries: number; vector: Record<string, number>; bm25: Record<string, number> };
  };
}

describe.skipIf(!hasTorch)('npm run train -- text-embedder --data (end to end on a tiny judged set)', () => {
  let dir: string;
  const data = () => path.join(dir, 'data');
  const meta = async (m: string) => JSON.parse(await readFile(path.join(dir, m, 'metadata.json'), 'utf8')) as Meta;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'shelf-tower-'));
    await mkdir(data());
    const set = tinyJudgedSet();
    await writeFile(path.join(data(), 'products.jsonl'), set.products);
    await writeFile(path.join(data(), 'queries.tsv'), set.queries);
    await writeFile(path.join(data(), 'qrels.tsv'), set.qrels);
    const common = ['--data', data(), ...SMALL, '--holdout-fraction', '0.25', '--seed', '5'];
    await Promise.all([
      train([...common, '--out', path.join(dir, 'a')]),
      train([...common, '--out', path.join(dir, 'b')]),
    ]);
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('learns the shoppers’ words, holds out a seeded share of queries and writes the model card', async () => {
    const m = await meta('a');
    const { train: nTrain, validation, heldout } = m.trained_on.queries;
    expect(nTrain + validation + heldout).toBe(32);
    expect(heldout).toBeGreaterThan(3);
    expect(heldout).toBeLessThan(14);
    expect(m.training.rows.query_rows).toBeGreaterThan(0);
    expect(m.training.rows.view_rows).toBeGreaterThan(0);
    expect(m.training.rows.hard_negatives).toBeGreaterThan(0);
    expect(m.metrics.heldout.queries).toBe(heldout);
    for (const k of ['ndcg@10', 'recall@10', 'recall@100', 'mrr@10']) {
      expect(m.metrics.heldout.vector[k]).toBeGreaterThanOrEqual(0);
      expect(m.metrics.heldout.vector[k]).toBeLessThanOrEqual(1);
    }
    // Held-out queries of the synonym groups share no word with their products: BM25 cannot find
    // them, the trained tower does.
    expect(m.metrics.heldout.vector['ndcg@10']).toBeGreaterThan(m.metrics.heldout.bm25['ndcg@10']!);
    expect(m.similarity_threshold).toBeGreaterThan(-1);
    expect(m.similarity_threshold).toBeLessThan(1);
    expect(m.similarity_threshold_calibration.f1).toBeGreaterThan(0);
    const card = await readFile(path.join(dir, 'a', 'MODEL_CARD.md'), 'utf8');
    expect(card).toContain(`similarity_threshold\` = **${m.similarity_threshold}**`);
    expect(card).toMatch(/\| heldout \(\d+\) \| vector \| 0\.\d{4} \|/);
    expect(card).toContain('Seed 5');

    const held = (await readFile(path.join(dir, 'a', 'heldout-queries.tsv'), 'utf8')).trimEnd().split('\n');
    expect(held).toHaveLength(heldout);

    // The service loads the exported model and finds couches for "sofa" (unseen words before training).
    const e = await loadTextEmbedder(parseEmbedderSpec(path.join(dir, 'a')));
    try {
      const [sofa, couch, drill, fridge, refrigerator] = await e.embedTexts(
        ['sofa', 'Corner couch grey velvet', 'Cordless power drill 18V', 'fridge', 'Mini refrigerator for dorm rooms'],
        'query',
      );
      expect(cosine(sofa!, couch!)).toBeGreaterThan(cosine(sofa!, drill!) + 0.3);
      expect(cosine(fridge!, refrigerator!)).toBeGreaterThan(m.similarity_threshold);
      expect(cosine(sofa!, drill!)).toBeLessThan(m.similarity_threshold);
    } finally {
      await e.close?.();
    }
  });

  it('is deterministic: the same data and seed give the same weights', async () => {
    expect((await meta('b')).model_sha256).toBe((await meta('a')).model_sha256);
  });

  it('npm run eval -- search --queries-from scores only the held-out queries, with the trained model', async () => {
    const out = path.join(dir, 'eval');
    const json = await evalHeldOut(data(), path.join(dir, 'a'), out);
    const m = await meta('a');
    expect(json.queries).toBe(m.metrics.heldout.queries);
    expect(String(json.embedder)).toMatch(/^ngram-v1:/);
    expect((json['ndcg@10'] as Record<string, number>).vector).toBeGreaterThan(0);
    const rows = (await readFile(path.join(out, 'search-queries.tsv'), 'utf8')).trimEnd().split('\n').slice(1);
    const held = new Set(
      (await readFile(path.join(dir, 'a', 'heldout-queries.tsv'), 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t')[0]),
    );
    expect(rows.map((r) => r.split('\t')[0]).every((id) => held.has(id))).toBe(true);
  });

  it('--logs trains on the service’s own searches: clicked, carted and purchased positives, shown-and-skipped negatives', async () => {
    const svc = path.join(dir, 'svc');
    await mkdir(path.join(svc, 'behavior'), { recursive: true });
    const served = new SqliteEventLog({ file: path.join(svc, 'behavior', 'served.sqlite') });
    const events = new SqliteEventLog({ file: path.join(svc, 'behavior', 'events.sqlite') });
    const sv: Array<{ key: string; value: string }> = [];
    const ev: Array<{ key: string; value: string }> = [];
    let n = 0;
    GROUPS.forEach((g, gi) =>
      g.queries.forEach((q, qi) => {
        const rid = `r${++n}`;
        // The shop's search showed a filler first and the right product second; the shopper took the second.
        const items = [`f${n % FILLER.length}`, `g${gi}p${qi % g.titles.length}`, `f${(n + 1) % FILLER.length}`];
        sv.push({
          key: rid,
          value: JSON.stringify({
            request_id: rid,
            surface: 'search',
            ts: 1,
            query: q,
            items: items.map((id, i) => ({ id, position: i + 1, score: 1 })),
          }),
        });
        const type = ['click', 'add_to_cart', 'purchase'][qi % 3];
        ev.push({ key: 'u', value: JSON.stringify({ type, request_id: rid, product_id: items[1], user_id: 'u' }) });
      }),
    );
    await served.appendRaw(sv);
    await events.appendRaw(ev);
    await served.close();
    await events.close();

    const out = path.join(dir, 'logs-model');
    await train([
      '--logs',
      svc,
      '--catalog',
      path.join(data(), 'products.jsonl'),
      '--out',
      out,
      ...SMALL,
      '--seed',
      '5',
    ]);
    const qrels = (await readFile(path.join(out, 'training-data', 'qrels.tsv'), 'utf8')).trimEnd().split('\n');
    const grades = qrels.map((l) => Number(l.split(' ')[3]));
    expect(grades.filter((g) => g >= 2)).toHaveLength(20);
    expect(grades.filter((g) => g === 0)).toHaveLength(20); // slot 1, above the taken slot 2; slot 3 unknown
    const m = JSON.parse(await readFile(path.join(out, 'metadata.json'), 'utf8')) as Meta;
    expect(m.trained_on.source).toMatch(/^--logs .* \(20 queries, 20 positives, 20 shown-and-skipped\)$/);
    const e = await loadTextEmbedder(parseEmbedderSpec(out));
    try {
      const [sofa, couch, drill] = await e.embedTexts(
        ['sofa', 'Fabric couch with chaise', 'Cordless power drill 18V'],
        'query',
      );
      expect(cosine(sofa!, couch!)).toBeGreaterThan(cosine(sofa!, drill!) + 0.3);
    } finally {
      await e.close?.();
    }
  });
});

interface BaseMeta extends Meta {
  name: string;
  dim: number;
  base: { name: string; check_embeddings: number[][] };
  check: { texts: string[]; embeddings: number[][] };
  export: { quantized: boolean };
  metrics: Meta['metrics'] & {
    heldout: { vector_before_training: Record<string, number> };
  };
}

describe.skipIf(!hasTorch)('npm run train -- text-embedder --base (fine-tunes a tiny BERT the project makes)', () => {
  let dir: string;
  const data = () => path.join(dir, 'data');
  const base = () => path.join(dir, 'base');
  const meta = async (m: string) => JSON.parse(await readFile(path.join(dir, m, 'metadata.json'), 'utf8')) as BaseMeta;
  const TUNE = [
    '--steps',
    '150',
    '--batch',
    '16',
    '--lr',
    '0.003',
    '--max-length',
    '24',
    '--temperature',
    '0.1',
    '--no-quantize',
  ];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'shelf-bert-tower-'));
    await mkdir(data());
    const set = tinyJudgedSet();
    await writeFile(path.join(data(), 'products.jsonl'), set.products);
    await writeFile(path.join(data(), 'queries.tsv'), set.queries);
    await writeFile(path.join(data(), 'qrels.tsv'), set.qrels);
    // A seeded random 2-layer BERT on the tiny-bert fixture's WordPiece vocabulary: no third-party weights.
    await run('/usr/bin/python3', [
      path.join(ROOT, 'models/text_embedder/bert.py'),
      '--make-tiny',
      base(),
      '--tokenizer-from',
      path.join(ROOT, 'test/fixtures/models/tiny-bert'),
      '--seed',
      '13',
    ]);
    const common = ['--data', data(), '--base', base(), ...TUNE, '--holdout-fraction', '0.25', '--seed', '5'];
    await Promise.all([
      train([...common, '--eval-base', '--out', path.join(dir, 'a')]),
      train([...common, '--out', path.join(dir, 'b')]),
    ]);
  }, 600_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads the base from its ONNX graph: the loaded weights give the service’s embeddings of the base', async () => {
    const m = await meta('a');
    const e = await loadTextEmbedder(parseEmbedderSpec(base()));
    try {
      const got = await e.embedTexts(m.check.texts, 'query');
      m.base.check_embeddings.forEach((v, i) => expect(cosine(Float32Array.from(v), got[i]!)).toBeGreaterThan(0.9999));
      // …and a different model gives different vectors, so the check can fail.
      const tuned = Float32Array.from(m.check.embeddings[1]!);
      expect(cosine(Float32Array.from(m.base.check_embeddings[1]!), tuned)).toBeLessThan(0.99);
    } finally {
      await e.close?.();
    }
  });

  it('fine-tunes on the judged queries and exports a transformers.js folder the service loads', async () => {
    const m = await meta('a');
    expect(m.dim).toBe(32);
    expect(m.base.name).toBe('base');
    expect(m.training.rows.query_rows).toBeGreaterThan(0);
    expect(m.training.rows.view_rows).toBeGreaterThan(0);
    expect(m.training.rows.hard_negatives).toBeGreaterThan(0);
    const { heldout } = m.trained_on.queries;
    expect(m.metrics.heldout.queries).toBe(heldout);
    // The synonym queries share no word with their products: the random base cannot find them,
    // BM25 cannot either, the fine-tuned encoder does.
    expect(m.metrics.heldout.vector['ndcg@10']).toBeGreaterThan(m.metrics.heldout.vector_before_training['ndcg@10']!);
    expect(m.metrics.heldout.vector['ndcg@10']).toBeGreaterThan(m.metrics.heldout.bm25['ndcg@10']!);
    expect(m.similarity_threshold).toBeGreaterThan(-1);
    expect(m.similarity_threshold).toBeLessThan(1);
    const card = await readFile(path.join(dir, 'a', 'MODEL_CARD.md'), 'utf8');
    expect(card).toContain('Fine-tuned from `base`');
    expect(card).toContain(`similarity_threshold\` = **${m.similarity_threshold}**`);
    expect(card).toMatch(/\| heldout \(\d+\) \| vector before training \| 0\.\d{4} \|/);
    // Same tokenizer files as the base, and the graph the service runs.
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      expect(await readFile(path.join(dir, 'a', f), 'utf8')).toBe(await readFile(path.join(base(), f), 'utf8'));

    const e = await loadTextEmbedder(parseEmbedderSpec(path.join(dir, 'a')));
    try {
      expect(e.id).toMatch(/^transformers:a:[0-9a-f]{12}$/);
      expect(e.dim).toBe(32);
      expect(e.similarityThreshold).toBe(m.similarity_threshold);
      // Tokenizer port, pooling and export together: the service reproduces the trainer's vectors.
      const got = await e.embedTexts(m.check.texts, 'query');
      m.check.embeddings.forEach((v, i) => expect(cosine(Float32Array.from(v), got[i]!)).toBeGreaterThan(0.9999));
      const [sofa, couch, drill] = await e.embedTexts(
        ['sofa', 'Corner couch grey velvet', 'Cordless power drill 18V'],
        'query',
      );
      expect(cosine(sofa!, couch!)).toBeGreaterThan(cosine(sofa!, drill!) + 0.2);
    } finally {
      await e.close?.();
    }
  });

  it('is deterministic: the same base, data and seed give the same weights', async () => {
    expect((await meta('b')).model_sha256).toBe((await meta('a')).model_sha256);
  });

  it('npm run eval -- search runs the fine-tuned folder on the held-out queries', async () => {
    const out = path.join(dir, 'eval');
    const json = await evalHeldOut(data(), path.join(dir, 'a'), out);
    expect(json.queries).toBe((await meta('a')).metrics.heldout.queries);
    expect(String(json.embedder)).toMatch(/^transformers:a:/);
    expect((json['ndcg@10'] as Record<string, number>).vector).toBeGreaterThan(0);
  });
});

/** `npm run eval -- search` with the model in `modelDir`, on its held-out queries only: search.json. */
async function evalHeldOut(dataDir: string, modelDir: string, out: string): Promise<Record<string, unknown>> {
  const io: CliIo = { out: () => undefined, err: () => undefined };
  const args = ['search', '--data', dataDir, '--out', out, '--embedder', modelDir];
  const code = await evalMain([...args, '--queries-from', path.join(modelDir, 'heldout-queries.tsv')], undefined, io);
  expect(code).toBe(0);
  return JSON.parse(await readFile(path.join(out, 'search.json'), 'utf8')) as Record<string, unknown>;
}
