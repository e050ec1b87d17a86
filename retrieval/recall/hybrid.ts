import type { ImageEmbedder, TextEmbedder } from '../../core/embedding/embedder.ts';
import type { RetrievalConfig } from '../index/config.ts';
import { toSearchItem } from './hydrate.ts';
import { reciprocalRankFusion, type RankedList } from './rrf.ts';
import type { IndexSnapshot } from '../index/stores.ts';
import type { RouteHit, RouteName, SearchItem, SearchQuery, SearchResult } from '../index/types.ts';

/**
 * Hybrid search over one index snapshot: run every requested recall route with the filters
 * inside it, fuse by weighted RRF, page, hydrate. A route that fails is left out and named in
 * `degraded`, so a broken vector store costs relevance, not availability.
 */
export interface Embedders {
  text: TextEmbedder | undefined;
  /** CLIP-style model whose text side queries the image vectors. */
  image?: ImageEmbedder | undefined;
}

export async function hybridSearch(
  snapshot: IndexSnapshot | undefined,
  embedders: Embedders,
  query: SearchQuery,
  cfg: RetrievalConfig,
): Promise<SearchResult> {
  if (!snapshot) return { items: [], total_candidates: 0 };
  const page = query.page ?? 1;
  const k = Math.max(cfg.recall_k, page * query.size);
  const routes: RouteName[] = query.routes ?? [
    'bm25',
    ...(snapshot.vectors ? (['vector'] as const) : []),
    ...(snapshot.images && embedders.image ? (['image'] as const) : []),
  ];
  const degraded: NonNullable<SearchResult['degraded']> = [];
  const scores = new Map<string, Partial<Record<RouteName, number>>>();

  const run = async (route: RouteName): Promise<RouteHit[] | undefined> => {
    try {
      const hits = await recall(route, snapshot, embedders, query, k);
      // Per-route scores are only shown in debug output.
      if (query.debug)
        for (const h of hits) {
          const s = scores.get(h.id) ?? {};
          s[route] = h.score;
          scores.set(h.id, s);
        }
      return hits;
    } catch (err) {
      degraded.push({ route, reason: (err as Error).message });
      return undefined;
    }
  };
  // Routes run concurrently: the query embedding runs on onnxruntime's threads while SQLite works.
  const results = await Promise.all(routes.map(run));
  const lists: RankedList[] = [];
  routes.forEach((route, i) => {
    const hits = results[i];
    if (hits) lists.push({ route, ids: hits.map((h) => h.id), weight: cfg.weights[route] });
  });

  const fused = reciprocalRankFusion(lists, cfg.rrf_k);
  const pageHits = fused.slice((page - 1) * query.size, page * query.size);
  const products = await snapshot.text.get(pageHits.map((h) => h.id));
  const items: SearchItem[] = [];
  for (const hit of pageHits) {
    const p = products.get(hit.id);
    if (!p) continue;
    const item: SearchItem = toSearchItem(p, hit.score);
    if (query.debug) {
      const s = scores.get(hit.id) ?? {};
      item.debug = {
        fused_score: hit.score,
        ...(hit.ranks.bm25 !== undefined && { bm25_rank: hit.ranks.bm25, bm25_score: s.bm25! }),
        ...(hit.ranks.vector !== undefined && { vector_rank: hit.ranks.vector, vector_score: s.vector! }),
        ...(hit.ranks.image !== undefined && { image_rank: hit.ranks.image, image_score: s.image! }),
      };
    }
    items.push(item);
  }
  return { items, total_candidates: fused.length, ...(degraded.length > 0 && { degraded }) };
}

async function recall(
  route: RouteName,
  snapshot: IndexSnapshot,
  embedders: Embedders,
  query: SearchQuery,
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
