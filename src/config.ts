import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { RetrievalConfigSchema } from '../retrieval/config.ts';

/** Repository root, so defaults work from any working directory. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const num = z.coerce.number();

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
  // Production engines: each one set replaces its embedded default; unset means embedded.
  ELASTICSEARCH_URL: z.url().optional(),
  QDRANT_URL: z.url().optional(),
  QDRANT_API_KEY: z.string().optional(),
  /** Comma-separated host:port list. */
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'expected host:port[,host:port...]')
    .optional(),
  REDIS_URL: z.url().optional(),
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
