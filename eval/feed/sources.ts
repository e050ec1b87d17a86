/**
 * FeedSources over a replayed state store and an exact vector index, with memoisation. The
 * state is frozen once replayed, so repeated reads (several route settings for one user while
 * tuning, the same trending list for every user) can be answered from memory; the answers are
 * the store's own.
 */
import type { StateStore } from '../../behavior/state-store.ts';
import type { FeedSources, SequenceSource } from '../../retrieval/recall/feed-routes.ts';
import type { RouteHit } from '../../retrieval/index/types.ts';
import type { ExactVectors } from './exact-vectors.ts';

export interface EvalSources extends FeedSources {
  /** Forgets the per-user neighbour lists (call between users to bound memory). */
  nextUser(): void;
}

export function evalSources(
  state: StateStore,
  vectors: ExactVectors | undefined,
  sequence?: SequenceSource,
): EvalSources {
  const trending = new Map<string, Promise<RouteHit[]>>();
  const counts = new Map<string, number>();
  let neighbours = new Map<string, Promise<RouteHit[]>>();
  return {
    trending(scope, k) {
      const key = `${scope}\u0000${k}`;
      let hit = trending.get(key);
      if (!hit) trending.set(key, (hit = state.trending(scope, k)));
      return hit;
    },
    cooccurring(id, k) {
      const key = `${id}\u0000${k}`;
      let hit = neighbours.get(key);
      if (!hit) neighbours.set(key, (hit = state.cooccurring(id, k)));
      return hit;
    },
    async itemCounts(ids) {
      const missing = ids.filter((id) => !counts.has(id));
      if (missing.length > 0) {
        const got = await state.itemCounts(missing);
        for (const id of missing) counts.set(id, got.get(id) ?? 0);
      }
      const out = new Map<string, number>();
      for (const id of ids) {
        const n = counts.get(id)!;
        if (n > 0) out.set(id, n);
      }
      return out;
    },
    vectorSearch: vectors && vectors.size > 0 ? async (v, k) => vectors.search(v, k) : undefined,
    sequence,
    nextUser() {
      neighbours = new Map();
    },
  };
}
