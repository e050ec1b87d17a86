/**
 * End to end: a 6-product / 3-query dataset through the real indexer and searcher.
 * The first test runs the CLI exactly as `npm run eval -- search` does, with the shipped
 * default embedder; the second injects a tiny hashing embedder so the wiring is covered even
 * where the default model is not available.
 */
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { l2normalize, type TextEmbedder } from '../../core/embedding/embedder.ts';
import { main, type CliIo } from '../../cli/eval.ts';
import { writeDataset } from './datasets.ts';

let dir: string;
let data: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-eval-e2e-'));
  data = join(dir, 'data');
  await writeDataset(data, {
    products: [
      {
        id: 'p1',
        title: 'Red running shoes',
        category: 'Footwear/Running',
        brand: 'Acme',
        price: 79.9,
        currency: 'EUR',
      },
      {
        id: 'p2',
        title: 'Blue denim jacket',
        category: 'Apparel/Jackets',
        brand: 'Denimco',
        price: 120,
        currency: 'EUR',
      },
      {
        id: 'p3',
        title: 'Cordless power drill 18V',
        category: 'Tools/Power tools',
        brand: 'Boltix',
        price: 99,
        currency: 'EUR',
      },
      {
        id: 'p4',
        title: 'Stainless steel kitchen knife',
        category: 'Kitchen/Knives',
        brand: 'Sharpy',
        price: 35,
        currency: 'EUR',
      },
      {
        id: 'p5',
        title: 'Waterproof hiking boots',
        category: 'Footwear/Outdoor',
        brand: 'Acme',
        price: 149,
        currency: 'EUR',
      },
      {
        id: 'p6',
        title: 'Cotton crew neck t-shirt',
        category: 'Apparel/Tops',
        brand: 'Basics',
        price: 15,
        currency: 'EUR',
      },
    ],
    queries: [
      { id: 'q1', query: 'running shoes' },
      { id: 'q2', query: 'power drill' },
      { id: 'q3', query: 'cotton t-shirt' },
    ],
    qrels: new Map([
      [
        'q1',
        new Map([
          ['p1', 3],
          ['p5', 1],
          ['p4', 0],
        ]),
      ],
      ['q2', new Map([['p3', 3]])],
      [
        'q3',
        new Map([
          ['p6', 3],
          ['p2', 1],
        ]),
      ],
    ]),
    meta: { name: 'e2e-tiny', grades: 'by hand' },
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function expectSearchJson(json: Record<string, unknown>, embedderId?: string): void {
  expect(Object.keys(json).slice(0, 4)).toEqual(['ndcg@10', 'recall@100', 'mrr@10', 'queries']);
  expect(json.queries).toBe(3);
  for (const metric of ['ndcg@10', 'recall@100', 'mrr@10']) {
    const row = json[metric] as Record<string, number>;
    expect(Object.keys(row)).toEqual(['bm25', 'vector', 'hybrid']);
    for (const v of Object.values(row)) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  }
  expect(json.dataset).toBe('e2e-tiny');
  if (embedderId) expect(json.embedder).toBe(embedderId);
  else expect(typeof json.embedder).toBe('string');
  expect(json.significance).toHaveProperty('hybrid_vs_bm25');
  expect(json.significance).toHaveProperty('hybrid_vs_vector');
  expect(Object.keys(json.latency_ms as object)).toEqual(['bm25', 'vector', 'hybrid']);
  expect(json.degraded_queries).toEqual({});
}

describe('npm run eval -- search (real engine)', () => {
  it('indexes, searches and writes search.json, search-queries.tsv and search.html with the default embedder', async () => {
    const out = join(dir, 'out-default');
    const io: CliIo = { out: () => undefined, err: (t) => process.stderr.write(t + '\n') };
    const code = await main(['search', '--data', data, '--out', out, '--embedder', 'default'], undefined, io);
    expect(code).toBe(0);
    expectSearchJson(JSON.parse(await readFile(join(out, 'search.json'), 'utf8')));
    const tsv = (await readFile(join(out, 'search-queries.tsv'), 'utf8')).trimEnd().split('\n');
    expect(tsv).toHaveLength(4);
    expect(tsv[1]!.split('\t').slice(0, 4)).toEqual(['q1', 'running shoes', '3', '2']);
    // "power drill" matches one title word for word: keyword search must put it first.
    expect(tsv[2]!.split('\t').slice(0, 5)).toEqual(['q2', 'power drill', '1', '1', '1.0000']);
    const html = await readFile(join(out, 'search.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link/);
  });

  it('runs the same wiring with an injected embedder and reuses --index-dir', async () => {
    const { runSearchEvalOnDir } = await import('./run.ts');
    const dim = 64;
    const embedder: TextEmbedder = {
      id: 'test-hash-trigram-64',
      dim,
      async embedTexts(texts) {
        return texts.map((t) => {
          const v = new Float32Array(dim);
          const s = ` ${t.toLowerCase()} `;
          for (let i = 0; i + 3 <= s.length; i++) {
            let h = 2166136261;
            for (let j = i; j < i + 3; j++) h = Math.imul(h ^ s.charCodeAt(j), 16777619);
            v[(h >>> 0) % dim] = v[(h >>> 0) % dim]! + 1;
          }
          return l2normalize(v);
        });
      },
    };
    const indexDir = join(dir, 'index');
    const out = join(dir, 'out-hash');
    const logs: string[] = [];
    const first = await runSearchEvalOnDir({
      data,
      out,
      embedder: { kind: 'default' },
      textEmbedder: embedder,
      indexDir,
      log: (l) => logs.push(l),
    });
    expectSearchJson(first.json, 'test-hash-trigram-64');
    expect(first.json.index).toMatchObject({ indexed: 6, skipped: 0 });
    expect(await exists(first.files.html)).toBe(true);
    expect(first.result.rows.map((r) => r.id)).toEqual(['q1', 'q2', 'q3']);
    expect(first.result.rows[1]!.metrics.bm25!['ndcg@10']).toBe(1);
    expect(first.result.rows[1]!.top.bm25![0]).toBe('p3');

    const second = await runSearchEvalOnDir({
      data,
      out,
      embedder: { kind: 'default' },
      textEmbedder: embedder,
      indexDir,
      limit: 2,
      log: () => undefined,
    });
    expect(second.json.index).toMatchObject({ indexed: 0, unchanged: 6 });
    expect(second.json.queries).toBe(2);
    // The index directory given by the caller is kept.
    expect(await exists(indexDir)).toBe(true);
  });
});
