import type { ItemInfo } from './user-state.ts';

/** Product embeddings and attributes the consumer folds into user state. */
export interface ItemLookup {
  get(ids: readonly string[]): Promise<Map<string, ItemInfo>>;
}

/** For streams whose products are unknown to the index (or tests): no vectors, no attributes. */
export const noItems: ItemLookup = { get: async () => new Map() };

export function staticItems(items: ReadonlyMap<string, ItemInfo>): ItemLookup {
  return {
    get: async (ids) => {
      const out = new Map<string, ItemInfo>();
      for (const id of ids) {
        const it = items.get(id);
        if (it) out.set(id, it);
      }
      return out;
    },
  };
}
