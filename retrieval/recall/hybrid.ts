import type { ImageEmbedder, TextEmbedder } from '../../core/embedding/embedder.ts';
import type { RetrievalConfig } from '../index/config.ts';
import type { Candidate, Degraded, Evidence } from '../../core/candidate.ts';
import { unavailableIn } from '../../core/dependency-guard.ts';
import { toCandidate } from './hydrate.ts';
import { fuseSearch, planFusion, type FusionPlan } from './fusion.ts';
import { matchSet } from './match-set.ts';
import type { IndexSnapshot } from '../index/stores.ts';
import type { ItemDebug, RouteHit, RouteName, SearchItem, SearchQuery, SearchResult } from '../index/types.ts';

/**
 * Hybrid search over one index snapshot: run every requested recall route with the filters
 * inside it, fuse (retrieval/recall/fusion.ts), page, hydrate. A route that fails is left out and named in
 * `degraded`, so a broken vector store costs relevance, not availability.
 */
export interface Embedders {
  text: TextEmbedder | undefined;
  /** CLIP-style model whose text side queries the image vectors. */
  image?: ImageEmbedder | undefined;
}

/** Which slice of the fused list to hydrate: [from, to), 0-based. */
export interface RecallWindow {
  from: number;
  to: number;
}

export interface Recalled {
  /** The window's candidates, hydrated, in fusion order, each with the routes that found it. */
  candidates: Candidate[];
  /** Matching products recalled (match-set.ts): lexical hits and vector hits above the similarity threshold. */
  total: number;
  /** How the routes were fused for this query (debug). */
  fusion?: FusionPlan;
  degraded?: Degraded[];
}

/**
 * Hybrid recall over one snapshot: every route with the filters inside it, fused (fusion.ts),
 * the window [from, to) of the fused list hydrated into candidates that carry their evidence.
 */
export async function hybridRecall(
  snapshot: IndexSnapshot | undefined,
  embedders: Embedders,
  query: Pick<SearchQuery, 'q' | 'filters' | 'routes'>,
  cfg: RetrievalConfig,
  window: RecallWindow,
): Promise<Recalled> {
  if (!snapshot) return { candidates: [], total: 0 };
  const k = Math.max(cfg.recall_k, window.to);
  const routes: RouteName[] = query.routes ?? [
    'bm25',
    ...(snapshot.vectors ? (['vector'] as const) : []),
    ...(snapshot.images && embedders.image ? (['image'] as const) : []),
  ];
  const degraded: Degraded[] = [];
  const failures: unknown[] = [];
  const scores = new Map<string, Partial<Record<RouteName, RouteHit>>>();

  const run = async (route: RouteName): Promise<RouteHit[] | undefined> => {
    try {
      const hits = await recall(route, snapshot, embedders, query, k);
      for (const h of hits) {
        const s = scores.get(h.id) ?? {};
        s[route] = h;
        scores.set(h.id, s);
      }
      return hits;
    } catch (err) {
      degraded.push({ route, reason: (err as Error).message });
      failures.push(err);
      return undefined;
    }
  };
  // Routes run concurrently: the query embedding runs on onnxruntime's threads while SQLite works.
  const results = await Promise.all(routes.map(run));
  // No route answered and a server is out of its budget: there is nothing to degrade to, and an
  // empty page would read as "no such products". The caller answers 503 with Retry-After.
  const down = failures.map(unavailableIn).find((u) => u !== undefined);
  if (failures.length === routes.length && down) throw down;
  const byRoute: Partial<Record<RouteName, RouteHit[]>> = {};
  routes.forEach((route, i) => {
    if (results[i]) byRoute[route] = results[i];
  });

  const fusion = planFusion(cfg, byRoute.bm25);
  const minSimilarity = cfg.match.min_similarity ?? embedders.text?.similarityThreshold ?? -1;
  const matching = matchSet(byRoute, minSimilarity);
  // Only matches are shown and counted: a nearest neighbour below the threshold is no answer.
  const fused = fuseSearch(byRoute, fusion, cfg).filter((h) => matching.has(h.id));
  const windowHits = fused.slice(window.from, window.to);
  const products = await snapshot.text.get(windowHits.map((h) => h.id));
  const candidates: Candidate[] = [];
  windowHits.forEach((hit, i) => {
    const p = products.get(hit.id);
    if (!p) return;
    const s = scores.get(hit.id) ?? {};
    const evidence: Record<string, Evidence> = {};
    for (const route of ['bm25', 'vector', 'image'] as const) {
      const rank = hit.ranks[route];
      const h = s[route];
      if (rank !== undefined && h) {
        evidence[route] = { rank, score: h.score, ...(h.coverage !== undefined && { coverage: h.coverage }) };
      }
    }
    const c = toCandidate(p, hit.score, window.from + i, evidence);
    if (fusion.mode === 'score') c.fused_rrf = 2 / (61 + c.fusion_position);
    candidates.push(c);
  });
  return { candidates, total: fused.length, fusion, ...(degraded.length > 0 && { degraded }) };
}

/**
 * Hybrid search as one call (the index's own API: tests, the indexer's checks, offline tools):
 * the page of `query` as result items, with each route's rank and score under `debug`.
 */
export async function hybridSearch(
  snapshot: IndexSnapshot | undefined,
  embedders: Embedders,
  query: SearchQuery,
  cfg: RetrievalConfig,
): Promise<SearchResult> {
  const page = query.page ?? 1;
  const r = await hybridRecall(snapshot, embedders, query, cfg, {
    from: (page - 1) * query.size,
    to: page * query.size,
  });
  const items = r.candidates.map((c): SearchItem => {
    const item: SearchItem = { ...c.product, score: c.fused_score };
    if (query.debug) item.debug = routeDebug(c);
    return item;
  });
  return {
    items,
    total_candidates: r.total,
    ...(r.degraded && { degraded: r.degraded as NonNullable<SearchResult['degraded']> }),
  };
}

/** A search candidate's evidence in the flat shape search responses show under `debug`. */
export function routeDebug(c: Pick<Candidate, 'routes' | 'fused_score'>): ItemDebug {
  const { bm25, vector, image } = c.routes;
  return {
    fused_score: c.fused_score,
    ...(bm25 && {
      bm25_rank: bm25.rank,
      bm25_score: bm25.score,
      ...(bm25.coverage !== undefined && { bm25_coverage: bm25.coverage }),
    }),
    ...(vector && { vector_rank: vector.rank, vector_score: vector.score }),
    ...(image && { image_rank: image.rank, image_score: image.score }),
  };
}

async function recall(
  route: RouteName,
  snapshot: IndexSnapshot,
  embedders: Embedders,
  query: Pick<SearchQuery, 'q' | 'filters'>,
  k: number,
): Promise<RouteHit[]> {
  switch (route) {
    case 'bm25':
      return snapshot.text.search(query.q, k, query.filters);
    case 'vector': {
      const embedder = embedders.text;
      if (!snapshot.vectors) throw new Error('the index has no vectors');
      if (!embedder) throw new Error('no text embedder is configured');
      if (snapshot.embedderId !== embedder.id) {
        throw new Error(
          `index was built with embedder ${snapshot.embedderId}, service runs ${embedder.id}: re-run the indexer`,
        );
      }
      const [vec] = await embedder.embedTexts([query.q], 'query');
      // A query with no features (punctuation only) embeds to zero: it has no neighbours.
      return isZero(vec!) ? [] : snapshot.vectors.search(vec!, k, query.filters);
    }
    case 'image': {
      const model = embedders.image;
      if (!snapshot.images) throw new Error('the index has no image vectors');
      if (!model) throw new Error('no image model is configured');
      if (snapshot.imageEmbedderId !== model.id) {
        throw new Error(
          `images were indexed with ${snapshot.imageEmbedderId}, service runs ${model.id}: re-run the indexer`,
        );
      }
      const [vec] = await model.embedTexts([query.q], 'query');
      return isZero(vec!) ? [] : snapshot.images.search(vec!, k, query.filters);
    }
  }
}

function isZero(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}
