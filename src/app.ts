import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { requestId } from 'hono/request-id';
import { logger } from 'hono/logger';
import { bodyLimit } from 'hono/body-limit';
import type { MiddlewareHandler } from 'hono';
import {
  BodyLimitsSchema,
  LIMITS_OFF,
  TrustSettingsSchema,
  type BodyLimits,
  type LimitsSettings,
  type TrustSettings,
} from './settings/schema.ts';
import type { Redis } from 'ioredis';
import { createLimits } from './api/limits.ts';
import { ShopperAccess } from './api/shopper-access.ts';
import type { Searcher, TextModelStatus } from '../retrieval/recall/searcher.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { ApiError, errorResponse, unavailableError } from './api/errors.ts';
import { searchRoutes } from './api/search.ts';
import { eventRoutes } from './api/events.ts';
import { feedRoutes } from './api/feed.ts';
import { similarRoutes } from './api/similar.ts';
import { couponAdminRoutes, couponRoutes } from './api/coupons.ts';
import { catalogAdminRoutes } from './api/catalog-changes.ts';
import type { CatalogChangeSink } from '../indexer/change-batch.ts';
import type { CouponLedger } from '../coupons/ledger.ts';
import type { CouponConfig } from '../coupons/config.ts';
import { CouponOffers } from '../coupons/offers.ts';
import { Pipeline, type PipelineDeps } from '../pipeline/pipeline.ts';
import { BehaviorConfigSchema, type BehaviorConfig } from '../behavior/config.ts';
import type { EventLog } from '../behavior/event-log.ts';
import type { ServedLog } from '../behavior/served-log.ts';
import type { StateStore } from '../behavior/state-store.ts';
import { FeedConfigSchema, type FeedConfig } from '../retrieval/recall/feed-config.ts';
import type { Ranker } from '../ranking/ranker.ts';
import type { SequenceModels } from '../retrieval/recall/sequence-recall.ts';
import type { MmrConfig } from '../diversity/config.ts';
import { checkDependencies, withoutLocations, type Dependency } from '../core/dependencies.ts';
import { unavailableIn } from '../core/dependency-guard.ts';
import { createMetrics, type Metrics } from '../core/metrics.ts';
import { createApi, jsonResponse } from './api/openapi.ts';
import { experimentAdminRoutes } from './api/experiments.ts';
import type { Experiments } from './experiments/experiments.ts';
import type { Settings } from './settings/schema.ts';
import { synonymRoutes } from './api/synonyms.ts';
import type { CachedSynonyms } from '../retrieval/index/synonyms.ts';
import { serveDocs } from './api/docs.ts';
import { mountConsole, type ConsoleDeps } from './console/console.ts';
import { suggestRoutes } from './api/suggest.ts';
import type { Suggester } from '../retrieval/recall/suggest/suggester.ts';
import type { SuggestConfig } from '../retrieval/recall/suggest/config.ts';

export interface AppDeps {
  searcher: Searcher;
  embedder: TextEmbedder | undefined;
  /** `embedder.model_version`: the text model searches use unless an arm says otherwise (empty: each generation's own). */
  textModelVersion?: string | undefined;
  metrics?: Metrics;
  logRequests?: boolean;
  /** Shopper tokens and the server key (settings `service.trust`; default: none, ids trusted as sent). */
  trust?: TrustSettings | undefined;
  /**
   * Rate limits and load shedding (settings `service.limits`, which the service passes); default
   * none (LIMITS_OFF): an app built in process by a test or a bench is not protected from itself.
   */
  limits?: LimitsSettings | undefined;
  /** Rate-limit counters shared by every instance (`backends.redisUrl`); undefined: in memory. */
  limitsRedis?: Redis | undefined;
  /** Key prefix of the shared counters (`backends.namespace`). */
  namespace?: string | undefined;
  /** The client's address for the per-client limit (default: the socket's; see src/api/limits.ts). */
  clientAddress?: ((c: Context) => string | undefined) | undefined;
  /** The largest body each endpoint reads (settings `service.bodyLimits`; default: its defaults). */
  bodyLimits?: BodyLimits | undefined;
  /**
   * Names each request: its `request_id`, the served-log key, the `X-Request-Id` response header.
   * Default a random UUID. Always the service's own, never the client's (a seeded simulation names
   * its requests here).
   */
  requestIds?: ((c: Context) => string) | undefined;
  /** CTR/CVR ranking applied after fusion on search and feed (ranking/ranker.ts). */
  ranker?: Ranker | undefined;
  /** The learned sequence model behind the feed's `sequence` route and similar items. */
  sequence?: SequenceModels | undefined;
  /** MMR diversity after ranking, per surface (diversity/); undefined: off. */
  mmr?: MmrConfig | undefined;
  /** Servers the service needs (index back end, and later Kafka, Redis); `/readyz` checks each. */
  dependencies?: Dependency[];
  /** The behaviour stream and the state built from it: enables /v1/events, /v1/feed and similar items. */
  behavior?: {
    log: EventLog;
    state: StateStore;
    served?: ServedLog | undefined;
    feed: FeedConfig;
    config: BehaviorConfig;
  };
  /** The coupon ledger: enables /v1/admin/coupons, and /v1/coupons when behaviour is on too. */
  coupons?: {
    ledger: CouponLedger;
    /** SHELF_ADMIN_API_KEY; unset: admin endpoints answer 403 admin_disabled. */
    adminKey?: string | undefined;
  };
  /**
   * Live catalog changes (`POST /v1/admin/catalog/changes`): applied into a new index generation,
   * or published on the catalog topic. Behind the admin key like every admin route.
   */
  catalog?: { changes: CatalogChangeSink; adminKey?: string | undefined };
  /** Coupons on search and feed items (coupons/attach.ts), read from `coupons.ledger`; undefined or disabled: none. */
  couponTargeting?: CouponConfig | undefined;
  /**
   * Online experiments: /v1/admin/experiments (behind the admin key), and each shopper's arm on
   * every surface. `settings` are the service's, which arm overrides are validated against.
   */
  experiments?: { experiments: Experiments; settings: Settings; adminKey?: string | undefined } | undefined;
  /** The shop's synonyms: applied by search, managed at /v1/admin/synonyms (behind the admin key). */
  synonyms?: { cache: CachedSynonyms; adminKey?: string | undefined } | undefined;
  /** The merchandisers' console at /console and the admin read endpoints it uses (src/console/). */
  console?: ConsoleDeps | undefined;
  /** Search-box suggestions: enables GET /v1/suggest. */
  suggest?: { suggester: Suggester; config: SuggestConfig } | undefined;
}

const ReadinessSchema = z
  .object({
    ready: z.boolean(),
    index: z.object({ generation: z.string().nullable(), empty: z.boolean() }).strict(),
    embedder: z.object({ id: z.string(), dim: z.number().int() }).strict().nullable(),
    text_models: z
      .object({
        served: z.string().nullable().openapi({ description: "The text model of the served generation's vectors." }),
        deployed: z
          .array(z.string())
          .openapi({ description: 'Versions a request may pick by `embedder.model_version` (the served one first).' }),
        unavailable: z
          .array(z.object({ model: z.string(), reason: z.string() }).strict())
          .openapi({ description: 'Models of the served generation this instance could not load.' }),
        refused: z
          .object({ generation: z.string(), model: z.string(), reason: z.string() })
          .strict()
          .optional()
          .openapi({
            description:
              'A newer index generation not served because its text model could not be loaded: the previous generation keeps serving.',
          }),
      })
      .strict()
      .openapi({ description: 'Text models: what the served index generation was embedded with.' }),
    dependencies: z.array(
      z.object({ name: z.string(), ok: z.boolean(), detail: z.string(), took_ms: z.number() }).strict(),
    ),
  })
  .strict()
  .openapi('Readiness');

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Liveness',
  responses: { 200: jsonResponse(z.object({ ok: z.literal(true) }).strict(), 'The process answers.') },
});
const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['operations'],
  summary: 'Readiness: the index generation, the embedder, and every dependency',
  responses: {
    200: jsonResponse(ReadinessSchema, 'Every dependency answers.'),
    503: jsonResponse(ReadinessSchema, 'A dependency is down.'),
  },
});
const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  summary: 'Prometheus metrics',
  responses: {
    200: {
      description: 'The Prometheus text exposition format.',
      content: { 'text/plain': { schema: z.string() } },
    },
  },
});

/** The client's own X-Request-Id, when it is a plain token (≤ 128 of `A-Z a-z 0-9 _ - = . :`). */
function clientRequestId(c: Context): string | undefined {
  const id = c.req.header('X-Request-Id');
  return id !== undefined && /^[\w\-=.:]{1,128}$/.test(id) ? id : undefined;
}

/**
 * Hono's bodyLimit per endpoint: a declared Content-Length over the limit is refused before any of
 * the body is read, a streamed body as soon as it passes the limit; either way a 413.
 */
function bodyLimits(limits: BodyLimits): MiddlewareHandler {
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: (c) =>
        errorResponse(
          c,
          new ApiError(413, 'payload_too_large', `the request body is larger than this endpoint's ${maxSize} bytes`),
        ),
    });
  const byPrefix: Array<[string, MiddlewareHandler]> = [
    ['/v1/events', limit(limits.events)],
    ['/v1/search', limit(limits.search)],
    ['/v1/feed', limit(limits.feed)],
    ['/v1/coupons', limit(limits.coupons)],
    ['/v1/admin/coupons', limit(limits.admin)],
    ['/v1/admin/experiments', limit(limits.admin)],
    ['/v1/admin/synonyms', limit(limits.admin)],
    ['/v1/admin/playground', limit(limits.admin)],
    ['/v1/admin/catalog', limit(limits.catalog)],
  ];
  const other = limit(limits.other);
  return (c, next) => {
    const path = c.req.path;
    const hit = byPrefix.find(([p]) => path === p || path.startsWith(`${p}/`));
    return (hit?.[1] ?? other)(c, next);
  };
}

/**
 * The HTTP surface, composed as Hono middleware: request ids and metrics wrap everything,
 * each API area is its own sub-app, and one error handler gives every failure the same shape.
 */
export function createApp(deps: AppDeps) {
  const metrics = deps.metrics ?? createMetrics();
  const app = createApi();

  // The request id keys the served log that training joins events to, so a client must not choose
  // it (it could overwrite or forge another response's entry): it is always generated here. A
  // client's own X-Request-Id is only echoed back, as X-Client-Request-Id, for correlation.
  app.use('*', requestId({ headerName: '', generator: deps.requestIds ?? (() => crypto.randomUUID()) }));
  app.use('*', async (c, next) => {
    c.header('X-Request-Id', c.get('requestId'));
    const client = clientRequestId(c);
    if (client !== undefined) c.header('X-Client-Request-Id', client);
    await next();
  });
  if (deps.logRequests) app.use('*', logger());
  app.use('*', async (c, next) => {
    await next();
    metrics.httpRequests.inc({ route: c.req.routePath, status: String(c.res.status) });
  });
  const limits = createLimits({
    settings: deps.limits ?? LIMITS_OFF,
    metrics,
    redis: deps.limitsRedis,
    namespace: deps.namespace,
    isServer: (c) => access.presentsServerKey(c),
    clientAddress: deps.clientAddress,
  });
  const access = new ShopperAccess({
    trust: deps.trust ?? TrustSettingsSchema.parse({}),
    metrics,
    limit: limits.shopper,
  });
  // After the metrics, so a 503, 429 or 413 is counted like any other answer; shedding and rate
  // limits first, so a refused request costs no body read.
  app.use('*', limits.middleware);
  app.use('*', bodyLimits(deps.bodyLimits ?? BodyLimitsSchema.parse({})));

  const offers =
    deps.coupons && deps.couponTargeting?.enabled
      ? new CouponOffers(deps.coupons.ledger, deps.couponTargeting, {
          state: deps.behavior?.state,
          onAttached: (surface, n) => metrics.couponsAttached.inc({ surface }, n),
          onDegraded: (surface) => metrics.couponsDegraded.inc({ surface }),
        })
      : undefined;
  // One serving pipeline for every list the service shows; the routes only parse and answer.
  const pipelineDeps: PipelineDeps = {
    searcher: deps.searcher,
    metrics,
    state: deps.behavior?.state,
    ranker: deps.ranker,
    sequence: deps.sequence,
    diversity: deps.mmr,
    offers,
    served: deps.behavior?.served,
    feed: deps.behavior?.feed ?? FeedConfigSchema.parse({}),
    behavior: deps.behavior?.config ?? BehaviorConfigSchema.parse({}),
    experiments: deps.experiments?.experiments.resolve,
    synonyms: deps.synonyms?.cache,
    textModelVersion: deps.textModelVersion,
  };
  const pipeline = new Pipeline(pipelineDeps);
  app.route('/v1/search', searchRoutes({ pipeline, access }));
  if (deps.synonyms)
    app.route('/v1/admin/synonyms', synonymRoutes({ synonyms: deps.synonyms.cache, adminKey: deps.synonyms.adminKey }));
  if (deps.behavior) {
    app.route('/v1/events', eventRoutes({ log: deps.behavior.log, metrics, time: deps.behavior.config, access }));
    app.route('/v1/feed', feedRoutes({ pipeline, access }));
    app.route('/v1/products', similarRoutes({ pipeline }));
  }
  if (deps.coupons) {
    // The claim API's `vip` segment uses the same threshold as coupons on result items.
    const coupons = { ...deps.coupons, metrics, vipPurchases: deps.couponTargeting?.vip_purchases };
    app.route('/v1/admin/coupons', couponAdminRoutes(coupons));
    if (deps.behavior)
      app.route(
        '/v1/coupons',
        couponRoutes({ ...coupons, log: deps.behavior.log, state: deps.behavior.state, access }),
      );
  }

  if (deps.experiments) app.route('/v1/admin/experiments', experimentAdminRoutes(deps.experiments));
  if (deps.console) {
    const served = deps.behavior?.served;
    mountConsole(app, {
      ...deps.console,
      // The same stages and experiments, without the served log: looking is not traffic.
      pipeline: new Pipeline({ ...pipelineDeps, served: undefined }),
      searcher: deps.searcher,
      state: deps.behavior?.state,
      flush: async () => served?.flush(),
      models: () => ({ ranking: deps.ranker?.deployed ?? null, sequence: deps.sequence?.deployed ?? null }),
    });
  }
  if (deps.suggest) app.route('/v1/suggest', suggestRoutes(deps.suggest));
  if (deps.catalog) app.route('/v1/admin/catalog', catalogAdminRoutes({ ...deps.catalog, metrics }));

  app.openapi(healthz, (c) => c.json({ ok: true as const }, 200));
  app.openapi(readyz, async (c) => {
    const generation = deps.searcher.generation;
    const checked = await checkDependencies(deps.dependencies ?? []);
    const refused = deps.searcher.textModels.refused;
    if (refused) console.error(`[readyz] generation ${refused.generation} not served: ${refused.reason}`);
    const ready = checked.every((d) => d.ok);
    for (const d of checked) if (!d.ok) console.error(`[readyz] ${d.name} is down: ${d.detail}`);
    // Unauthenticated: names, flags and versions, never where the data or the servers are.
    const dependencies = checked.map((d) => ({ ...d, detail: withoutLocations(d.detail) }));
    const body = {
      ready,
      index: { generation: generation ?? null, empty: generation === undefined },
      embedder: deps.embedder ? { id: deps.embedder.id, dim: deps.embedder.dim } : null,
      text_models: textModelsOf(deps.searcher.textModels),
      dependencies,
    };
    return ready ? c.json(body, 200) : c.json(body, 503);
  });
  app.openapi(metricsRoute, async (c) =>
    c.text(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }),
  );

  // GET /openapi.json and GET /docs: the document every route above contributes to, and its reader.
  serveDocs(app);

  app.notFound((c) => errorResponse(c, new ApiError(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    if (err instanceof ApiError) return errorResponse(c, err);
    // A server out of its budget with nothing to degrade to: a quick 503 with Retry-After, not a 500.
    // The coupon endpoints name their own part: the ledger (and the state it checks segments in).
    const coupons = c.req.path.startsWith('/v1/coupons') && unavailableIn(err)?.dependency === 'redis';
    const unavailable = unavailableError(err, coupons ? 'coupons_unavailable' : undefined);
    if (unavailable) {
      console.error(`[${c.get('requestId')}] ${c.req.method} ${c.req.path}: ${err.message}`);
      return errorResponse(c, unavailable);
    }
    const client = clientRequestId(c);
    console.error(`[${c.get('requestId')}${client !== undefined ? ` client=${client}` : ''}]`, err);
    return errorResponse(c, new ApiError(500, 'internal', 'internal error'));
  });
  return app;
}

/** The searcher's text models as /readyz shows them: ids and reasons, never the folders they came from. */
function textModelsOf(t: TextModelStatus) {
  return {
    served: t.served ?? null,
    deployed: t.deployed,
    unavailable: t.unavailable.map((u) => ({ model: u.model, reason: withoutLocations(u.reason) })),
    ...(t.refused && { refused: { ...t.refused, reason: withoutLocations(t.refused.reason) } }),
  };
}
