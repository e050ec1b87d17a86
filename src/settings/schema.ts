import path from 'node:path';
import { z } from 'zod';
import { ROOT } from '../../core/paths.ts';
import { RetrievalConfigSchema, type RetrievalConfig } from '../../retrieval/index/config.ts';
import { FeedConfigSchema, type FeedConfig } from '../../retrieval/recall/feed-config.ts';
import { BehaviorConfigSchema } from '../../behavior/config.ts';
import { RankConfigSchema, type RankConfig } from '../../ranking/config.ts';
import { MmrConfigSchema, type MmrConfig } from '../../diversity/config.ts';
import { CouponConfigSchema, type CouponConfig } from '../../coupons/config.ts';

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
    /** PUT /v1/admin/coupons/{id}. */
    admin: bytes().default(256 * KiB),
    /** Any other request with a body. */
    other: bytes().default(64 * KiB),
    /** POST /v1/admin/catalog/changes: up to 10,000 change lines a call. */
    catalog: bytes().default(32 * KiB * KiB),
  })
  .strict();
export type BodyLimits = z.output<typeof BodyLimitsSchema>;

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
  })
  .strict();

/** The shipped ranker; `ranking.model_dir` empty: heuristic order only. */
export const DEFAULT_RANK_MODEL_DIR = path.join(ROOT, 'models/ranker/default');

/** Ranking with the service's default model folder (the engine itself has none). */
export const RankingSettingsSchema = RankConfigSchema.extend({
  model_dir: z.string().default(DEFAULT_RANK_MODEL_DIR),
});

/** Coupon targeting on result items, and the admin API's key. */
export const CouponSettingsSchema = z
  .object({
    targeting: CouponConfigSchema.prefault({}),
    /** Bearer token for /v1/admin/* (the coupon catalog); unset disables the admin endpoints. */
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
    ranking: RankingSettingsSchema.prefault({}),
    /** MMR per surface: search, feed, similar. */
    diversity: MmrConfigSchema.prefault({}),
    coupons: CouponSettingsSchema.prefault({}),
    backends: BackendSettingsSchema.prefault({}),
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
  'retrieval.rrf_k',
  'retrieval.weights',
  'feed',
  'ranking.mode',
  'ranking.a',
  'ranking.b',
  'ranking.c',
  'ranking.window',
  'diversity',
  'coupons.targeting.min_value',
  'coupons.targeting.boost',
] as const;

/** The request-scoped part of the settings (the shape REQUEST_SCOPED_PATHS selects). */
export interface RequestScopedSettings {
  retrieval: Pick<RetrievalConfig, 'rrf_k' | 'weights'>;
  feed: FeedConfig;
  ranking: Pick<RankConfig, 'mode' | 'a' | 'b' | 'c' | 'window'>;
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
  const { rrf_k, weights } = s.retrieval;
  const { mode, a, b, c, window } = s.ranking;
  const { min_value, boost } = s.coupons.targeting;
  return structuredClone({
    retrieval: { rrf_k, weights },
    feed: s.feed,
    ranking: { mode, a, b, c, window },
    diversity: s.diversity,
    coupons: { targeting: { min_value, boost } },
  });
}

/** Where the index lives (retrieval/index/open-backend.ts's IndexLocation), from the settings. */
export const indexLocation = (s: Pick<Settings, 'service' | 'backends'>) => ({
  dataDir: s.service.dataDir,
  backends: s.backends,
});
