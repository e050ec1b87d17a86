import { filterPayload, type SnapshotSource } from '../retrieval/index/stores.ts';
import type { ItemLookup } from './item-lookup.ts';
import type { ItemInfo } from './user-state.ts';

/**
 * Product embeddings and attributes from the served index, so user vectors live in the same
 * space the feed's ANN route searches. Products the index does not know contribute counts and
 * co-occurrence but no vector.
 */
export function indexItems(searcher: SnapshotSource): ItemLookup {
  return {
    get: (ids) =>
      searcher.withSnapshot(async (snap) => {
        const out = new Map<string, ItemInfo>();
        if (!snap) return out;
        const [products, vectors] = await Promise.all([
          snap.text.get([...ids]),
          snap.vectors?.vectorsOf?.(ids) ?? Promise.resolve(new Map<string, Float32Array>()),
        ]);
        for (const id of ids) {
          const p = products.get(id);
          const v = vectors.get(id);
          if (!p && !v) continue;
          const f = p ? filterPayload(p) : undefined;
          out.set(id, { vector: v, categoryKey: f?.categoryKey, brandKey: f?.brandKey, price: f?.price });
        }
        return out;
      }),
  };
}
