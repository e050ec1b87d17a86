import type { BehaviorConfig } from '../../behavior/config.ts';
import { queryVector, topAffinities, type UserState } from '../../behavior/user-state.ts';
import type { FeedConfig } from './feed-config.ts';
import type { StateStore } from '../../behavior/state-store.ts';
import { filterKey, type IndexSnapshot } from '../index/stores.ts';
import type { Filters, RouteHit } from '../index/types.ts';

/**
 * The feed's recall routes, each a function of the shopper's state and a few read-only
 * sources. The sources are what the state store and vector index offer; offline evaluation
 * passes in-memory ones, so what is measured is the code that serves.
 */
export interface FeedSources {
  trending(scope: string, k: number): Promise<RouteHit[]>;
  cooccurring(id: string, k: number): Promise<RouteHit[]>;
  itemCounts(ids: readonly string[]): Promise<Map<string, number>>;
  /** Undefined when the index has no vectors. */
  vectorSearch?: ((v: Float32Array, k: number, filters?: Filters) => Promise<RouteHit[]>) | undefined;
  vectorsOf?: ((ids: readonly string[]) => Promise<Map<string, Float32Array>>) | undefined;
  /** The learned sequence model (SequenceRecall); undefined when none is served. */
  sequence?: SequenceSource | undefined;
}

/** What the `sequence` route and similar items read from the learned sequence model. */
export interface SequenceSource {
  /** Next items for a history of product ids, oldest first (the history left out). */
  recall(history: readonly string[], k: number): Promise<RouteHit[]>;
  /** Nearest products by learned embedding, the product left out. */
  neighbours(id: string, k: number): Promise<RouteHit[]>;
}

/** The live sources: the behaviour state store and the served index's vectors. */
export function feedSources(state: StateStore, snapshot: IndexSnapshot, sequence?: SequenceSource): FeedSources {
  const vectors = snapshot.vectors;
  return {
    sequence,
    trending: (scope, k) => state.trending(scope, k),
    cooccurring: (id, k) => state.cooccurring(id, k),
    itemCounts: (ids) => state.itemCounts(ids),
    vectorSearch: vectors ? (v, k, f) => vectors.search(v, k, f) : undefined,
    vectorsOf: vectors?.vectorsOf ? (ids) => vectors.vectorsOf!(ids) : undefined,
  };
}

export interface Seed {
  id: string;
  w: number;
}

/** Item-CF seeds: the context product first, then recent items, weighted by recency rank. */
export function itemCfSeeds(user: UserState | undefined, contextProduct: string | undefined, n: number): Seed[] {
  const seeds: Seed[] = contextProduct !== undefined ? [{ id: contextProduct, w: 2 }] : [];
  for (const [i, r] of (user?.recent ?? []).slice(0, n).entries()) {
    if (r.id !== contextProduct) seeds.push({ id: r.id, w: 1 / (i + 1) });
  }
  return seeds;
}

/**
 * score(b) = Σ_seed w_seed · cooc(seed, b) / count(b)^α. Dividing by the candidate's own
 * popularity keeps best-sellers from co-occurring with everything (α = 0.5 is cosine-like).
 */
export function scoreItemCf(
  seeds: readonly Seed[],
  neighbours: ReadonlyMap<string, readonly RouteHit[]>,
  counts: ReadonlyMap<string, number>,
  alpha: number,
  k: number,
): RouteHit[] {
  const seedIds = new Set(seeds.map((s) => s.id));
  const score = new Map<string, number>();
  for (const s of seeds) {
    for (const n of neighbours.get(s.id) ?? []) {
      if (seedIds.has(n.id)) continue;
      const c = Math.max(1, counts.get(n.id) ?? 1);
      score.set(n.id, (score.get(n.id) ?? 0) + (s.w * n.score) / Math.pow(c, alpha));
    }
  }
  return [...score.entries()]
    .map(([id, s]) => ({ id, score: s }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, k);
}

export async function itemCfRoute(src: FeedSources, seeds: readonly Seed[], cfg: FeedConfig): Promise<RouteHit[]> {
  if (seeds.length === 0) return [];
  const lists = await Promise.all(seeds.map((s) => src.cooccurring(s.id, cfg.recall_k)));
  const neighbours = new Map(seeds.map((s, i) => [s.id, lists[i]!]));
  const candidates = [...new Set(lists.flat().map((h) => h.id))];
  const counts = await src.itemCounts(candidates);
  return scoreItemCf(seeds, neighbours, counts, cfg.cooc_alpha, cfg.recall_k);
}

export async function userVectorRoute(
  src: FeedSources,
  user: UserState | undefined,
  now: number,
  cfg: FeedConfig,
  behavior: BehaviorConfig,
  filters: Filters,
): Promise<RouteHit[]> {
  if (!user || !src.vectorSearch) return [];
  const v = queryVector(user, now, behavior, cfg.short_weight);
  return v ? src.vectorSearch(v, cfg.recall_k, filters) : [];
}

/** The learned model's next items for the shopper's recent items (state keeps them most recent first). */
export async function sequenceRoute(
  src: FeedSources,
  user: UserState | undefined,
  cfg: FeedConfig,
): Promise<RouteHit[]> {
  if (!user || !src.sequence || user.recent.length === 0) return [];
  const history = user.recent.map((r) => r.id).reverse();
  return src.sequence.recall(history, cfg.recall_k);
}

/** Nearest neighbours of one product's own vector, itself left out. */
export async function similarRoute(
  src: FeedSources,
  productId: string | undefined,
  k: number,
  filters?: Filters,
): Promise<RouteHit[]> {
  if (productId === undefined || !src.vectorSearch || !src.vectorsOf) return [];
  const v = (await src.vectorsOf([productId])).get(productId);
  if (!v) return [];
  return (await src.vectorSearch(v, k + 1, filters)).filter((h) => h.id !== productId).slice(0, k);
}

/** The category whose best-sellers a new or anonymous shopper sees: the page's, else their favourite. */
export function categoryScope(contextCategory: string | undefined, user: UserState | undefined): string | undefined {
  if (contextCategory !== undefined) return filterKey(contextCategory).replace(/^\/+|\/+$/g, '');
  return user ? topAffinities(user.categories, 1)[0]?.key : undefined;
}
