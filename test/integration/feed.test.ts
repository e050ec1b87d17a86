import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionsWithPrefix, dropCollection } from '../../retrieval/index/qdrant/qdrant-aliases.ts';
import { qdrantClient } from '../../retrieval/index/qdrant/qdrant-vector-store.ts';
import { loadConfig } from '../../src/config.ts';
import { openService, type Service } from '../../src/service.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../helpers/catalog.ts';
import { HashEmbedder } from '../helpers/embedders.ts';

/**
 * The whole behaviour path on the production engines: events through real Kafka, the consumer
 * thread folding them into real Redis, the feed reading Redis, and the index in Elasticsearch +
 * Qdrant, whose vectors the feed's vector routes and similar items read. Same assertions as the
 * embedded API test, so both back ends are held to one behaviour.
 */
const brokers = process.env.KAFKA_BROKERS;
const redisUrl = process.env.REDIS_URL;
const esUrl = process.env.ELASTICSEARCH_URL;
const qdrantUrl = process.env.QDRANT_URL;
if (!brokers || !redisUrl || !esUrl || !qdrantUrl)
  throw new Error(
    'KAFKA_BROKERS, REDIS_URL, ELASTICSEARCH_URL and QDRANT_URL must be set (scripts/test-integration.sh starts them)',
  );

let service: Service;
const ns = `feedit${Date.now().toString(36)}`;
const T0 = Date.now();
let seq = 0;
const ev = (e: Record<string, unknown>) => ({ event_id: `${ns}-e${++seq}`, ts: T0 + seq, ...e });
const post = (pathname: string, body: unknown) =>
  service.app.request(pathname, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

async function settle(): Promise<void> {
  const id = `${ns}-e${seq}`;
  for (let i = 0; i < 500; i++) {
    if ((await service.behavior.state.applied([id])).has(id)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`consumer did not apply ${id} within 10 s`);
}

beforeAll(async () => {
  const dir = tempDir();
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
  ]);
  const config = loadConfig({
    SHELF_DATA_DIR: path.join(dir, 'data'),
    SHELF_CATALOG: '',
    KAFKA_BROKERS: brokers,
    REDIS_URL: redisUrl,
    ELASTICSEARCH_URL: esUrl,
    QDRANT_URL: qdrantUrl,
    SHELF_NAMESPACE: ns,
    SHELF_RANK: 'off',
    SHELF_MMR_FEED_ENABLED: 'false',
  });
  service = await openService(config, { embedder: new HashEmbedder(), catalog });
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
});

describe('feed on Kafka + Redis, index on Elasticsearch + Qdrant', () => {
  it('runs the stream on Kafka, the state in Redis and the index on Elasticsearch + Qdrant', () => {
    expect(service.behavior.log.kind).toBe('kafka');
    expect(service.behavior.state.kind).toBe('redis');
    expect(service.dependencies.map((d) => d.name)).toEqual(
      expect.arrayContaining(['kafka', 'redis', 'elasticsearch', 'qdrant']),
    );
  });

  it('similar items are the nearest neighbours in Qdrant, without the product itself', async () => {
    const res = await service.app.request('/v1/products/p1/similar?size=3&debug=true');
    expect(res.status).toBe(200);
    const body = await res.json();
    const ids = body.items.map((i: { id: string }) => i.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).not.toContain('p1');
    // p2 is the other running shoe: the closest title to p1's in the sample catalog.
    expect(ids).toContain('p2');
    const missing = await service.app.request('/v1/products/nope/similar');
    expect(missing.status).toBe(404);
  });

  it('reacts to a click with co-clicked items, and leaves the clicked one out', async () => {
    for (const u of ['a', 'b', 'c'])
      await post('/v1/events', [
        ev({ type: 'click', user_id: `${ns}${u}`, product_id: 'p1' }),
        ev({ type: 'click', user_id: `${ns}${u}`, product_id: 'p9' }),
      ]);
    await settle();
    await post('/v1/events', [ev({ type: 'click', user_id: `${ns}new`, product_id: 'p1' })]);
    await settle();
    const res = await service.app.request(`/v1/feed?user_id=${ns}new&size=5&debug=true`);
    const body = await res.json();
    expect(body.cold_start).toBe(false);
    expect(body.items[0].id).toBe('p9');
    expect(body.items[0].routes.itemcf.rank).toBe(1);
    expect(body.items.map((i: { id: string }) => i.id)).not.toContain('p1');
    // The shopper's vector, built from p1's vector read back from Qdrant, found items too.
    expect(body.items.some((i: { routes: Record<string, unknown> }) => i.routes['uservector'] !== undefined)).toBe(
      true,
    );
  });

  it('applies a redelivered batch once', async () => {
    const batch = [ev({ type: 'click', user_id: `${ns}dup`, product_id: 'p3' })];
    for (let i = 0; i < 3; i++) await post('/v1/events', batch);
    await post('/v1/events', [ev({ type: 'impression', user_id: `${ns}sentinel`, product_id: 'p8' })]);
    await settle();
    const user = (await service.behavior.state.getUsers([`u:${ns}dup`])).get(`u:${ns}dup`)!;
    expect(user.counts.click).toBe(1);
    expect((await service.behavior.state.itemCounts(['p3'])).get('p3')).toBe(1);
  });

  it('links a session to its user', async () => {
    await post('/v1/events', [ev({ type: 'click', session_id: `${ns}s1`, product_id: 'p7' })]);
    await post('/v1/events', [ev({ type: 'identify', session_id: `${ns}s1`, user_id: `${ns}carol` })]);
    await settle();
    const body = await (await service.app.request(`/v1/feed?session_id=${ns}s1&size=3`)).json();
    expect(body.subject).toBe(`u:${ns}carol`);
  });
});

describe('start-up', () => {
  it('fails fast, naming the server, when Redis is unreachable', async () => {
    const config = loadConfig({
      SHELF_DATA_DIR: tempDir(),
      SHELF_CATALOG: '',
      KAFKA_BROKERS: brokers,
      REDIS_URL: 'redis://127.0.0.1:1',
      SHELF_NAMESPACE: `${ns}x`,
    });
    await expect(openService(config, { embedder: new HashEmbedder() })).rejects.toThrow(
      /Redis unreachable at redis:\/\/127\.0\.0\.1:1/,
    );
  });

  it('fails fast, naming Qdrant, when Qdrant is unreachable and Elasticsearch is not', async () => {
    const config = loadConfig({
      SHELF_DATA_DIR: tempDir(),
      SHELF_CATALOG: '',
      KAFKA_BROKERS: brokers,
      REDIS_URL: redisUrl,
      ELASTICSEARCH_URL: esUrl,
      QDRANT_URL: 'http://127.0.0.1:1',
      SHELF_NAMESPACE: `${ns}z`,
    });
    const opening = openService(config, { embedder: new HashEmbedder() });
    await expect(opening).rejects.toThrow(/unreachable: qdrant \(.+\)/);
    await expect(opening).rejects.not.toThrow(/elasticsearch \(/);
  }, 60_000);

  it('fails fast, naming the brokers, when Kafka is unreachable', async () => {
    const config = loadConfig({
      SHELF_DATA_DIR: tempDir(),
      SHELF_CATALOG: '',
      KAFKA_BROKERS: '127.0.0.1:1',
      REDIS_URL: redisUrl,
      SHELF_NAMESPACE: `${ns}y`,
    });
    await expect(openService(config, { embedder: new HashEmbedder() })).rejects.toThrow(
      /Kafka brokers unreachable \(127\.0\.0\.1:1\)/,
    );
  }, 60_000);
});
