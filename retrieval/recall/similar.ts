import type { StateStore } from '../../behavior/state-store.ts';
import type { FeedConfig } from './feed-config.ts';
import { feedSources, itemCfRoute, similarRoute } from './feed-routes.ts';
import { firstAccepted, toSearchItem } from './hydrate.ts';
import { reciprocalRankFusion, type RankedList } from './rrf.ts';
import { compileFilter, filterPayload, type IndexSnapshot } from '../index/stores.ts';
import type { RouteHit, SearchItem } from '../index/types.ts';

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
  const src = feedSources(state, snapshot);
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
  const scores = {
    vector: new Map(byVector.map((h) => [h.id, h.score])),
    cooc: new Map(byCooc.map((h) => [h.id, h.score])),
  };
  const inStock = compileFilter({ in_stock: true });
  const page = await firstAccepted(snapshot.text, fused, size, (p) => inStock(filterPayload(p)));
  const items = page.map(({ hit, product: p }) => {
    const item: SimilarItem = toSearchItem(p, hit.score);
    if (debug) {
      item.routes = {
        ...(hit.ranks.vector !== undefined && { vector: { rank: hit.ranks.vector, score: scores.vector.get(p.id)! } }),
        ...(hit.ranks.cooc !== undefined && { cooc: { rank: hit.ranks.cooc, score: scores.cooc.get(p.id)! } }),
      };
    }
    return item;
  });
  return { items, ...(degraded.length > 0 && { degraded }) };
}
