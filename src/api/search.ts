import { createRoute, z } from '@hono/zod-openapi';
import type { Pipeline } from '../../pipeline/pipeline.ts';
import { isFacetField, type FacetField } from '../../retrieval/index/facets.ts';
import { SORTS } from '../../retrieval/recall/match-set.ts';
import { ApiError, parseObject } from './errors.ts';
import { createApi, errorResponses, jsonBody, jsonObjectBody, jsonResponse } from './openapi.ts';
import { queryParams } from './query-params.ts';
import { SearchResponseSchema } from './schemas.ts';
import type { ShopperAccess } from './shopper-access.ts';
import type { Context } from 'hono';

const MAX_QUERY_CHARS = 999;
/** Deep paging past this many results is what export jobs are for, not a search box. */
const MAX_WINDOW = 10_000;

/** One value or a list of them (any of them matches); always a list once parsed. */
const oneOrMany = (value: z.ZodString, what: string) =>
  z
    .union([value, z.array(value).min(1).max(100)])
    .transform((v) => (typeof v === 'string' ? [v] : v))
    .openapi({ description: `${what}: one value or several (any of them matches; GET: repeat it or comma-separate).` });

const FiltersSchema = z
  .object({
    category: oneOrMany(z.string().trim().min(1).max(500), 'Category path prefix').optional(),
    brand: oneOrMany(z.string().trim().min(1).max(200), 'Brand, case-insensitive').optional(),
    price_min: z.number().finite().nonnegative().optional(),
    price_max: z.number().finite().nonnegative().optional(),
    in_stock: z.boolean().optional(),
    attributes: z
      .record(
        z
          .string()
          .trim()
          .min(1)
          .max(100)
          .regex(/^[^.\s]+$/, 'an attribute name has no dots or spaces'),
        oneOrMany(z.string().trim().min(1).max(200), 'Attribute value, case-insensitive'),
      )
      .optional()
      .openapi({ description: 'Attribute filters, `{"color": ["red"]}`; GET: `attributes.color=red`.' }),
  })
  .strict()
  .openapi('SearchFilters', {
    description: 'Applied inside every retrieval route: OR within a field, AND across fields.',
  });

const FacetsSchema = z
  .array(
    z.string().refine(isFacetField, {
      message: 'must be one of category, brand, price, in_stock or attributes.<name>',
    }),
  )
  .max(20)
  .transform((v) => [...new Set(v)] as FacetField[])
  .openapi({
    description:
      "Facets counted over every matching product, disjunctively (a facet's own filter does not narrow its counts): category, brand, price, in_stock, attributes.<name>.",
  });

export const SearchBodySchema = z
  .object({
    q: z
      .string({ error: 'must be a string' })
      .trim()
      .max(MAX_QUERY_CHARS, `must be at most ${MAX_QUERY_CHARS} characters`)
      .default('')
      .openapi({ description: 'The query; empty or absent to browse, which needs a filter or a sort.' }),
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
    facets: FacetsSchema.optional(),
    max_values: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(20)
      .openapi({ description: 'Values per facet (per level of category).' }),
    sort: z
      .enum(SORTS, { error: `must be one of ${SORTS.join(', ')}` })
      .optional()
      .openapi({
        description:
          'relevance (default), or an order of the whole match set (relevance breaks ties; no ranking or diversity).',
      }),
  })
  .strict()
  .openapi('SearchRequest');

export type SearchBody = z.output<typeof SearchBodySchema>;

/** GET takes the body's fields as query parameters, the filters among them. */
const searchQuery = queryParams(SearchBodySchema, {
  flatten: ['filters'],
  dynamic: {
    prefix: 'attributes.',
    into: 'filters',
    field: 'attributes',
    description: 'attributes.<name>=value[,value]: attribute filters (repeat or comma-separate for several).',
  },
});

/** Keep the documented code for the most common mistake. */
const queryError = (err: ApiError) =>
  err.field === 'q' && err.code === 'invalid_parameter' ? new ApiError(400, 'invalid_query', err.message, 'q') : err;

/** What the schema cannot say: something to search or browse, a price range that is one, and no deep paging. */
function checked(b: SearchBody): SearchBody {
  const f = b.filters;
  const filtered = f !== undefined && Object.values(f).some((v) => v !== undefined);
  if (b.q === '' && !filtered && b.sort === undefined) {
    throw new ApiError(400, 'invalid_query', 'q: required unless a filter or a sort is given (to browse)', 'q');
  }
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
  ...errorResponses([400, 401, 403, 503], {
    401: 'shopper_token_required (a user_id or session_id without a shopper token), invalid_token, token_expired, invalid_server_key.',
    403: "token_mismatch: the user_id or session_id is not the shopper token's.",
    503: 'search_unavailable: neither the text nor the vector store answered within its budget (a search one of them answers is a 200 with `degraded`).',
  }),
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
  middleware: [searchQuery.guard] as const,
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
export function searchRoutes(deps: { pipeline: Pipeline; access: ShopperAccess }) {
  // A zod failure on `q` keeps its documented code, invalid_query.
  const app = createApi(queryError);
  // The pipeline's facet map is keyed by template literals the response schema spells as a catchall.
  const run = async (body: SearchBody, c: Context) => {
    // Anonymous search needs no token; personalising it does (the token's shopper is the one used).
    const who = await deps.access.shopper(c, body, { required: false });
    return (await deps.pipeline.search({
      requestId: c.get('requestId'),
      q: body.q,
      filters: body.filters,
      page: body.page,
      size: body.size,
      debug: body.debug,
      highlight: body.highlight,
      user_id: who.user_id,
      session_id: who.session_id,
      facets: body.facets,
      max_values: body.max_values,
      sort: body.sort,
    })) as unknown as z.output<typeof SearchResponseSchema>;
  };

  app.openapi(getSearch, async (c) => c.json(await run(checked(searchQuery.parse(c.req.valid('query'))), c), 200));
  app.openapi(postSearch, async (c) => c.json(await run(checked(c.req.valid('json')), c), 200));
  return app;
}
