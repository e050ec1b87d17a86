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

export const ExperimentTagSchema = z.object({ id: z.string(), arm: z.string() }).strict().openapi('ExperimentTag', {
  description:
    'The experiment arm that served this response (absent: the defaults). Events naming the request_id count for it.',
});

/** Feed and similar items: the sequence model version that served the `sequence` list. */
const SequenceDebug = z
  .object({
    model_version: z.string().openapi({
      description: 'The sequence model version (`sequence.model_version`, an experiment arm may pick one) that served.',
    }),
    reason: z.string().optional().openapi({ description: 'Why it is not the version asked for (not deployed).' }),
  })
  .strict()
  .openapi('SequenceDebug', {
    description: 'Present when the `sequence` route is weighted above 0 and a sequence model serves.',
  });

const StagesDebug = {
  ranking: DebugObject,
  mmr: DebugObject,
  coupons: DebugObject,
};

const FacetValueSchema = z.object({ value: z.union([z.string(), z.boolean()]), count: z.number().int() }).strict();

export const FacetsSchema = z
  .object({
    category: z
      .array(z.object({ value: z.string(), count: z.number().int(), level: z.number().int() }).strict())
      .optional()
      .openapi({
        description: 'Per level of the path (level 1 = top): the top max_values path prefixes of each level.',
      }),
    brand: z.array(FacetValueSchema).optional(),
    in_stock: z.array(FacetValueSchema).optional(),
    price: z
      .object({
        min: z.number().optional(),
        max: z.number().optional(),
        buckets: z.array(z.object({ from: z.number(), to: z.number(), count: z.number().int() }).strict()),
      })
      .strict()
      .optional()
      .openapi({ description: 'Buckets are [from, to); the last one holds max.' }),
  })
  .catchall(z.array(FacetValueSchema).openapi({ description: 'attributes.<name>: top values.' }))
  .openapi('Facets', {
    description:
      "Counted over every matching product, not the page; a facet's own filter does not narrow its own counts (disjunctive), the other filters do.",
  });

export const SearchResponseSchema = z
  .object({
    request_id: z.string(),
    items: z.array(ItemSchema),
    page: z.number().int(),
    size: z.number().int(),
    total: z.number().int().openapi({
      description:
        "Matching products (retrieval/recall/match-set.ts), filters applied: lexical matches (the BM25 route's hits and every product holding all of the query's terms) plus vector hits at or above the similarity threshold (retrieval.match.min_similarity, default the text model's calibrated one). A browse counts every product under its filters.",
    }),
    notice: z
      .object({ code: z.literal('no_match'), message: z.string() })
      .strict()
      .optional()
      .openapi({ description: 'Present when nothing matches the query: items is empty and total 0.' }),
    facets: FacetsSchema.optional(),
    took_ms: z.number(),
    experiment: ExperimentTagSchema.optional(),
    degraded: DegradedSchema.optional(),
    debug: z
      .object({
        generation: z.string().optional(),
        rrf_k: z.number(),
        weights: z.record(z.string(), z.number()),
        fusion: z
          .object({
            mode: z.enum(['score', 'adaptive_rrf', 'rrf']),
            lexical_evidence: z.enum(['all_terms', 'some_terms', 'none']),
            weights: z.record(z.string(), z.number()).openapi({ description: 'The route weights this query used.' }),
            all_terms: z.number().optional(),
            some_terms: z.number().optional(),
            coverage_power: z.number().optional(),
          })
          .strict()
          .optional()
          .openapi({ description: 'How the routes were fused: the vector weight follows the lexical evidence.' }),
        sort: z.string(),
        text_model: z
          .object({
            version: z.string().optional(),
            requested: z.string().optional(),
            reason: z.string().optional(),
          })
          .strict()
          .optional()
          .openapi({
            description:
              "The text model the vector route encoded the query with and searched the vectors of (its id: name, version, weights hash): the index generation's own, or the one `embedder.model_version` asked for; `reason` says why an asked-for version was not used.",
          }),
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
    experiment: ExperimentTagSchema.optional(),
    degraded: DegradedSchema.optional(),
    debug: z
      .object({
        generation: z.string().optional(),
        rrf_k: z.number(),
        weights: z.record(z.string(), z.number()),
        itemcf_gate: z.object({ score: z.number(), scale: z.number(), confident: z.boolean() }).strict(),
        sequence: SequenceDebug.optional(),
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
    experiment: ExperimentTagSchema.optional(),
    degraded: DegradedSchema.optional(),
    debug: z
      .object({
        generation: z.string().optional(),
        rrf_k: z.number(),
        weights: z
          .object({ vector: z.number(), cooc: z.number() })
          .strict()
          .openapi({ description: "The feed's similar and item-CF weights, as this list fuses them." }),
        sequence: SequenceDebug.optional(),
        ...StagesDebug,
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi('SimilarResponse');
