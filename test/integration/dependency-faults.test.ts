import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaEventLog } from '../../behavior/kafka/kafka-event-log.ts';
import { collectionsWithPrefix, dropCollection } from '../../retrieval/index/qdrant/qdrant-aliases.ts';
import { qdrantClient } from '../../retrieval/index/qdrant/qdrant-vector-store.ts';
import { ROOT, loadConfig } from '../../src/config.ts';
import { openService, type Service } from '../../src/service.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../helpers/catalog.ts';
import { HashEmbedder } from '../helpers/embedders.ts';
import { LIMITS_OFF_ENV } from '../helpers/limits.ts';

/**
 * Dependency budgets against the real servers: each of Redis, Kafka, Elasticsearch and Qdrant is
 * stopped, and frozen (SIGSTOP: the socket stays open and nothing answers, the case no client
 * timeout catches), while requests of every kind keep coming. Every answer must come within the
 * budget, none may be a 500, every 503 says Retry-After, and what each surface promises holds
 * (anonymous search never waits on Redis; an event acknowledged during a Kafka outage is on the
 * stream afterwards). Each server is resumed or restarted in a `finally` and checked healthy, so
 * the test files after this one find it as they expect.
 */
const brokers = process.env.KAFKA_BROKERS;
const redisUrl = process.env.REDIS_URL;
const esUrl = process.env.ELASTICSEARCH_URL;
const qdrantUrl = process.env.QDRANT_URL;
if (!brokers || !redisUrl || !esUrl || !qdrantUrl)
  throw new Error(
    'KAFKA_BROKERS, REDIS_URL, ELASTICSEARCH_URL and QDRANT_URL must be set (scripts/test-integration.sh starts them)',
  );

type Server = 'redis' | 'kafka' | 'elasticsearch' | 'qdrant';
const BUDGETS: Record<Server, number> = { redis: 200, kafka: 1000, elasticsearch: 1000, qdrant: 1000 };
/**
 * The most one request may take: the budgets it can spend one after the other (search: the text
 * and vector routes side by side, hydration, coupon definitions and stock; a claim: the shopper's
 * state, the ledger, the stream), plus a second for this shared 2-core machine. Before the
 * budgets, a frozen server held requests for the whole outage.
 */
const LIMIT_MS = 2 * BUDGETS.elasticsearch + 3 * BUDGETS.redis + BUDGETS.kafka + 1000;
const FAULT_MS = 4000;
const KEY = 'integration-admin-key-0123456789';

const ns = `faults${Date.now().toString(36)}`;
let service: Service;
let seq = 0;

/**
 * The server scripts, run asynchronously: the service under test lives in this process, and a
 * synchronous child process would stall its event loop (and every timer of every budget) for as
 * long as the script runs.
 */
const run = promisify(execFile);
const script = async (server: Server, cmd: 'start' | 'stop' | 'status') =>
  (await run(path.join(ROOT, 'scripts/servers', `${server}.sh`), [cmd], { encoding: 'utf8', timeout: 180_000 })).stdout;
const pidOf = async (server: Server): Promise<number> => {
  const m = /pid=(\d+)/.exec(await script(server, 'status'));
  if (!m) throw new Error(`${server}: no pid in its status line`);
  return Number(m[1]);
};

interface Answer {
  kind: string;
  status: number;
  ms: number;
  body: Record<string, unknown>;
  retryAfter: string | null;
  /** Sent while the fault was on (between the fault and the repair). */
  during: boolean;
}

const request = async (kind: string, url: string, init?: RequestInit): Promise<Omit<Answer, 'during'>> => {
  const t0 = performance.now();
  const res = await service.app.request(url, init);
  const ms = performance.now() - t0;
  const body = (await res.json()) as Record<string, unknown>;
  return { kind, status: res.status, ms, body, retryAfter: res.headers.get('Retry-After') };
};
const postJson = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});

/** One request of each kind the service answers, round after round. */
const mix: Array<() => Promise<Omit<Answer, 'during'>>> = [
  () => request('anonymous search', '/v1/search?q=running+shoes&size=3'),
  () => request('personalised search', '/v1/search?q=running+shoes&size=3&user_id=u1'),
  () => request('feed', '/v1/feed?user_id=u1&size=3'),
  () => request('similar', '/v1/products/p1/similar?size=3'),
  () => request('coupons', '/v1/coupons?user_id=u1'),
  () =>
    request(
      'events',
      '/v1/events',
      postJson([{ event_id: `${ns}-e${++seq}`, type: 'view', user_id: 'u1', product_id: 'p2', ts: Date.now() }]),
    ),
  () =>
    request(
      'claim',
      '/v1/coupons/c1/claim',
      postJson({ user_id: `claimer-${++seq}` }, { 'Idempotency-Key': `${ns}-k${seq}` }),
    ),
];

/**
 * Runs the mix with `concurrency` loops while `fault` is applied FAULT_MS in, held, then repaired;
 * returns every answer. The repair always runs, and the server is checked healthy after it.
 */
interface Fault {
  apply(): Promise<void>;
  repair(): Promise<void>;
}

async function underFault(fault: Fault, concurrency = 3): Promise<Answer[]> {
  const answers: Answer[] = [];
  let during = false;
  let running = true;
  const loops = Array.from({ length: concurrency }, async (_, l) => {
    for (let i = l; running; i++) {
      const a = await mix[i % mix.length]!();
      answers.push({ ...a, during });
    }
  });
  try {
    await sleep(1500);
    during = true;
    await fault.apply();
    await sleep(FAULT_MS);
  } finally {
    await fault.repair();
    during = false;
    // Traffic goes on a moment past the repair: the way back must be within budget too.
    await sleep(1000);
    running = false;
    await Promise.all(loops);
  }
  return answers;
}

const freeze = (server: Server): Fault => {
  let pid = 0;
  return {
    apply: async () => {
      pid = await pidOf(server);
      process.kill(pid, 'SIGSTOP');
    },
    repair: async () => {
      if (pid) process.kill(pid, 'SIGCONT');
    },
  };
};
const stop = (server: Server): Fault => ({
  apply: async () => void (await script(server, 'stop')),
  repair: async () => void (await script(server, 'start')),
});

/** Until the service answers normally again: the server is back and its breaker closed. */
async function recovered(server: Server): Promise<void> {
  const deadline = Date.now() + 90_000;
  let last = '';
  while (Date.now() < deadline) {
    const ready = await request('readyz', '/readyz');
    const probe =
      server === 'kafka'
        ? await request(
            'events',
            '/v1/events',
            postJson([
              { event_id: `${ns}-probe${++seq}`, type: 'view', user_id: 'u9', product_id: 'p2', ts: Date.now() },
            ]),
          )
        : await request('search', '/v1/search?q=running+shoes&size=3&user_id=u1');
    if (ready.status === 200 && probe.status === 200 && probe.body.degraded === undefined) {
      if (server === 'kafka') await topicsCreatable();
      return;
    }
    last = JSON.stringify({ ready: ready.status, probe: probe.status, body: probe.body });
    await sleep(500);
  }
  throw new Error(`the service did not recover from the ${server} fault within 90 s: ${last}`);
}

/**
 * A restarted broker serves its topics before it can create new ones ("This server does not host
 * this topic-partition" for a while): the test files after this one create theirs, so wait for it.
 */
async function topicsCreatable(): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 60; i++) {
    try {
      const log = await KafkaEventLog.open({ brokers: brokers!.split(','), namespace: `${ns}-probe${i}` });
      await log.close();
      return;
    } catch (err) {
      last = err;
      await sleep(1000);
    }
  }
  throw new Error(`Kafka cannot create topics 60 s after its restart: ${(last as Error).message}`);
}

/** `allowed`: answers excused from the 200-or-503 rule only (never from a 500, the time limit or Retry-After). */
function expectWithinBudget(answers: Answer[], server: string, allowed: (a: Answer) => boolean = () => false): void {
  const during = answers.filter((a) => a.during);
  const max = Math.max(...answers.map((a) => a.ms));
  const p50 = during.map((a) => a.ms).sort((x, y) => x - y)[Math.floor(during.length / 2)] ?? 0;
  const count = (f: (a: Answer) => boolean) => during.filter(f).length;
  console.log(
    `[budgets] ${server}: ${answers.length} answers (${during.length} during the fault: ` +
      `${count((a) => a.status === 200 && a.body.degraded === undefined)} 200, ` +
      `${count((a) => a.status === 200 && a.body.degraded !== undefined)} 200 degraded, ` +
      `${count((a) => a.status === 503)} 503), p50 during ${Math.round(p50)} ms, max ${Math.round(max)} ms (limit ${LIMIT_MS})`,
  );
  // Which kinds took longest: the first place to look when a budget is not kept.
  const slow = [...answers].sort((x, y) => y.ms - x.ms).slice(0, 5);
  console.log(
    `[budgets] ${server} slowest: ${slow.map((a) => `${a.kind} ${a.status} ${Math.round(a.ms)} ms`).join(', ')}`,
  );
  expect(answers.filter((a) => a.during).length, 'requests answered during the fault').toBeGreaterThan(5);
  for (const a of answers) {
    const what = `${server}: ${a.kind} → ${a.status} in ${Math.round(a.ms)} ms ${JSON.stringify(a.body).slice(0, 200)}`;
    expect(a.status, what).not.toBe(500);
    if (!allowed(a)) expect([200, 503], what).toContain(a.status);
    expect(a.ms, what).toBeLessThan(LIMIT_MS);
    if (a.status === 503) expect(Number(a.retryAfter), what).toBeGreaterThanOrEqual(1);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const of = (answers: Answer[], kind: string) => answers.filter((a) => a.kind === kind);

beforeAll(async () => {
  const dir = tempDir();
  const env: Record<string, string> = {
    SHELF_DATA_DIR: path.join(dir, 'data'),
    SHELF_CATALOG: '',
    KAFKA_BROKERS: brokers,
    REDIS_URL: redisUrl,
    ELASTICSEARCH_URL: esUrl,
    QDRANT_URL: qdrantUrl,
    SHELF_NAMESPACE: ns,
    SHELF_CONSUMER: 'off',
    SHELF_ADMIN_API_KEY: KEY,
    SHELF_COUPON_CACHE_MS: '0',
    // The budgets are under test, not the limits: three loops of every request kind, some held by
    // a frozen server, would otherwise be shed.
    ...LIMITS_OFF_ENV,
  };
  for (const [server, ms] of Object.entries(BUDGETS)) {
    const p = `SHELF__BACKENDS__BUDGETS__${server.toUpperCase()}__`;
    env[`${p}TIMEOUT_MS`] = String(ms);
    env[`${p}CONSECUTIVE_FAILURES`] = '3';
    env[`${p}HALF_OPEN_AFTER_MS`] = '1000';
  }
  // A broker started moments ago may not create topics yet (see topicsCreatable).
  await topicsCreatable();
  service = await openService(loadConfig(env), {
    embedder: new HashEmbedder(),
    catalog: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS),
    log: () => {},
  });
  // The engines' first queries are slow (JIT, caches): warm them so a slow start is not a fault.
  for (let i = 0; i < 5; i++) await request('warm', '/v1/search?q=running+shoes&size=3&user_id=u1');
}, 120_000);

afterAll(async () => {
  await service?.close();
  const es = new Client({ node: esUrl });
  await es.indices.delete({
    index: [`${ns}-products*`, `${ns}-locks`],
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  await es.close();
  const q = qdrantClient({ url: qdrantUrl });
  for (const c of await collectionsWithPrefix(q, `${ns}-products`)) await dropCollection(q, c);
}, 60_000);

/** The coupon the claims take (defined again after a Redis restart, which keeps no data). */
async function defineCoupon(): Promise<void> {
  const res = await service.app.request('/v1/admin/coupons/c1', {
    method: 'PUT',
    body: JSON.stringify({
      name: 'ten off',
      type: 'fixed',
      value: 10,
      valid_from: Date.now() - 86_400_000,
      valid_until: Date.now() + 86_400_000,
      stock: 1_000_000,
    }),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
  });
  expect(res.status).toBeLessThan(300);
}

describe.each([
  ['freeze', freeze],
  ['stop', stop],
] as const)('dependency budgets: %s each real server mid-traffic', (how, fault) => {
  it(`Redis (${how}): anonymous search unaffected, the rest degraded or a quick 503, never a 500`, async () => {
    await defineCoupon();
    await request('warm', '/v1/search?q=running+shoes&size=3');
    // The test's Redis keeps no data (scripts/servers/redis.sh): a restarted one has lost the coupon
    // until the next test defines it again, so a claim after the restart is rightly told the coupon
    // does not exist (404). A shop's Redis persists its data; that 404 is the test server's.
    const answers = await underFault(fault('redis'));
    await recovered('redis');
    expectWithinBudget(
      answers,
      `redis ${how}`,
      (a) =>
        how === 'stop' &&
        a.kind === 'claim' &&
        a.status === 404 &&
        (a.body.error as { code?: string } | undefined)?.code === 'coupon_not_found',
    );
    for (const a of of(answers, 'anonymous search')) {
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      // Coupons on the page read the ledger (in Redis): they may be left off, nothing else may.
      const routes = ((a.body.degraded ?? []) as Array<{ route: string }>).map((d) => d.route);
      expect(routes.filter((r) => r !== 'coupons')).toEqual([]);
    }
    const personalised = of(answers, 'personalised search').filter((a) => a.during && a.body.degraded);
    expect(personalised.length).toBeGreaterThan(0);
    for (const a of of(answers, 'personalised search')) expect(a.status).toBe(200);
    for (const a of of(answers, 'feed')) expect(a.status).toBe(200);
    const claims = of(answers, 'claim').filter((a) => a.status === 503);
    for (const a of claims) expect((a.body.error as { code: string }).code).toBe('coupons_unavailable');
  }, 240_000);

  it(`Kafka (${how}): events and claims answer a quick 503, and nothing acknowledged is lost`, async () => {
    await defineCoupon();
    const answers = await underFault(fault('kafka'));
    await recovered('kafka');
    expectWithinBudget(answers, `kafka ${how}`);
    for (const kind of ['anonymous search', 'personalised search', 'feed', 'similar'])
      for (const a of of(answers, kind)) expect(a.status, kind).toBe(200);
    expect(of(answers, 'events').filter((a) => a.during && a.status === 503).length).toBeGreaterThan(0);
    // Every event the service acknowledged is on the stream, outage or not.
    const acked = new Set(
      of(answers, 'events')
        .filter((a) => a.status === 200)
        .flatMap((a) => a.body.accepted_ids as string[]),
    );
    expect(acked.size).toBeGreaterThan(0);
    const log = await KafkaEventLog.open({ brokers: brokers.split(','), namespace: ns });
    const seen = new Set<string>();
    const sub = await log.consume({ group: `${ns}-check-${how}-${Date.now()}`, fromBeginning: true }, async (batch) => {
      for (const r of batch) seen.add((JSON.parse(r.value) as { event_id: string }).event_id);
    });
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && [...acked].some((id) => !seen.has(id))) await sleep(250);
    } finally {
      await sub.stop();
      await log.close();
    }
    expect([...acked].filter((id) => !seen.has(id))).toEqual([]);
  }, 240_000);

  it(`Elasticsearch (${how}): search answers from the vectors or a quick 503, the feed still answers`, async () => {
    await defineCoupon();
    const answers = await underFault(fault('elasticsearch'));
    await recovered('elasticsearch');
    expectWithinBudget(answers, `elasticsearch ${how}`);
    const degraded = of(answers, 'anonymous search').filter(
      (a) => a.during && a.status === 200 && JSON.stringify(a.body.degraded ?? []).includes('bm25'),
    );
    expect(degraded.length).toBeGreaterThan(0);
  }, 240_000);

  it(`Qdrant (${how}): search answers from BM25, degraded, never a 500`, async () => {
    await defineCoupon();
    const answers = await underFault(fault('qdrant'));
    await recovered('qdrant');
    expectWithinBudget(answers, `qdrant ${how}`);
    const searches = of(answers, 'anonymous search').filter((a) => a.during);
    for (const a of searches) expect(a.status).toBe(200);
    expect(searches.some((a) => JSON.stringify(a.body.degraded ?? []).includes('vector'))).toBe(true);
  }, 240_000);
});

describe('/readyz during an outage', () => {
  it('answers 503 within its 2 s check while Redis is frozen, and 200 once it is back', async () => {
    const f = freeze('redis');
    await f.apply();
    try {
      const r = await request('readyz', '/readyz');
      expect(r.status).toBe(503);
      expect(r.ms).toBeLessThan(3000);
      expect(r.body.dependencies).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'redis', ok: false })]),
      );
    } finally {
      await f.repair();
    }
    await recovered('redis');
    expect((await request('readyz', '/readyz')).status).toBe(200);
  }, 120_000);
});
