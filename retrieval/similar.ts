import type { StateStore } from '../behavior/state-store.ts';
import type { FeedConfig } from './feed-config.ts';
import { itemCfRoute, similarRoute, type FeedSources } from './feed-routes.ts';
import { reciprocalRankFusion, type RankedList } from './rrf.ts';
import { compileFilter, filterPayload, type IndexSnapshot } from './stores.ts';
import type { RouteHit, SearchItem } from './types.ts';

export interface SimilarItem extends SearchItem {
  routes?: { vector?: { rank: number; score: number }; cooc?: { rank: number; score: number } };
}

/**
 * "More like this": the product's nearest neighbours by embedding, fused with what shoppers
 * engage with alongside it. Undefined when the product is not in the index.
 */
export async function similarItems(
  snapshot: IndexSnapshot | undefined,
  state: StateStore,
  id: string,
  size: number,
  cfg: FeedConfig,
  debug = false,
): Promise<{ items: SimilarItem[]; degraded?: Array<{ route: string; reason: string }> } | undefined> {
  if (!snapshot) return undefined;
  const self = (await snapshot.text.get([id])).get(id);
  if (!self) return undefined;
  const vectors = snapshot.vectors;
  const src: FeedSources = {
    trending: async () => [],
    cooccurring: (x, k) => state.cooccurring(x, k),
    itemCounts: (ids) => state.itemCounts(ids),
    vectorSearch: vectors ? (v, k, f) => vectors.search(v, k, f) : undefined,
    vectorsOf: vectors?.vectorsOf ? (ids) => vectors.vectorsOf!(ids) : undefined,
  };
  const degraded: Array<{ route: string; reason: string }> = [];
  const guard = (route: string, p: Promise<RouteHit[]>) =>
    p.catch((err: Error) => {
      degraded.push({ route, reason: err.message });
      return [] as RouteHit[];
    });
  const [byVector, byCooc] = await Promise.all([
    guard('vector', similarRoute(src, id, cfg.recall_k, { in_stock: true })),
    guard('cooc', itemCfRoute(src, [{ id, w: 1 }], cfg)),
  ]);
  const lists: RankedList[] = [
    { route: 'vector', ids: byVector.map((h) => h.id), weight: cfg.weights.similar },
    { route: 'cooc', ids: byCooc.map((h) => h.id), weight: cfg.weights.itemcf },
  ];
  const fused = reciprocalRankFusion(lists, cfg.rrf_k).filter((h) => h.id !== id);
  const scores = { vector: new Map(byVector.map((h) => [h.id, h.score])), cooc: new Map(byCooc.map((h) => [h.id, h.score])) };
  const inStock = compileFilter({ in_stock: true });
  const items: SimilarItem[] = [];
  for (let start = 0; start < fused.length && items.length < size; start += size * 2) {
    const chunk = fused.slice(start, start + size * 2);
    const products = await snapshot.text.get(chunk.map((h) => h.id));
    for (const hit of chunk) {
      const p = products.get(hit.id);
      if (!p || !inStock(filterPayload(p))) continue;
      const item: SimilarItem = {
        id: p.id,
        title: p.title,
        in_stock: p.in_stock,
        score: hit.score,
        ...(p.price !== undefined && { price: p.price }),
        ...(p.currency !== undefined && { currency: p.currency }),
        ...(p.category !== undefined && { category: p.category }),
        ...(p.brand !== undefined && { brand: p.brand }),
        ...(p.image !== undefined && { image: p.image }),
      };
      if (debug) {
        item.routes = {
          ...(hit.ranks.vector !== undefined && { vector: { rank: hit.ranks.vector, score: scores.vector.get(p.id)! } }),
          ...(hit.ranks.cooc !== undefined && { cooc: { rank: hit.ranks.cooc, score: scores.cooc.get(p.id)! } }),
        };
      }
      items.push(item);
      if (items.length === size) break;
    }
  }
  return { items, ...(degraded.length > 0 && { degraded }) };
}
