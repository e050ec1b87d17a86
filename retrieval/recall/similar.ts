import type { StateStore } from '../../behavior/state-store.ts';
import type { FeedConfig } from './feed-config.ts';
import { feedSources, itemCfRoute, similarRoute, type SequenceSource } from './feed-routes.ts';
import { firstAccepted, toCandidate } from './hydrate.ts';
import { reciprocalRankFusion, type RankedList } from './rrf.ts';
import { compileFilter, filterPayload, type IndexSnapshot } from '../index/stores.ts';
import type { RouteHit } from '../index/types.ts';
import type { Candidate, Degraded } from '../../core/candidate.ts';

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
  /** The learned sequence model: its item-to-item neighbours are a third list. */
  sequence?: SequenceSource,
): Promise<{ candidates: Candidate[]; degraded?: Degraded[] } | undefined> {
  if (!snapshot) return undefined;
  const self = (await snapshot.text.get([id])).get(id);
  if (!self) return undefined;
  const src = feedSources(state, snapshot);
  const degraded: Degraded[] = [];
  const guard = (route: string, p: Promise<RouteHit[]>) =>
    p.catch((err: Error) => {
      degraded.push({ route, reason: err.message });
      return [] as RouteHit[];
    });
  const [byVector, byCooc, bySequence] = await Promise.all([
    guard('vector', similarRoute(src, id, cfg.recall_k, { in_stock: true })),
    guard('cooc', itemCfRoute(src, [{ id, w: 1 }], cfg)),
    sequence && cfg.weights.sequence > 0
      ? guard('sequence', sequence.neighbours(id, cfg.recall_k))
      : Promise.resolve([] as RouteHit[]),
  ]);
  const lists: RankedList[] = [
    { route: 'vector', ids: byVector.map((h) => h.id), weight: cfg.weights.similar },
    { route: 'cooc', ids: byCooc.map((h) => h.id), weight: cfg.weights.itemcf },
    { route: 'sequence', ids: bySequence.map((h) => h.id), weight: cfg.weights.sequence },
  ];
  const fused = reciprocalRankFusion(lists, cfg.rrf_k).filter((h) => h.id !== id);
  const scores = {
    vector: new Map(byVector.map((h) => [h.id, h.score])),
    cooc: new Map(byCooc.map((h) => [h.id, h.score])),
    sequence: new Map(bySequence.map((h) => [h.id, h.score])),
  };
  const inStock = compileFilter({ in_stock: true });
  const page = await firstAccepted(snapshot.text, fused, size, (p) => inStock(filterPayload(p)));
  const candidates = page.map(({ hit, product: p }, i) =>
    toCandidate(p, hit.score, i, {
      ...(hit.ranks.vector !== undefined && { vector: { rank: hit.ranks.vector, score: scores.vector.get(p.id)! } }),
      ...(hit.ranks.cooc !== undefined && { cooc: { rank: hit.ranks.cooc, score: scores.cooc.get(p.id)! } }),
      ...(hit.ranks.sequence !== undefined && {
        sequence: { rank: hit.ranks.sequence, score: scores.sequence.get(p.id)! },
      }),
    }),
  );
  return { candidates, ...(degraded.length > 0 && { degraded }) };
}
