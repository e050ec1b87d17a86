import type { IndexSnapshot } from '../../index/stores.ts';
import { CatalogEntries, type CatalogEntryOptions, type SuggestFields } from './catalog-entries.ts';
import { CompletionIndex, type CompletionEntry } from './completion-index.ts';
import type { Suggestion } from './suggestion.ts';

/**
 * The catalog's suggestions for one served index, kept up to date by difference: the counts
 * behind them (CatalogEntries) and, per product, the content hash and fields it was counted
 * with. A new generation (or, in production, edits in place) is read as a diff of the content
 * hashes: only the products that were added, changed or removed are read and counted again,
 * and only their keys' entries are replaced in the completion index. Built in full only when
 * there is no usable state: the first build, or an update that failed half-way.
 */

/** Products read per batch: the event loop gets a turn between batches. */
const READ_BATCH = 500;

interface Counted {
  hash: string;
  fields: SuggestFields;
}

export interface CatalogUpdate {
  mode: 'full' | 'incremental';
  /** Products counted in or out (full: every product). */
  changed: number;
  ms: number;
}

export class CatalogSuggestions {
  generation: string | undefined;
  index: CompletionIndex<Suggestion>;
  /** When it last read the catalog (performance.now()). */
  readAt: number;
  /** False once an update failed half-way: the counts no longer match the index. */
  usable = true;
  private readonly counted = new Map<string, Counted>();

  private constructor(private readonly entries: CatalogEntries) {
    this.generation = undefined;
    this.index = new CompletionIndex<Suggestion>([]);
    this.readAt = performance.now();
  }

  /** Products counted. */
  get products(): number {
    return this.counted.size;
  }

  /** Reads the whole catalog of `snap` (undefined: nothing indexed, no suggestions). */
  static async build(
    snap: IndexSnapshot | undefined,
    opts: CatalogEntryOptions,
    closed: () => boolean,
  ): Promise<{ built: CatalogSuggestions; update: CatalogUpdate }> {
    const t0 = performance.now();
    const built = new CatalogSuggestions(new CatalogEntries(opts));
    if (snap) {
      const hashes = await snap.text.hashes();
      await built.read(snap, [...hashes.keys()], hashes, closed);
    }
    built.index = new CompletionIndex(built.entries.entries());
    built.generation = snap?.generation;
    built.readAt = performance.now();
    return { built, update: { mode: 'full', changed: built.counted.size, ms: performance.now() - t0 } };
  }

  /**
   * Brings the suggestions to `snap`: the products whose content hash differs from the one
   * counted are counted out and in again, removed ones out; the index is replaced at the end,
   * so readers see the old one or the new one, never half of it.
   */
  async update(snap: IndexSnapshot | undefined, closed: () => boolean): Promise<CatalogUpdate> {
    const t0 = performance.now();
    const hashes = snap ? await snap.text.hashes() : new Map<string, string>();
    const changed: string[] = [];
    for (const [id, hash] of hashes) if (this.counted.get(id)?.hash !== hash) changed.push(id);
    const touched = new Set<string>();
    this.usable = false;
    let out = 0;
    for (const [id, c] of this.counted)
      if (!hashes.has(id)) {
        this.entries.remove(c.fields, touched);
        this.counted.delete(id);
        out++;
      }
    const readIn = await this.read(snap, changed, hashes, closed, touched);
    if (closed()) return { mode: 'incremental', changed: 0, ms: performance.now() - t0 };
    const changes = new Map<string, CompletionEntry<Suggestion> | undefined>();
    for (const key of touched) changes.set(key, this.entries.entry(key));
    this.index = changes.size > 0 ? this.index.updated(changes) : this.index;
    this.generation = snap?.generation;
    this.readAt = performance.now();
    this.usable = true;
    return { mode: 'incremental', changed: out + readIn, ms: performance.now() - t0 };
  }

  /**
   * Reads `ids` from the snapshot and counts each in with its hash, after counting out what it
   * was counted with before (a product whose suggested fields did not change, a price edit, is
   * left as it is). Returns how many products were counted in or out.
   */
  private async read(
    snap: IndexSnapshot | undefined,
    ids: readonly string[],
    hashes: ReadonlyMap<string, string>,
    closed: () => boolean,
    touched?: Set<string>,
  ): Promise<number> {
    let n = 0;
    for (let i = 0; snap && i < ids.length && !closed(); i += READ_BATCH) {
      const batch = ids.slice(i, i + READ_BATCH);
      const products = await snap.text.get(batch);
      for (const id of batch) {
        const p = products.get(id);
        const had = this.counted.get(id);
        if (had && p && sameFields(had.fields, p)) {
          had.hash = hashes.get(id)!;
          continue;
        }
        if (had) {
          this.entries.remove(had.fields, touched);
          this.counted.delete(id);
        }
        // Gone between the hash read and this one: counted out; the next diff sees it as it is then.
        if (p) {
          const fields: SuggestFields = { title: p.title, category: p.category, brand: p.brand };
          this.entries.add(fields, touched);
          this.counted.set(id, { hash: hashes.get(id)!, fields });
        }
        n++;
      }
      await new Promise((r) => setImmediate(r));
    }
    return n;
  }
}

function sameFields(a: SuggestFields, b: SuggestFields): boolean {
  return a.title === b.title && a.category === b.category && a.brand === b.brand;
}
