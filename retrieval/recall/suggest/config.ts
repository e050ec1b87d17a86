import { z } from 'zod';

/** Search-box suggestions (`GET /v1/suggest`): settings `suggest.*`. */
export const SuggestConfigSchema = z
  .object({
    /** Off: no /v1/suggest route, no catalog read, no served-log reader. */
    enabled: z.boolean().default(true),
    /** Suggestions a request gets when it names no `size`. */
    default_size: z.number().int().min(1).max(100).default(8),
    /** The largest `size` a request may ask for (more is a 400). */
    max_size: z.number().int().min(1).max(100).default(20),
    /** How often popular queries are re-ranked from the served log, and the index generation checked. */
    refresh_ms: z.number().int().min(100).default(60_000),
    /**
     * Catalog suggestions follow the served generation when it changes or its product count does
     * (checked every `refresh_ms`), and at least this often: the production index takes price,
     * title and other edits in place, under the same generation. Each is an update by the
     * products whose content hash changed, not a rebuild.
     */
    catalog_refresh_ms: z.number().int().min(1000).default(300_000),
    /** Fewest searches with results (one per shopper a day) before a query is suggested. */
    min_query_count: z.number().int().min(1).default(3),
    /** Days of searches that make a query popular. */
    query_window_days: z.number().int().min(1).max(365).default(30),
    /** Distinct queries tracked at most (the least searched are dropped beyond it). */
    max_queries: z.number().int().min(100).default(200_000),
    /** Longest title phrase suggested, in words. */
    max_phrase_words: z.number().int().min(1).max(6).default(3),
    /** Fewest products a title phrase of two or more words must appear in. */
    min_phrase_products: z.number().int().min(1).default(2),
  })
  .strict()
  .refine((c) => c.default_size <= c.max_size, {
    message: 'default_size must not exceed max_size',
    path: ['default_size'],
  });
export type SuggestConfig = z.output<typeof SuggestConfigSchema>;
