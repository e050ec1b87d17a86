import type { z } from 'zod';
import { SettingsSchema } from './schema.ts';

/**
 * How settings come in from outside: the settings tree walked as a map of paths, the environment
 * variable each path derives (`SHELF__<A>__<B>`), the short operational names kept as aliases,
 * and the coercion of a variable's text by the type of the setting it names.
 */

export type NodeKind = 'object' | 'record' | 'array' | 'number' | 'boolean' | 'string' | 'enum' | 'other';

export interface SettingNode {
  path: string[];
  dotted: string;
  kind: NodeKind;
  /** The setting's schema without default/optional wrappers (checks and refinements included). */
  schema: z.ZodType;
  /** Object nodes: their fields. */
  children?: Map<string, SettingNode>;
  /** Enum nodes: the allowed values. */
  values?: string[];
  /** Array nodes: the element's kind. */
  element?: NodeKind;
  /** The default, when the schema declares one on this node. */
  hasDefault: boolean;
  optional: boolean;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  entries?: Record<string, string>;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

function unwrap(s: z.ZodType): { schema: z.ZodType; hasDefault: boolean; optional: boolean } {
  let hasDefault = false;
  let optional = false;
  for (;;) {
    const d = defOf(s);
    if (d.type === 'default' || d.type === 'prefault') hasDefault = true;
    if (d.type === 'optional') optional = true;
    if (['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(d.type)) {
      s = d.innerType!;
    } else if (d.type === 'pipe') {
      s = defOf(d.in!).type === 'transform' ? d.out! : d.in!;
    } else {
      return { schema: s, hasDefault, optional };
    }
  }
}

function kindOf(s: z.ZodType): NodeKind {
  const t = defOf(s).type;
  if (t === 'object' || t === 'record' || t === 'array' || t === 'number' || t === 'boolean' || t === 'string')
    return t;
  if (t === 'enum') return 'enum';
  return 'other';
}

function build(s: z.ZodType, p: string[]): SettingNode {
  const { schema, hasDefault, optional } = unwrap(s);
  const d = defOf(schema);
  const node: SettingNode = { path: p, dotted: p.join('.'), kind: kindOf(schema), schema, hasDefault, optional };
  if (node.kind === 'object') {
    node.children = new Map(Object.entries(d.shape!).map(([k, v]) => [k, build(v, [...p, k])]));
  } else if (node.kind === 'enum') {
    node.values = Object.values(d.entries!);
  } else if (node.kind === 'array') {
    node.element = kindOf(unwrap(d.element!).schema);
  }
  return node;
}

/** The settings tree as nodes, root first. */
export const SETTINGS_TREE: SettingNode = build(SettingsSchema, []);

/** The node at a path, or undefined when there is no such setting. */
export function nodeAt(p: readonly string[], root: SettingNode = SETTINGS_TREE): SettingNode | undefined {
  let n: SettingNode | undefined = root;
  for (const k of p) {
    if (n?.kind !== 'object') return undefined;
    n = n.children!.get(k);
  }
  return n;
}

/** Every node below the root, depth first. */
export function allNodes(root: SettingNode = SETTINGS_TREE): SettingNode[] {
  const out: SettingNode[] = [];
  const visit = (n: SettingNode) => {
    if (n.path.length) out.push(n);
    for (const c of n.children?.values() ?? []) visit(c);
  };
  visit(root);
  return out;
}

/** The leaves: every node that is not an object of fields. */
export const leaves = (root: SettingNode = SETTINGS_TREE) => allNodes(root).filter((n) => n.kind !== 'object');

export const ENV_PREFIX = 'SHELF__';

/** `dataDir` → `DATA_DIR`, `rrf_k` → `RRF_K`, `efSearch` → `EF_SEARCH`. */
export const envSegment = (key: string) =>
  key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();

/** The variable a path derives: `diversity.feed.lambda` → `SHELF__DIVERSITY__FEED__LAMBDA`. */
export const envNameOf = (p: readonly string[]) => ENV_PREFIX + p.map(envSegment).join('__');

/** Derived variable name → node, for every node (objects take JSON). */
export const ENV_INDEX: ReadonlyMap<string, SettingNode> = new Map(allNodes().map((n) => [envNameOf(n.path), n]));

export interface Alias {
  name: string;
  /** The dotted path the variable sets. */
  path: string;
  /** How the alias differs from its path's variable, if at all. */
  note?: string;
}

/**
 * The short operational names, kept as documented aliases of their paths. A path's own
 * `SHELF__…` variable wins over its alias when both are set. Written out one per line:
 * scripts/compose-check reads the names from here (`name: '…'`).
 */
export const ALIASES: readonly Alias[] = [
  { name: 'SHELF_HOST', path: 'service.host' },
  { name: 'PORT', path: 'service.port' },
  { name: 'SHELF_DATA_DIR', path: 'service.dataDir' },
  { name: 'SHELF_CATALOG', path: 'service.catalog', note: 'empty: index no catalog at start-up' },
  { name: 'SHELF_REFRESH_MS', path: 'service.refreshMs' },
  { name: 'SHELF_LOG_REQUESTS', path: 'service.logRequests' },
  { name: 'SHELF_CONSUMER', path: 'service.consumer' },
  { name: 'SHELF_SHOPPER_TOKEN_SECRET', path: 'service.trust.shopper_token_secret' },
  { name: 'SHELF_SERVER_API_KEY', path: 'service.trust.server_api_key' },
  { name: 'SHELF_MAX_IN_FLIGHT', path: 'service.limits.max_in_flight' },
  { name: 'SHELF_EMBEDDER', path: 'embedder.model' },
  { name: 'SHELF_EMBEDDER_QUERY_PREFIX', path: 'embedder.queryPrefix' },
  { name: 'SHELF_EMBEDDER_DOC_PREFIX', path: 'embedder.documentPrefix' },
  { name: 'SHELF_ALLOW_REMOTE_MODELS', path: 'embedder.allowRemote' },
  { name: 'SHELF_MODEL_CACHE_DIR', path: 'embedder.cacheDir' },
  { name: 'SHELF_IMAGE_MODEL', path: 'embedder.imageModel' },
  { name: 'SHELF_RRF_K', path: 'retrieval.rrf_k' },
  { name: 'SHELF_WEIGHT_BM25', path: 'retrieval.weights.bm25' },
  { name: 'SHELF_WEIGHT_VECTOR', path: 'retrieval.weights.vector' },
  { name: 'SHELF_RECALL_K', path: 'retrieval.recall_k' },
  { name: 'SHELF_HNSW_EF', path: 'retrieval.hnsw.efSearch' },
  {
    name: 'SHELF_FEED_CONFIG',
    path: 'feed',
    note: 'a JSON file of feed settings (e.g. what `npm run eval -- feed` writes), merged at `feed` above SHELF_CONFIG',
  },
  { name: 'SHELF_FEED_EXCLUDE_SHOWN', path: 'feed.exclude_shown' },
  { name: 'SHELF_SHORT_HALF_LIFE_MS', path: 'behavior.short_half_life_ms' },
  { name: 'SHELF_TRENDING_HALF_LIFE_MS', path: 'behavior.trending_half_life_ms' },
  { name: 'SHELF_COOC_BACKWARD_WEIGHT', path: 'behavior.cooc_backward_weight' },
  { name: 'SHELF_RANK', path: 'ranking.mode' },
  { name: 'SHELF_RANK_SEARCH', path: 'ranking.search', note: 'model: rank search too (off by default)' },
  { name: 'SHELF_RANK_MODEL_DIR', path: 'ranking.model_dir', note: 'empty: heuristic order only' },
  {
    name: 'SHELF_SEQUENCE_MODEL_DIR',
    path: 'sequence.model_dir',
    note: 'empty: no sequence route (the other feed routes serve)',
  },
  { name: 'SHELF_RANK_A', path: 'ranking.a' },
  { name: 'SHELF_RANK_B', path: 'ranking.b' },
  { name: 'SHELF_RANK_C', path: 'ranking.c' },
  { name: 'SHELF_RANK_WINDOW', path: 'ranking.window' },
  { name: 'SHELF_RANK_REFRESH_MS', path: 'ranking.refresh_ms' },
  { name: 'SHELF_MMR_SEARCH_ENABLED', path: 'diversity.search.enabled' },
  { name: 'SHELF_MMR_SEARCH_LAMBDA', path: 'diversity.search.lambda' },
  { name: 'SHELF_MMR_SEARCH_TOP_N', path: 'diversity.search.top_n' },
  { name: 'SHELF_MMR_SEARCH_CATEGORY_WEIGHT', path: 'diversity.search.category_weight' },
  { name: 'SHELF_MMR_SEARCH_BRAND_WEIGHT', path: 'diversity.search.brand_weight' },
  { name: 'SHELF_MMR_SEARCH_MAX_PER_BRAND', path: 'diversity.search.max_per_brand' },
  { name: 'SHELF_MMR_SEARCH_MAX_PER_CATEGORY', path: 'diversity.search.max_per_category' },
  { name: 'SHELF_MMR_FEED_ENABLED', path: 'diversity.feed.enabled' },
  { name: 'SHELF_MMR_FEED_LAMBDA', path: 'diversity.feed.lambda' },
  { name: 'SHELF_MMR_FEED_TOP_N', path: 'diversity.feed.top_n' },
  { name: 'SHELF_MMR_FEED_CATEGORY_WEIGHT', path: 'diversity.feed.category_weight' },
  { name: 'SHELF_MMR_FEED_BRAND_WEIGHT', path: 'diversity.feed.brand_weight' },
  { name: 'SHELF_MMR_FEED_MAX_PER_BRAND', path: 'diversity.feed.max_per_brand' },
  { name: 'SHELF_MMR_FEED_MAX_PER_CATEGORY', path: 'diversity.feed.max_per_category' },
  { name: 'SHELF_MMR_SIMILAR_ENABLED', path: 'diversity.similar.enabled' },
  { name: 'SHELF_MMR_SIMILAR_LAMBDA', path: 'diversity.similar.lambda' },
  { name: 'SHELF_MMR_SIMILAR_TOP_N', path: 'diversity.similar.top_n' },
  { name: 'SHELF_MMR_SIMILAR_CATEGORY_WEIGHT', path: 'diversity.similar.category_weight' },
  { name: 'SHELF_MMR_SIMILAR_BRAND_WEIGHT', path: 'diversity.similar.brand_weight' },
  { name: 'SHELF_MMR_SIMILAR_MAX_PER_BRAND', path: 'diversity.similar.max_per_brand' },
  { name: 'SHELF_MMR_SIMILAR_MAX_PER_CATEGORY', path: 'diversity.similar.max_per_category' },
  { name: 'SHELF_COUPON_TARGETING', path: 'coupons.targeting.enabled' },
  { name: 'SHELF_COUPON_MIN_VALUE', path: 'coupons.targeting.min_value' },
  { name: 'SHELF_COUPON_BOOST', path: 'coupons.targeting.boost' },
  { name: 'SHELF_COUPON_CACHE_MS', path: 'coupons.targeting.cache_ms' },
  { name: 'SHELF_VIP_PURCHASES', path: 'coupons.targeting.vip_purchases' },
  { name: 'SHELF_ADMIN_API_KEY', path: 'coupons.admin_api_key' },
  { name: 'SHELF_NAMESPACE', path: 'backends.namespace' },
  { name: 'ELASTICSEARCH_URL', path: 'backends.elasticsearchUrl' },
  { name: 'QDRANT_URL', path: 'backends.qdrantUrl' },
  { name: 'QDRANT_API_KEY', path: 'backends.qdrantApiKey' },
  { name: 'KAFKA_BROKERS', path: 'backends.kafkaBrokers', note: 'comma-separated host:port list' },
  { name: 'REDIS_URL', path: 'backends.redisUrl' },
];

/** The variable naming the settings file (YAML or JSON). */
export const CONFIG_FILE_VAR = 'SHELF_CONFIG';
/** The alias that names a feed-settings file rather than a value. */
export const FEED_FILE_VAR = 'SHELF_FEED_CONFIG';

/**
 * Settings where an empty value is a value (it switches something off), not "unset":
 * `SHELF_CATALOG=` indexes nothing, `SHELF_RANK_MODEL_DIR=` ranks heuristically, an empty
 * embedder prefix is no prefix. Every other `VAR=` counts as unset.
 */
export const EMPTY_IS_A_VALUE: ReadonlySet<string> = new Set([
  'service.catalog',
  'ranking.model_dir',
  'sequence.model_dir',
  'embedder.queryPrefix',
  'embedder.documentPrefix',
]);

/** Settings printed masked: keys, and passwords inside URLs. */
export const SECRET_PATHS: ReadonlySet<string> = new Set([
  'coupons.admin_api_key',
  'backends.qdrantApiKey',
  'service.trust.shopper_token_secret',
  'service.trust.server_api_key',
]);

export class CoercionError extends Error {}

const BOOLEANS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false };

function coerceScalar(kind: NodeKind | undefined, text: string, values?: string[]): unknown {
  const t = text.trim();
  switch (kind) {
    case 'number': {
      const n = Number(t);
      if (t === '' || Number.isNaN(n)) throw new CoercionError(`expected a number, got "${text}"`);
      return n;
    }
    case 'boolean': {
      const b = BOOLEANS[t.toLowerCase()];
      if (b === undefined) throw new CoercionError(`expected true/false/1/0/yes/no, got "${text}"`);
      return b;
    }
    case 'enum':
      if (values && !values.includes(t)) throw new CoercionError(`must be one of ${values.join(', ')}, got "${text}"`);
      return t;
    default:
      return text;
  }
}

/**
 * A variable's text as a value of the setting's type: numbers, booleans
 * (true/false/1/0/yes/no), enums, strings as they are, arrays as comma lists, objects and
 * records as JSON.
 */
export function coerce(node: SettingNode, text: string): unknown {
  switch (node.kind) {
    case 'array':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((s) => coerceScalar(node.element, s));
    case 'object':
    case 'record':
    case 'other': {
      if (node.kind === 'other' && !/^\s*[[{"]/.test(text)) return text;
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new CoercionError(`expected JSON, ${(err as Error).message}`);
      }
    }
    default:
      return coerceScalar(node.kind, text, node.values);
  }
}
