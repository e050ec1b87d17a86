import { describe, expect, it } from 'vitest';
import { parseProduct, type Product } from '../../core/catalog/product.ts';
import { DependencyGuard, dependencyBudgetSchema } from '../../core/dependency-guard.ts';
import { guardTextStore } from './guarded-stores.ts';
import type { TextStore } from './stores.ts';

const never = () => new Promise<never>(() => {});
const guard = () =>
  new DependencyGuard('elasticsearch', dependencyBudgetSchema(50).parse({ consecutive_failures: 100 }));

function product(id: string): Product {
  const r = parseProduct({ id, title: `Product ${id}` });
  if (!r.ok) throw new Error(r.reason);
  return r.product;
}

/** A text store whose reads hang once `down`, as a frozen server's would; writes are recorded. */
class FrozenStore implements TextStore {
  readonly kind = 'elasticsearch';
  down = false;
  written: string[] = [];
  private read<T>(value: T): Promise<T> {
    return this.down ? never() : Promise.resolve(value);
  }
  async upsert(docs: Array<{ product: Product }>) {
    this.written.push(...docs.map((d) => d.product.id));
  }
  async delete() {}
  search = () => this.read([]);
  lexical = () => this.read({ hits: [], terms: [], prefixes: [], corrections: [] } as never);
  browse = () => this.read([]);
  explore = () => this.read({} as never);
  get = (ids: string[]) => this.read(new Map(ids.map((id) => [id, product(id)])));
  hashes = () => this.read(new Map<string, string>());
  count = () => this.read(0);
  async close() {}
}

describe('guardTextStore', () => {
  it('runs every read within the budget, writes as they are, and hydrates from the products it read while down', async () => {
    const inner = new FrozenStore();
    const store = guardTextStore(inner, guard());
    expect(store.kind).toBe('elasticsearch');
    expect([...(await store.get(['a', 'b'])).keys()]).toEqual(['a', 'b']);
    inner.down = true;
    const reads: Array<[string, () => Promise<unknown>]> = [
      ['search', () => store.search('q', 10)],
      ['lexical', () => store.lexical('q', 10, undefined, {} as never)],
      ['browse', () => store.browse(10)],
      ['explore', () => store.explore({} as never, {} as never)],
      ['hashes', () => store.hashes()],
      ['count', () => store.count()],
    ];
    for (const [name, read] of reads) {
      const t0 = performance.now();
      await expect(read(), name).rejects.toMatchObject({ dependency: 'elasticsearch', kind: 'timeout' });
      expect(performance.now() - t0, name).toBeLessThan(1000);
    }
    // Products read before are served from memory; one never read is left out; none at all fails.
    expect([...(await store.get(['a', 'c'])).keys()]).toEqual(['a']);
    await expect(store.get(['c'])).rejects.toMatchObject({ dependency: 'elasticsearch' });
    await store.upsert([{ product: product('d'), hash: 'h' }]);
    expect(inner.written).toEqual(['d']);
  });

  it('remembers a bounded number of products, the most recently read', async () => {
    const inner = new FrozenStore();
    const store = guardTextStore(inner, guard(), 2);
    await store.get(['a', 'b']);
    await store.get(['c', 'a']);
    inner.down = true;
    expect([...(await store.get(['a', 'b', 'c'])).keys()].sort()).toEqual(['a', 'c']);
  });
});
