import { createRoute, z } from '@hono/zod-openapi';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { ApiError, parseObject } from './errors.ts';
import { createApi, errorResponses, jsonBody, jsonObjectBody, jsonResponse } from './openapi.ts';
import { queryParams } from './query-params.ts';
import { SearchResponseSchema } from './schemas.ts';

const MAX_QUERY_CHARS = 999;
/** Deep paging past this many results is what export jobs are for, not a search box. */
const MAX_WINDOW = 10_000;

const FiltersSchema = z
  .object({
    category: z.string().trim().min(1).max(500).optional(),
    brand: z.string().trim().min(1).max(200).optional(),
    price_min: z.number().finite().nonnegative().optional(),
    price_max: z.number().finite().nonnegative().optional(),
    in_stock: z.boolean().optional(),
  })
  .strict()
  .openapi('SearchFilters', { description: 'Applied inside every retrieval route.' });

export const SearchBodySchema = z
  .object({
    q: z
      .string({ error: 'required, as a string' })
      .trim()
      .min(1, 'must not be empty')
      .max(MAX_QUERY_CHARS, `must be at most ${MAX_QUERY_CHARS} characters`),
    size: z.number().int().min(1).max(100).default(10),
    page: z.number().int().min(1).default(1),
    filters: FiltersSchema.optional(),
    debug: z.boolean().default(false),
    highlight: z.boolean().default(false).openapi({
      description:
        'Add `highlight: {title, description?}` to every item: the lexical matches (words, corrections, synonyms, Chinese words) in <em>, HTML-escaped.',
    }),
    /** The shopper, for personalised ranking (optional). */
    user_id: z.string().trim().min(1).max(128).optional(),
    session_id: z.string().trim().min(1).max(128).optional(),
  })
  .strict()
  .openapi('SearchRequest');

export type SearchBody = z.output<typeof SearchBodySchema>;

/** GET takes the body's fields as query parameters, the filters among them. */
const searchQuery = queryParams(SearchBodySchema, { flatten: ['filters'] });

/** Keep the documented code for the most common mistake. */
const queryError = (err: ApiError) =>
  err.field === 'q' && err.code === 'invalid_parameter' ? new ApiError(400, 'invalid_query', err.message, 'q') : err;

/** What the schema cannot say: a price range that is one, and no deep paging. */
function checked(b: SearchBody): SearchBody {
  const f = b.filters;
  if (f?.price_min !== undefined && f.price_max !== undefined && f.price_min > f.price_max) {
    throw new ApiError(
      400,
      'invalid_parameter',
      'filters.price_min must not exceed filters.price_max',
      'filters.price_min',
    );
  }
  if (b.page * b.size > MAX_WINDOW) {
    throw new ApiError(400, 'invalid_parameter', `page × size must be at most ${MAX_WINDOW}`, 'page');
  }
  return b;
}

/** A search body (POST's JSON, or a GET's query folded into one) validated as the routes validate it. */
export function validateBody(raw: unknown): SearchBody {
  try {
    return checked(parseObject(SearchBodySchema, raw));
  } catch (err) {
    throw err instanceof ApiError ? queryError(err) : err;
  }
}

const responses = {
  200: jsonResponse(SearchResponseSchema, 'One page of fused hybrid results.'),
  ...errorResponses([400]),
};

const postResponses = {
  ...responses,
  ...errorResponses([413], { 413: 'payload_too_large: the body is over the limit.' }),
};

const getSearch = createRoute({
  method: 'get',
  path: '/',
  tags: ['search'],
  summary: 'Search (query parameters)',
  description: 'The same fields as POST, flattened: the filters are top-level parameters.',
  request: { query: searchQuery.schema },
  responses,
});

const postSearch = createRoute({
  method: 'post',
  path: '/',
  tags: ['search'],
  summary: 'Search',
  description: 'Hybrid (BM25 + vector) search fused with RRF, then ranking, diversity and coupons when on.',
  middleware: [jsonObjectBody] as const,
  request: { body: jsonBody(SearchBodySchema) },
  responses: postResponses,
});

/** `GET|POST /v1/search`: parse, run the serving pipeline, answer. */
export function searchRoutes(deps: { pipeline: Pipeline }) {
  // A zod failure on `q` keeps its documented code, invalid_query.
  const app = createApi(queryError);
  const run = (body: SearchBody, requestId: string) =>
    deps.pipeline.search({
      requestId,
      q: body.q,
      filters: body.filters,
      page: body.page,
      size: body.size,
      debug: body.debug,
      highlight: body.highlight,
      user_id: body.user_id,
      session_id: body.session_id,
    });

  app.openapi(getSearch, async (c) =>
    c.json(await run(checked(searchQuery.parse(c.req.valid('query'))), c.get('requestId')), 200),
  );
  app.openapi(postSearch, async (c) => c.json(await run(checked(c.req.valid('json')), c.get('requestId')), 200));
  return app;
}
