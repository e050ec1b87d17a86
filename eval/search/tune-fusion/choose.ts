/**
 * The choice on the tune half and the report on the untouched test half: the four rankings per
 * query, per-half metrics, paired tests of tuned hybrid against each baseline, the whole analysis.
 */
import type { EvalQuery, Qrels } from '../datasets.ts';
import { countRelevant } from '../../kit/metrics.ts';
import { comparePaired, mean } from '../../kit/stats.ts';
import {
  DEFAULT_FUSION,
  DEPTH,
  SIGNIFICANCE_ROUNDS,
  SIGNIFICANCE_SEED,
  TEST_MODES,
  TUNE_METRICS,
  fuse,
  gridSearch,
  scoreRanking,
  type FusionConfig,
  type GridPoint,
  type JudgedLists,
  type RouteListRow,
  type TestMode,
  type TuneMetric,
} from './grid.ts';
import { splitQueries } from './split.ts';

/** The four rankings compared on a half: both routes alone, default fusion, tuned fusion. */
export function rankingsFor(q: RouteListRow, chosen: FusionConfig): Record<TestMode, string[]> {
  return {
    bm25: q.bm25.slice(0, DEPTH),
    vector: q.vector.slice(0, DEPTH),
    hybrid_default: fuse(q.bm25, q.vector, DEFAULT_FUSION),
    hybrid_tuned: fuse(q.bm25, q.vector, chosen),
  };
}

export interface HalfReport {
  n: number;
  /** mode → metric → per-query values, in query order (the pairing for the tests). */
  perQuery: Record<TestMode, Record<TuneMetric, number[]>>;
  /** metric → mode → mean. */
  aggregate: Record<TuneMetric, Record<TestMode, number>>;
}

export function evaluateHalf(queries: readonly JudgedLists[], chosen: FusionConfig): HalfReport {
  const perQuery = Object.fromEntries(
    TEST_MODES.map((m) => [m, Object.fromEntries(TUNE_METRICS.map((x) => [x, [] as number[]]))]),
  ) as Record<TestMode, Record<TuneMetric, number[]>>;
  for (const q of queries) {
    const rankings = rankingsFor(q, chosen);
    for (const mode of TEST_MODES) {
      const s = scoreRanking(rankings[mode], q.judged);
      for (const metric of TUNE_METRICS) perQuery[mode][metric].push(s[metric]);
    }
  }
  const aggregate = Object.fromEntries(
    TUNE_METRICS.map((metric) => [
      metric,
      Object.fromEntries(TEST_MODES.map((mode) => [mode, mean(perQuery[mode][metric])])),
    ]),
  ) as Record<TuneMetric, Record<TestMode, number>>;
  return { n: queries.length, perQuery, aggregate };
}

export interface SigEntry {
  mean_diff: number;
  ci95: [number, number];
  p_value: number;
  n: number;
}

export interface FusionSignificance {
  /** The better of bm25 / vector on the test half by mean nDCG@10. */
  best_single: 'bm25' | 'vector';
  /** `hybrid_tuned_vs_<mode>` → metric → paired comparison (positive = tuned better). */
  comparisons: Record<string, Record<TuneMetric, SigEntry>>;
  rounds: number;
  seed: number;
}

/** Tuned hybrid against bm25, vector and the default fusion on every metric of the test half. */
export function testSignificance(test: HalfReport, opts: { rounds?: number; seed?: number } = {}): FusionSignificance {
  const rounds = opts.rounds ?? SIGNIFICANCE_ROUNDS;
  const seed = opts.seed ?? SIGNIFICANCE_SEED;
  const nd = test.aggregate['ndcg@10'];
  const best_single = nd.vector > nd.bm25 ? 'vector' : 'bm25';
  const comparisons: FusionSignificance['comparisons'] = {};
  for (const base of ['bm25', 'vector', 'hybrid_default'] as const) {
    comparisons[`hybrid_tuned_vs_${base}`] = Object.fromEntries(
      TUNE_METRICS.map((metric) => {
        const c = comparePaired(test.perQuery.hybrid_tuned[metric], test.perQuery[base][metric], {
          rounds,
          seed,
          level: 0.95,
        });
        return [metric, { mean_diff: c.mean_diff, ci95: [c.ci_low, c.ci_high], p_value: c.p_value, n: c.n }];
      }),
    ) as Record<TuneMetric, SigEntry>;
  }
  return { best_single, comparisons, rounds, seed };
}

// ---------------------------------------------------------------------- the whole analysis

export interface TuneFusionAnalysis {
  split: { tune: number; test: number };
  grid: GridPoint[];
  chosen: FusionConfig;
  tune: HalfReport;
  test: HalfReport;
  significance: FusionSignificance;
}

/**
 * Evaluable queries (at least one judged product of grade > 0) with their route lists, in query
 * file order; the first `limit` of them if given. A query without lists is an error.
 */
export function attachJudgments(
  queries: readonly EvalQuery[],
  qrels: Qrels,
  lists: ReadonlyMap<string, RouteListRow>,
  limit?: number,
): { rows: JudgedLists[]; skipped: { no_judgments: number; no_relevant: number; over_limit: number } } {
  const skipped = { no_judgments: 0, no_relevant: 0, over_limit: 0 };
  const rows: JudgedLists[] = [];
  const missing: string[] = [];
  for (const q of queries) {
    const judged = qrels.get(q.id);
    if (!judged || judged.size === 0) skipped.no_judgments++;
    else if (countRelevant(judged) === 0) skipped.no_relevant++;
    else if (limit !== undefined && rows.length >= limit) skipped.over_limit++;
    else {
      const l = lists.get(q.id);
      if (!l) missing.push(q.id);
      else if (l.query !== q.query) {
        throw new Error(
          `route lists of ${q.id} are for ${JSON.stringify(l.query)}, the dataset says ${JSON.stringify(q.query)}: lists from another dataset?`,
        );
      } else rows.push({ ...l, judged });
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `${missing.length} evaluable queries have no route lists (e.g. ${missing.slice(0, 3).join(', ')}): lists from another dataset or a smaller --limit?`,
    );
  }
  return { rows, skipped };
}

export function analyzeFusion(
  rows: readonly JudgedLists[],
  seed: number,
  opts: { rounds?: number; weights?: readonly number[]; ks?: readonly number[] } = {},
): TuneFusionAnalysis {
  const { tune, test } = splitQueries(rows, seed);
  if (tune.length === 0 || test.length === 0) {
    throw new Error(
      `need queries in both halves, got tune ${tune.length} / test ${test.length} (too few queries; try another --seed)`,
    );
  }
  const { grid, best } = gridSearch(tune, opts.weights, opts.ks);
  const chosen = { w: best.w, k: best.k };
  const testReport = evaluateHalf(test, chosen);
  return {
    split: { tune: tune.length, test: test.length },
    grid,
    chosen,
    tune: evaluateHalf(tune, chosen),
    test: testReport,
    significance: testSignificance(testReport, opts.rounds !== undefined ? { rounds: opts.rounds } : {}),
  };
}
