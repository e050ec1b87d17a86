import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reciprocalRankFusion } from '../../../retrieval/recall/rrf.ts';
import { DEFAULT_MODEL_DIR } from '../../../core/embedding/load.ts';
import { l2normalize, type TextEmbedder } from '../../../core/embedding/embedder.ts';
import { main, type CliIo } from '../../../cli/eval.ts';
import { writeDataset, type Qrels } from '../datasets.ts';
import { ndcgAt } from '../../kit/metrics.ts';
import { mulberry32 } from '../../../core/rng.ts';
import {
  DEFAULT_FUSION,
  RRF_KS,
  VECTOR_WEIGHTS,
  fuse,
  gridSearch,
  type JudgedLists,
  type RouteListRow,
} from './grid.ts';
import { splitQueries, splitUnit } from './split.ts';
import { analyzeFusion, attachJudgments, evaluateHalf } from './choose.ts';
import { buildFusionJson, formatFusionSummary } from './report.ts';
import { readRouteLists, routeListsJsonl } from './route-lists.ts';
import { runTuneFusion } from './run.ts';

/** Random route lists over a small id space with random judgments: enough to exercise the grid. */
function fakeQueries(n: number, seed: number): JudgedLists[] {
  const rng = mulberry32(seed);
  const pick = (len: number) => {
    const ids = new Set<string>();
    while (ids.size < len) ids.add(`p${Math.floor(rng() * 60)}`);
    return [...ids];
  };
  return Array.from({ length: n }, (_, i) => {
    const judged = new Map<string, number>();
    for (let j = 0; j < 6; j++) judged.set(`p${Math.floor(rng() * 60)}`, Math.floor(rng() * 4));
    judged.set(`p${Math.floor(rng() * 60)}`, 3);
    return { id: `q${i + 1}`, query: `query ${i + 1}`, bm25: pick(25), vector: pick(30), judged };
  });
}

describe('split', () => {
  const ids = Array.from({ length: 4000 }, (_, i) => ({ id: `q${i + 1}` }));

  it('is deterministic, disjoint, complete and order-preserving', () => {
    const a = splitQueries(ids, 1);
    const b = splitQueries(ids, 1);
    expect(a).toEqual(b);
    const tune = new Set(a.tune.map((q) => q.id));
    expect(a.test.some((q) => tune.has(q.id))).toBe(false);
    expect(a.tune.length + a.test.length).toBe(ids.length);
    const order = new Map(ids.map((q, i) => [q.id, i]));
    for (const half of [a.tune, a.test]) {
      for (let i = 1; i < half.length; i++)
        expect(order.get(half[i]!.id)!).toBeGreaterThan(order.get(half[i - 1]!.id)!);
    }
  });

  it('is close to half and half, depends on the seed, and never moves a query when others change', () => {
    const a = splitQueries(ids, 1);
    expect(a.tune.length / ids.length).toBeGreaterThan(0.46);
    expect(a.tune.length / ids.length).toBeLessThan(0.54);
    const other = splitQueries(ids, 2);
    expect(other.tune.map((q) => q.id)).not.toEqual(a.tune.map((q) => q.id));
    const subset = splitQueries(
      ids.filter((_, i) => i % 3 === 0),
      1,
    );
    const tune = new Set(a.tune.map((q) => q.id));
    for (const q of subset.tune) expect(tune.has(q.id)).toBe(true);
    for (const q of subset.test) expect(tune.has(q.id)).toBe(false);
    for (const { id } of ids.slice(0, 50)) {
      const u = splitUnit(id, 7);
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      expect(splitUnit(id, 7)).toBe(u);
    }
  });
});

describe('offline fusion', () => {
  it('equals reciprocalRankFusion output, cut to the depth', () => {
    for (const q of fakeQueries(20, 3)) {
      for (const cfg of [DEFAULT_FUSION, { w: 0, k: 1 }, { w: 0.3, k: 10 }, { w: 1.5, k: 100 }]) {
        const expected = reciprocalRankFusion(
          [
            { route: 'bm25', ids: q.bm25, weight: 1 },
            { route: 'vector', ids: q.vector, weight: cfg.w },
          ],
          cfg.k,
        ).map((h) => h.id);
        expect(fuse(q.bm25, q.vector, cfg)).toEqual(expected.slice(0, 100));
        expect(fuse(q.bm25, q.vector, cfg, 10)).toEqual(expected.slice(0, 10));
      }
    }
  });

  it('with vector weight 0 keeps the bm25 order and appends vector-only ids', () => {
    const f = fuse(['a', 'b', 'c'], ['d', 'b', 'e'], { w: 0, k: 60 });
    expect(f).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
});

describe('grid search', () => {
  it('scores every (w, k) on the tune queries and picks the best', () => {
    const tune = fakeQueries(40, 11);
    const { grid, best } = gridSearch(tune);
    expect(grid).toHaveLength(VECTOR_WEIGHTS.length * RRF_KS.length);
    expect(grid.map((p) => [p.w, p.k])).toEqual(VECTOR_WEIGHTS.flatMap((w) => RRF_KS.map((k) => [w, k])));
    // Independent recomputation with reciprocalRankFusion + ndcgAt.
    for (const p of grid) {
      let s = 0;
      for (const q of tune) {
        const ids = reciprocalRankFusion(
          [
            { route: 'bm25', ids: q.bm25, weight: 1 },
            { route: 'vector', ids: q.vector, weight: p.w },
          ],
          p.k,
        ).map((h) => h.id);
        s += ndcgAt(10, ids, q.judged);
      }
      expect(p['ndcg@10_tune']).toBeCloseTo(s / tune.length, 12);
    }
    const max = Math.max(...grid.map((p) => p['ndcg@10_tune']));
    expect(best['ndcg@10_tune']).toBe(max);
    expect(grid.find((p) => p['ndcg@10_tune'] === max)).toBe(best);
  });

  it('finds a known optimum and breaks ties toward the earlier grid point', () => {
    // q1 wants a strong vector route (its only relevant product is vector's #1, bm25's #3);
    // q2 wants a weak one (bm25's #1 is relevant, vector's #1 is not).
    const q1: JudgedLists = {
      id: 'q1',
      query: 'x',
      bm25: ['a', 'b', 'c'],
      vector: ['c', 'd', 'e'],
      judged: new Map([['c', 3]]),
    };
    const q2: JudgedLists = { id: 'q2', query: 'y', bm25: ['r', 'f'], vector: ['g'], judged: new Map([['r', 3]]) };
    expect(gridSearch([q1], [0, 0.5, 2], [1]).best).toMatchObject({ w: 2, k: 1, 'ndcg@10_tune': 1 });
    expect(gridSearch([q2], [2, 0.5, 0], [1]).best).toMatchObject({ w: 0.5, k: 1, 'ndcg@10_tune': 1 });
    // Both together: w = 0.5 and w = 2 tie (q1 at rank 2 or q2 at rank 2); the earlier one wins.
    const both = gridSearch([q1, q2], [0, 0.5, 2], [1]);
    expect(both.grid[1]!['ndcg@10_tune']).toBe(both.grid[2]!['ndcg@10_tune']);
    expect(both.best).toMatchObject({ w: 0.5, k: 1 });
    expect(gridSearch([q1, q2], [0, 2, 0.5], [1]).best).toMatchObject({ w: 2 });
  });
});

describe('analysis and outputs', () => {
  it('reports the test half only, with the default and tuned fusions, and is reproducible', () => {
    const rows = fakeQueries(120, 5);
    const a = analyzeFusion(rows, 1, { rounds: 500 });
    const b = analyzeFusion(rows, 1, { rounds: 500 });
    expect(a).toEqual(b);
    const { tune, test } = splitQueries(rows, 1);
    expect(a.split).toEqual({ tune: tune.length, test: test.length });
    expect(a.chosen).toEqual({ w: gridSearch(tune).best.w, k: gridSearch(tune).best.k });
    const half = evaluateHalf(test, a.chosen);
    expect(a.test).toEqual(half);
    expect(half.perQuery.hybrid_default['ndcg@10']).toEqual(
      test.map((q) => ndcgAt(10, fuse(q.bm25, q.vector, { w: 1, k: 60 }), q.judged)),
    );
    expect(half.perQuery.bm25['ndcg@10']).toEqual(test.map((q) => ndcgAt(10, q.bm25, q.judged)));
    const sig = a.significance.comparisons.hybrid_tuned_vs_bm25!['ndcg@10'];
    expect(sig.n).toBe(test.length);
    expect(sig.mean_diff).toBeCloseTo(half.aggregate['ndcg@10'].hybrid_tuned - half.aggregate['ndcg@10'].bm25, 12);

    const json = buildFusionJson(a, { dataset: 'fake', embedder: 'e', seed: 1, extra: true });
    expect(Object.keys(json).slice(0, 9)).toEqual([
      'dataset',
      'embedder',
      'seed',
      'split',
      'grid',
      'chosen',
      'test',
      'significance',
      'env',
    ]);
    expect(json.chosen).toEqual({ weights: { bm25: 1, vector: a.chosen.w }, rrf_k: a.chosen.k });
    expect(json.env).toBe(`SHELF_WEIGHT_VECTOR=${a.chosen.w} SHELF_RRF_K=${a.chosen.k}`);
    expect(Object.keys((json.test as Record<string, object>)['ndcg@10']!)).toEqual([
      'bm25',
      'vector',
      'hybrid_default',
      'hybrid_tuned',
    ]);
    expect(json.significance).toHaveProperty('hybrid_tuned_vs_best_single');
    expect(json.extra).toBe(true);
    expect(formatFusionSummary(a)).toContain('SHELF_WEIGHT_VECTOR=');
  });

  it('attaches judgments like the search eval: skips unjudged, limits, refuses missing or foreign lists', () => {
    const queries = [
      { id: 'q1', query: 'one' },
      { id: 'q2', query: 'two' },
      { id: 'q3', query: 'three' },
      { id: 'q4', query: 'four' },
    ];
    const qrels: Qrels = new Map([
      ['q1', new Map([['p1', 2]])],
      ['q2', new Map([['p1', 0]])],
      ['q4', new Map([['p2', 1]])],
    ]);
    const row = (id: string, query: string): RouteListRow => ({ id, query, bm25: ['p1'], vector: ['p2'] });
    const lists = new Map([row('q1', 'one'), row('q4', 'four')].map((r) => [r.id, r]));
    const all = attachJudgments(queries, qrels, lists);
    expect(all.rows.map((r) => r.id)).toEqual(['q1', 'q4']);
    expect(all.skipped).toEqual({ no_judgments: 1, no_relevant: 1, over_limit: 0 });
    expect(attachJudgments(queries, qrels, lists, 1).skipped.over_limit).toBe(1);
    expect(() => attachJudgments(queries, qrels, new Map([['q1', row('q1', 'one')]]))).toThrow(/no route lists/);
    expect(() =>
      attachJudgments(
        queries,
        qrels,
        new Map([
          ['q1', row('q1', 'uno')],
          ['q4', row('q4', 'four')],
        ]),
      ),
    ).toThrow(/another dataset/);
  });

  it('round-trips route-lists.jsonl', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shelf-tune-lists-'));
    try {
      const rows = fakeQueries(5, 9).map(({ judged: _judged, ...r }) => r);
      const { writeFile } = await import('node:fs/promises');
      const path = join(dir, 'l.jsonl');
      await writeFile(
        path,
        routeListsJsonl({ format: 'shelf-route-lists/1', dataset: 'd', embedder: 'e', depth: 100 }, rows),
      );
      const back = await readRouteLists(path);
      expect(back.meta).toMatchObject({ dataset: 'd', embedder: 'e' });
      expect([...back.rows.values()]).toEqual(rows);
      await writeFile(path, '{"id":"q1"}\n');
      await expect(readRouteLists(path)).rejects.toThrow(/header/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------ through the real engine

const PRODUCTS = [
  ['p1', 'Red running shoes'],
  ['p2', 'Blue denim jacket'],
  ['p3', 'Cordless power drill 18V'],
  ['p4', 'Stainless steel kitchen knife'],
  ['p5', 'Waterproof hiking boots'],
  ['p6', 'Cotton crew neck t-shirt'],
  ['p7', 'Wooden garden bench'],
  ['p8', 'LED desk lamp'],
  ['p9', 'Ceramic coffee mug'],
  ['p10', 'Wireless computer mouse'],
  ['p11', 'Trail running shoes for women'],
  ['p12', 'Impact driver with two batteries'],
] as const;
const QUERIES: Array<[string, string, Array<[string, number]>]> = [
  [
    'q1',
    'running shoes',
    [
      ['p1', 3],
      ['p11', 2],
      ['p5', 1],
    ],
  ],
  [
    'q2',
    'power drill',
    [
      ['p3', 3],
      ['p12', 1],
    ],
  ],
  ['q3', 'cotton t-shirt', [['p6', 3]]],
  ['q4', 'kitchen knife', [['p4', 3]]],
  [
    'q5',
    'hiking boots',
    [
      ['p5', 3],
      ['p11', 1],
    ],
  ],
  ['q6', 'desk lamp', [['p8', 3]]],
  ['q7', 'coffee mug', [['p9', 3]]],
  ['q8', 'garden bench', [['p7', 3]]],
  ['q9', 'wireless mouse', [['p10', 3]]],
  ['q10', 'denim jacket', [['p2', 3]]],
];

/** Hashed character trigrams: a real (if crude) vector route without any model files. */
const hashEmbedder: TextEmbedder = {
  id: 'test-hash-trigram-64',
  dim: 64,
  async embedTexts(texts) {
    return texts.map((t) => {
      const v = new Float32Array(64);
      const s = ` ${t.toLowerCase()} `;
      for (let i = 0; i + 3 <= s.length; i++) {
        let h = 2166136261;
        for (let j = i; j < i + 3; j++) h = Math.imul(h ^ s.charCodeAt(j), 16777619);
        v[(h >>> 0) % 64] = v[(h >>> 0) % 64]! + 1;
      }
      return l2normalize(v);
    });
  },
};

describe('tune-fusion through the real indexer and searcher', () => {
  let dir: string;
  let data: string;
  const quiet: CliIo = { out: () => undefined, err: (t) => process.stderr.write(t + '\n') };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shelf-tune-e2e-'));
    data = join(dir, 'data');
    await writeDataset(data, {
      products: PRODUCTS.map(([id, title]) => ({ id, title })),
      queries: QUERIES.map(([id, query]) => ({ id, query })),
      qrels: new Map(QUERIES.map(([id, , judged]) => [id, new Map(judged)])),
      meta: { name: 'tune-tiny' },
    });
    const { tune, test } = splitQueries(
      QUERIES.map(([id]) => ({ id })),
      1,
    );
    expect(tune.length).toBeGreaterThan(0);
    expect(test.length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes fusion.json and route-lists.jsonl, checks the searcher, and reruns from --lists', async () => {
    const out = join(dir, 'out-hash');
    const first = await runTuneFusion({
      data,
      out,
      embedder: { kind: 'default' },
      textEmbedder: hashEmbedder,
      indexDir: join(dir, 'index'),
      rounds: 200,
      log: () => undefined,
    });
    expect(first.json).toMatchObject({ dataset: 'tune-tiny', embedder: 'test-hash-trigram-64', seed: 1, queries: 10 });
    expect(first.json.searcher_check).toMatchObject({
      identical: (first.json.searcher_check as { queries: number }).queries,
    });
    const lists = await readRouteLists(first.files.lists!);
    expect(lists.rows.size).toBe(10);
    expect(lists.rows.get('q2')!.bm25[0]).toBe('p3');

    const out2 = join(dir, 'out-lists');
    const code = await main(
      ['tune-fusion', '--data', data, '--out', out2, '--lists', first.files.lists!],
      undefined,
      quiet,
    );
    expect(code).toBe(0);
    const again = JSON.parse(await readFile(join(out2, 'fusion.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['split', 'grid', 'chosen', 'test', 'env', 'embedder'])
      expect([key, again[key]]).toEqual([key, first.json[key]]);
    expect(existsSync(join(out2, 'route-lists.jsonl'))).toBe(false);
  });

  it('rejects bad options with exit code 2', async () => {
    expect(await main(['tune-fusion', '--data', data], undefined, { out: () => undefined, err: () => undefined })).toBe(
      2,
    );
    expect(
      await main(['tune-fusion', '--data', data, '--out', dir, '--seed', 'x'], undefined, {
        out: () => undefined,
        err: () => undefined,
      }),
    ).toBe(2);
  });

  it.skipIf(!existsSync(join(DEFAULT_MODEL_DIR, 'metadata.json')))(
    'runs the CLI with the default embedder',
    async () => {
      const out = join(dir, 'out-default');
      const code = await main(['tune-fusion', '--data', data, '--out', out, '--embedder', 'default'], undefined, quiet);
      expect(code).toBe(0);
      const json = JSON.parse(await readFile(join(out, 'fusion.json'), 'utf8')) as Record<string, unknown>;
      expect(json.dataset).toBe('tune-tiny');
      expect(
        (json.split as { tune: number; test: number }).tune + (json.split as { tune: number; test: number }).test,
      ).toBe(10);
      expect(json.searcher_check).toMatchObject({ identical: (json.searcher_check as { queries: number }).queries });
    },
  );
});
