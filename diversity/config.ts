import { z } from 'zod';

/**
 * MMR diversity knobs per surface (search, feed, similar items); the settings tree (src/settings/)
 * mounts them at `diversity.<surface>` (env SHELF__DIVERSITY__<SURFACE>__<FIELD>, or SHELF_MMR_<SURFACE>_<FIELD>).
 * Defaults: the feed is a browse surface where a wall of one brand or one near-duplicate
 * product wastes slots, so it diversifies noticeably (λ 0.7, at most 3 items of one brand per
 * page); search answers a stated need, so relevance dominates (λ 0.85, no caps) and only
 * near-duplicates get pushed apart.
 */
interface MmrDefaults {
  enabled: boolean;
  lambda: number;
  top_n: number;
  category_weight: number;
  brand_weight: number;
  max_per_brand: number;
  max_per_category: number;
}

const surface = (d: MmrDefaults) =>
  z
    .object({
      enabled: z.boolean().default(d.enabled),
      /** λ in λ·relevance − (1−λ)·max-similarity: 1 = ranking order, 0 = diversity only. */
      lambda: z.number().min(0).max(1).default(d.lambda),
      /** How many ranked items are reordered (at most the ranking window when ranking is on). */
      top_n: z.number().int().min(1).max(2000).default(d.top_n),
      /** Share of the similarity given to "same category" and "same brand" (diversity/mmr.ts). */
      category_weight: z.number().min(0).max(1).default(d.category_weight),
      brand_weight: z.number().min(0).max(1).default(d.brand_weight),
      /** At most this many items of one brand / one category per page; 0 = no cap. */
      max_per_brand: z.number().int().min(0).max(1000).default(d.max_per_brand),
      max_per_category: z.number().int().min(0).max(1000).default(d.max_per_category),
    })
    .strict()
    .refine((c) => c.category_weight + c.brand_weight <= 1, {
      message: 'category_weight + brand_weight must be at most 1 (the rest is the embedding similarity)',
      path: ['brand_weight'],
    });

const SEARCH_DEFAULTS = {
  enabled: true,
  lambda: 0.85,
  top_n: 30,
  category_weight: 0.1,
  brand_weight: 0.1,
  max_per_brand: 0,
  max_per_category: 0,
};
const FEED_DEFAULTS = {
  enabled: true,
  lambda: 0.7,
  top_n: 50,
  category_weight: 0.2,
  brand_weight: 0.2,
  max_per_brand: 3,
  max_per_category: 0,
};
/**
 * Similar items ("more like this") is a browse surface too: its neighbours are near-duplicates by
 * construction, so it starts from the feed's settings.
 */
const SIMILAR_DEFAULTS = { ...FEED_DEFAULTS };

/** One surface's settings (parsed alone it fills the search defaults; MmrConfigSchema fills each surface's own). */
export const MmrSurfaceSchema = surface(SEARCH_DEFAULTS);

export const MmrConfigSchema = z
  .object({
    search: MmrSurfaceSchema.default(SEARCH_DEFAULTS),
    feed: surface(FEED_DEFAULTS).default(FEED_DEFAULTS),
    /** "Similar items" is a recommendation list. */
    similar: surface(SIMILAR_DEFAULTS).default(SIMILAR_DEFAULTS),
  })
  .strict();

export type MmrSurfaceConfig = z.output<typeof MmrSurfaceSchema>;
export type MmrConfig = z.output<typeof MmrConfigSchema>;
export type MmrConfigInput = z.input<typeof MmrConfigSchema>;
