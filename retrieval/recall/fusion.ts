import type { FusionConfig } from '../index/config.ts';
import { reciprocalRankFusion, sortFused, type FusedHit, type RankedList } from './rrf.ts';
import type { RouteHit, RouteName } from '../index/types.ts';

/**
 * Search fusion: how much the vector route may say depends on how well the words matched.
 *
 * Plain RRF gives a semantic neighbour the same vote as a product that holds every word of the
 * query, which on a real catalog loses to keyword search (docs/BENCHMARKS.md): when some product
 * holds all the query's terms the shopper named it, and the vector route should only break ties
 * and add what the words missed; when the words matched only in part, meaning has more to add;
 * when nothing matched, the vector route is all there is. So the vector route's weight is scaled
 * by the query's lexical evidence (`adaptive` mode), and each lexical hit's vote by its term
 * coverage, so a product holding one word of five does not outrank one holding all five
 * through a second vote. Measured candidates: docs/BENCHMARKS.md "Query-adaptive fusion".
 */

/** What the lexical route found for the query as a whole. */
export type LexicalEvidence = 'all_terms' | 'some_terms' | 'none';

export function lexicalEvidence(bm25: readonly RouteHit[] | undefined): LexicalEvidence {
  if (!bm25 || bm25.length === 0) return 'none';
  // A store that cannot tell coverage (production OR match) counts as a full match: plain weights.
  return bm25.some((h) => h.coverage === undefined || h.coverage >= 1) ? 'all_terms' : 'some_terms';
}

/** The per-route weights fusion used for one query. */
export type RouteWeights = Partial<Record<RouteName, number>>;

export interface FusionPlan {
  mode: FusionConfig['mode'];
  evidence: LexicalEvidence;
  weights: RouteWeights;
}

/** The route weights for one query: the configured ones, the vector route's scaled by the lexical evidence. */
export function planFusion(
  cfg: { weights: Record<RouteName, number>; fusion: FusionConfig },
  bm25: readonly RouteHit[] | undefined,
): FusionPlan {
  const evidence = lexicalEvidence(bm25);
  const weights: RouteWeights = { ...cfg.weights };
  if (cfg.fusion.mode !== 'rrf' && evidence !== 'none') {
    weights.vector = cfg.weights.vector * cfg.fusion[evidence];
  }
  return { mode: cfg.fusion.mode, evidence, weights };
}

/**
 * Fuses the routes' hits for one query by `plan`. `score`: Σ weight × normalised score, where
 * BM25 is divided by the query's best BM25 score (so 1 is the best lexical match, whatever the
 * query's term statistics) and cosine similarity is taken as is (it is already on one scale across
 * queries), each BM25 vote scaled by coverage^coverage_power. `adaptive_rrf` and `rrf`: weighted
 * RRF over ranks (adaptive: BM25 votes scaled by coverage^coverage_power).
 */
export function fuseSearch(
  hits: Partial<Record<RouteName, readonly RouteHit[]>>,
  plan: FusionPlan,
  cfg: { rrf_k: number; fusion: FusionConfig },
): FusedHit[] {
  // One route alone keeps its own order: coverage weighs lexical against semantic evidence, it is
  // not a second BM25 (and keyword-only search stays the baseline it is measured against).
  const answering = Object.values(hits).filter((h) => h && h.length > 0).length;
  const c = answering > 1 ? cfg : { ...cfg, fusion: { ...cfg.fusion, coverage_power: 0 } };
  return plan.mode === 'score' ? scoreFusion(hits, plan, c.fusion) : rankFusion(hits, plan, c);
}

const coverageWeight = (h: RouteHit, power: number) => (h.coverage === undefined ? 1 : Math.pow(h.coverage, power));

function scoreFusion(
  hits: Partial<Record<RouteName, readonly RouteHit[]>>,
  plan: FusionPlan,
  cfg: FusionConfig,
): FusedHit[] {
  const byId = new Map<string, FusedHit>();
  for (const route of ['bm25', 'vector', 'image'] as const) {
    const routeHits = hits[route];
    if (!routeHits || routeHits.length === 0) continue;
    const w = plan.weights[route] ?? 0;
    // BM25 scores mean nothing across queries; the best one of this query is the unit.
    const best = route === 'bm25' ? Math.max(...routeHits.map((h) => h.score)) : 1;
    const unit = best > 0 ? best : 1;
    routeHits.forEach((h, i) => {
      let hit = byId.get(h.id);
      if (!hit) {
        hit = { id: h.id, score: 0, ranks: {} };
        byId.set(h.id, hit);
      }
      if (hit.ranks[route] !== undefined) return;
      hit.ranks[route] = i + 1;
      const value = route === 'bm25' ? (h.score / unit) * coverageWeight(h, cfg.coverage_power) : h.score;
      hit.score += w * value;
    });
  }
  return sortFused([...byId.values()]);
}

function rankFusion(
  hits: Partial<Record<RouteName, readonly RouteHit[]>>,
  plan: FusionPlan,
  cfg: { rrf_k: number; fusion: FusionConfig },
): FusedHit[] {
  const lists: RankedList[] = [];
  for (const route of ['bm25', 'vector', 'image'] as const) {
    const routeHits = hits[route];
    if (!routeHits) continue;
    const list: RankedList = { route, ids: routeHits.map((h) => h.id), weight: plan.weights[route] ?? 0 };
    if (route === 'bm25' && plan.mode === 'adaptive_rrf' && cfg.fusion.coverage_power > 0) {
      list.itemWeights = routeHits.map((h) => coverageWeight(h, cfg.fusion.coverage_power));
    }
    lists.push(list);
  }
  return reciprocalRankFusion(lists, cfg.rrf_k);
}

/** The fusion a search used, as its debug output shows it. */
export function fusionDebug(plan: FusionPlan, cfg: FusionConfig) {
  return {
    mode: plan.mode,
    lexical_evidence: plan.evidence,
    weights: plan.weights,
    ...(plan.mode !== 'rrf' && {
      all_terms: cfg.all_terms,
      some_terms: cfg.some_terms,
      coverage_power: cfg.coverage_power,
    }),
  };
}
