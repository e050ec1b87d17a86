import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { loadConfig } from '../config.ts';
import { openService, type Service } from '../service.ts';
import { createApp } from '../app.ts';
import { createGuards, DependencyBudgetsSchema, type DependencyGuards } from '../../core/dependency-guard.ts';
import { createMetrics, guardMetrics } from '../../core/metrics.ts';
import { GuardedStateStore } from '../../behavior/guarded-state-store.ts';
import { GuardedEventLog } from '../../behavior/guarded-event-log.ts';
import { GuardedCouponLedger } from '../../coupons/guarded-ledger.ts';
import { guardTextStore, guardVectorStore } from '../../retrieval/index/guarded-stores.ts';
import { PopularityMemory } from '../../ranking/popularity.ts';
import { Ranker } from '../../ranking/ranker.ts';
import type { Searcher } from '../../retrieval/recall/searcher.ts';
import type { IndexSnapshot } from '../../retrieval/index/stores.ts';

/**
 * Dependency budgets over HTTP, with the real embedded stores behind fakes that can be made slow
 * (a frozen server: never answers) or failing (a dead one). Every answer must come within its
 * budget, degraded or a 503 with Retry-After, never a hang and never a 500.
 */

type Mode = 'ok' | 'hang' | 'fail';
interface Faulty<T> {
  store: T;
  mode: Mode;
  calls: number;
}

/** `target` with every method able to hang or fail on demand (`mode`), counting calls. */
function faulty<T extends object>(target: T, skip: readonly string[] = []): Faulty<T> {
  const f: Faulty<T> = { store: undefined as unknown as T, mode: 'ok', calls: 0 };
  f.store = new Proxy(target, {
    get(t, prop, receiver) {
      const v = Reflect.get(t, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string' || skip.includes(prop)) return v;
      return (...args: unknown[]) => {
        f.calls++;
        if (f.mode === 'hang') return new Promise(() => {});
        if (f.mode === 'fail') return Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:6379'));
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  return f;
}

const BUDGET_MS = 150;
const budgets = DependencyBudgetsSchema.parse(
  Object.fromEntries(
    ['redis', 'kafka', 'elasticsearch', 'qdrant'].map((d) => [
      d,
      { timeout_ms: BUDGET_MS, consecutive_failures: 3, half_open_after_ms: 60_000 },
    ]),
  ),
);
/** The budget plus generous room for this shared 2-core machine: a hang would be minutes. */
const WITHIN_MS = BUDGET_MS + 1500;
const KEY = 'test-admin-key-0123456789';

let service: Service;
let config: ReturnType<typeof loadConfig>;

beforeAll(async () => {
  const dir = tempDir();
  config = loadConfig({
    SHELF_DATA_DIR: path.join(dir, 'data'),
    SHELF_CATALOG: '',
    SHELF_CONSUMER: 'inline',
    SHELF_ADMIN_API_KEY: KEY,
  });
  service = await openService(config, {
    embedder: new HashEmbedder(),
    catalog: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS),
    log: () => {},
  });
  // A live coupon, so pages and the coupon list read the ledger.
  const res = await service.app.request('/v1/admin/coupons/c1', {
    method: 'PUT',
    body: JSON.stringify({
      name: 'ten off',
      type: 'fixed',
      value: 10,
      valid_from: Date.now() - 86_400_000,
      valid_until: Date.now() + 86_400_000,
      stock: 100,
    }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
  });
  expect(res.status).toBe(201);
  // History for u1, so a personalised answer differs from an anonymous one.
  const events = await service.app.request('/v1/events', {
    method: 'POST',
    body: JSON.stringify(
      ['p1', 'p2', 'p3'].map((p, i) => ({
        event_id: `h${i}`,
        type: 'click',
        user_id: 'u1',
        product_id: p,
        ts: Date.now(),
      })),
    ),
    headers: { 'content-type': 'application/json' },
  });
  expect(events.status).toBe(200);
});
afterAll(async () => service?.close());

interface World {
  app: ReturnType<typeof createApp>;
  state: Faulty<Service['behavior']['state']>;
  log: Faulty<Service['behavior']['log']>;
  ledger: Faulty<Service['coupons']>;
  text: Faulty<IndexSnapshot['text']>;
  vectors: Faulty<NonNullable<IndexSnapshot['vectors']>>;
  guards: DependencyGuards;
  popularity: PopularityMemory;
  metrics: ReturnType<typeof createMetrics>;
}

let w: World;

/** A fresh app (fresh breakers) whose stores sit behind fakes, as openService guards remote ones. */
async function world(): Promise<World> {
  const metrics = createMetrics();
  const guards = createGuards(budgets, guardMetrics(metrics));
  const state = faulty(service.behavior.state, ['kind', 'dependencies', 'close', 'forget']);
  const log = faulty(service.behavior.log, ['kind', 'dependencies', 'close', 'consume', 'onAppend', 'wake']);
  const ledger = faulty(service.coupons, ['kind', 'dependencies', 'close']);
  const guardedState = new GuardedStateStore(state.store, guards.redis);
  let text!: Faulty<IndexSnapshot['text']>;
  let vectors!: Faulty<NonNullable<IndexSnapshot['vectors']>>;
  await service.searcher.withSnapshot(async (snap) => {
    text = faulty(snap!.text, ['kind', 'close']);
    vectors = faulty(snap!.vectors!, ['kind', 'dim', 'close']);
  });
  const searcher: Searcher = {
    ...service.searcher,
    config: service.searcher.config,
    embedders: service.searcher.embedders,
    generation: service.searcher.generation,
    withSnapshot: (fn) =>
      service.searcher.withSnapshot((snap) =>
        fn(
          snap && {
            ...snap,
            generation: snap.generation,
            embedderId: snap.embedderId,
            text: textStore,
            vectors: vectorStore,
          },
        ),
      ),
  };
  const textStore = guardTextStore(text.store, guards.elasticsearch);
  const vectorStore = guardVectorStore(vectors.store, guards.qdrant);
  const popularity = new PopularityMemory((ids) => guardedState.itemCounts(ids));
  const ranker = await Ranker.open(config.ranking, { state: guardedState, popularity, log: () => {} });
  const app = createApp({
    searcher,
    embedder: undefined,
    ranker,
    metrics,
    behavior: {
      state: guardedState,
      log: new GuardedEventLog(log.store, guards.kafka),
      feed: config.feed,
      config: config.behavior,
    },
    coupons: { ledger: new GuardedCouponLedger(ledger.store, guards.redis), adminKey: KEY },
    couponTargeting: config.coupons.targeting,
  });
  return { app, state, log, ledger, text, vectors, guards, popularity, metrics };
}

beforeEach(async () => {
  w = await world();
  vi.spyOn(console, 'error').mockImplementation(() => {});
  return () => vi.restoreAllMocks();
});

async function timed(req: () => Response | Promise<Response>) {
  const t0 = performance.now();
  const res = await req();
  const ms = performance.now() - t0;
  return { res, ms, body: (await res.json()) as Record<string, unknown> };
}
const get = (url: string) => timed(() => w.app.request(url));
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  timed(() =>
    w.app.request(url, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    }),
  );
const routes = (body: Record<string, unknown>) =>
  ((body.degraded ?? []) as Array<{ route: string }>).map((d) => d.route);

describe.each(['hang', 'fail'] as const)('Redis %s', (mode) => {
  it('an anonymous search never touches the state store or waits on it', async () => {
    w.state.mode = mode;
    for (let i = 0; i < 3; i++) {
      const r = await get('/v1/search?q=running+shoes&size=3');
      expect(r.res.status).toBe(200);
      expect(r.ms).toBeLessThan(WITHIN_MS);
      expect(routes(r.body)).not.toContain('shopper');
      expect(routes(r.body)).not.toContain('popularity');
    }
    // Only the popularity memory's background refresh went to the store, never a request.
    await w.popularity.settled();
    expect(w.state.calls).toBeLessThanOrEqual(1);
  });

  it('a personalised search falls back to the anonymous answer, degraded, within the budget', async () => {
    const anonymous = await get('/v1/search?q=running+shoes&size=3');
    w.state.mode = mode;
    const r = await get('/v1/search?q=running+shoes&size=3&user_id=u1');
    expect(r.res.status).toBe(200);
    expect(r.ms).toBeLessThan(WITHIN_MS);
    expect(routes(r.body)).toContain('shopper');
    expect((r.body.items as Array<{ id: string }>).map((i) => i.id)).toEqual(
      (anonymous.body.items as Array<{ id: string }>).map((i) => i.id),
    );
  });

  it('the feed and similar items answer degraded within the budget', async () => {
    w.state.mode = mode;
    for (const url of ['/v1/feed?user_id=u1&size=3', '/v1/products/p1/similar?size=3']) {
      const r = await get(url);
      expect(r.res.status, url).toBe(200);
      expect(r.ms, url).toBeLessThan(WITHIN_MS);
      expect(routes(r.body).length, url).toBeGreaterThan(0);
      expect((r.body.items as unknown[]).length, url).toBeGreaterThan(0);
    }
  });

  it('the coupon list and claims answer a quick 503 coupons_unavailable with Retry-After', async () => {
    w.state.mode = mode;
    w.ledger.mode = mode;
    const list = await get('/v1/coupons?user_id=u1');
    const claim = await post('/v1/coupons/c1/claim', { user_id: 'u1' }, { 'Idempotency-Key': `k-${mode}` });
    for (const r of [list, claim]) {
      expect(r.res.status).toBe(503);
      expect(r.ms).toBeLessThan(WITHIN_MS);
      expect(r.body).toMatchObject({ error: { code: 'coupons_unavailable' } });
      expect(Number(r.res.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(r.body)).not.toContain('10.0.0.7');
    }
  });

  it('pages degrade to no coupons when the ledger is down', async () => {
    w.ledger.mode = mode;
    const r = await get('/v1/search?q=running+shoes&size=3');
    expect(r.res.status).toBe(200);
    expect(r.ms).toBeLessThan(WITHIN_MS);
    expect(routes(r.body)).toContain('coupons');
  });

  it('after the breaker opens, calls fail at once without reaching the server', async () => {
    w.state.mode = mode;
    for (let i = 0; i < 3; i++) await get('/v1/feed?user_id=u1&size=3');
    expect(w.guards.redis.state).toBe('open');
    const before = w.state.calls;
    const r = await get('/v1/feed?user_id=u1&size=3');
    expect(r.res.status).toBe(200);
    expect(r.ms).toBeLessThan(BUDGET_MS + 500);
    expect(w.state.calls).toBe(before);
    const metrics = await w.metrics.registry.metrics();
    expect(metrics).toContain('shelf_dependency_breaker_state{dependency="redis"} 1');
    expect(metrics).toMatch(/shelf_dependency_failures_total\{dependency="redis",kind="open"\} [1-9]/);
  });
});

describe.each(['hang', 'fail'] as const)('Kafka %s', (mode) => {
  it('POST /v1/events answers 503 stream_unavailable with Retry-After within the budget', async () => {
    w.log.mode = mode;
    const r = await post('/v1/events', [
      { event_id: `k-${mode}`, type: 'view', user_id: 'u2', product_id: 'p1', ts: Date.now() },
    ]);
    expect(r.res.status).toBe(503);
    expect(r.ms).toBeLessThan(WITHIN_MS);
    expect(r.body).toMatchObject({ error: { code: 'stream_unavailable' } });
    expect(Number(r.res.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
  });

  it('a claim answers 503 within the budget, and its retry returns the same claim once Kafka is back', async () => {
    w.log.mode = mode;
    const key = `kafka-claim-${mode}`;
    const r = await post('/v1/coupons/c1/claim', { user_id: `u3-${mode}` }, { 'Idempotency-Key': key });
    expect(r.res.status).toBe(503);
    expect(r.ms).toBeLessThan(WITHIN_MS);
    expect(r.res.headers.get('Retry-After')).not.toBeNull();
    w = await world();
    const again = await post('/v1/coupons/c1/claim', { user_id: `u3-${mode}` }, { 'Idempotency-Key': key });
    expect(again.res.status).toBe(200);
    expect(again.res.headers.get('Idempotent-Replayed')).toBe('true');
  });
});

describe('Elasticsearch and Qdrant', () => {
  it('a search whose vector store hangs answers from BM25, degraded, within the budget', async () => {
    w.vectors.mode = 'hang';
    const r = await get('/v1/search?q=running+shoes&size=3');
    expect(r.res.status).toBe(200);
    expect(r.ms).toBeLessThan(WITHIN_MS);
    expect(routes(r.body)).toContain('vector');
    expect((r.body.items as unknown[]).length).toBeGreaterThan(0);
  });

  it('a search whose text store is down answers from the vectors, hydrated from the products it read before', async () => {
    await get('/v1/search?q=running+shoes&size=3');
    w.text.mode = 'fail';
    const r = await get('/v1/search?q=running+shoes&size=3');
    expect(r.res.status).toBe(200);
    expect(r.ms).toBeLessThan(WITHIN_MS);
    expect(routes(r.body)).toEqual(['bm25']);
    const items = r.body.items as Array<{ id: string; title: string }>;
    expect(items.length).toBeGreaterThan(0);
    for (const it of items) expect(SAMPLE_PRODUCTS.find((p) => p.id === it.id)?.title).toBe(it.title);
  });

  it('a search whose text store is down and that has nothing to show from memory is a 503', async () => {
    w.text.mode = 'fail';
    const r = await get('/v1/search?q=running+shoes&size=3');
    expect(r.res.status).toBe(503);
    expect(r.body).toMatchObject({ error: { code: 'search_unavailable' } });
  });

  it('a search neither store answers is a 503 search_unavailable with Retry-After, within the budget', async () => {
    w.text.mode = 'hang';
    w.vectors.mode = 'fail';
    const r = await get('/v1/search?q=running+shoes&size=3');
    expect(r.res.status).toBe(503);
    expect(r.ms).toBeLessThan(WITHIN_MS);
    expect(r.body).toMatchObject({ error: { code: 'search_unavailable' } });
    expect(Number(r.res.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
  });
});
