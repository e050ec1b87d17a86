import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../behavior/embedded/sqlite-state-store.ts';
import { applyBatch } from '../../behavior/consumer.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { loadConfig } from '../config.ts';
import { openService, type Service } from '../service.ts';

let service: Service;
let dataDir: string;
const T0 = Date.now();
let seq = 0;

beforeAll(async () => {
  const dir = tempDir();
  dataDir = path.join(dir, 'data');
  const catalog = writeJsonl(path.join(dir, 'c.jsonl'), [
    ...SAMPLE_PRODUCTS,
    {
      id: 'p9',
      title: 'Garmin Forerunner 55 Running Watch',
      category: 'Sports/Electronics/Watches',
      brand: 'Garmin',
      price: 199,
      in_stock: true,
    },
    {
      id: 'p10',
      title: 'Running Socks 3-Pack',
      category: 'Sports/Footwear/Socks',
      brand: 'Balega',
      price: 15,
      in_stock: false,
    },
  ]);
  // Ranking and diversity off: these tests pin down recall and fusion; ranking and MMR have their own tests (ranking/, diversity/).
  service = await openService(
    loadConfig({
      SHELF_DATA_DIR: dataDir,
      SHELF_CATALOG: '',
      SHELF_RANK: 'off',
      SHELF_MMR_FEED_ENABLED: 'false',
      SHELF_MMR_SEARCH_ENABLED: 'false',
    }),
    { embedder: new HashEmbedder(), catalog },
  );
});
afterAll(async () => service?.close());

type Ev = Record<string, unknown>;
const ev = (e: Ev): Ev => ({ event_id: `e${++seq}`, ts: T0 + seq, ...e });
const post = (pathname: string, body: unknown) =>
  service.app.request(pathname, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
const feed = async (query: string) => {
  const res = await service.app.request(`/v1/feed?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as {
    items: Array<{ id: string; routes?: Record<string, { rank: number }> }>;
    cold_start: boolean;
    subject: string;
  };
};

/** Waits until the in-process consumer has applied the newest event made so far (it applies in order). */
async function settle(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await service.behavior.state.applied([`e${seq}`])).has(`e${seq}`)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('consumer did not catch up');
}

describe('POST /v1/events', () => {
  it('accepts the valid events of a batch and lists each rejected one with its index and reason', async () => {
    const res = await post('/v1/events', {
      events: [
        ev({ type: 'view', user_id: 'v1', product_id: 'p1' }),
        { type: 'click', user_id: 'v1' },
        ev({ type: 'click', session_id: 's', product_id: 'p2', colour: 'red' }),
      ],
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accepted).toBe(1);
    expect(body.rejected.map((r: { index: number; field: string }) => [r.index, r.field])).toEqual([
      [1, 'event_id'],
      [2, 'colour'],
    ]);
  });

  it('rejects bad bodies with a 4xx and appends nothing', async () => {
    const before = (await service.behavior.state.itemCounts(['p3'])).get('p3') ?? 0;
    expect((await post('/v1/events', 'not json')).status).toBe(400);
    expect((await post('/v1/events', { events: [] })).status).toBe(400);
    expect((await post('/v1/events', { nope: 1 })).status).toBe(400);
    const tooMany = Array.from({ length: 1001 }, () => ev({ type: 'view', user_id: 'x', product_id: 'p3' }));
    const r413 = await post('/v1/events', { events: tooMany });
    expect(r413.status).toBe(413);
    expect((await r413.json()).error.code).toBe('batch_too_large');
    const allBad = await post('/v1/events', [{ type: 'view', user_id: 'x', product_id: 'p3', ts: 1 }]);
    expect(allBad.status).toBe(400);
    expect((await allBad.json()).error.code).toBe('no_valid_events');
    await post('/v1/events', [ev({ type: 'impression', user_id: 'sentinel', product_id: 'p8' })]);
    await settle();
    expect((await service.behavior.state.itemCounts(['p3'])).get('p3') ?? 0).toBe(before);
  });
});

describe('GET /v1/feed', () => {
  it('reacts to a click: co-clicked and similar items appear, with the routes that found them', async () => {
    // Other shoppers who clicked shoes went on to the watch.
    for (const u of ['a', 'b', 'c']) {
      await post('/v1/events', [
        ev({ type: 'click', user_id: u, product_id: 'p1' }),
        ev({ type: 'click', user_id: u, product_id: 'p9' }),
      ]);
    }
    await settle();
    const before = await feed('user_id=newbie&size=5&debug=true');
    expect(before.cold_start).toBe(true);

    await post('/v1/events', [ev({ type: 'click', user_id: 'newbie', product_id: 'p1' })]);
    await settle();
    const after = await feed('user_id=newbie&size=5&debug=true');
    expect(after.cold_start).toBe(false);
    expect(after.items[0]!.id).toBe('p9');
    expect(after.items[0]!.routes!.itemcf!.rank).toBe(1);
    // The product just clicked is not recommended back.
    expect(after.items.map((i) => i.id)).not.toContain('p1');
  });

  it('leaves out purchased, recently shown and out-of-stock items', async () => {
    await post('/v1/events', [
      ev({ type: 'click', user_id: 'buyer', product_id: 'p2' }),
      ev({ type: 'purchase', user_id: 'buyer', product_id: 'p9' }),
      ev({ type: 'impression', user_id: 'buyer', product_id: 'p5' }),
    ]);
    await settle();
    const ids = (await feed('user_id=buyer&size=10')).items.map((i) => i.id);
    expect(ids.length).toBeGreaterThan(0);
    for (const gone of ['p9', 'p5', 'p10', 'p4']) expect(ids).not.toContain(gone);
  });

  it('counts a session for its user once identified', async () => {
    await post('/v1/events', [ev({ type: 'click', session_id: 'anon-1', product_id: 'p7' })]);
    await post('/v1/events', [ev({ type: 'identify', session_id: 'anon-1', user_id: 'carol' })]);
    await settle();
    const viaSession = await feed('session_id=anon-1&size=3');
    expect(viaSession.subject).toBe('u:carol');
    const user = (await service.behavior.state.getUsers(['u:carol'])).get('u:carol')!;
    expect(user.recent.map((r) => r.id)).toContain('p7');
  });

  it('gives a new anonymous shopper the best-sellers of the page category', async () => {
    // Kitchen sells (p3), sports sells more (p1, p9): on a kitchen page the category route leads.
    await post('/v1/events', [
      ev({ type: 'purchase', user_id: 'k1', product_id: 'p3' }),
      ev({ type: 'click', user_id: 'k2', product_id: 'p3' }),
      ev({ type: 'click', user_id: 'k3', product_id: 'p1' }),
    ]);
    await settle();
    const body = await feed('session_id=first-visit&category=Home%20%26%20Kitchen&size=5&debug=true');
    expect(body.cold_start).toBe(true);
    expect(body.items.map((i) => i.id)).toEqual(['p3']);
    expect(body.items[0]!.routes!.category!.rank).toBe(1);
  });

  it('validates its parameters', async () => {
    for (const [q, code] of [
      ['size=5', 'missing_subject'],
      ['user_id=u&size=0', 'invalid_parameter'],
      ['user_id=u&colour=red', 'unknown_parameter'],
    ] as const) {
      const res = await service.app.request(`/v1/feed?${q}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error.code).toBe(code);
    }
    const res = await post('/v1/feed', { user_id: 'u', context: { category: 'Sports' }, exclude: ['p1'], size: 3 });
    expect(res.status).toBe(200);
  });
});

describe('behaviour state', () => {
  it('does not double count a redelivered batch', async () => {
    const batch = [
      ev({ type: 'click', user_id: 'dup', product_id: 'p3' }),
      ev({ type: 'click', user_id: 'dup', product_id: 'p8' }),
    ];
    await post('/v1/events', batch);
    await settle();
    const counts = await service.behavior.state.itemCounts(['p3', 'p8']);
    await post('/v1/events', batch);
    await post('/v1/events', batch);
    await post('/v1/events', [ev({ type: 'impression', user_id: 'sentinel', product_id: 'p8' })]);
    await settle();
    expect(await service.behavior.state.itemCounts(['p3', 'p8'])).toEqual(counts);
    const user = (await service.behavior.state.getUsers(['u:dup'])).get('u:dup')!;
    expect(user.counts.click).toBe(2);
  });

  it('dead-letters a malformed stream message and keeps consuming', async () => {
    await service.behavior.log.appendRaw([
      { value: '{not json' },
      { value: JSON.stringify({ event_id: 'z', type: 'warp' }) },
    ]);
    await post('/v1/events', [ev({ type: 'view', user_id: 'after-poison', product_id: 'p3' })]);
    await settle();
    const dead = await service.behavior.state.deadLetters(10);
    expect(dead.map((d) => d.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^not JSON/), expect.stringMatching(/type/)]),
    );
    expect((await service.behavior.state.getUsers(['u:after-poison'])).has('u:after-poison')).toBe(true);
  });

  it('rebuilds the same state when the stream is replayed from the start', async () => {
    const replica = new SqliteStateStore({ file: path.join(dataDir, 'replay.sqlite'), trendingHalfLifeMs: 86_400_000 });
    const sub = await service.behavior.log.consume({ group: 'replay-test', fromBeginning: true }, async (batch) => {
      await applyBatch(batch, {
        state: replica,
        items: (await import('../../behavior/index-items.ts')).indexItems(service.searcher),
        config: loadConfig({}).behavior,
      });
    });
    const subjects = ['u:newbie', 'u:buyer', 'u:carol', 's:anon-1', 'u:dup', 'u:a'];
    for (let i = 0; i < 200; i++) {
      if ((await replica.applied([`e${seq}`])).has(`e${seq}`)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await sub.stop();
    const live = await service.behavior.state.getUsers(subjects);
    const rebuilt = await replica.getUsers(subjects);
    // Versions count commits, which depend on how the stream was batched; the state does not.
    const strip = (m: Map<string, { version: number }>) => new Map([...m].map(([k, v]) => [k, { ...v, version: 0 }]));
    expect(rebuilt.size).toBe(subjects.length);
    expect(strip(rebuilt)).toEqual(strip(live));
    // Trending scores are decayed to the moment of reading, so compare them relative to the top one.
    const relative = (hits: Array<{ id: string; score: number }>) =>
      hits.map((h) => [h.id, +(h.score / hits[0]!.score).toFixed(9)]);
    expect(relative(await replica.trending('', 20))).toEqual(relative(await service.behavior.state.trending('', 20)));
    expect(await replica.cooccurring('p1', 20)).toEqual(await service.behavior.state.cooccurring('p1', 20));
    await replica.close();
  });
});

describe('GET /v1/products/:id/similar', () => {
  it('returns neighbours without the product itself, and 404 for an unknown one', async () => {
    const res = await service.app.request('/v1/products/p1/similar?size=3&debug=true');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.items.length).toBeGreaterThan(0);
    expect(body.items.map((i: { id: string }) => i.id)).not.toContain('p1');
    expect(body.items[0].routes).toBeDefined();
    const missing = await service.app.request('/v1/products/nope/similar');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('product_not_found');
  });
});
