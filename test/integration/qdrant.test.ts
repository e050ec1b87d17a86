import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { dropCollection } from '../../retrieval/index/qdrant/qdrant-aliases.ts';
import {
  IMAGE_VECTOR_NAME,
  qdrantClient,
  QdrantRequestError,
  QdrantVectorStore,
} from '../../retrieval/index/qdrant/qdrant-vector-store.ts';
import { qdrantSequenceIndexes, sequenceCollection } from '../../retrieval/index/qdrant/qdrant-sequence-items.ts';
import { hnswSequenceIndexes } from '../../retrieval/index/embedded/hnsw-sequence-items.ts';
import { SequenceConfigSchema, SequenceRecall } from '../../retrieval/recall/sequence-recall.ts';
import { normBound } from '../../retrieval/index/inner-product.ts';
import { ROOT } from '../../src/config.ts';
import { DEFAULT_SEQUENCE_MODEL_DIR } from '../../src/settings/schema.ts';
import { vectorStoreConformance } from '../conformance/stores.ts';
import { sequenceItemIndexConformance } from '../conformance/sequence-items.ts';

/**
 * The Qdrant adapter against a REAL Qdrant server (scripts/servers/qdrant.sh, or the one QDRANT_URL
 * names): the shared VectorStore conformance suite, and the Qdrant semantics the OpenAPI stand-in
 * (test/fakes/qdrant.ts) cannot show. QDRANT_API_KEY is passed through when present. Every test
 * uses its own collection and drops it afterwards.
 */
const url = process.env.QDRANT_URL;
if (!url) throw new Error('QDRANT_URL must be set (scripts/test-integration.sh starts Qdrant and sets it)');
const apiKey = process.env.QDRANT_API_KEY;
const client = qdrantClient({ url, apiKey });
const freshCollection = () => `shelf_it_${randomUUID().replace(/-/g, '')}`;
const DIM = 64; // HashEmbedder's dimension in the conformance suite.

vectorStoreConformance(`Qdrant at ${url}`, () => {
  const collection = freshCollection();
  const open = () => QdrantVectorStore.open({ url, ...(apiKey !== undefined && { apiKey }), collection, dim: DIM });
  return {
    open,
    reopen: async (store) => {
      await store.close();
      return open();
    },
    cleanup: () => dropCollection(client, collection),
  };
});

sequenceItemIndexConformance(`Qdrant at ${url}, named vector \`sequence\``, () => {
  const namespace = `shelf_it_${randomUUID().replace(/-/g, '')}`;
  return {
    indexes: () => qdrantSequenceIndexes({ client, namespace }),
    persistent: true,
    cleanup: () => qdrantSequenceIndexes({ client, namespace }).retire!([]),
  };
});

describe(`the shipped sequence model's item embeddings in Qdrant at ${url}`, () => {
  it('fills one collection per model version once, serves what hnswlib serves, projects new products, drops old versions', async () => {
    const namespace = `shelf_it_${randomUUID().replace(/-/g, '')}`;
    const indexes = qdrantSequenceIndexes({ client, namespace });
    const cfg = SequenceConfigSchema.parse({ model_dir: DEFAULT_SEQUENCE_MODEL_DIR, refresh_ms: 0 });
    const meta = JSON.parse(fs.readFileSync(path.join(DEFAULT_SEQUENCE_MODEL_DIR, 'metadata.json'), 'utf8')) as {
      version: string;
      items: number;
      text_projection: { embedder_id: string; text_dim: number };
    };
    const tv = JSON.parse(fs.readFileSync(path.join(DEFAULT_SEQUENCE_MODEL_DIR, 'test_vectors.json'), 'utf8')) as {
      projection: { text: number[][] };
    };
    const catalog = {
      generation: 'g1',
      missing: async (known: (id: string) => boolean) => ({
        embedderId: meta.text_projection.embedder_id,
        vectors: new Map<string, Float32Array>(
          known('NEW-1') ? [] : [['NEW-1', Float32Array.from(tv.projection.text[0]!)]],
        ),
      }),
    };
    // An older version's collection, left by a previous deploy; and one in the earlier Dot layout.
    const stale = await indexes.open('sequence-old', 4, 1, 10);
    const older = `${namespace}-sequence-sequence-dot-layout`;
    await client.createCollection(older, { vectors: { sequence: { size: 4, distance: 'Dot' } } });
    await stale.upsert(['x'], [Float32Array.from([1, 0, 0, 0])]);
    const onQdrant = await SequenceRecall.open(cfg, { indexes, catalog, log: () => {} });
    const inMemory = await SequenceRecall.open(cfg, { indexes: hnswSequenceIndexes(), catalog, log: () => {} });
    try {
      expect(onQdrant.status).toMatchObject({ active: true, model_version: meta.version, projected: 1 });
      const name = sequenceCollection(namespace, onQdrant.model!.indexKey);
      const info = await client.getCollection(name);
      // The Euclidean layout (retrieval/index/sequence-items.ts): one more dimension, M in the metadata.
      expect(info.config.params.vectors).toMatchObject({
        sequence: { distance: 'Euclid', size: onQdrant.model!.dim + 1 },
      });
      expect((info.config as { metadata?: Record<string, unknown> }).metadata).toMatchObject({
        shelf_sequence_norm_bound: normBound(onQdrant.model!.table, onQdrant.model!.dim),
      });
      expect((await client.collectionExists(older)).exists).toBe(false);
      expect((await client.count(name, { exact: true })).count).toBe(meta.items + 1);
      expect((await client.collectionExists(sequenceCollection(namespace, 'sequence-old'))).exists).toBe(false);
      // The same answers as the embedded index (the model's inner product, exact on both at this size).
      const history = onQdrant.model!.itemIds.slice(0, 3);
      const a = await onQdrant.recall(history, 10);
      const b = await inMemory.recall(history, 10);
      expect(a.map((h) => h.id)).toEqual(b.map((h) => h.id));
      a.forEach((h, i) => expect(h.score).toBeCloseTo(b[i]!.score, 4));
      expect((await onQdrant.neighbours('NEW-1', 5)).map((h) => h.id)).toEqual(
        (await inMemory.neighbours('NEW-1', 5)).map((h) => h.id),
      );
      // Another instance on the same version reuses the filled collection.
      const second = await SequenceRecall.open(cfg, { indexes, catalog, log: () => {} });
      try {
        expect(second.status.active).toBe(true);
        expect((await client.count(name, { exact: true })).count).toBe(meta.items + 1);
        expect(await second.recall(history, 10)).toEqual(a);
      } finally {
        await second.close();
      }
    } finally {
      await onQdrant.close();
      await inMemory.close();
      await indexes.retire!([]);
    }
  }, 60_000);
});

describe(`Qdrant at ${url}: what only a real server shows`, () => {
  const created: string[] = [];
  const collection = () => {
    const name = freshCollection();
    created.push(name);
    return name;
  };
  afterEach(async () => {
    for (const c of created.splice(0)) await dropCollection(client, c);
  });
  const product = (id: string) => ({ id, title: id, in_stock: true });
  const vec = (...xs: number[]) => Float32Array.from(xs);

  it('runs the Qdrant version docker-compose.yml pins', async () => {
    const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image: string }>;
    };
    const pinned = compose.services['qdrant']!.image.replace(/^qdrant\/qdrant:v/, '');
    expect((await client.versionInfo()).version).toBe(pinned);
  });

  it("errors carry Qdrant's reason and status, not only the HTTP status text", async () => {
    const missing = freshCollection();
    const search = QdrantVectorStore.attach(client, missing, 4).search(vec(1, 0, 0, 0), 3);
    await expect(search).rejects.toThrow(
      new RegExp(`Qdrant query: 404 Not found: Collection \`${missing}\` doesn't exist`),
    );
    await expect(search).rejects.toBeInstanceOf(QdrantRequestError);
    await expect(search).rejects.toMatchObject({ status: 404 });

    // The image store only sets vectors on points the text store wrote: Qdrant refuses the rest.
    const name = collection();
    const vectors = { text: 4, [IMAGE_VECTOR_NAME]: 4 };
    const image = await QdrantVectorStore.open({
      url,
      client,
      collection: name,
      dim: 4,
      vector: IMAGE_VECTOR_NAME,
      collectionVectors: vectors,
    });
    await expect(image.upsert([{ product: product('nobody'), hash: 'h', vector: vec(1, 0, 0, 0) }])).rejects.toThrow(
      /Qdrant updateVectors: 404 Not found: No point with id [0-9a-f-]{36} found/,
    );
  });

  it("a text write keeps the point's image vector (upsert replaces every named vector otherwise)", async () => {
    const name = collection();
    const collectionVectors = { text: 4, [IMAGE_VECTOR_NAME]: 3 };
    const common = { url, client, collection: name, collectionVectors };
    const text = await QdrantVectorStore.open({ ...common, dim: 4 });
    const image = await QdrantVectorStore.open({ ...common, dim: 3, vector: IMAGE_VECTOR_NAME });
    await text.upsert([
      { product: product('a'), hash: 'h1', vector: vec(1, 0, 0, 0) },
      { product: product('b'), hash: 'h1', vector: vec(0, 1, 0, 0) },
    ]);
    await image.upsert([{ product: product('a'), hash: 'h1', vector: vec(0, 0, 1) }]);

    await text.upsert([
      { product: { ...product('a'), title: 'a2' }, hash: 'h2', vector: vec(0, 0, 1, 0) },
      { product: product('b'), hash: 'h2', vector: vec(0, 0, 0, 1) },
    ]);
    expect(await image.count()).toBe(1);
    expect([...(await image.vectorsOf(['a', 'b'])).keys()]).toEqual(['a']);
    expect((await image.search(vec(0, 0, 1), 5)).map((h) => h.id)).toEqual(['a']);
    expect((await text.search(vec(0, 0, 1, 0), 1)).map((h) => h.id)).toEqual(['a']);
    expect(await text.hashes()).toEqual(
      new Map([
        ['a', 'h2'],
        ['b', 'h2'],
      ]),
    );
  });

  it('survives Qdrant closing an idle keep-alive connection while the event loop was busy', async () => {
    // Qdrant drops idle connections after 5 s; the client pools them for 10 s. A request sent on
    // one before the event loop has read the close used to fail with "fetch failed".
    const fresh = qdrantClient({ url, apiKey });
    await fresh.getCollections();
    const until = Date.now() + 6_000;
    while (Date.now() < until); // a long synchronous stretch (an embedding, an exact scan)
    await expect(fresh.getCollections()).resolves.toHaveProperty('collections');
  }, 20_000);

  it('gets uncompressed search answers: a compressed one over 1 KiB stalls ~40 ms (Nagle + delayed ACK)', async () => {
    const text = await QdrantVectorStore.open({ url, client, collection: collection(), dim: 4 });
    const n = 40; // 40 hits with their UUIDs and product ids: a ~4 KiB answer
    await text.upsert(
      Array.from({ length: n }, (_, i) => ({ product: product(`p${i}`), hash: 'h', vector: vec(1, i / n, 0, 1) })),
    );
    // Qdrant does compress this answer for a client that accepts gzip (what Node's fetch sends by default)...
    const res = await fetch(`${url}/collections/${text.collection}/points/query`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'accept-encoding': 'gzip, deflate',
        ...(apiKey !== undefined && { 'api-key': apiKey }),
      },
      body: JSON.stringify({ query: [1, 0, 0, 1], using: 'text', limit: n, with_payload: ['product_id'] }),
    });
    await res.arrayBuffer();
    expect(res.headers.get('content-encoding')).toBe('gzip');
    // ...and the adapter's client asks for, and gets, the plain one.
    const encodings: Array<string | undefined> = [];
    const onHeaders = (message: unknown) => {
      const { request, response } = message as { request: { path: string }; response: { headers: Buffer[] } };
      if (!request.path.endsWith('/points/query')) return;
      const raw = response.headers.map((b) => b.toString());
      const i = raw.findIndex((h, j) => j % 2 === 0 && h.toLowerCase() === 'content-encoding');
      encodings.push(i >= 0 ? raw[i + 1] : undefined);
    };
    diagnostics.subscribe('undici:request:headers', onHeaders);
    try {
      expect(await text.search(vec(1, 0, 0, 1), n)).toHaveLength(n);
    } finally {
      diagnostics.unsubscribe('undici:request:headers', onHeaders);
    }
    expect(encodings).toEqual([undefined]);
  });

  it('stores cosine vectors normalised: vectorsOf returns unit length, and scores are cosines', async () => {
    const text = await QdrantVectorStore.open({ url, client, collection: collection(), dim: 4 });
    await text.upsert([{ product: product('a'), hash: 'h', vector: vec(3, 0, 0, 4) }]);
    expect(Array.from((await text.vectorsOf(['a'])).get('a')!)).toEqual([
      expect.closeTo(0.6, 6),
      0,
      0,
      expect.closeTo(0.8, 6),
    ]);
    expect((await text.search(vec(2, 0, 0, 0), 1))[0]!.score).toBeCloseTo(0.6, 6);
  });
});
