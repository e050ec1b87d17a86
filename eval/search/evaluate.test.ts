import { beforeAll, describe, expect, it } from 'vitest';
import type { RouteName } from '../../retrieval/index/types.ts';
import type { Qrels } from './datasets.ts';
import {
  DEFAULT_MODES,
  biggestLosses,
  buildSearchJson,
  hybridGain,
  perQuery,
  perQueryTsv,
  runSearchEval,
  significance,
  type SearchEvalResult,
} from './evaluate.ts';
import { renderSearchReport } from './report.ts';
import { escapeHtml } from '../kit/html.ts';
import { externalReferences } from '../kit/report-shell.ts';

const queries = [
  { id: 'q1', query: 'red shoe' },
  { id: 'q2', query: 'blue shirt' },
  { id: 'q3', query: 'green hat' }, // only grade-0 judgments → skipped
  { id: 'q4', query: 'nothing' }, // no judgments → skipped
];
const qrels: Qrels = new Map([
  [
    'q1',
    new Map([
      ['a', 3],
      ['b', 1],
    ]),
  ],
  ['q2', new Map([['c', 2]])],
  ['q3', new Map([['d', 0]])],
]);
// What each route combination returns, per query text.
const rankings: Record<string, Record<string, string[]>> = {
  bm25: { 'red shoe': ['a', 'x'], 'blue shirt': ['x', 'c'] },
  vector: { 'red shoe': ['b', 'a'], 'blue shirt': ['c'] },
  'bm25+vector': { 'red shoe': ['a', 'b'], 'blue shirt': ['x', 'c'] },
};
const calls: Array<[string, RouteName[]]> = [];
const search = async (q: string, routes: RouteName[]): Promise<string[]> => {
  calls.push([q, routes]);
  return rankings[routes.join('+')]?.[q] ?? [];
};

const L3 = Math.log2(3);
// Hand-computed per query (see eval/metrics.test.ts for the formulas):
const q1 = {
  bm25: { ndcg: 7 / (7 + 1 / L3), recall: 0.5, mrr: 1 },
  vector: { ndcg: (1 + 7 / L3) / (7 + 1 / L3), recall: 1, mrr: 1 },
  hybrid: { ndcg: 1, recall: 1, mrr: 1 },
};
const q2 = {
  bm25: { ndcg: 3 / L3 / 3, recall: 1, mrr: 0.5 },
  vector: { ndcg: 1, recall: 1, mrr: 1 },
  hybrid: { ndcg: 3 / L3 / 3, recall: 1, mrr: 0.5 },
};

describe('runSearchEval', () => {
  let result: SearchEvalResult;
  beforeAll(async () => {
    calls.length = 0;
    result = await runSearchEval({ queries, qrels, search, modes: DEFAULT_MODES });
  });

  it('searches judged queries only, once per mode, with the mode routes', () => {
    expect(calls).toEqual([
      ['red shoe', ['bm25']],
      ['red shoe', ['vector']],
      ['red shoe', ['bm25', 'vector']],
      ['blue shirt', ['bm25']],
      ['blue shirt', ['vector']],
      ['blue shirt', ['bm25', 'vector']],
    ]);
    expect(result.queries).toBe(2);
    expect(result.skipped).toEqual({ no_judgments: 1, no_relevant: 1, over_limit: 0 });
    expect(result.modes).toEqual(['bm25', 'vector', 'hybrid']);
  });

  it('scores every row', () => {
    const [r1, r2] = result.rows;
    expect(r1).toMatchObject({ id: 'q1', query: 'red shoe', n_judged: 2, n_relevant: 2 });
    expect(r2).toMatchObject({ id: 'q2', n_judged: 1, n_relevant: 1 });
    for (const mode of ['bm25', 'vector', 'hybrid'] as const) {
      expect(r1!.metrics[mode]!['ndcg@10']).toBeCloseTo(q1[mode].ndcg, 12);
      expect(r1!.metrics[mode]!['recall@100']).toBeCloseTo(q1[mode].recall, 12);
      expect(r1!.metrics[mode]!['mrr@10']).toBeCloseTo(q1[mode].mrr, 12);
      expect(r2!.metrics[mode]!['ndcg@10']).toBeCloseTo(q2[mode].ndcg, 12);
      expect(r2!.metrics[mode]!['mrr@10']).toBeCloseTo(q2[mode].mrr, 12);
      expect(r1!.latency_ms[mode]).toBeGreaterThanOrEqual(0);
    }
    expect(r1!.top.vector).toEqual(['b', 'a']);
  });

  it('averages over queries', () => {
    for (const mode of ['bm25', 'vector', 'hybrid'] as const) {
      expect(result.aggregate['ndcg@10'][mode]).toBeCloseTo((q1[mode].ndcg + q2[mode].ndcg) / 2, 12);
      expect(result.aggregate['recall@100'][mode]).toBeCloseTo((q1[mode].recall + q2[mode].recall) / 2, 12);
      expect(result.aggregate['mrr@10'][mode]).toBeCloseTo((q1[mode].mrr + q2[mode].mrr) / 2, 12);
    }
    expect(perQuery(result, 'bm25', 'mrr@10')).toEqual([1, 0.5]);
    expect(Object.keys(result.latency_ms)).toEqual(['bm25', 'vector', 'hybrid']);
  });

  it('compares hybrid with the better single route', () => {
    const gain = hybridGain(result)!;
    const hybrid = (q1.hybrid.ndcg + q2.hybrid.ndcg) / 2;
    const vector = (q1.vector.ndcg + q2.vector.ndcg) / 2;
    expect(gain.best_single).toBe('vector');
    expect(gain.abs_diff).toBeCloseTo(hybrid - vector, 12);
    expect(gain.rel_pct).toBeCloseTo(((hybrid - vector) / vector) * 100, 10);
    expect(gain.beats_best_single).toBe(false);
  });

  it('tests hybrid against each single route', () => {
    const sig = significance(result, { rounds: 500, seed: 1 });
    expect(Object.keys(sig)).toEqual(['hybrid_vs_bm25', 'hybrid_vs_vector']);
    expect(sig.hybrid_vs_bm25!.mean_diff).toBeCloseTo((q1.hybrid.ndcg - q1.bm25.ndcg + 0) / 2, 12);
    expect(sig.hybrid_vs_bm25!.n).toBe(2);
    expect(sig.hybrid_vs_bm25!.p_value).toBeGreaterThan(0);
    expect(sig.hybrid_vs_bm25!.p_value).toBeLessThanOrEqual(1);
  });

  it('lists the queries where hybrid lost against the better single route of that query', () => {
    const losses = biggestLosses(result);
    expect(losses).toHaveLength(1);
    expect(losses[0]!.row.id).toBe('q2');
    expect(losses[0]!.best_single).toBe('vector');
    expect(losses[0]!.loss).toBeCloseTo(1 - q2.hybrid.ndcg, 12);
  });

  it('builds search.json in the agreed shape', () => {
    const json = buildSearchJson(
      result,
      { embedder: 'fake-1', dataset: 'tiny', extra: 1 },
      significance(result, { rounds: 200 }),
    );
    expect(Object.keys(json).slice(0, 4)).toEqual(['ndcg@10', 'recall@100', 'mrr@10', 'queries']);
    expect(Object.keys(json['ndcg@10'] as object)).toEqual(['bm25', 'vector', 'hybrid']);
    expect((json['mrr@10'] as Record<string, number>).bm25).toBe(0.75);
    expect(json.queries).toBe(2);
    expect(json.embedder).toBe('fake-1');
    expect(json.dataset).toBe('tiny');
    expect(json.extra).toBe(1);
    expect(json.significance).toMatchObject({
      hybrid_vs_bm25: { metric: 'ndcg@10', n: 2 },
      hybrid_vs_vector: { metric: 'ndcg@10', n: 2 },
    });
    expect((json.significance as { hybrid_vs_vector: { ci95: number[] } }).hybrid_vs_vector.ci95).toHaveLength(2);
    expect(json.hybrid_vs_best_single).toMatchObject({ best_single: 'vector', beats_best_single: false });
    expect(Object.keys(json.latency_ms as object)).toEqual(['bm25', 'vector', 'hybrid']);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('writes one TSV row per evaluated query', () => {
    const lines = perQueryTsv(result).trimEnd().split('\n');
    expect(lines[0]!.split('\t')).toEqual([
      'query_id',
      'query',
      'n_judged',
      'n_relevant',
      'ndcg@10_bm25',
      'ndcg@10_vector',
      'ndcg@10_hybrid',
      'recall@100_bm25',
      'recall@100_vector',
      'recall@100_hybrid',
      'mrr@10_bm25',
      'mrr@10_vector',
      'mrr@10_hybrid',
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[2]!.split('\t').slice(0, 5)).toEqual(['q2', 'blue shirt', '1', '1', q2.bm25.ndcg.toFixed(4)]);
  });

  it('renders a self-contained HTML report', async () => {
    const html = await renderSearchReport(result, {
      dataset: 'tiny <set>',
      embedder: 'fake-1',
      generatedAt: '2026-01-01 00:00 UTC',
      titles: new Map([
        ['c', 'Blue <b>Shirt</b>'],
        ['x', 'Some & other'],
      ]),
      qrels,
      significance: significance(result, { rounds: 200 }),
      weakLabels: true,
    });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(externalReferences(html)).toEqual([]);
    expect(html.match(/<svg /g)).toHaveLength(4); // one per metric, and hybrid's paired differences
    expect(html).toContain('tiny &lt;set&gt;');
    expect(html).toContain('Blue &lt;b&gt;Shirt&lt;/b&gt;');
    expect(html).toContain('weak labels');
    expect(html).toContain('too little data: 2 judged queries');
    expect(html).toContain('Where hybrid lost most');
    expect(html).toContain('<strong>blue shirt</strong>');
    expect(html).toMatch(/data-verdict="(wait|bad)"/);
  });
});

describe('runSearchEval options', () => {
  it('stops after --limit evaluable queries and reports progress', async () => {
    const progress: Array<[number, number]> = [];
    const r = await runSearchEval({
      queries,
      qrels,
      search,
      modes: { bm25: ['bm25'] },
      limit: 1,
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(r.queries).toBe(1);
    expect(r.skipped.over_limit).toBe(1);
    expect(progress).toEqual([[1, 1]]);
    expect(hybridGain(r)).toBeUndefined();
    expect(significance(r)).toEqual({});
    expect(biggestLosses(r)).toEqual([]);
  });

  it('propagates search failures', async () => {
    await expect(
      runSearchEval({
        queries,
        qrels,
        search: async () => {
          throw new Error('engine down');
        },
      }),
    ).rejects.toThrow('engine down');
  });
});

describe('report helpers', () => {
  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
