import type { Product } from '../../core/catalog/product.ts';
import { guardByPlan, type DependencyGuard, type GuardPlan } from '../../core/dependency-guard.ts';
import type { TextStore, VectorStore } from './stores.ts';

/**
 * The search engines' reads, each within its server's budget and circuit breaker
 * (core/dependency-guard.ts). A route whose engine is down or slow fails in time for recall to
 * answer from the other one (retrieval/recall/hybrid.ts names it in `degraded`). Writes are the
 * indexer's, with their own retries (indexer/retry.ts): not guarded. Each store's plan names every
 * async method, so one added to TextStore or VectorStore does not compile until it is placed.
 */

/** How many recently shown products the text store remembers, to show them while it is down. */
export const PRODUCT_MEMORY = 10_000;

const TEXT_PLAN: GuardPlan<TextStore> = {
  search: true,
  lexical: true,
  browse: true,
  explore: true,
  get: true,
  hashes: true,
  hashesOf: true,
  count: true,
  // Before a generation serves, not on a request: the engine's own time-outs.
  warm: false,
  upsert: false,
  delete: false,
  close: false,
};

const VECTOR_PLAN: GuardPlan<VectorStore> = {
  search: true,
  vectorsOf: true,
  hashes: true,
  count: true,
  upsert: false,
  delete: false,
  close: false,
};

/**
 * Elasticsearch as the text store. Results are hydrated from it, so when it is down the vector
 * route's hits could not be shown at all: the products `get` returned recently are kept (a
 * bounded LRU) and serve a degraded page meanwhile. A product not in memory is left out of that page.
 */
export function guardTextStore(inner: TextStore, guard: DependencyGuard, memory = PRODUCT_MEMORY): TextStore {
  const guarded = guardByPlan(inner, guard, TEXT_PLAN);
  const recent = new Map<string, Product>();
  const get = async (ids: string[]): Promise<Map<string, Product>> => {
    try {
      const found = await guarded.get(ids);
      for (const [id, p] of found) {
        // Map order is insertion order: re-inserting moves the product to the young end.
        recent.delete(id);
        recent.set(id, p);
        if (recent.size > memory) recent.delete(recent.keys().next().value!);
      }
      return found;
    } catch (err) {
      const kept = new Map<string, Product>();
      for (const id of ids) {
        const p = recent.get(id);
        if (p) kept.set(id, p);
      }
      if (kept.size === 0 && ids.length > 0) throw err;
      return kept;
    }
  };
  return new Proxy(guarded, { get: (target, prop) => (prop === 'get' ? get : Reflect.get(target, prop)) });
}

/** Qdrant as a vector store: searches, vector reads and counts within the budget; writes as they are. */
export function guardVectorStore(inner: VectorStore, guard: DependencyGuard): VectorStore {
  return guardByPlan(inner, guard, VECTOR_PLAN);
}
