/**
 * The fusion grid of `tune-fusion`: the settings tried, offline weighted RRF over two stored route
 * lists with the service's own `reciprocalRankFusion`, and the grid scored on a set of queries.
 */
import { reciprocalRankFusion } from '../../../retrieval/recall/rrf.ts';
import { mrrAt, ndcgAt, recallAt, type Judgments } from '../../kit/metrics.ts';
import { mean } from '../../kit/stats.ts';

// ------------------------------------------------------------------------------ constants

/** Vector-route weights tried (the bm25 weight stays 1, so only the ratio matters). */
export const VECTOR_WEIGHTS: readonly number[] = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5];
/** RRF constants tried. */
export const RRF_KS: readonly number[] = [1, 5, 10, 20, 30, 60, 100];
/** The service default (retrieval/index/config.ts): equal weights, k = 60. */
export const DEFAULT_FUSION: FusionConfig = { w: 1, k: 60 };
/** Route lists and fused rankings are this deep (recall@100). */
export const DEPTH = 100;
export const TUNE_METRICS = ['ndcg@10', 'recall@100', 'mrr@10'] as const;
export type TuneMetric = (typeof TUNE_METRICS)[number];
export const TEST_MODES = ['bm25', 'vector', 'hybrid_default', 'hybrid_tuned'] as const;
export type TestMode = (typeof TEST_MODES)[number];
/** Seed of the significance tests (the same default as `search`); `--seed` only drives the split. */
export const SIGNIFICANCE_SEED = 42;
export const SIGNIFICANCE_ROUNDS = 10_000;

export interface FusionConfig {
  /** Weight of the vector route; bm25 has weight 1. */
  w: number;
  /** RRF constant. */
  k: number;
}

/** One query's two route answers, best first (ids only). */
export interface RouteListRow {
  id: string;
  query: string;
  bm25: string[];
  vector: string[];
}

/** A route-list row with the query's judgments attached. */
export interface JudgedLists extends RouteListRow {
  judged: Judgments;
}

// --------------------------------------------------------------------------------- fusion

/**
 * The hybrid ranking the searcher would return for these route lists at `cfg`: weighted RRF of
 * bm25 (weight 1) and vector (weight cfg.w), in that order, cut to `depth` (retrieval/recall/hybrid.ts).
 */
export function fuse(bm25: readonly string[], vector: readonly string[], cfg: FusionConfig, depth = DEPTH): string[] {
  return reciprocalRankFusion(
    [
      { route: 'bm25', ids: bm25, weight: 1 },
      { route: 'vector', ids: vector, weight: cfg.w },
    ],
    cfg.k,
  )
    .slice(0, depth)
    .map((h) => h.id);
}

export function scoreRanking(ranked: readonly string[], judged: Judgments): Record<TuneMetric, number> {
  return {
    'ndcg@10': ndcgAt(10, ranked, judged),
    'recall@100': recallAt(100, ranked, judged),
    'mrr@10': mrrAt(10, ranked, judged),
  };
}

export interface GridPoint extends FusionConfig {
  'ndcg@10_tune': number;
}

export interface GridResult {
  grid: GridPoint[];
  best: GridPoint;
}

/**
 * Scores every (w, k) of the grid by mean nDCG@10 over `tune` and returns the best. Grid order
 * is w ascending, then k ascending; a tie (within 1e-12) keeps the earlier point.
 */
export function gridSearch(
  tune: readonly JudgedLists[],
  weights: readonly number[] = VECTOR_WEIGHTS,
  ks: readonly number[] = RRF_KS,
): GridResult {
  if (tune.length === 0) throw new Error('the tune half is empty');
  if (weights.length === 0 || ks.length === 0) throw new Error('the grid is empty');
  const grid: GridPoint[] = [];
  let best: GridPoint | undefined;
  for (const w of weights) {
    for (const k of ks) {
      let sum = 0;
      // Only the top 10 matter for nDCG@10.
      for (const q of tune) sum += ndcgAt(10, fuse(q.bm25, q.vector, { w, k }, 10), q.judged);
      const point: GridPoint = { w, k, 'ndcg@10_tune': sum / tune.length };
      grid.push(point);
      if (!best || point['ndcg@10_tune'] > best['ndcg@10_tune'] + 1e-12) best = point;
    }
  }
  return { grid, best: best! };
}
