/**
 * Offline search evaluation: run every judged query through each retrieval mode and score
 * the rankings against graded qrels. The core (`runSearchEval`) takes a plain `search`
 * function, so it runs in tests without the engine; eval/search-run.ts wires it to the
 * real indexer and searcher for the CLI.
 */
import type { RouteName } from '../../retrieval/index/types.ts';
import type { EvalQuery, Qrels } from './datasets.ts';
import { countRelevant, mrrAt, ndcgAt, recallAt } from '../kit/metrics.ts';
import { comparePaired, mean, percentile, type PairedComparison } from '../kit/stats.ts';

export const METRICS = ['ndcg@10', 'recall@100', 'mrr@10'] as const;
export type MetricName = (typeof METRICS)[number];

/** Mode name → recall routes the searcher runs (one route = that route alone, two = fused). */
export type Modes = Record<string, RouteName[]>;

export const DEFAULT_MODES: Modes = {
  bm25: ['bm25'],
  vector: ['vector'],
  hybrid: ['bm25', 'vector'],
};

/** How deep each mode is searched: recall@100 needs 100 results. */
export const SEARCH_DEPTH = 100;

export type SearchFn = (q: string, routes: RouteName[]) => Promise<string[]>;

export interface RunSearchEvalInput {
  queries: readonly EvalQuery[];
  qrels: Qrels;
  search: SearchFn;
  modes?: Modes;
  /** Evaluate only the first N evaluable queries. */
  limit?: number;
  /** How many top ids per mode to keep on each row (for reports). Default 10. */
  keepTop?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface QueryRow {
  id: string;
  query: string;
  /** Judged products of the query (any grade). */
  n_judged: number;
  /** Judged products with grade > 0. */
  n_relevant: number;
  /** mode → metric → value. */
  metrics: Record<string, Record<MetricName, number>>;
  /** mode → top ids, best first. */
  top: Record<string, string[]>;
  /** mode → wall time of the search call. */
  latency_ms: Record<string, number>;
}

export interface LatencyStats {
  p50: number;
  p99: number;
  mean: number;
}

export interface SearchEvalResult {
  modes: string[];
  /** metric → mode → mean over evaluated queries. */
  aggregate: Record<MetricName, Record<string, number>>;
  /** Number of evaluated queries. */
  queries: number;
  skipped: { no_judgments: number; no_relevant: number; over_limit: number };
  rows: QueryRow[];
  latency_ms: Record<string, LatencyStats>;
}

function scoreRanking(ranked: readonly string[], judged: ReadonlyMap<string, number>): Record<MetricName, number> {
  return {
    'ndcg@10': ndcgAt(10, ranked, judged),
    'recall@100': recallAt(100, ranked, judged),
    'mrr@10': mrrAt(10, ranked, judged),
  };
}

/**
 * Runs each evaluable query (one with at least one judged product of grade > 0) through every
 * mode, one search at a time so latencies are not distorted by concurrency. Queries without
 * judgments, or with only grade-0 judgments, are counted in `skipped` and not searched.
 */
export async function runSearchEval(input: RunSearchEvalInput): Promise<SearchEvalResult> {
  const modes = input.modes ?? DEFAULT_MODES;
  const modeNames = Object.keys(modes);
  if (modeNames.length === 0) throw new Error('no modes to evaluate');
  const keepTop = input.keepTop ?? 10;
  const skipped = { no_judgments: 0, no_relevant: 0, over_limit: 0 };

  const todo: Array<{ q: EvalQuery; judged: Map<string, number> }> = [];
  for (const q of input.queries) {
    const judged = input.qrels.get(q.id);
    if (!judged || judged.size === 0) skipped.no_judgments++;
    else if (countRelevant(judged) === 0) skipped.no_relevant++;
    else if (input.limit !== undefined && todo.length >= input.limit) skipped.over_limit++;
    else todo.push({ q, judged });
  }

  const rows: QueryRow[] = [];
  for (const [i, { q, judged }] of todo.entries()) {
    const row: QueryRow = {
      id: q.id,
      query: q.query,
      n_judged: judged.size,
      n_relevant: countRelevant(judged),
      metrics: {},
      top: {},
      latency_ms: {},
    };
    for (const mode of modeNames) {
      const started = performance.now();
      const ranked = await input.search(q.query, modes[mode]!);
      row.latency_ms[mode] = performance.now() - started;
      row.metrics[mode] = scoreRanking(ranked, judged);
      row.top[mode] = ranked.slice(0, keepTop);
    }
    rows.push(row);
    input.onProgress?.(i + 1, todo.length);
  }

  const aggregate = Object.fromEntries(
    METRICS.map((m) => [
      m,
      Object.fromEntries(modeNames.map((mode) => [mode, mean(rows.map((r) => r.metrics[mode]![m]))])),
    ]),
  ) as Record<MetricName, Record<string, number>>;
  const latency_ms = Object.fromEntries(
    modeNames.map((mode) => {
      const t = rows.map((r) => r.latency_ms[mode]!);
      return [mode, { p50: percentile(t, 50), p99: percentile(t, 99), mean: mean(t) }];
    }),
  );
  return { modes: modeNames, aggregate, queries: rows.length, skipped, rows, latency_ms };
}

/** Per-query values of one metric for one mode, in row order (the pairing for significance tests). */
export function perQuery(result: SearchEvalResult, mode: string, metric: MetricName): number[] {
  return result.rows.map((r) => {
    const v = r.metrics[mode]?.[metric];
    if (v === undefined) throw new Error(`mode ${mode} was not evaluated`);
    return v;
  });
}

export interface SignificanceEntry {
  metric: MetricName;
  /** mean(target − baseline): positive = target better. */
  mean_diff: number;
  ci95: [number, number];
  p_value: number;
  n: number;
}

/** `target` (default hybrid) against every other mode on `metric` (default nDCG@10). */
export function significance(
  result: SearchEvalResult,
  opts: { target?: string; metric?: MetricName; rounds?: number; seed?: number } = {},
): Record<string, SignificanceEntry & { comparison: PairedComparison }> {
  const target = opts.target ?? 'hybrid';
  const metric = opts.metric ?? 'ndcg@10';
  if (!result.modes.includes(target)) return {};
  const out: Record<string, SignificanceEntry & { comparison: PairedComparison }> = {};
  for (const base of result.modes) {
    if (base === target) continue;
    const c = comparePaired(perQuery(result, target, metric), perQuery(result, base, metric), {
      rounds: opts.rounds ?? 10_000,
      seed: opts.seed ?? 42,
      level: 0.95,
    });
    out[`${target}_vs_${base}`] = {
      metric,
      mean_diff: c.mean_diff,
      ci95: [c.ci_low, c.ci_high],
      p_value: c.p_value,
      n: c.n,
      comparison: c,
    };
  }
  return out;
}

export interface HybridGain {
  metric: MetricName;
  best_single: string;
  best_single_value: number;
  hybrid_value: number;
  /** hybrid − best single route (absolute nDCG points on a 0..1 scale). */
  abs_diff: number;
  /** abs_diff / best single × 100. */
  rel_pct: number;
  beats_best_single: boolean;
}

/** How hybrid compares with the better single-route mode on the aggregate metric. */
export function hybridGain(
  result: SearchEvalResult,
  metric: MetricName = 'ndcg@10',
  target = 'hybrid',
): HybridGain | undefined {
  const singles = result.modes.filter((m) => m !== target);
  if (!result.modes.includes(target) || singles.length === 0) return undefined;
  const agg = result.aggregate[metric];
  const best = singles.reduce((a, b) => ((agg[b] ?? -Infinity) > (agg[a] ?? -Infinity) ? b : a));
  const bestValue = agg[best] ?? 0;
  const hybridValue = agg[target] ?? 0;
  const diff = hybridValue - bestValue;
  return {
    metric,
    best_single: best,
    best_single_value: bestValue,
    hybrid_value: hybridValue,
    abs_diff: diff,
    rel_pct: bestValue > 0 ? (diff / bestValue) * 100 : 0,
    beats_best_single: diff > 0,
  };
}

// ------------------------------------------------------------------------------- outputs

const round = (x: number, digits = 6): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

export interface SearchJsonExtras {
  embedder: string;
  dataset: string;
  /** Anything else worth keeping next to the numbers (index stats, options). */
  [key: string]: unknown;
}

/**
 * The `search.json` document: `{"ndcg@10": {mode: x}, "recall@100": …, "mrr@10": …, "queries": N}`
 * first, then significance (target vs each single route on nDCG@10), the hybrid-vs-best
 * single-route gain, embedder, dataset, latency and extras.
 */
export function buildSearchJson(
  result: SearchEvalResult,
  extras: SearchJsonExtras,
  sig: ReturnType<typeof significance> = significance(result),
): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const m of METRICS)
    doc[m] = Object.fromEntries(result.modes.map((mode) => [mode, round(result.aggregate[m][mode]!)]));
  doc.queries = result.queries;
  const first = Object.values(sig)[0];
  doc.significance = {
    ...(first
      ? {
          test: `paired randomization (sign-flip) test, two-sided, ${first.comparison.rounds} rounds, seed ${first.comparison.seed}; 95% percentile-bootstrap CI of the mean per-query difference`,
        }
      : {}),
    ...Object.fromEntries(
      Object.entries(sig).map(([k, s]) => [
        k,
        {
          metric: s.metric,
          mean_diff: round(s.mean_diff),
          ci95: [round(s.ci95[0]), round(s.ci95[1])],
          p_value: round(s.p_value),
          n: s.n,
        },
      ]),
    ),
  };
  const gain = hybridGain(result);
  if (gain) {
    doc.hybrid_vs_best_single = {
      ...gain,
      best_single_value: round(gain.best_single_value),
      hybrid_value: round(gain.hybrid_value),
      abs_diff: round(gain.abs_diff),
      rel_pct: round(gain.rel_pct, 2),
    };
  }
  const { embedder, dataset, ...rest } = extras;
  doc.embedder = embedder;
  doc.dataset = dataset;
  doc.latency_ms = Object.fromEntries(
    Object.entries(result.latency_ms).map(([mode, l]) => [
      mode,
      { p50: round(l.p50, 2), p99: round(l.p99, 2), mean: round(l.mean, 2) },
    ]),
  );
  doc.skipped_queries = result.skipped;
  for (const [k, v] of Object.entries(rest)) doc[k] = v;
  return doc;
}

/** `search-queries.tsv`: one row per evaluated query, metric columns `<metric>_<mode>`. */
export function perQueryTsv(result: SearchEvalResult): string {
  const cols = ['query_id', 'query', 'n_judged', 'n_relevant'];
  for (const m of METRICS) for (const mode of result.modes) cols.push(`${m}_${mode}`);
  const lines = [cols.join('\t')];
  for (const r of result.rows) {
    const cells: Array<string | number> = [r.id, r.query.replace(/[\t\r\n]+/g, ' '), r.n_judged, r.n_relevant];
    for (const m of METRICS) for (const mode of result.modes) cells.push(r.metrics[mode]![m].toFixed(4));
    lines.push(cells.join('\t'));
  }
  return lines.join('\n') + '\n';
}

export interface LossRow {
  row: QueryRow;
  /** The single route that did best on this query. */
  best_single: string;
  /** best single − hybrid nDCG@10 (> 0). */
  loss: number;
}

/** Queries where the target mode lost most against the better single route of that query. */
export function biggestLosses(
  result: SearchEvalResult,
  n = 20,
  metric: MetricName = 'ndcg@10',
  target = 'hybrid',
): LossRow[] {
  const singles = result.modes.filter((m) => m !== target);
  if (!result.modes.includes(target) || singles.length === 0) return [];
  const out: LossRow[] = [];
  for (const row of result.rows) {
    const best = singles.reduce((a, b) => (row.metrics[b]![metric] > row.metrics[a]![metric] ? b : a));
    const loss = row.metrics[best]![metric] - row.metrics[target]![metric];
    if (loss > 1e-12) out.push({ row, best_single: best, loss });
  }
  return out.sort((a, b) => b.loss - a.loss || a.row.id.localeCompare(b.row.id)).slice(0, n);
}
