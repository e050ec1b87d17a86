import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DependencyBudgetsSchema } from '../../core/dependency-guard.ts';
import { ROOT } from '../../core/paths.ts';
import { ConfigError, ConfigFileError, loadConfig, loadSettings } from './load.ts';
import { ALIASES, ENV_INDEX, envNameOf, leaves, nodeAt } from './sources.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'shelf-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const error = (env: Record<string, string>): string => {
  try {
    loadSettings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('settings defaults', () => {
  it('fill every subtree from the engines’ own schemas', () => {
    const s = loadConfig({});
    expect(s.service).toEqual({
      host: '127.0.0.1',
      port: 8080,
      dataDir: path.join(ROOT, '.data'),
      catalog: path.join(ROOT, 'data/demo/catalog.jsonl'),
      refreshMs: 1000,
      logRequests: false,
      consumer: 'thread',
      bodyLimits: {
        events: 4194304,
        search: 65536,
        feed: 65536,
        coupons: 65536,
        admin: 262144,
        other: 65536,
        catalog: 33554432,
      },
      trust: {},
      limits: expect.objectContaining({ client: { points: 100, duration_s: 1 }, trusted_proxies: 0 }),
    });
    expect(s.embedder).toMatchObject({ model: 'default', allowRemote: false });
    expect(s.retrieval).toMatchObject({ rrf_k: 60, weights: { bm25: 1, vector: 1, image: 0.5 }, recall_k: 100 });
    expect(s.feed.weights.trending).toBe(0.3);
    expect(s.behavior.cooc_backward_weight).toBe(1);
    expect(s.behavior).toMatchObject({ max_future_skew_ms: 3_600_000, min_event_ts: Date.UTC(2000, 0, 1) });
    expect(s.ranking).toMatchObject({ mode: 'model', a: 1, window: 100 });
    expect(s.ranking.model_dir).toBe(path.join(ROOT, 'models/ranker/default'));
    expect(s.diversity.search.lambda).toBe(0.85);
    expect(s.diversity.similar).toEqual(s.diversity.feed);
    expect(s.coupons.targeting).toMatchObject({ enabled: true, min_value: 0, boost: 0 });
    expect(s.coupons.admin_api_key).toBeUndefined();
    expect(s.backends).toEqual({ namespace: 'shelf', budgets: DependencyBudgetsSchema.parse({}) });
    expect(s.backends.budgets.redis).toMatchObject({
      timeout_ms: 250,
      consecutive_failures: 5,
      half_open_after_ms: 5000,
    });
    expect(loadSettings({}).origins.size).toBe(0);
  });

  it('take a dependency budget from its path variable', () => {
    const s = loadConfig({
      SHELF__BACKENDS__BUDGETS__REDIS__TIMEOUT_MS: '80',
      SHELF__BACKENDS__BUDGETS__KAFKA__BREAKER: 'sampling',
    });
    expect(s.backends.budgets.redis.timeout_ms).toBe(80);
    expect(s.backends.budgets.kafka.breaker).toBe('sampling');
    expect(() => loadConfig({ SHELF__BACKENDS__BUDGETS__QDRANT__TIMEOUT_MS: '0' })).toThrow(
      /budgets\.qdrant\.timeout_ms/,
    );
  });

  it('derive one variable per path and every alias names a real setting', () => {
    expect(envNameOf(['diversity', 'feed', 'lambda'])).toBe('SHELF__DIVERSITY__FEED__LAMBDA');
    expect(envNameOf(['service', 'dataDir'])).toBe('SHELF__SERVICE__DATA_DIR');
    expect(envNameOf(['retrieval', 'hnsw', 'efSearch'])).toBe('SHELF__RETRIEVAL__HNSW__EF_SEARCH');
    expect(ENV_INDEX.size).toBeGreaterThan(leaves().length);
    for (const a of ALIASES) expect(nodeAt(a.path.split('.')), a.name).toBeDefined();
    expect(new Set(ALIASES.map((a) => a.name)).size).toBe(ALIASES.length);
  });
});

describe('settings file (SHELF_CONFIG)', () => {
  it('reads YAML', () => {
    const p = file(
      'shelf.yaml',
      [
        'service:',
        '  port: 9090',
        'retrieval:',
        '  weights:',
        '    vector: 0.5',
        'diversity:',
        '  similar:',
        '    enabled: false',
        'backends:',
        '  kafkaBrokers: [k1:9092, k2:9092]',
        'embedder:',
        '  queryPrefix:   # null: unset',
      ].join('\n'),
    );
    const { settings: s, origins, files } = loadSettings({ SHELF_CONFIG: p });
    expect(s.service.port).toBe(9090);
    expect(s.retrieval.weights).toEqual({ bm25: 1, vector: 0.5, image: 0.5 });
    expect(s.diversity.similar.enabled).toBe(false);
    expect(s.backends.kafkaBrokers).toEqual(['k1:9092', 'k2:9092']);
    expect(s.embedder.queryPrefix).toBeUndefined();
    expect(origins.get('retrieval.weights.vector')).toEqual({ kind: 'file', label: p });
    expect(files).toEqual([p]);
  });

  it('reads JSON', () => {
    const p = file('shelf.json', JSON.stringify({ ranking: { mode: 'off', a: 2 }, feed: { seeds: 5 } }));
    const s = loadConfig({ SHELF_CONFIG: p });
    expect(s.ranking).toMatchObject({ mode: 'off', a: 2, b: 1 });
    expect(s.feed.seeds).toBe(5);
  });

  it('refuses an unknown key or a bad value naming the path and the file', () => {
    const p = file('typo.yaml', 'retrieval:\n  wieghts:\n    bm25: 2\nfeed:\n  rrf_k: -1\n');
    const msg = error({ SHELF_CONFIG: p });
    expect(msg).toContain(`retrieval.wieghts from ${p}: unknown setting`);
    expect(msg).toContain(`feed.rrf_k from ${p}: must be at least 0`);
    expect(error({ SHELF_CONFIG: file('top.yaml', 'mmr:\n  feed: {}\n') })).toMatch(/mmr from .*: unknown setting/);
  });

  it('a missing, broken or non-object file is one ConfigFileError naming the variable', () => {
    expect(() => loadSettings({ SHELF_CONFIG: path.join(dir, 'missing.yaml') })).toThrow(ConfigFileError);
    expect(() => loadSettings({ SHELF_CONFIG: path.join(dir, 'missing.yaml') })).toThrow(
      /^invalid configuration: SHELF_CONFIG: cannot read .*missing\.yaml as YAML \(ENOENT/,
    );
    expect(error({ SHELF_CONFIG: file('broken.json', '{') })).toMatch(/SHELF_CONFIG: cannot read .* as JSON/);
    expect(error({ SHELF_CONFIG: file('list.yaml', '- 1\n') })).toMatch(/must hold a YAML object/);
    expect(loadConfig({ SHELF_CONFIG: file('empty.yaml', '') }).service.port).toBe(8080);
  });
});

describe('environment', () => {
  it('sets any path by its derived SHELF__ variable, coerced by the setting’s type', () => {
    const { settings: s, origins } = loadSettings({
      SHELF__DIVERSITY__FEED__LAMBDA: '0.6',
      SHELF__RETRIEVAL__WEIGHTS__VECTOR: '0.5',
      SHELF__RETRIEVAL__BM25_MATCH: 'or',
      SHELF__SERVICE__LOG_REQUESTS: 'yes',
      SHELF__FEED__EXCLUDE_PURCHASED: '0',
      SHELF__BACKENDS__KAFKA_BROKERS: 'a:1, b:2',
      SHELF__BEHAVIOR__WEIGHTS: '{"purchase": 10}',
      SHELF__COUPONS__TARGETING__AFFINITY__CLAIM_PRIOR__A: '3',
    });
    expect(s.diversity.feed.lambda).toBe(0.6);
    expect(s.retrieval.weights.vector).toBe(0.5);
    expect(s.retrieval.bm25_match).toBe('or');
    expect(s.service.logRequests).toBe(true);
    expect(s.feed.exclude_purchased).toBe(false);
    expect(s.backends.kafkaBrokers).toEqual(['a:1', 'b:2']);
    expect(s.behavior.weights).toEqual({ view: 1, click: 2, add_to_cart: 4, purchase: 10 });
    expect(s.coupons.targeting.affinity.claim_prior).toEqual({ a: 3, b: 1 });
    expect(origins.get('behavior.weights.purchase')).toEqual({ kind: 'env', label: 'SHELF__BEHAVIOR__WEIGHTS' });
  });

  it('keeps the short names as aliases, and an empty variable as unset (except where empty means none)', () => {
    const s = loadConfig({
      PORT: '9000',
      SHELF_HOST: '0.0.0.0',
      SHELF_DATA_DIR: 'rel/data',
      SHELF_NAMESPACE: 'shop1',
      SHELF_CONSUMER: 'off',
      SHELF_RANK_MODEL_DIR: '',
      SHELF_CATALOG: '',
      SHELF_WEIGHT_BM25: '',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SHELF_ADMIN_API_KEY: '',
      SHELF_MMR_SIMILAR_LAMBDA: '0.9',
    });
    expect(s.service).toMatchObject({ port: 9000, host: '0.0.0.0', consumer: 'off', catalog: undefined });
    expect(s.service.dataDir).toBe(path.resolve('rel/data'));
    expect(s.backends).toMatchObject({ namespace: 'shop1', redisUrl: 'redis://127.0.0.1:6379' });
    expect(s.ranking.model_dir).toBeUndefined();
    expect(s.retrieval.weights.bm25).toBe(1);
    expect(s.coupons.admin_api_key).toBeUndefined();
    expect(s.diversity.similar.lambda).toBe(0.9);
  });

  it('refuses an unknown SHELF__ variable naming it, and leaves other variables alone', () => {
    expect(error({ SHELF__RETRIEVAL__WIEGHTS__BM25: '1' })).toBe(
      'invalid configuration: retrieval.wieghts.bm25 from SHELF__RETRIEVAL__WIEGHTS__BM25: unknown setting',
    );
    expect(loadConfig({ SHELF_SOMETHING_ELSE: 'x', HOME: '/root' }).service.port).toBe(8080);
  });

  it('refuses a bad value naming the path, the variable and the reason', () => {
    expect(error({ SHELF__DIVERSITY__FEED__LAMBDA: '1.5' })).toBe(
      'invalid configuration: diversity.feed.lambda from SHELF__DIVERSITY__FEED__LAMBDA: must be at most 1',
    );
    expect(error({ PORT: 'eighty' })).toBe(
      'invalid configuration: service.port from PORT: expected a number, got "eighty"',
    );
    expect(error({ SHELF__FEED__SEEDS: '2.5' })).toMatch(/feed\.seeds from SHELF__FEED__SEEDS: must be a whole number/);
    expect(error({ SHELF__SERVICE__LOG_REQUESTS: 'maybe' })).toMatch(/service\.logRequests from .*true\/false/);
    expect(error({ SHELF__BEHAVIOR__WEIGHTS: '{"purchse": 1}' })).toMatch(
      /behavior\.weights\.purchse from SHELF__BEHAVIOR__WEIGHTS: unknown setting/,
    );
    expect(error({ SHELF_NAMESPACE: 'Shop One' })).toMatch(/backends\.namespace from SHELF_NAMESPACE: lowercase/);
    // Every problem at once.
    expect(error({ PORT: '-1', SHELF_RANK: 'sometimes' }).split('; ')).toHaveLength(2);
  });

  it('keeps Elasticsearch and Qdrant together, whichever source set one of them', () => {
    expect(error({ QDRANT_URL: 'http://127.0.0.1:6333' })).toMatch(/QDRANT_URL is set but ELASTICSEARCH_URL is not/);
    const p = file('es.yaml', 'backends:\n  elasticsearchUrl: http://127.0.0.1:9200\n');
    expect(error({ SHELF_CONFIG: p })).toMatch(
      /backends\.elasticsearchUrl \(from .*es\.yaml\) is set but QDRANT_URL is not.*set both, or neither/,
    );
  });
});

describe('precedence', () => {
  it('defaults < SHELF_CONFIG < SHELF_FEED_CONFIG < alias < SHELF__ path', () => {
    const yaml = file('p.yaml', 'feed:\n  seeds: 3\n  recall_k: 50\n  rrf_k: 10\nservice:\n  port: 7000\n');
    const feed = file('feed.json', JSON.stringify({ seeds: 4, recall_k: 60 }));
    const { settings: s, origins } = loadSettings({
      SHELF_CONFIG: yaml,
      SHELF_FEED_CONFIG: feed,
      SHELF_FEED_EXCLUDE_SHOWN: '7',
      SHELF__FEED__RECALL_K: '70',
      PORT: '7100',
      SHELF__SERVICE__PORT: '7200',
    });
    expect(s.feed).toMatchObject({ rrf_k: 10, seeds: 4, recall_k: 70, exclude_shown: 7, cooc_alpha: 0.5 });
    expect(s.service.port).toBe(7200);
    expect(origins.get('feed.rrf_k')?.label).toBe(yaml);
    expect(origins.get('feed.seeds')?.label).toBe(`SHELF_FEED_CONFIG=${feed}`);
    expect(origins.get('feed.recall_k')?.label).toBe('SHELF__FEED__RECALL_K');
    expect(origins.get('service.port')?.label).toBe('SHELF__SERVICE__PORT');
    expect(origins.has('feed.cooc_alpha')).toBe(false);
  });
});
