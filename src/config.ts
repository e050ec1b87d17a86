import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { RetrievalConfigSchema } from '../retrieval/index/config.ts';
import { FeedConfigSchema } from '../retrieval/recall/feed-config.ts';
import { BehaviorConfigSchema } from '../behavior/config.ts';
import { RankConfigSchema } from '../ranking/config.ts';
import { MmrConfigSchema } from '../diversity/config.ts';
import { CouponConfigSchema } from '../coupons/config.ts';

import { ROOT } from '../core/paths.ts';

export { ROOT };

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const num = z.coerce.number();
/** `VAR=` (as compose files and shells often leave it) means unset, not an invalid value. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema);

/**
 * Every setting the service reads, from the environment, validated in one place. A bad value
 * stops start-up with the variable's name, never a surprise at the first request.
 */
const EnvSchema = z.object({
  SHELF_HOST: z.string().default('127.0.0.1'),
  PORT: num.int().min(0).max(65535).default(8080),
  SHELF_DATA_DIR: z.string().default(path.join(ROOT, '.data')),
  /** Catalog indexed at start-up by `npm start`; empty disables. */
  SHELF_CATALOG: z.string().default(path.join(ROOT, 'data/demo/catalog.jsonl')),
  /** "default" (the shipped n-gram model) or a transformers.js model folder. */
  SHELF_EMBEDDER: z.string().default('default'),
  SHELF_EMBEDDER_QUERY_PREFIX: z.string().optional(),
  SHELF_EMBEDDER_DOC_PREFIX: z.string().optional(),
  /** A CLIP model folder (transformers.js layout): product images get their own vector index. */
  SHELF_IMAGE_MODEL: z.string().optional(),
  /** Off by default: offline machines must never try to download weights. */
  SHELF_ALLOW_REMOTE_MODELS: bool.default(false),
  SHELF_MODEL_CACHE_DIR: z.string().default(path.join(ROOT, '.cache/models')),
  SHELF_RRF_K: num.nonnegative().optional(),
  SHELF_WEIGHT_BM25: num.nonnegative().optional(),
  SHELF_WEIGHT_VECTOR: num.nonnegative().optional(),
  SHELF_RECALL_K: num.int().min(1).max(10_000).optional(),
  SHELF_HNSW_EF: num.int().min(10).max(10_000).optional(),
  /** How often the service checks for a newer index generation. */
  SHELF_REFRESH_MS: num.int().min(100).default(1000),
  SHELF_LOG_REQUESTS: bool.default(false),
  // Production engines, used together: both set replaces the embedded index; unset means embedded.
  ELASTICSEARCH_URL: unsetIfEmpty(z.url().optional()),
  QDRANT_URL: unsetIfEmpty(z.url().optional()),
  QDRANT_API_KEY: z.string().optional(),
  /** Comma-separated host:port list. */
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'expected host:port[,host:port...]')
    .optional(),
  REDIS_URL: z.url().optional(),
  /** Bearer token for /v1/admin/* (coupon catalog); unset disables the admin endpoints. */
  SHELF_ADMIN_API_KEY: unsetIfEmpty(z.string().min(16, 'must be at least 16 characters').optional()),
  /** Purchases that put a shopper in the `vip` coupon segment. */
  SHELF_VIP_PURCHASES: unsetIfEmpty(num.int().min(1).max(1_000_000).optional()),
  /** Coupons on search and feed items (coupons/affinity.ts): on/off, value threshold, order boost, ledger cache. */
  SHELF_COUPON_TARGETING: unsetIfEmpty(bool.optional()),
  SHELF_COUPON_MIN_VALUE: unsetIfEmpty(num.min(-1e9).max(1e9).optional()),
  SHELF_COUPON_BOOST: unsetIfEmpty(num.min(0).max(100).optional()),
  SHELF_COUPON_CACHE_MS: unsetIfEmpty(num.int().min(0).max(60_000).optional()),
  /**
   * Where the behaviour consumer runs: its own thread in the service (default), inline on the
   * request thread, or off when another process consumes the stream.
   */
  SHELF_CONSUMER: z.enum(['thread', 'inline', 'off']).default('thread'),
  /** The feed leaves out the shopper's last N impressions. */
  SHELF_FEED_EXCLUDE_SHOWN: num.int().min(0).max(1000).optional(),
  /**
   * A JSON file of feed settings (retrieval/feed-config.ts), e.g. the `feed-config.json` that
   * `npm run eval -- feed` writes with the settings it chose on a shop's own history.
   */
  SHELF_FEED_CONFIG: unsetIfEmpty(z.string().optional()),
  SHELF_SHORT_HALF_LIFE_MS: num.positive().optional(),
  SHELF_TRENDING_HALF_LIFE_MS: num.positive().optional(),
  /** Item-CF: weight of "what came before" against "what came after" an item (1 = symmetric). */
  SHELF_COOC_BACKWARD_WEIGHT: num.min(0).max(1).optional(),
  /** Ranking after fusion (ranking/): `model` (heuristic order until a usable model is there) or `off` (fusion order). */
  SHELF_RANK: z.enum(['model', 'off']).default('model'),
  /** Folder with model.onnx + metadata.json, polled for new versions; empty: heuristic order. */
  SHELF_RANK_MODEL_DIR: z.string().default(path.join(ROOT, 'models/ranker/default')),
  /** Final score = pCTR^A · pCVR^B · price^C. */
  SHELF_RANK_A: num.min(0).max(10).optional(),
  SHELF_RANK_B: num.min(0).max(10).optional(),
  SHELF_RANK_C: num.min(-10).max(10).optional(),
  SHELF_RANK_WINDOW: num.int().min(1).max(2000).optional(),
  SHELF_RANK_REFRESH_MS: num.int().min(0).optional(),
  /** Diversity (MMR) after ranking, per surface (rerank/config.ts has the defaults and ranges). */
  SHELF_MMR_SEARCH_ENABLED: unsetIfEmpty(bool.optional()),
  SHELF_MMR_SEARCH_LAMBDA: unsetIfEmpty(num.optional()),
  SHELF_MMR_SEARCH_TOP_N: unsetIfEmpty(num.optional()),
  SHELF_MMR_SEARCH_CATEGORY_WEIGHT: unsetIfEmpty(num.optional()),
  SHELF_MMR_SEARCH_BRAND_WEIGHT: unsetIfEmpty(num.optional()),
  SHELF_MMR_SEARCH_MAX_PER_BRAND: unsetIfEmpty(num.optional()),
  SHELF_MMR_SEARCH_MAX_PER_CATEGORY: unsetIfEmpty(num.optional()),
  SHELF_MMR_FEED_ENABLED: unsetIfEmpty(bool.optional()),
  SHELF_MMR_FEED_LAMBDA: unsetIfEmpty(num.optional()),
  SHELF_MMR_FEED_TOP_N: unsetIfEmpty(num.optional()),
  SHELF_MMR_FEED_CATEGORY_WEIGHT: unsetIfEmpty(num.optional()),
  SHELF_MMR_FEED_BRAND_WEIGHT: unsetIfEmpty(num.optional()),
  SHELF_MMR_FEED_MAX_PER_BRAND: unsetIfEmpty(num.optional()),
  SHELF_MMR_FEED_MAX_PER_CATEGORY: unsetIfEmpty(num.optional()),
  /** Names every index, collection, topic and key prefix, so several shops can share servers. */
  SHELF_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,40}$/, 'lowercase letters, digits, - and _')
    .default('shelf'),
});

export const ConfigSchema = z.object({
  host: z.string(),
  port: z.number(),
  dataDir: z.string(),
  catalog: z.string().optional(),
  embedder: z.object({
    model: z.string(),
    queryPrefix: z.string().optional(),
    documentPrefix: z.string().optional(),
    allowRemote: z.boolean(),
    cacheDir: z.string(),
    imageModel: z.string().optional(),
  }),
  retrieval: RetrievalConfigSchema,
  refreshMs: z.number(),
  logRequests: z.boolean(),
  feed: FeedConfigSchema,
  behavior: BehaviorConfigSchema,
  consumer: z.enum(['thread', 'inline', 'off']),
  ranking: RankConfigSchema,
  mmr: MmrConfigSchema,
  couponTargeting: CouponConfigSchema,
  coupons: z.object({
    adminApiKey: z.string().optional(),
  }),
  backends: z.object({
    namespace: z.string(),
    elasticsearchUrl: z.string().optional(),
    qdrantUrl: z.string().optional(),
    qdrantApiKey: z.string().optional(),
    kafkaBrokers: z.array(z.string()).optional(),
    redisUrl: z.string().optional(),
  }),
});

export type Config = z.output<typeof ConfigSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${msg}`);
  }
  const e = parsed.data;
  if ((e.ELASTICSEARCH_URL === undefined) !== (e.QDRANT_URL === undefined)) {
    const [set, unset] =
      e.ELASTICSEARCH_URL !== undefined ? ['ELASTICSEARCH_URL', 'QDRANT_URL'] : ['QDRANT_URL', 'ELASTICSEARCH_URL'];
    // The indexer keeps BM25 and vectors consistent by writing both and swapping both at once;
    // half of an index in a local folder and half on a server could not be swapped together
    // (nor shared by a second service replica).
    throw new ConfigError(
      `invalid configuration: ${set} is set but ${unset} is not. Elasticsearch and Qdrant are used together ` +
        `(BM25 and vectors are written and switched as one index): set both, or neither for the embedded index`,
    );
  }
  const mmr = MmrConfigSchema.safeParse({ search: mmrSurface(e, 'SEARCH'), feed: mmrSurface(e, 'FEED') });
  if (!mmr.success) {
    // Name the variable, as for every other bad value.
    const msg = mmr.error.issues
      .map((i) => `SHELF_MMR_${String(i.path[0]).toUpperCase()}_${String(i.path[1] ?? '').toUpperCase()}: ${i.message}`)
      .join('; ');
    throw new ConfigError(`invalid configuration: ${msg}`);
  }
  return ConfigSchema.parse({
    host: e.SHELF_HOST,
    port: e.PORT,
    dataDir: path.resolve(e.SHELF_DATA_DIR),
    ...(e.SHELF_CATALOG !== '' && { catalog: path.resolve(e.SHELF_CATALOG) }),
    embedder: {
      model: e.SHELF_EMBEDDER,
      ...(e.SHELF_EMBEDDER_QUERY_PREFIX !== undefined && { queryPrefix: e.SHELF_EMBEDDER_QUERY_PREFIX }),
      ...(e.SHELF_EMBEDDER_DOC_PREFIX !== undefined && { documentPrefix: e.SHELF_EMBEDDER_DOC_PREFIX }),
      allowRemote: e.SHELF_ALLOW_REMOTE_MODELS,
      cacheDir: path.resolve(e.SHELF_MODEL_CACHE_DIR),
      ...(e.SHELF_IMAGE_MODEL && { imageModel: path.resolve(e.SHELF_IMAGE_MODEL) }),
    },
    retrieval: RetrievalConfigSchema.parse({
      ...(e.SHELF_RRF_K !== undefined && { rrf_k: e.SHELF_RRF_K }),
      weights: {
        ...(e.SHELF_WEIGHT_BM25 !== undefined && { bm25: e.SHELF_WEIGHT_BM25 }),
        ...(e.SHELF_WEIGHT_VECTOR !== undefined && { vector: e.SHELF_WEIGHT_VECTOR }),
      },
      ...(e.SHELF_RECALL_K !== undefined && { recall_k: e.SHELF_RECALL_K }),
      hnsw: { ...(e.SHELF_HNSW_EF !== undefined && { efSearch: e.SHELF_HNSW_EF }) },
    }),
    refreshMs: e.SHELF_REFRESH_MS,
    logRequests: e.SHELF_LOG_REQUESTS,
    feed: feedConfig(e),
    behavior: BehaviorConfigSchema.parse({
      ...(e.SHELF_SHORT_HALF_LIFE_MS !== undefined && { short_half_life_ms: e.SHELF_SHORT_HALF_LIFE_MS }),
      ...(e.SHELF_TRENDING_HALF_LIFE_MS !== undefined && { trending_half_life_ms: e.SHELF_TRENDING_HALF_LIFE_MS }),
      ...(e.SHELF_COOC_BACKWARD_WEIGHT !== undefined && { cooc_backward_weight: e.SHELF_COOC_BACKWARD_WEIGHT }),
    }),
    consumer: e.SHELF_CONSUMER,
    ranking: RankConfigSchema.parse({
      mode: e.SHELF_RANK,
      ...(e.SHELF_RANK_MODEL_DIR !== '' && { model_dir: path.resolve(e.SHELF_RANK_MODEL_DIR) }),
      ...(e.SHELF_RANK_A !== undefined && { a: e.SHELF_RANK_A }),
      ...(e.SHELF_RANK_B !== undefined && { b: e.SHELF_RANK_B }),
      ...(e.SHELF_RANK_C !== undefined && { c: e.SHELF_RANK_C }),
      ...(e.SHELF_RANK_WINDOW !== undefined && { window: e.SHELF_RANK_WINDOW }),
      ...(e.SHELF_RANK_REFRESH_MS !== undefined && { refresh_ms: e.SHELF_RANK_REFRESH_MS }),
    }),
    mmr: mmr.data,
    couponTargeting: CouponConfigSchema.parse({
      ...(e.SHELF_COUPON_TARGETING !== undefined && { enabled: e.SHELF_COUPON_TARGETING }),
      ...(e.SHELF_COUPON_MIN_VALUE !== undefined && { min_value: e.SHELF_COUPON_MIN_VALUE }),
      ...(e.SHELF_COUPON_BOOST !== undefined && { boost: e.SHELF_COUPON_BOOST }),
      ...(e.SHELF_COUPON_CACHE_MS !== undefined && { cache_ms: e.SHELF_COUPON_CACHE_MS }),
      ...(e.SHELF_VIP_PURCHASES !== undefined && { vip_purchases: e.SHELF_VIP_PURCHASES }),
    }),
    coupons: {
      ...(e.SHELF_ADMIN_API_KEY !== undefined && { adminApiKey: e.SHELF_ADMIN_API_KEY }),
    },
    backends: {
      namespace: e.SHELF_NAMESPACE,
      ...(e.ELASTICSEARCH_URL && { elasticsearchUrl: e.ELASTICSEARCH_URL }),
      ...(e.QDRANT_URL && { qdrantUrl: e.QDRANT_URL }),
      ...(e.QDRANT_API_KEY && { qdrantApiKey: e.QDRANT_API_KEY }),
      ...(e.KAFKA_BROKERS && { kafkaBrokers: e.KAFKA_BROKERS.split(',') }),
      ...(e.REDIS_URL && { redisUrl: e.REDIS_URL }),
    },
  });
}

type Env = z.output<typeof EnvSchema>;
const MMR_FIELDS = [
  'enabled',
  'lambda',
  'top_n',
  'category_weight',
  'brand_weight',
  'max_per_brand',
  'max_per_category',
] as const;

/** The feed settings file, if any, with SHELF_FEED_EXCLUDE_SHOWN on top; errors name the file and field. */
function feedConfig(e: Env): z.output<typeof FeedConfigSchema> {
  let fromFile: unknown = {};
  if (e.SHELF_FEED_CONFIG !== undefined) {
    const file = path.resolve(e.SHELF_FEED_CONFIG);
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(
        `invalid configuration: SHELF_FEED_CONFIG: cannot read ${file} as JSON (${(err as Error).message})`,
      );
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new ConfigError(`invalid configuration: SHELF_FEED_CONFIG: ${file} must hold a JSON object`);
    }
  }
  const parsed = FeedConfigSchema.safeParse({
    ...(fromFile as Record<string, unknown>),
    ...(e.SHELF_FEED_EXCLUDE_SHOWN !== undefined && { exclude_shown: e.SHELF_FEED_EXCLUDE_SHOWN }),
  });
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: SHELF_FEED_CONFIG (${e.SHELF_FEED_CONFIG}): ${msg}`);
  }
  return parsed.data;
}

/** SHELF_MMR_<SURFACE>_<FIELD> → the surface's MMR settings (only the variables that are set). */
function mmrSurface(e: Env, surface: 'SEARCH' | 'FEED'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of MMR_FIELDS) {
    const v = e[`SHELF_MMR_${surface}_${f.toUpperCase()}` as keyof Env];
    if (v !== undefined) out[f] = v;
  }
  return out;
}
