import { createRoute, z } from '@hono/zod-openapi';
import type { Searcher } from '../../retrieval/recall/searcher.ts';
import type { SearchQuery } from '../../retrieval/index/types.ts';
import type { ServedLog } from '../../behavior/served-log.ts';
import { searchCandidate, servedRanking } from '../../ranking/apply.ts';
import type { Ranker } from '../../ranking/ranker.ts';
import { snapshotVectors } from '../../diversity/apply.ts';
import type { MmrSurfaceConfig } from '../../diversity/config.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { CouponOffers } from '../../coupons/offers.ts';
import { ApiError, parseObject } from './errors.ts';
import { createApi, errorResponses, jsonBody, jsonObjectBody, jsonResponse } from './openapi.ts';
import { queryParams } from './query-params.ts';
import { SearchResponseSchema } from './schemas.ts';
import { couponsOnPage, withCouponDegraded } from './page-coupons.ts';
import { activeStages, candidateDepth, orderAndPage, type ResultStages } from './results.ts';

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
  responses,
});

export function searchRoutes(deps: {
  searcher: Searcher;
  metrics: Metrics;
  served?: ServedLog | undefined;
  ranker?: Ranker | undefined;
  mmr?: MmrSurfaceConfig | undefined;
  /** Coupons on the page's items (coupons/); undefined: none. */
  coupons?: CouponOffers | undefined;
}) {
  // A zod failure on `q` keeps its documented code, invalid_query.
  const app = createApi(queryError);
  const stages: ResultStages = {
    ranker: deps.ranker,
    mmr: deps.mmr,
    vectors: snapshotVectors(deps.searcher),
    metrics: deps.metrics,
  };

  const run = async (body: SearchBody, requestId: string) => {
    const t0 = performance.now();
    const from = (body.page - 1) * body.size;
    // Ranking and diversity reorder the first fused candidates: fetch them all, with route scores.
    const active = activeStages(stages);
    const depth = candidateDepth(active, body.page * body.size);
    const ranker = active.ranker;
    const query: SearchQuery =
      depth !== undefined
        ? // Route scores are the ranker's features; MMR alone needs only the fused order.
          {
            q: body.q,
            size: depth,
            page: 1,
            debug: body.debug || ranker !== undefined,
            ...(body.filters && { filters: body.filters }),
          }
        : {
            q: body.q,
            size: body.size,
            page: body.page,
            debug: body.debug,
            ...(body.filters && { filters: body.filters }),
          };
    const subject =
      body.user_id !== undefined
        ? `u:${body.user_id}`
        : body.session_id !== undefined
          ? `s:${body.session_id}`
          : undefined;
    // The ranker reads the shopper's state anyway: read it once, beside retrieval, for it and the coupon stage.
    const [result, shopper] = await Promise.all([
      deps.searcher.search(query),
      ranker && subject !== undefined ? ranker.shopper(subject) : undefined,
    ]);
    const page =
      depth !== undefined
        ? await orderAndPage(
            active,
            { surface: 'search', subject, shopper, debug: body.debug, from, to: from + body.size },
            result.items,
            searchCandidate,
          )
        : undefined;
    if (page) result.items = page.items;
    // Coupons go on the final page: order and positions are settled, nothing is returned yet.
    const coupons = await couponsOnPage(
      deps.coupons,
      { surface: 'search', shopper: shopper ?? subject, debug: body.debug, from },
      result.items,
      page?.served,
    );
    result.items = coupons.items;
    const degraded = withCouponDegraded(result.degraded, coupons);
    const tookMs = performance.now() - t0;
    const mode = result.degraded ? 'degraded' : 'hybrid';
    deps.metrics.searchLatency.observe({ mode }, tookMs / 1000);
    for (const d of result.degraded ?? []) deps.metrics.degraded.inc({ route: d.route });
    deps.served?.record({
      request_id: requestId,
      surface: 'search',
      ts: Date.now(),
      query: body.q,
      ...(subject !== undefined && { subject }),
      items: coupons.served ?? result.items.map((it, i) => ({ id: it.id, position: from + i, score: it.score })),
      ...(page?.ranking && { ranking: servedRanking(page.ranking) }),
    });
    return {
      request_id: requestId,
      items: result.items,
      page: body.page,
      size: body.size,
      total: result.total_candidates,
      took_ms: Math.round(tookMs * 1000) / 1000,
      ...(degraded && { degraded }),
      ...(body.debug && {
        debug: {
          generation: deps.searcher.generation,
          rrf_k: deps.searcher.config.rrf_k,
          weights: deps.searcher.config.weights,
          ranking: page?.ranking ?? { mode: 'off' },
          mmr: page?.mmr ?? { enabled: false },
          coupons: coupons.debug ?? { enabled: deps.coupons !== undefined },
        },
      }),
    };
  };

  app.openapi(getSearch, async (c) =>
    c.json(await run(checked(searchQuery.parse(c.req.valid('query'))), c.get('requestId')), 200),
  );
  app.openapi(postSearch, async (c) => c.json(await run(checked(c.req.valid('json')), c.get('requestId')), 200));
  return app;
}
