import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Subscription } from '../../behavior/event-log.ts';
import { KafkaCatalogChanges } from '../../behavior/kafka/catalog-changes.ts';
import { followCatalogChanges } from '../../indexer/follow-catalog.ts';
import { inspect } from '../../indexer/verify.ts';
import { collectionsWithPrefix, dropCollection } from '../../retrieval/index/qdrant/qdrant-aliases.ts';
import { qdrantClient } from '../../retrieval/index/qdrant/qdrant-vector-store.ts';
import { loadConfig } from '../../src/config.ts';
import { openService, type Service } from '../../src/service.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../helpers/catalog.ts';
import { HashEmbedder } from '../helpers/embedders.ts';
import { dropRedisNamespace, dropTopics, KAFKA_BROKERS, REDIS_URL } from './helpers/behavior-servers.ts';

/**
 * POST /v1/admin/catalog/changes in production: the service (Kafka configured) publishes the valid
 * lines on the catalog topic, and the indexer's follower applies them to Elasticsearch + Qdrant,
 * where the service's next searches find them. All on real servers.
 */
const node = process.env.ELASTICSEARCH_URL;
const qdrant = process.env.QDRANT_URL;
if (!node || !qdrant)
  throw new Error('ELASTICSEARCH_URL and QDRANT_URL must be set (scripts/test-integration.sh starts both)');

const KEY = 'catalog-it-admin-key-0123';
const namespace = `itcat${process.pid}${Math.random().toString(36).slice(2, 8)}`;
const embedder = new HashEmbedder();
let service: Service;
let follower: Subscription | undefined;
let topic: KafkaCatalogChanges | undefined;

beforeAll(async () => {
  const dir = tempDir();
  service = await openService(
    loadConfig({
      SHELF_DATA_DIR: path.join(dir, 'data'),
      SHELF_CATALOG: '',
      SHELF_CONSUMER: 'off',
      SHELF_ADMIN_API_KEY: KEY,
      SHELF_NAMESPACE: namespace,
      ELASTICSEARCH_URL: node,
      QDRANT_URL: qdrant,
      KAFKA_BROKERS: KAFKA_BROKERS.join(','),
      REDIS_URL,
    }),
    { embedder, catalog: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS), log: () => {} },
  );
});

afterAll(async () => {
  await follower?.stop();
  await topic?.close();
  await service?.close();
  const es = new Client({ node });
  await es.indices.delete({
    index: [`${namespace}-products*`, `${namespace}-locks`],
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  await es.close();
  const q = qdrantClient({ url: qdrant });
  for (const c of await collectionsWithPrefix(q, `${namespace}-products`)) await dropCollection(q, c);
  await dropTopics(namespace);
  await dropRedisNamespace(namespace);
});

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe(`catalog changes over HTTP → Kafka at ${KAFKA_BROKERS.join(',')} → Elasticsearch ${node} + Qdrant`, () => {
  it('publishes the valid lines on the catalog topic, and the follower applies them to both stores', async () => {
    expect(service.backend.kind).toBe('production');
    expect(service.catalogChanges.mode).toBe('published');
    const lines = [
      { op: 'update', product: { id: 'p1', price: 79, stock: 0 } },
      { op: 'update', product: { id: 'ghost', price: 1 } },
      { op: 'update', product: { id: 'p2', price: '1,299.00' } },
      { op: 'upsert', product: { id: 'n1', title: 'Trail Running Vest 5L', category: 'Sports/Running', price: 59 } },
      { op: 'update', product: { id: 'p3', title: 'Lodge Cast Iron Skillet 12 inch' } },
    ];
    const res = await service.app.request('/v1/admin/catalog/changes', {
      method: 'POST',
      body: lines.map((l) => JSON.stringify(l)).join('\n'),
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { mode: string; topic: string; accepted_ids: string[]; rejected: unknown[] };
    expect(body).toMatchObject({ mode: 'published', topic: `${namespace}.catalog`, accepted_ids: ['p1', 'n1', 'p3'] });
    expect(body.rejected).toMatchObject([
      { index: 1, line: 2, code: 'unknown_product' },
      { index: 2, line: 3, code: 'invalid_change', reason: 'product.price: expected a number, got "1,299.00"' },
    ]);

    // `npm run index -- --follow`: the topic into the served index.
    topic = await KafkaCatalogChanges.open({ brokers: KAFKA_BROKERS, namespace });
    const applied: number[] = [];
    const bad: string[] = [];
    follower = await followCatalogChanges({
      topic,
      group: `${namespace}-indexer`,
      dataDir: tempDir(),
      backend: service.backend,
      embedder,
      imageBase: tempDir(),
      onBatch: (s, b) => {
        applied.push(s.indexed);
        bad.push(...b.map((x) => x.reason));
      },
    });
    const find = async (q: string, id: string) => {
      const r = await service.app.request(`/v1/search?q=${encodeURIComponent(q)}&size=20`);
      return (
        (await r.json()) as { items: Array<{ id: string; price?: number; in_stock: boolean; title: string }> }
      ).items.find((i) => i.id === id);
    };
    await eventually(
      () => find('pegasus running shoes', 'p1'),
      (i) => i?.price === 79 && i.in_stock === false,
      'p1 at its new price, out of stock',
    );
    await eventually(
      () => find('trail running vest', 'n1'),
      (i) => i !== undefined,
      'the new product n1',
    );
    await eventually(
      () => find('skillet', 'p3'),
      (i) => i?.title === 'Lodge Cast Iron Skillet 12 inch',
      'p3 with its new title',
    );
    // The follower reports a batch after writing it, so a search can see the last change a moment
    // before its batch is counted (seen once in CI: 2 counted with all three visible).
    await eventually(
      async () => applied.reduce((a, b) => a + b, 0),
      (n) => n >= 3,
      'three changes counted',
    );
    expect(applied.reduce((a, b) => a + b, 0)).toBe(3);
    expect(bad).toEqual([]);
    // Both stores hold the same products at the same content hashes (p3 re-embedded, p1 not).
    const drift = await inspect(service.backend);
    expect(drift.consistent).toBe(true);
    expect(drift.text.count).toBe(SAMPLE_PRODUCTS.length + 1);
    const stored = await service.searcher.withSnapshot(async (s) => s!.text.get(['p2', 'ghost']));
    expect(stored.get('p2')?.price).toBe(180);
    expect(stored.has('ghost')).toBe(false);
  });
});
