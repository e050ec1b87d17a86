import type { Product } from '../../core/catalog/product.ts';
import { guardMethods, type DependencyGuard } from '../../core/dependency-guard.ts';
import type { ExploreRequest, MatchQuery } from './facets.ts';
import type { LexicalOptions } from './lexical.ts';
import type { StoredProduct, TextStore, VectorPoint, VectorStore } from './stores.ts';
import type { Filters } from './types.ts';

/**
 * The search engines' reads, each within its server's budget and circuit breaker
 * (core/dependency-guard.ts). A route whose engine is down or slow fails in time for recall to
 * answer from the other one (retrieval/recall/hybrid.ts names it in `degraded`). Writes are the
 * indexer's, with their own retries (indexer/retry.ts): not guarded.
 */

/** How many recently shown products the text store remembers, to show them while it is down. */
export const PRODUCT_MEMORY = 10_000;

/**
 * Elasticsearch as the text store. Results are hydrated from it, so when it is down the vector
 * route's hits could not be shown at all: the products it hydrated recently are kept (a bounded
 * LRU) and serve a degraded page meanwhile. A product not in memory is left out of that page.
 */
export class GuardedTextStore implements TextStore {
  private readonly recent = new Map<string, Product>();

  constructor(
    private readonly inner: TextStore,
    private readonly guard: DependencyGuard,
    private readonly memory = PRODUCT_MEMORY,
  ) {}

  get kind(): string {
    return this.inner.kind;
  }

  upsert(docs: StoredProduct[]) {
    return this.inner.upsert(docs);
  }
  delete(ids: string[]) {
    return this.inner.delete(ids);
  }
  search(query: string, k: number, filters?: Filters) {
    return this.guard.call(() => this.inner.search(query, k, filters));
  }
  browse(k: number, filters?: Filters) {
    return this.guard.call(() => this.inner.browse(k, filters));
  }
  lexical(query: string, k: number, filters: Filters | undefined, options: LexicalOptions) {
    return this.guard.call(() => this.inner.lexical(query, k, filters, options));
  }
  explore(match: MatchQuery, request: ExploreRequest) {
    return this.guard.call(() => this.inner.explore(match, request));
  }
  async get(ids: string[]): Promise<Map<string, Product>> {
    try {
      const found = await this.guard.call(() => this.inner.get(ids));
      for (const [id, p] of found) this.remember(id, p);
      return found;
    } catch (err) {
      const kept = new Map<string, Product>();
      for (const id of ids) {
        const p = this.recent.get(id);
        if (p) kept.set(id, p);
      }
      if (kept.size === 0 && ids.length > 0) throw err;
      return kept;
    }
  }
  hashes() {
    return this.guard.call(() => this.inner.hashes());
  }
  hashesOf(ids: readonly string[]) {
    const inner = this.inner;
    return this.guard.call(async () => {
      if (inner.hashesOf) return inner.hashesOf(ids);
      const all = await inner.hashes();
      return new Map(ids.flatMap((id) => (all.has(id) ? [[id, all.get(id)!] as const] : [])));
    });
  }
  count() {
    return this.guard.call(() => this.inner.count());
  }
  close() {
    return this.inner.close();
  }

  private remember(id: string, p: Product): void {
    // Map order is insertion order: re-inserting moves the product to the young end.
    this.recent.delete(id);
    this.recent.set(id, p);
    if (this.recent.size > this.memory) this.recent.delete(this.recent.keys().next().value!);
  }
}

/** Qdrant as a vector store: searches, vector reads and counts within the budget; writes as they are. */
export function guardVectorStore(inner: VectorStore, guard: DependencyGuard): VectorStore {
  return guardMethods(inner, guard, ['search', 'vectorsOf', 'hashes', 'count']);
}
