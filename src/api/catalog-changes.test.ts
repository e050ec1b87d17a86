import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { FailingEmbedder, HashEmbedder } from '../../test/helpers/embedders.ts';
import { LIMITS_OFF_ENV } from '../../test/helpers/limits.ts';
import { DirectCatalogChanges } from '../../indexer/change-batch.ts';
import { EmbeddedBackend } from '../../retrieval/index/embedded/embedded-backend.ts';
import type { IndexBackend, IndexWriter } from '../../retrieval/index/index-backend.ts';
import type { TextEmbedder } from '../../core/embedding/embedder.ts';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { openService, type Service } from '../service.ts';
import { MAX_CHANGES_PER_BATCH } from './catalog-changes.ts';

/**
 * POST /v1/admin/catalog/changes on the embedded back end, through the whole service: the lines
 * go through the indexer into a new generation that the very next request is answered from.
 */

const KEY = 'catalog-test-admin-key-0123';
let service: Service;
let dataDir: string;

beforeAll(async () => {
  const dir = tempDir('shelf-catalog-api-');
  dataDir = path.join(dir, 'data');
  service = await openService(
    loadConfig({
      SHELF_DATA_DIR: dataDir,
      SHELF_CATALOG: '',
      SHELF_CONSUMER: 'inline',
      SHELF_ADMIN_API_KEY: KEY,
      SHELF__SERVICE__BODY_LIMITS__CATALOG: String(64 * 1024),
      // Concurrent calls and searches below: not shed by the in-flight limit of a small machine.
      ...LIMITS_OFF_ENV,
    }),
    { embedder: new HashEmbedder(), catalog: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS) },
  );
});
afterAll(async () => service?.close());

const post = (body: string, type = 'application/x-ndjson', key: string | null = KEY) =>
  service.app.request('/v1/admin/catalog/changes', {
    method: 'POST',
    body,
    headers: { 'content-type': type, ...(key !== null && { authorization: `Bearer ${key}` }) },
  });
const ndjson = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

interface Item {
  id: string;
  price?: number;
  in_stock: boolean;
}
async function find(q: string, id: string): Promise<Item | undefined> {
  const res = await service.app.request(`/v1/search?q=${encodeURIComponent(q)}&size=20`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Item[] }).items.find((i) => i.id === id);
}
async function stored(id: string) {
  return service.searcher.withSnapshot(async (snap) => (await snap!.text.get([id])).get(id));
}

describe('POST /v1/admin/catalog/changes (embedded)', () => {
  it('applies a price update that the next search shows, without re-embedding', async () => {
    expect((await find('pegasus running shoes', 'p1'))?.price).toBe(120);
    const before = service.searcher.generation;
    const res = await post(ndjson([{ op: 'update', product: { id: 'p1', price: 99.5, stock: 0 } }]));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      mode: 'applied',
      accepted: 1,
      accepted_ids: ['p1'],
      rejected: [],
      indexed: 1,
      embedded: 0,
      phases_ms: {
        lock: expect.any(Number),
        read: expect.any(Number),
        embed: expect.any(Number),
        write: expect.any(Number),
        commit: expect.any(Number),
        serve: expect.any(Number),
      },
    });
    expect(body.generation).not.toBe(before);
    expect(service.searcher.generation).toBe(body.generation);
    // The very next request, no refresh wait: the new price and the stock it implies.
    expect(await find('pegasus running shoes', 'p1')).toMatchObject({ price: 99.5, in_stock: false });
    const similar = await service.app.request('/v1/products/p2/similar?size=10');
    expect(similar.status).toBe(200);
    // Out of stock now: similar items leave it out, as every list does.
    expect(((await similar.json()) as { items: Item[] }).items.map((i) => i.id)).not.toContain('p1');
    expect(await stored('p1')).toMatchObject({ title: SAMPLE_PRODUCTS[0]!.title, price: 99.5, stock: 0 });
  });

  it('reports an unknown id and creates nothing; a bad row is rejected with every error while the good rows apply', async () => {
    const res = await post(
      JSON.stringify([
        { op: 'update', product: { id: 'p3', price: 19 } },
        { op: 'update', product: { id: 'nope-1', price: 5 } },
        { op: 'update', product: { id: 'p2', price: '1,299.00', stock: -1 } },
        { op: 'upsert', product: { id: 'p9', title: 'Hydro Flask Water Bottle 32 oz', price: 45 } },
        { op: 'rename', product: { id: 'p4' } },
        { op: 'delete', product: { id: 'p6' } },
      ]),
      'application/json',
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: number; accepted_ids: string[]; rejected: unknown[] };
    expect(body.accepted).toBe(3);
    expect(body.accepted_ids).toEqual(['p3', 'p9', 'p6']);
    expect(body.rejected).toEqual([
      {
        index: 1,
        id: 'nope-1',
        code: 'unknown_product',
        field: 'product.id',
        reason: 'product.id: no product "nope-1" in the index; an update never creates one',
      },
      {
        index: 2,
        id: 'p2',
        code: 'invalid_change',
        field: 'product.price',
        reason: expect.stringMatching(/^product\.price: expected a number, got "1,299\.00"; product\.stock: .*-1/),
      },
      { index: 4, id: 'p4', code: 'invalid_change', field: 'op', reason: expect.stringMatching(/^op: /) },
    ]);
    expect(await stored('nope-1')).toBeUndefined();
    expect((await stored('p3'))?.price).toBe(19);
    expect((await stored('p2'))?.price).toBe(180);
    expect(await stored('p9')).toMatchObject({ title: 'Hydro Flask Water Bottle 32 oz' });
    expect(await stored('p6')).toBeUndefined();
  });

  it('numbers NDJSON rejections by position and body line; a batch with no valid line is a 400 listing them', async () => {
    const res = await post('{"op":"update","product":{"id":"p3","price":1}}\n\n{"op":"update",\n');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rejected: unknown[] };
    expect(body.rejected).toEqual([
      { index: 1, line: 3, code: 'invalid_json', field: '(line)', reason: expect.stringMatching(/^invalid JSON/) },
    ]);
    const none = await post(ndjson([{ op: 'update', product: { id: 'ghost', price: 1 } }]));
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({
      error: { code: 'no_valid_changes', field: 'changes' },
      accepted: 0,
      rejected: [{ index: 0, code: 'unknown_product' }],
    });
  });

  it('answers 409 at once, applying nothing, while another indexer process holds the lock', async () => {
    const lock = path.join(dataDir, 'indexer.lock');
    fs.writeFileSync(lock, '1'); // pid 1 is alive: another indexer run
    try {
      const t0 = performance.now();
      const res = await post(ndjson([{ op: 'update', product: { id: 'p3', price: 7 } }]));
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(res.status).toBe(409);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toEqual({
        error: { code: 'indexer_busy', message: expect.stringMatching(/another indexer \(pid 1\)/) },
      });
      expect((await stored('p3'))?.price).not.toBe(7);
      expect(fs.readFileSync(lock, 'utf8')).toBe('1'); // still the other run's
    } finally {
      fs.rmSync(lock, { force: true });
    }
    const retry = await post(ndjson([{ op: 'update', product: { id: 'p3', price: 7 } }]));
    expect(retry.status).toBe(200);
    expect((await stored('p3'))?.price).toBe(7);
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('answers 409 at once while another run of this process holds the writer lock (one lock: lockWriter)', async () => {
    const held = await service.backend.lockWriter();
    try {
      const res = await post(ndjson([{ op: 'update', product: { id: 'p3', price: 8 } }]));
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('indexer_busy');
      expect((await stored('p3'))?.price).not.toBe(8);
    } finally {
      await held.release();
    }
    expect((await post(ndjson([{ op: 'update', product: { id: 'p3', price: 8 } }]))).status).toBe(200);
    expect((await stored('p3'))?.price).toBe(8);
  });

  it('runs concurrent calls one after the other and keeps answering searches meanwhile', async () => {
    const calls = [11, 12, 13].map((price) => post(ndjson([{ op: 'update', product: { id: 'p3', price } }])));
    const searches = [1, 2, 3].map(() => service.app.request('/v1/search?q=skillet'));
    const done = await Promise.all([...calls, ...searches]);
    expect(done.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect((await stored('p3'))?.price).toBe(13);
  });

  /** An app whose catalog changes go straight through the indexer into `backend`, embedding with `embedder`. */
  const directApp = (backend: IndexBackend, embedder: TextEmbedder) =>
    createApp({
      searcher: service.searcher,
      embedder: undefined,
      catalog: {
        adminKey: KEY,
        changes: new DirectCatalogChanges({ dataDir, backend, embedder, imageBase: dataDir }),
      },
    });

  it('answers 503 index_unavailable, applying nothing, when the embedder fails on a text change', async () => {
    const broken = directApp(service.backend, new FailingEmbedder(0));
    const res = await broken.request('/v1/admin/catalog/changes', {
      method: 'POST',
      body: ndjson([{ op: 'update', product: { id: 'p4', title: 'Nike Dri-FIT Running Tee' } }]),
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('index_unavailable');
    expect((await stored('p4'))?.title).toBe('Nike Dri-FIT Running T-Shirt');
    expect(fs.existsSync(path.join(dataDir, 'indexer.lock'))).toBe(false);
  });

  it('answers 503 index_unavailable, applying nothing and releasing the lock, when the index write fails', async () => {
    class BrokenWrites extends EmbeddedBackend {
      override async beginWrite(): Promise<IndexWriter> {
        throw new Error('ENOSPC: no space left on device');
      }
    }
    const broken = directApp(new BrokenWrites(dataDir), new HashEmbedder());
    const before = (await stored('p4'))?.price;
    const res = await broken.request('/v1/admin/catalog/changes', {
      method: 'POST',
      body: ndjson([{ op: 'update', product: { id: 'p4', price: 3.5 } }]),
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${KEY}` },
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('index_unavailable');
    expect((await stored('p4'))?.price).toBe(before);
    expect(fs.existsSync(path.join(dataDir, 'indexer.lock'))).toBe(false);
    // The service's own sink takes the lock again at once.
    expect((await post(ndjson([{ op: 'update', product: { id: 'p4', price: 3.5 } }]))).status).toBe(200);
    expect((await stored('p4'))?.price).toBe(3.5);
  });

  it('refuses what is not a batch with the standard error shape', async () => {
    const code = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    expect(
      await code(await post(ndjson([{ op: 'delete', product: { id: 'p1' } }]), 'application/x-ndjson', null)),
    ).toEqual([401, 'unauthorized']);
    expect(await code(await post(''))).toEqual([400, 'invalid_body']);
    expect(await code(await post('[1,', 'application/json'))).toEqual([400, 'invalid_json']);
    expect(await code(await post('{"op":"delete"}', 'application/json'))).toEqual([400, 'invalid_body']);
    expect(await code(await post('op=delete', 'application/x-www-form-urlencoded'))).toEqual([
      415,
      'unsupported_media_type',
    ]);
    const many = '{"op":"delete","product":{"id":"x"}}\n'.repeat(MAX_CHANGES_PER_BATCH + 1);
    // Over the 64 KiB this service allows: refused by size before it is read.
    expect(await code(await post(many))).toEqual([413, 'payload_too_large']);
    // Under the default limit (32 MiB): counted, and refused without applying any of it.
    const roomy = createApp({
      searcher: service.searcher,
      embedder: undefined,
      catalog: { changes: service.catalogChanges, adminKey: KEY },
    });
    const res = await roomy.request('/v1/admin/catalog/changes', {
      method: 'POST',
      body: many,
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${KEY}` },
    });
    expect(await code(res)).toEqual([413, 'batch_too_large']);
  });
});
