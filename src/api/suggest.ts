import { createRoute, z } from '@hono/zod-openapi';
import type { SuggestConfig } from '../../retrieval/recall/suggest/config.ts';
import type { Suggester } from '../../retrieval/recall/suggest/suggester.ts';
import { ApiError } from './errors.ts';
import { createApi, errorResponses, jsonResponse } from './openapi.ts';
import { queryParams } from './query-params.ts';

/** A search box's text, not a document: longer is a client bug. */
const MAX_TYPED = 100;

const SuggestionSchema = z
  .object({
    text: z.string().openapi({ description: 'What to put in the search box.' }),
    source: z.enum(['query', 'title', 'category', 'brand']).openapi({
      description:
        '`query`: a popular search that found products; `category`: a node of the category tree; `brand`; `title`: a word or phrase of product titles.',
    }),
    count: z.number().int().min(0).openapi({
      description:
        '`query`: searches that found products in the window (one per shopper a day); otherwise the products that have it.',
    }),
    category: z
      .string()
      .optional()
      .openapi({ description: 'Category suggestions: the full path, for a category page (`/v1/search?category=`).' }),
  })
  .strict()
  .openapi('Suggestion');

export const SuggestResponseSchema = z
  .object({
    suggestions: z.array(SuggestionSchema),
    took_ms: z.number(),
  })
  .strict()
  .openapi('SuggestResponse');

/** Keep the search route's code for a bad `q`. */
const queryError = (err: ApiError) =>
  err.field === 'q' && err.code === 'invalid_parameter' ? new ApiError(400, 'invalid_query', err.message, 'q') : err;

/** `GET /v1/suggest?q=&size=`: completions of what a shopper typed so far. */
export function suggestRoutes(deps: { suggester: Suggester; config: SuggestConfig }) {
  const { default_size, max_size } = deps.config;
  const ParamsSchema = z
    .object({
      // Not trimmed: a trailing space says the last word is complete ("running " → "running shoes").
      q: z
        .string({ error: 'required, as a string' })
        .max(MAX_TYPED, `must be at most ${MAX_TYPED} characters`)
        .refine((q) => /[\p{L}\p{N}]/u.test(q), 'must contain a letter or a digit')
        .openapi({ description: 'What the shopper typed so far; the last word is completed as a prefix.' }),
      size: z.number().int().min(1).max(max_size).default(default_size),
    })
    .strict();
  const params = queryParams(ParamsSchema);
  const route = createRoute({
    method: 'get',
    path: '/',
    tags: ['search'],
    summary: 'Search-box suggestions',
    description:
      'Completions of the typed text (case-, accent- and width-insensitive; Chinese too): popular queries that found products first, then categories, brands and title phrases of the served catalog, each by its count.',
    request: { query: params.schema },
    responses: {
      200: jsonResponse(SuggestResponseSchema, 'Completions, best first (empty when nothing completes the text).'),
      ...errorResponses([400]),
    },
  });
  const app = createApi(queryError);
  app.openapi(route, (c) => {
    const t0 = performance.now();
    const { q, size } = params.parse(c.req.valid('query'));
    const { suggestions } = deps.suggester.suggest(q, size);
    return c.json({ suggestions, took_ms: Math.round((performance.now() - t0) * 1000) / 1000 }, 200);
  });
  return app;
}
