import path from 'node:path';
import { z } from 'zod';
import { ROOT } from '../../core/paths.ts';
import { RetrievalConfigSchema, type RetrievalConfig } from '../../retrieval/index/config.ts';
import { FeedConfigSchema, type FeedConfig } from '../../retrieval/recall/feed-config.ts';
import { BehaviorConfigSchema } from '../../behavior/config.ts';
import { RetentionConfigSchema } from '../../behavior/retention-config.ts';
import { RankConfigSchema, type RankConfig } from '../../ranking/config.ts';
import { SequenceConfigSchema, type SequenceConfig } from '../../retrieval/recall/sequence-recall.ts';
import { MmrConfigSchema, type MmrConfig } from '../../diversity/config.ts';
import { CouponConfigSchema, type CouponConfig } from '../../coupons/config.ts';
import { DependencyBudgetsSchema } from '../../core/dependency-guard.ts';
import { ExperimentConfigSchema } from '../../pipeline/experiments/config.ts';
import { SuggestConfigSchema } from '../../retrieval/recall/suggest/config.ts';

/**
 * The one settings tree. Every setting the service reads is declared here once, with its default
 * and range; each engine's subtree is that engine's own schema (retrieval/index/config.ts,
 * retrieval/recall/feed-config.ts, behavior/config.ts, ranking/config.ts, diversity/config.ts,
 * coupons/config.ts), so a range lives next to the code that depends on it. The loader
 * (./load.ts) fills it from defaults < a file (SHELF_CONFIG) < environment variables derived from
 * the paths (./sources.ts). Field names inside a subtree are the ones its engine uses.
 */

const KiB = 1024;
const bytes = () => z.number().int().min(1024);

/**
 * The largest request body each endpoint reads, in bytes; a larger one is a 413
 * payload_too_large, answered without reading the rest of it.
 */
export const BodyLimitsSchema = z
  .object({
    /** POST /v1/events: up to 1,000 events a batch. */
    events: bytes().default(4 * KiB * KiB),
    /** POST /v1/search. */
    search: bytes().default(64 * KiB),
    /** POST /v1/feed. */
    feed: bytes().default(64 * KiB),
    /** POST /v1/coupons/{id}/claim and /redeem. */
    coupons: bytes().default(64 * KiB),
    /** PUT /v1/admin/coupons/{id}, POST /v1/admin/experiments. */
    admin: bytes().default(256 * KiB),
    /** Any other request with a body. */
    other: bytes().default(64 * KiB),
    /** POST /v1/admin/catalog/changes: up to 10,000 change lines a call. */
    catalog: bytes().default(32 * KiB * KiB),
  })
  .strict();
export type BodyLimits = z.output<typeof BodyLimitsSchema>;

/**
 * Who may say which shopper a request is for. Unset (the default), the service trusts the
 * `user_id` / `session_id` in each request: for development and demos only, behind nothing.
 */
export const TrustSettingsSchema = z
  .object({
    /**
     * HMAC-SHA256 key of shopper tokens (src/api/shopper-token.ts): set, every shopper-facing
     * request names its shopper by a token the shop's back end signed, never by a bare id.
     */
    shopper_token_secret: z.string().min(32, 'must be at least 32 characters').optional(),
    /**
     * The shop's back end's key (`Authorization: Bearer …`): purchases, coupon redemptions and
     * other money events need it once a secret or this key is set; it may act for any shopper.
     */
    server_api_key: z.string().min(16, 'must be at least 16 characters').optional(),
  })
  .strict();
export type TrustSettings = z.output<typeof TrustSettingsSchema>;

/** Requests a client may make in `duration_s` seconds; `points` 0: no limit. */
const RateSchema = (points: number) =>
  z
    .object({
      points: z.number().int().min(0).default(points),
      duration_s: z.number().int().min(1).max(3600).default(1),
    })
    .strict();

/**
 * Rate limits (429 + Retry-After, rate-limiter-flexible; in Redis when `backends.redisUrl` is
 * set, so every instance shares them) and load shedding (503 + Retry-After).
 */
export const LimitsSettingsSchema = z
  .object({
    /** Per client address (the socket's, or X-Forwarded-For behind `trusted_proxies` proxies). */
    client: RateSchema(100).prefault({}),
    /** Per shopper (the token's, or the request's user_id / session_id). */
    shopper: RateSchema(20).prefault({}),
    /** Requests with the server key (the shop's back end), instead of the per-client limit. */
    server: RateSchema(0).prefault({}),
    /** Proxies in front of the service whose X-Forwarded-For is believed (0: use the socket address). */
    trusted_proxies: z.number().int().min(0).max(10).default(0),
    /**
     * Requests served at once; the next waits in `queue`, or is answered 503 `overloaded` instead
     * of queueing into client time-outs. /healthz, /readyz, /metrics and the docs are exempt. 0: no
     * bound. Unset: one with the embedded back end, whose searches run on the service's own thread
     * (more at once only makes each slower), and eight per core with Elasticsearch / Qdrant,
     * whose requests mostly wait on the network (src/api/limits.ts, `npm run bench -- overload`).
     */
    max_in_flight: z.number().int().min(0).optional(),
    /**
     * The wait for an in-flight slot (src/api/admission.ts): up to `max` requests wait up to
     * `timeout_ms`, so the few requests a page sends at once are served in turn; after any refusal
     * nothing queues for `quiet_ms` (overload: queueing would only slow the admitted requests).
     */
    queue: z
      .object({
        max: z.number().int().min(0).max(10_000).default(16),
        timeout_ms: z.number().int().min(0).max(10_000).default(100),
        quiet_ms: z.number().int().min(0).max(60_000).default(1000),
      })
      .strict()
      .prefault({}),
    /** Retry-After on a shed request, seconds. */
    shed_retry_after_s: z.number().int().min(1).max(60).default(1),
    /**
     * How long a shed (503) or rate-limited (429) answer is held before it is sent, ms. A client
     * that ignores Retry-After and resends at once would otherwise spend the service's one thread
     * on refusals, and the admitted requests wait behind them; held, each such connection costs a
     * timer. Well under a second, so a refusal is still quick. 0: answer at once.
     */
    refusal_delay_ms: z.number().int().min(0).max(1000).default(200),
  })
  .strict();
export type LimitsSettings = z.output<typeof LimitsSettingsSchema>;

/** No rate limit and no shedding: in-process harnesses (simulations, benches) that measure something else. */
export const LIMITS_OFF: LimitsSettings = LimitsSettingsSchema.parse({
  client: { points: 0 },
  shopper: { points: 0 },
  server: { points: 0 },
  max_in_flight: 0,
});

/** Where the service listens, what it serves from, and how it runs. */
export const ServiceSettingsSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Index, behaviour and coupon data (relative paths are resolved against the working directory). */
    dataDir: z.string().min(1).default(path.join(ROOT, '.data')),
    /** Catalog `npm start` indexes before serving; empty: none. */
    catalog: z.string().default(path.join(ROOT, 'data/demo/catalog.jsonl')),
    /** How often the service checks for a newer index generation. */
    refreshMs: z.number().int().min(100).default(1000),
    logRequests: z.boolean().default(false),
    /**
     * Where the behaviour consumer runs: its own thread in the service (default), inline on the
     * request thread, or off when another process consumes the stream.
     */
    consumer: z.enum(['thread', 'inline', 'off']).default('thread'),
    /** Request body limits per endpoint (bytes). */
    bodyLimits: BodyLimitsSchema.prefault({}),
    /** Shopper tokens and the server key. */
    trust: TrustSettingsSchema.prefault({}),
    /** Rate limits and load shedding. */
    limits: LimitsSettingsSchema.prefault({}),
  })
  .strict();

/** The text (and optional image) embedder. */
export const EmbedderSettingsSchema = z
  .object({
    /** "default" (the shipped n-gram model) or a transformers.js model folder or name. */
    model: z.string().min(1).default('default'),
    /** e.g. `query: ` / `passage: ` for e5 models. */
    queryPrefix: z.string().optional(),
    documentPrefix: z.string().optional(),
    /** Off by default: offline machines must never try to download weights. */
    allowRemote: z.boolean().default(false),
    cacheDir: z.string().min(1).default(path.join(ROOT, '.cache/models')),
    /** A CLIP model folder (transformers.js layout): product images get their own vector index. */
    imageModel: z.string().optional(),
    /**
     * More text models deployed beside `model` (folders, like `model`): the indexer writes one more
     * vector set per model into every generation, so a request (an experiment arm) can search with
     * one of them by `model_version`. A change in the list rebuilds the index.
     */
    extra_models: z.array(z.string().min(1)).default([]),
    /**
     * Request-scoped: the text model (its id, e.g. `ngram-v1:94e001663551`, as /readyz lists them) the
     * vector route encodes queries with and searches the vectors of. Empty: the served generation's own.
     */
    model_version: z.string().default(''),
  })
  .strict();

/** The shipped ranker; `ranking.model_dir` empty: heuristic order only. */
export const DEFAULT_RANK_MODEL_DIR = path.join(ROOT, 'models/ranker/default');

/** Ranking with the service's default model folder (the engine itself has none). */
export const RankingSettingsSchema = RankConfigSchema.extend({
  model_dir: z.string().default(DEFAULT_RANK_MODEL_DIR),
});

/**
 * The shipped sequence model (trained on the demo catalog's simulated browsing, models/sequence/
 * default/MODEL_CARD.md); `sequence.model_dir` empty: no sequence route. Another shop's catalog
 * does not match its item table: it is refused at load and the other feed routes serve.
 */
export const DEFAULT_SEQUENCE_MODEL_DIR = path.join(ROOT, 'models/sequence/default');

/** The sequence model with the service's default folder (the engine itself has none). */
export const SequenceSettingsSchema = SequenceConfigSchema.extend({
  model_dir: z.string().default(DEFAULT_SEQUENCE_MODEL_DIR),
});

/** Coupon targeting on result items, and the admin API's key. */
export const CouponSettingsSchema = z
  .object({
    targeting: CouponConfigSchema.prefault({}),
    /** Bearer token for /v1/admin/* (coupons, experiments); unset disables the admin endpoints. */
    admin_api_key: z.string().min(16, 'must be at least 16 characters').optional(),
  })
  .strict();

/** Servers. Elasticsearch and Qdrant are used together; unset means the embedded index. */
export const BackendSettingsSchema = z
  .object({
    /** Names every index, collection, topic and key prefix, so several shops can share servers. */
    namespace: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,40}$/, 'lowercase letters, digits, - and _')
      .default('shelf'),
    elasticsearchUrl: z.url().optional(),
    qdrantUrl: z.url().optional(),
    qdrantApiKey: z.string().min(1).optional(),
    /** host:port of each broker. */
    kafkaBrokers: z
      .array(z.string().regex(/^[^,\s]+:\d+$/, 'expected host:port'))
      .min(1)
      .optional(),
    redisUrl: z.url().optional(),
    /**
     * Per server (redis, kafka, elasticsearch, qdrant): the time budget of one call and its circuit
     * breaker (core/dependency-guard.ts), e.g. `SHELF__BACKENDS__BUDGETS__REDIS__TIMEOUT_MS=100`.
     */
    budgets: DependencyBudgetsSchema.prefault({}),
  })
  .strict();

/** The merchandisers' web console at /console (src/console/). */
export const ConsoleSettingsSchema = z
  .object({
    /**
     * Folder of offline report HTML files (what `npm run eval -- … --out` and `npm run report` write)
     * the console's Reports page lists and opens; relative to the working directory.
     */
    reports_dir: z.string().min(1).default('reports'),
  })
  .strict();

export const SettingsSchema = z
  .object({
    service: ServiceSettingsSchema.prefault({}),
    embedder: EmbedderSettingsSchema.prefault({}),
    /** Search recall and fusion, and the embedded HNSW index. */
    retrieval: RetrievalConfigSchema.prefault({}),
    /** The feed's recall routes and fusion. */
    feed: FeedConfigSchema.prefault({}),
    /** How behaviour events turn into shopper state. */
    behavior: BehaviorConfigSchema.prefault({}),
    /** How long the served log, the event log, applied ids and dead letters are kept. */
    retention: RetentionConfigSchema.prefault({}),
    ranking: RankingSettingsSchema.prefault({}),
    /** The learned sequential shopper model behind the feed's `sequence` route (models/sequence/). */
    sequence: SequenceSettingsSchema.prefault({}),
    /** MMR per surface: search, feed, similar. */
    diversity: MmrConfigSchema.prefault({}),
    coupons: CouponSettingsSchema.prefault({}),
    /** Online experiments: how fresh each instance's definitions are, and purchase attribution. */
    experiments: ExperimentConfigSchema.prefault({}),
    /** Search-box suggestions (GET /v1/suggest): sizes, popular-query thresholds, refresh. */
    suggest: SuggestConfigSchema.prefault({}),
    backends: BackendSettingsSchema.prefault({}),
    /** The web console for merchandisers (`/console`, behind the admin key). */
    console: ConsoleSettingsSchema.prefault({}),
  })
  .strict();

/** The tree as parsed (before the loader resolves paths). */
export type SettingsTree = z.output<typeof SettingsSchema>;
export type SettingsInput = z.input<typeof SettingsSchema>;

/**
 * The effective settings the service runs with: the parsed tree, with relative paths resolved
 * and the "empty means none" settings (service.catalog, ranking.model_dir, embedder.imageModel)
 * turned into `undefined`.
 */
export type Settings = Omit<SettingsTree, 'service' | 'ranking' | 'embedder'> & {
  service: Omit<SettingsTree['service'], 'catalog'> & { catalog: string | undefined };
  embedder: SettingsTree['embedder'];
  ranking: RankConfig;
};

/**
 * The subtrees a single request may change (experiments, per-request overrides): how candidates
 * are fused and ordered, not what is stored or how the service runs. Paths under any of these
 * prefixes are request-scoped; every other setting is fixed at start-up.
 */
export const REQUEST_SCOPED_PATHS = [
  'embedder.model_version',
  'retrieval.rrf_k',
  'retrieval.weights',
  'retrieval.fusion',
  'feed',
  'ranking.mode',
  'ranking.model_version',
  'ranking.a',
  'ranking.b',
  'ranking.c',
  'ranking.window',
  'sequence.model_version',
  'diversity',
  'coupons.targeting.min_value',
  'coupons.targeting.boost',
] as const;

/** The request-scoped part of the settings (the shape REQUEST_SCOPED_PATHS selects). */
export interface RequestScopedSettings {
  embedder: Pick<SettingsTree['embedder'], 'model_version'>;
  retrieval: Pick<RetrievalConfig, 'rrf_k' | 'weights' | 'fusion'>;
  feed: FeedConfig;
  ranking: Pick<RankConfig, 'mode' | 'model_version' | 'a' | 'b' | 'c' | 'window'>;
  sequence: Pick<SequenceConfig, 'model_version'>;
  diversity: MmrConfig;
  coupons: { targeting: Pick<CouponConfig, 'min_value' | 'boost'> };
}

type DottedPaths<T> = T extends readonly unknown[]
  ? never
  : T extends object
    ? { [K in keyof T & string]: K | `${K}.${DottedPaths<T[K]>}` }[keyof T & string]
    : never;

/** Every dotted path a per-request override may name, e.g. `diversity.feed.lambda`. */
export type RequestScopedPath = DottedPaths<RequestScopedSettings>;

/** A per-request override map: `{ "diversity.feed.lambda": 0.5, "ranking.mode": "off" }`. */
export type SettingsOverrides = Partial<Record<RequestScopedPath, unknown>>;

export const isRequestScoped = (dotted: string): boolean =>
  REQUEST_SCOPED_PATHS.some((p) => dotted === p || dotted.startsWith(`${p}.`));

/** The request-scoped part of effective settings (a copy). */
export function requestScoped(s: Settings): RequestScopedSettings {
  const { rrf_k, weights, fusion } = s.retrieval;
  const { mode, model_version, a, b, c, window } = s.ranking;
  const { min_value, boost } = s.coupons.targeting;
  return structuredClone({
    embedder: { model_version: s.embedder.model_version },
    retrieval: { rrf_k, weights, fusion },
    feed: s.feed,
    ranking: { mode, model_version, a, b, c, window },
    sequence: { model_version: s.sequence.model_version },
    diversity: s.diversity,
    coupons: { targeting: { min_value, boost } },
  });
}

/** Where the index lives (retrieval/index/open-backend.ts's IndexLocation), from the settings. */
export const indexLocation = (s: Pick<Settings, 'service' | 'backends'>) => ({
  dataDir: s.service.dataDir,
  backends: s.backends,
});
