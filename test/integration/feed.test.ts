import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openService, type Service } from '../../src/service.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../helpers/catalog.ts';
import { HashEmbedder } from '../helpers/embedders.ts';

/**
 * The whole behaviour path on the production engines: events through real Kafka, the consumer
 * thread folding them into real Redis, the feed reading Redis. Same assertions as the embedded
 * API test, so both back ends are held to one behaviour.
 */
const brokers = process.env.KAFKA_BROKERS;
const redisUrl = process.env.REDIS_URL;
if (!brokers || !redisUrl)
  throw new Error('KAFKA_BROKERS and REDIS_URL must be set (scripts/test-integration.sh starts both)');

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
    SHELF_NAMESPACE: ns,
    SHELF_RANK: 'off',
    SHELF_MMR_FEED_ENABLED: 'false',
  });
  service = await openService(config, { embedder: new HashEmbedder(), catalog });
}, 120_000);
afterAll(async () => service?.close());

describe('feed on Kafka + Redis', () => {
  it('runs the stream on Kafka and the state in Redis', () => {
    expect(service.behavior.log.kind).toBe('kafka');
    expect(service.behavior.state.kind).toBe('redis');
    expect(service.dependencies.map((d) => d.name)).toEqual(expect.arrayContaining(['kafka', 'redis']));
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
