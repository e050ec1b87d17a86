import type { ServedEntry } from '../behavior/served-log.ts';
import type { UserState } from '../behavior/user-state.ts';
import type { FeedItem } from '../retrieval/recall/feed.ts';
import type { Searcher } from '../retrieval/recall/searcher.ts';
import { filterKey } from '../retrieval/index/stores.ts';
import type { SearchItem } from '../retrieval/index/types.ts';
import type { Surface } from './features.ts';
import type { Candidate } from './inputs.ts';
import type { RankOutcome, RankedCandidate, Ranker } from './ranker.ts';

/**
 * Glue between the API routes and the Ranker: fused items → candidates, ranked candidates →
 * the full order (diversity reorders its head next, rerank/apply.ts), an order → the page shown
 * (with per-item pCTR, pCVR and final score under debug) and the served-log items carrying the
 * exact feature vectors.
 */
export function searchCandidate(item: SearchItem, position: number): Candidate {
  const d = item.debug;
  const routes: Candidate['routes'] = {};
  if (d?.bm25_rank !== undefined) routes.bm25 = { rank: d.bm25_rank, score: d.bm25_score ?? 0 };
  if (d?.vector_rank !== undefined) routes.vector = { rank: d.vector_rank, score: d.vector_score ?? 0 };
  if (d?.image_rank !== undefined) routes.image = { rank: d.image_rank, score: d.image_score ?? 0 };
  return baseCandidate(item, position, d?.fused_score ?? item.score, routes);
}

export function feedCandidate(item: FeedItem, position: number): Candidate {
  const routes: Candidate['routes'] = {};
  for (const [r, v] of Object.entries(item.routes ?? {})) if (v) routes[r] = { rank: v.rank, score: v.score };
  return baseCandidate(item, position, item.score, routes);
}

function baseCandidate(item: SearchItem, position: number, fused: number, routes: Candidate['routes']): Candidate {
  return {
    id: item.id,
    fusion_position: position,
    fused_score: fused,
    routes,
    ...(item.category !== undefined && { category_key: filterKey(item.category) }),
    ...(item.brand !== undefined && { brand_key: filterKey(item.brand) }),
    ...(item.price !== undefined && { price: item.price }),
  };
}

/** One slot of the post-fusion order: the item, where fusion put it, and the ranker's verdict when it scored it. */
export interface Ordered<T> {
  item: T;
  fusion_position: number;
  r?: RankedCandidate | undefined;
}

export interface RankDebug {
  mode: RankOutcome['mode'];
  model_version?: string;
  reason?: string;
  feature_spec: string;
  window: number;
  a: number;
  b: number;
  c: number;
  took_ms: number;
}

/** What the served log keeps of the ranking debug. */
export function servedRanking(d: RankDebug): NonNullable<ServedEntry['ranking']> {
  return {
    mode: d.mode,
    ...(d.model_version !== undefined && { model_version: d.model_version }),
    feature_spec: d.feature_spec,
  };
}

/** Fusion order as an Ordered list (ranking off). */
export function fusionOrder<T>(fused: readonly T[]): Array<Ordered<T>> {
  return fused.map((item, i) => ({ item, fusion_position: i }));
}

/**
 * Ranks the first `window` fused items (all in one batch) and keeps the rest in fusion order
 * after them. The whole order is returned: diversity (rerank/) reorders its head before the
 * page is cut.
 */
export async function rankOrder<T extends SearchItem>(
  ranker: Ranker,
  req: { surface: Surface; subject?: string | undefined; shopper?: { user: UserState | undefined } | undefined },
  fused: readonly T[],
  toCandidate: (item: T, position: number) => Candidate,
): Promise<{ order: Array<Ordered<T>>; debug: RankDebug }> {
  const window = ranker.config.window;
  const head = fused.slice(0, window);
  const outcome = await ranker.rank(
    { surface: req.surface, subject: req.subject, shopper: req.shopper },
    head.map(toCandidate),
  );
  const byId = new Map(head.map((it) => [it.id, it]));
  const order: Array<Ordered<T>> = [
    ...outcome.items.map((r) => ({ item: byId.get(r.candidate.id)!, fusion_position: r.candidate.fusion_position, r })),
    ...fused.slice(window).map((item, i) => ({ item, fusion_position: window + i })),
  ];
  return {
    order,
    debug: {
      mode: outcome.mode,
      ...(outcome.model_version !== undefined && { model_version: outcome.model_version }),
      ...(outcome.reason !== undefined && { reason: outcome.reason }),
      feature_spec: ranker.status.feature_spec,
      window,
      a: ranker.config.a,
      b: ranker.config.b,
      c: ranker.config.c,
      took_ms: round(outcome.took_ms),
    },
  };
}

/** The score an ordered item is shown with, and what diversity treats as its relevance. */
export function orderedScore<T extends SearchItem>(o: Ordered<T>): number {
  return o.r ? round(o.r.score) : o.item.score;
}

/**
 * The page [from, to) of an order, as shown and as logged. Shown items carry their retrieval
 * debug, the ranker's pCTR / pCVR / score and whatever `extra` adds (MMR) only under `debug`;
 * served-log items keep the ranker's exact feature vectors.
 */
export function presentPage<T extends SearchItem, O extends Ordered<T>>(
  order: readonly O[],
  req: { debug: boolean; from: number; to: number; ranked: boolean },
  extra?: (o: O) => { debug?: Record<string, unknown>; served?: Partial<ServedEntry['items'][number]> } | undefined,
): { items: T[]; served: ServedEntry['items'] } {
  const items: T[] = [];
  const served: ServedEntry['items'] = [];
  order.slice(req.from, req.to).forEach((o, i) => {
    const { item, r } = o;
    const more = extra?.(o);
    const out = { ...item, score: orderedScore(o) } as T & { debug?: Record<string, unknown>; routes?: unknown };
    if (req.debug) {
      out.debug = {
        ...(item.debug ?? {}),
        fused_score: r?.candidate.fused_score ?? item.debug?.fused_score ?? item.score,
        fusion_position: o.fusion_position,
        ...(r?.p_ctr !== undefined && { p_ctr: round(r.p_ctr), p_cvr: round(r.p_cvr!) }),
        ...(req.ranked && { rank_score: r ? round(r.score) : null }),
        ...more?.debug,
      };
    } else {
      delete out.debug;
      delete out.routes;
    }
    items.push(out);
    served.push({
      id: item.id,
      position: req.from + i,
      score: out.score,
      fusion_position: o.fusion_position,
      ...(r?.p_ctr !== undefined && { p_ctr: r.p_ctr, p_cvr: r.p_cvr! }),
      ...(r && { features: Array.from(r.features) }),
      ...more?.served,
    });
  });
  return { items, served };
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;

/**
 * Products' updated_at (epoch ms) for the age feature, read from the served index and kept per
 * index generation (it only changes when the indexer writes a new one).
 */
export function productTimes(searcher: Searcher): (ids: readonly string[]) => Promise<Map<string, number>> {
  let generation: string | undefined;
  const cache = new Map<string, number | null>();
  return async (ids) => {
    if (searcher.generation !== generation) {
      cache.clear();
      generation = searcher.generation;
    }
    const missing = ids.filter((id) => !cache.has(id));
    if (missing.length > 0) {
      const products = await searcher.withSnapshot(async (snap) => (snap ? snap.text.get(missing) : new Map()));
      for (const id of missing) {
        const t = products.get(id)?.updated_at;
        const ms = t !== undefined ? Date.parse(t) : NaN;
        cache.set(id, Number.isFinite(ms) ? ms : null);
      }
    }
    const out = new Map<string, number>();
    for (const id of ids) {
      const v = cache.get(id);
      if (v !== undefined && v !== null) out.set(id, v);
    }
    return out;
  };
}
