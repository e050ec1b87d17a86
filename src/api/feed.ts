import { createRoute, z } from '@hono/zod-openapi';
import type { BehaviorConfig } from '../../behavior/config.ts';
import type { ServedLog } from '../../behavior/served-log.ts';
import type { StateStore } from '../../behavior/state-store.ts';
import type { FeedConfig } from '../../retrieval/recall/feed-config.ts';
import { recommend, type FeedResult } from '../../retrieval/recall/feed.ts';
import type { Searcher } from '../../retrieval/recall/searcher.ts';
import type { Metrics } from '../../core/metrics.ts';
import { feedCandidate, servedRanking } from '../../ranking/apply.ts';
import { snapshotVectors } from '../../diversity/apply.ts';
import type { MmrSurfaceConfig } from '../../diversity/config.ts';
import type { Ranker } from '../../ranking/ranker.ts';
import type { CouponOffers } from '../../coupons/offers.ts';
import { requireSubject } from './errors.ts';
import { createApi, errorResponses, jsonBody, jsonObjectBody, jsonResponse } from './openapi.ts';
import { queryParams } from './query-params.ts';
import { FeedResponseSchema } from './schemas.ts';
import { couponsOnPage, withCouponDegraded } from './page-coupons.ts';
import { activeStages, candidateDepth, orderAndPage, type ResultStages } from './results.ts';

const idString = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

export const FeedBodySchema = z
  .object({
    user_id: idString(128).optional(),
    session_id: idString(128).optional(),
    size: z.number().int().min(1).max(100).default(10),
    context: z
      .object({ category: idString(500).optional(), product_id: idString(256).optional() })
      .strict()
      .optional(),
    exclude: z.array(idString(256)).max(1000).optional(),
    debug: z.boolean().default(false),
  })
  .strict()
  .openapi('FeedRequest', { description: 'One of user_id or session_id is required.' });

export type FeedBody = z.output<typeof FeedBodySchema>;

export interface FeedDeps {
  searcher: Searcher;
  state: StateStore;
  feed: FeedConfig;
  behavior: BehaviorConfig;
  metrics: Metrics;
  served?: ServedLog | undefined;
  ranker?: Ranker | undefined;
  /** Diversity (MMR) after ranking; undefined: off. */
  mmr?: MmrSurfaceConfig | undefined;
  /** Coupons on the page's items (coupons/); undefined: none. */
  coupons?: CouponOffers | undefined;
}

/** GET takes the same fields flat: category and product_id are the context, exclude is comma-separated. */
const feedQuery = queryParams(FeedBodySchema, { flatten: ['context'] });

const responses = {
  200: jsonResponse(FeedResponseSchema, 'The personalised list.'),
  ...errorResponses([400], { 400: 'Invalid request (missing_subject: neither user_id nor session_id).' }),
};

const getFeed = createRoute({
  method: 'get',
  path: '/',
  tags: ['feed'],
  summary: 'Feed (query parameters)',
  description: 'The same fields as POST, flattened: category and product_id are the context.',
  request: { query: feedQuery.schema },
  responses,
});

const postFeed = createRoute({
  method: 'post',
  path: '/',
  tags: ['feed'],
  summary: 'Feed ("guess you like")',
  middleware: [jsonObjectBody] as const,
  request: { body: jsonBody(FeedBodySchema) },
  responses,
});

/** `GET|POST /v1/feed`: the personalised "guess you like" list. */
export function feedRoutes(deps: FeedDeps) {
  const app = createApi();
  const stages: ResultStages = {
    ranker: deps.ranker,
    mmr: deps.mmr,
    vectors: snapshotVectors(deps.searcher),
    metrics: deps.metrics,
  };
  const run = async (b: FeedBody, requestId: string) => {
    const t0 = performance.now();
    const subject = b.user_id !== undefined ? `u:${b.user_id}` : `s:${b.session_id!}`;
    // Ranking and diversity reorder the first fused candidates: fetch them all, with their routes.
    const active = activeStages(stages);
    const depth = candidateDepth(active, b.size);
    const ranked = active.ranker !== undefined;
    const result: FeedResult = await deps.searcher.withSnapshot((snap) =>
      recommend(
        snap,
        deps.state,
        {
          subject,
          size: depth ?? b.size,
          page: b.size,
          context: b.context,
          exclude: b.exclude,
          debug: b.debug || ranked,
          ...(deps.ranker && { now: deps.ranker.clock() }),
        },
        deps.feed,
        deps.behavior,
      ),
    );
    const page =
      depth !== undefined
        ? await orderAndPage(
            active,
            {
              surface: 'feed',
              subject: result.subject,
              shopper: { user: result.user },
              debug: b.debug,
              from: 0,
              to: b.size,
            },
            result.items,
            feedCandidate,
          )
        : undefined;
    if (page) result.items = page.items;
    // Coupons go on the final page: order and positions are settled, nothing is returned yet.
    const coupons = await couponsOnPage(
      deps.coupons,
      { surface: 'feed', shopper: { user: result.user, subject: result.subject }, debug: b.debug, from: 0 },
      result.items,
      page?.served,
    );
    result.items = coupons.items;
    const degraded = withCouponDegraded(result.degraded, coupons);
    const tookMs = performance.now() - t0;
    deps.metrics.feedLatency.observe({ cold_start: String(result.cold_start) }, tookMs / 1000);
    for (const d of result.degraded ?? []) deps.metrics.feedDegraded.inc({ route: d.route });
    deps.served?.record({
      request_id: requestId,
      surface: 'feed',
      ts: Date.now(),
      subject: result.subject,
      items: coupons.served ?? result.items.map((it, i) => ({ id: it.id, position: i, score: it.score })),
      ...(page?.ranking && { ranking: servedRanking(page.ranking) }),
    });
    return {
      request_id: requestId,
      subject: result.subject,
      cold_start: result.cold_start,
      items: result.items,
      took_ms: Math.round(tookMs * 1000) / 1000,
      ...(degraded && { degraded }),
      ...(b.debug && {
        debug: {
          generation: deps.searcher.generation,
          rrf_k: deps.feed.rrf_k,
          weights: deps.feed.weights,
          itemcf_gate: {
            score: deps.feed.itemcf_confident_score,
            scale: deps.feed.itemcf_confident_scale,
            confident: result.itemcf_confident ?? false,
          },
          ranking: page?.ranking ?? { mode: 'off' },
          mmr: page?.mmr ?? { enabled: false },
          coupons: coupons.debug ?? { enabled: deps.coupons !== undefined },
        },
      }),
    };
  };
  app.openapi(getFeed, async (c) =>
    c.json(await run(requireSubject(feedQuery.parse(c.req.valid('query'))), c.get('requestId')), 200),
  );
  app.openapi(postFeed, async (c) => c.json(await run(requireSubject(c.req.valid('json')), c.get('requestId')), 200));
  return app;
}
