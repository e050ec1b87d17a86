import { Hono } from 'hono';
import { z } from 'zod';
import type { Searcher } from '../../retrieval/recall/searcher.ts';
import type { SearchQuery } from '../../retrieval/index/types.ts';
import type { ServedLog } from '../../behavior/served-log.ts';
import { searchCandidate, servedRanking } from '../../ranking/apply.ts';
import type { Ranker } from '../../ranking/ranker.ts';
import { snapshotVectors } from '../../diversity/apply.ts';
import type { MmrSurfaceConfig } from '../../diversity/config.ts';
import type { Metrics } from '../../core/metrics.ts';
import type { CouponOffers } from '../../coupons/offers.ts';
import { ApiError, parseObject, readJson } from './errors.ts';
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
  .strict();

const SearchBodySchema = z
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
  .strict();

type SearchBody = z.output<typeof SearchBodySchema>;

const intParam = (s: string) => (/^-?\d+$/.test(s) ? Number(s) : s);
const numParam = (s: string) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);
const boolParam = (s: string) => (s === 'true' || s === '1' ? true : s === 'false' || s === '0' ? false : s);

/** GET carries the same fields as POST, flattened: filters are top-level query parameters. */
const GET_FIELDS: Record<string, { target: 'top' | 'filter'; coerce: (s: string) => unknown }> = {
  q: { target: 'top', coerce: (s) => s },
  size: { target: 'top', coerce: intParam },
  page: { target: 'top', coerce: intParam },
  debug: { target: 'top', coerce: boolParam },
  user_id: { target: 'top', coerce: (s) => s },
  session_id: { target: 'top', coerce: (s) => s },
  category: { target: 'filter', coerce: (s) => s },
  brand: { target: 'filter', coerce: (s) => s },
  price_min: { target: 'filter', coerce: numParam },
  price_max: { target: 'filter', coerce: numParam },
  in_stock: { target: 'filter', coerce: boolParam },
};

export function parseSearchParams(params: Record<string, string>): SearchBody {
  const body: Record<string, unknown> = {};
  const filters: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    const spec = GET_FIELDS[key];
    if (!spec) throw new ApiError(400, 'unknown_parameter', `unknown parameter "${key}"`, key);
    (spec.target === 'top' ? body : filters)[key] = spec.coerce(value);
  }
  if (Object.keys(filters).length > 0) body.filters = filters;
  return validateBody(body);
}

export function validateBody(raw: unknown): SearchBody {
  let b: SearchBody;
  try {
    b = parseObject(SearchBodySchema, raw);
  } catch (err) {
    // Keep the documented code for the most common mistake.
    if (err instanceof ApiError && err.field === 'q' && err.code === 'invalid_parameter')
      throw new ApiError(400, 'invalid_query', err.message, 'q');
    throw err;
  }
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

export function searchRoutes(deps: {
  searcher: Searcher;
  metrics: Metrics;
  served?: ServedLog | undefined;
  ranker?: Ranker | undefined;
  mmr?: MmrSurfaceConfig | undefined;
  /** Coupons on the page's items (coupons/); undefined: none. */
  coupons?: CouponOffers | undefined;
}) {
  const app = new Hono();
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

  app.get('/', async (c) => c.json(await run(parseSearchParams(c.req.query()), c.get('requestId'))));
  app.post('/', async (c) => {
    const raw = await readJson(c.req);
    return c.json(await run(validateBody(raw), c.get('requestId')));
  });
  return app;
}
