import { z } from '@hono/zod-openapi';

/**
 * Response pieces shared by search, feed and similar items. Request schemas live with their
 * routes (search.ts, feed.ts, …); these describe what the routes return, for the OpenAPI document.
 */

/** Debug detail is for people reading it: its keys vary with the stages that ran. */
const DebugObject = z.record(z.string(), z.unknown());

const RouteHit = z.object({ rank: z.number().int(), score: z.number() }).strict();

export const AttachedCouponSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.enum(['fixed', 'percent', 'threshold']),
    discount: z.number(),
    expected_value: z.number(),
  })
  .strict()
  .openapi('AttachedCoupon', { description: 'The coupon shown on a result item (coupon targeting).' });

export const ItemSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    price: z.number().optional(),
    currency: z.string().optional(),
    category: z.string().optional(),
    brand: z.string().optional(),
    in_stock: z.boolean(),
    image: z.string().optional(),
    score: z.number(),
    debug: DebugObject.optional().openapi({ description: 'With debug: route ranks and scores, ranking, MMR.' }),
    routes: z
      .record(z.string(), RouteHit)
      .optional()
      .openapi({ description: 'Feed and similar items, with debug: which routes found the item.' }),
    coupon: AttachedCouponSchema.optional(),
    highlight: z
      .object({ title: z.string(), description: z.string().optional() })
      .strict()
      .optional()
      .openapi('Highlight', {
        description:
          'Search with highlight=true: the title (and, when it matched, a snippet of the description) with the lexical matches in <em>, HTML-escaped.',
      }),
  })
  .strict()
  .openapi('Item');

const Rewrite = z.array(z.object({ term: z.string(), to: z.array(z.string()) }).strict());
const LexicalDebug = z
  .object({
    corrected: Rewrite.openapi({
      description: 'Words the index did not hold, and the indexed words searched instead.',
    }),
    synonyms: Rewrite.openapi({ description: 'Words or phrases a synonym rule expanded.' }),
    synonyms_version: z.number().int().openapi({ description: 'The synonym set in force (0: none set).' }),
    prefixes: z.array(z.string()).openapi({ description: 'The last word, matched as a prefix while typing.' }),
  })
  .strict()
  .openapi('LexicalDebug');

export const DegradedSchema = z
  .array(z.object({ route: z.string(), reason: z.string() }).strict())
  .openapi({ description: 'Routes (or stages) that failed and were left out, with the reason.' });

const StagesDebug = {
  ranking: DebugObject,
  mmr: DebugObject,
  coupons: DebugObject,
};

export const SearchResponseSchema = z
  .object({
    request_id: z.string(),
    items: z.array(ItemSchema),
    page: z.number().int(),
    size: z.number().int(),
    total: z.number().int().openapi({ description: 'Distinct fused candidates before paging.' }),
    took_ms: z.number(),
    degraded: DegradedSchema.optional(),
    debug: z
      .object({
        generation: z.string().optional(),
        rrf_k: z.number(),
        weights: z.record(z.string(), z.number()),
        lexical: LexicalDebug.optional(),
        ...StagesDebug,
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi('SearchResponse');

export const FeedResponseSchema = z
  .object({
    request_id: z.string(),
    subject: z
      .string()
      .openapi({ description: '`u:<user_id>` or `s:<session_id>` (a linked session reads its user).' }),
    cold_start: z.boolean(),
    items: z.array(ItemSchema),
    took_ms: z.number(),
    degraded: DegradedSchema.optional(),
    debug: z
      .object({
        generation: z.string().optional(),
        rrf_k: z.number(),
        weights: z.record(z.string(), z.number()),
        itemcf_gate: z.object({ score: z.number(), scale: z.number(), confident: z.boolean() }).strict(),
        ...StagesDebug,
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi('FeedResponse');

export const SimilarResponseSchema = z
  .object({
    request_id: z.string(),
    product_id: z.string(),
    items: z.array(ItemSchema),
    degraded: DegradedSchema.optional(),
    debug: z
      .object({
        generation: z.string().optional(),
        rrf_k: z.number(),
        weights: z
          .object({ vector: z.number(), cooc: z.number() })
          .strict()
          .openapi({ description: "The feed's similar and item-CF weights, as this list fuses them." }),
        ...StagesDebug,
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi('SimilarResponse');
