import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeQdrant, OPENAPI_PATH, OpenApiContract, type JsonObject } from '../../../test/fakes/qdrant.ts';
import type { Product } from '../../../core/catalog/product.ts';
import { compileFilter, filterPayload } from '../stores.ts';
import type { Filters } from '../types.ts';
import { aliasTarget, collectionsWithPrefix, dropCollection, swapAlias } from './qdrant-aliases.ts';
import {
  PAYLOAD_INDEXES,
  QDRANT_CLIENT_HEADERS,
  qdrantClient,
  QdrantVectorStore,
  UPSERT_BATCH,
  categoryPrefixes,
  pointId,
  qdrantFilter,
  uuidV5,
} from './qdrant-vector-store.ts';

/**
 * Contract tests for the Qdrant adapter, runnable without a Qdrant server, against the
 * OpenAPI-validating stand-in in test/fakes/qdrant.ts (every request body and canned response
 * is checked against the published schema).
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function product(id: string, extra: Partial<Product> = {}): Product {
  return { id, title: `Product ${id}`, in_stock: true, ...extra } as Product;
}

function unit(values: number[]): Float32Array {
  const n = Math.hypot(...values);
  return Float32Array.from(values.map((v) => v / n));
}

/** Every operation the adapter calls, as [operationId, method, path template]. */
const USED_OPERATIONS: Array<[string, string, string]> = [
  ['collection_exists', 'GET', '/collections/{collection_name}/exists'],
  ['get_collection', 'GET', '/collections/{collection_name}'],
  ['create_collection', 'PUT', '/collections/{collection_name}'],
  ['create_field_index', 'PUT', '/collections/{collection_name}/index'],
  ['upsert_points', 'PUT', '/collections/{collection_name}/points'],
  ['delete_points', 'POST', '/collections/{collection_name}/points/delete'],
  ['query_points', 'POST', '/collections/{collection_name}/points/query'],
  ['scroll_points', 'POST', '/collections/{collection_name}/points/scroll'],
  ['count_points', 'POST', '/collections/{collection_name}/points/count'],
  // Stored vectors of given products: the feed's user vectors and "similar items" read them.
  ['get_points', 'POST', '/collections/{collection_name}/points'],
  // The image store: sets and removes the `image` vector of existing points.
  ['update_vectors', 'PUT', '/collections/{collection_name}/points/vectors'],
  ['delete_vectors', 'POST', '/collections/{collection_name}/points/vectors/delete'],
  // The production back end's rebuild switch and clean-up (qdrant-aliases.ts), and its health check.
  ['update_aliases', 'POST', '/collections/aliases'],
  ['get_collections_aliases', 'GET', '/aliases'],
  ['get_collections', 'GET', '/collections'],
  ['delete_collection', 'DELETE', '/collections/{collection_name}'],
  ['root', 'GET', '/'],
];
const BODILESS = [
  'collection_exists',
  'get_collection',
  'get_collections_aliases',
  'get_collections',
  'delete_collection',
  'root',
];

describe('Qdrant OpenAPI description', () => {
  it('loads, and every operation the adapter uses exists with compilable request and response schemas', () => {
    const contract = new OpenApiContract(OPENAPI_PATH);
    expect(contract.doc['openapi']).toMatch(/^3\./);
    expect((contract.doc['info'] as JsonObject)['version']).toMatch(/^v?1\.19\./);
    expect(contract.ops.length).toBeGreaterThan(50);
    for (const [operationId, method, template] of USED_OPERATIONS) {
      const op = contract.byId(operationId);
      expect(op, operationId).toBeDefined();
      expect([op!.method, op!.template]).toEqual([method, template]);
      expect(contract.find(method, template.replace('{collection_name}', 'shelf_products'))?.op.operationId).toBe(
        operationId,
      );
      expect(typeof contract.responseValidator(op!)).toBe('function');
      const hasBody = !BODILESS.includes(operationId);
      expect(contract.requestValidator(op!) !== undefined, operationId).toBe(hasBody);
    }
  });
});

describe('QdrantVectorStore against the OpenAPI contract', () => {
  const contract = new OpenApiContract(OPENAPI_PATH);
  const fake = new FakeQdrant(contract);
  const DIM = 4;
  const open = (dim = DIM, collection = 'shelf_test') => QdrantVectorStore.open({ url: fake.url, collection, dim });

  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());
  afterEach(() => {
    // Every request body and every canned response matched its OpenAPI schema.
    expect(fake.errors).toEqual([]);
  });

  it('the validating server rejects bodies that break the schema (it is not vacuous)', async () => {
    const res = await fetch(`${fake.url}/collections/shelf_test/points/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: [1, 0],
        limit: 'ten',
        filter: { must: [{ key: 'brand_key', match: { value: { nested: true } } }] },
      }),
    });
    await res.text();
    expect(fake.errors.length).toBe(1);
    expect(fake.errors[0]).toMatch(/query_points request/);
    fake.errors.length = 0;
    await (
      await fetch(`${fake.url}/collections/shelf_test/points?wait=maybe&fast=1`, {
        method: 'PUT',
        body: '{"points":[]}',
      })
    ).text();
    expect(fake.errors).toEqual([
      expect.stringMatching(/query wait=maybe/),
      expect.stringMatching(/undeclared query parameter fast/),
    ]);
    fake.errors.length = 0;
    const bad = contract.responseValidator(contract.byId('query_points')!);
    expect(bad({ status: 'ok', time: 0, result: { points: [{ id: 'x', score: 1 }] } })).toBe(false); // version missing
  });

  it('creates the collection with the named cosine vector and every payload index', async () => {
    await open();
    expect(fake.ops()).toEqual([
      'collection_exists',
      'create_collection',
      ...PAYLOAD_INDEXES.map(() => 'create_field_index'),
    ]);
    const create = fake.requests[1]!;
    expect(create.path).toBe('/collections/shelf_test');
    expect(create.body).toEqual({ vectors: { text: { size: DIM, distance: 'Cosine' } } });
    expect(fake.requests.slice(2).map((r) => [r.body, r.query['wait']])).toEqual([
      [{ field_name: 'product_id', field_schema: 'keyword' }, 'true'],
      [{ field_name: 'category_prefixes', field_schema: 'keyword' }, 'true'],
      [{ field_name: 'brand_key', field_schema: 'keyword' }, 'true'],
      [{ field_name: 'price', field_schema: 'float' }, 'true'],
      [{ field_name: 'in_stock', field_schema: 'bool' }, 'true'],
    ]);
  });

  it('reuses an existing collection of the same dimension without recreating it or its indexes', async () => {
    await open();
    fake.requests.length = 0;
    await open();
    expect(fake.ops()).toEqual(['collection_exists', 'get_collection']);
    // A collection missing one index gets only that one.
    fake.collections.get('shelf_test')!.indexes.delete('price');
    fake.requests.length = 0;
    await open();
    expect(fake.ops()).toEqual(['collection_exists', 'get_collection', 'create_field_index']);
    expect(fake.requests[2]!.body).toEqual({ field_name: 'price', field_schema: 'float' });
  });

  it('refuses an existing collection of another dimension, naming both', async () => {
    await open(8);
    await expect(open(4)).rejects.toThrow(/dimension 8.*dimension 4/);
    expect(fake.ops().filter((o) => o === 'create_collection')).toHaveLength(1);
  });

  it('refuses an existing collection without the named vector', async () => {
    await open();
    fake.collections.get('shelf_test')!.vectors = { image: DIM };
    await expect(open()).rejects.toThrow(/no named vector "text"/);
  });

  it('upserts in batches of 256 with wait=true, deterministic UUID ids and the filter payload', async () => {
    const store = await open();
    fake.requests.length = 0;
    const points = Array.from({ length: 600 }, (_, i) => ({
      product: product(`p${i}`, {
        category: 'Sports/Footwear/Running Shoes',
        brand: ' Nike ',
        price: i,
        in_stock: i % 2 === 0,
      }),
      hash: `h${i}`,
      vector: unit([1, i, 0, 1]),
    }));
    await store.upsert(points);
    expect(fake.ops()).toEqual(['upsert_points', 'upsert_points', 'upsert_points']);
    expect(fake.requests.map((r) => r.body.points.length)).toEqual([
      UPSERT_BATCH,
      UPSERT_BATCH,
      600 - 2 * UPSERT_BATCH,
    ]);
    expect(fake.requests.every((r) => r.query['wait'] === 'true' && r.method === 'PUT')).toBe(true);
    const first = fake.requests[0]!.body.points[0];
    expect(first.id).toBe(pointId('p0'));
    expect(first.id).toMatch(UUID_RE);
    expect(first.vector.text).toHaveLength(DIM);
    expect(first.payload).toEqual({
      product_id: 'p0',
      hash: 'h0',
      category_key: 'sports/footwear/running shoes',
      category_prefixes: ['sports', 'sports/footwear', 'sports/footwear/running shoes'],
      brand_key: 'nike',
      price: 0,
      in_stock: true,
    });
    // Optional fields are left out rather than sent as null.
    fake.requests.length = 0;
    await store.upsert([{ product: product('bare'), hash: 'hb', vector: unit([0, 0, 1, 0]) }]);
    expect(fake.requests[0]!.body.points[0].payload).toEqual({ product_id: 'bare', hash: 'hb', in_stock: true });
    expect(await store.count()).toBe(601);
  });

  it('rejects vectors of the wrong dimension before sending anything', async () => {
    const store = await open();
    fake.requests.length = 0;
    await expect(
      store.upsert([{ product: product('x'), hash: 'h', vector: new Float32Array(DIM + 1) }]),
    ).rejects.toThrow(/dimension/);
    await expect(store.search(new Float32Array(DIM + 1), 3)).rejects.toThrow(/dimension/);
    expect(fake.requests).toEqual([]);
  });

  describe('search', () => {
    const catalog: Product[] = [
      product('a', { category: 'Sports/Footwear', brand: 'Nike', price: 120, in_stock: true }),
      product('b', { category: 'Sports/Outdoor', brand: 'Adidas', price: 80, in_stock: false }),
      product('c', { category: 'Electronics/Audio', brand: 'Sony', price: 300, in_stock: true }),
      product('d', { category: 'Sportswear', brand: 'NIKE', in_stock: true }),
    ];
    const vectors: Record<string, number[]> = {
      a: [1, 0, 0, 0],
      b: [0.9, 0.1, 0, 0],
      c: [0, 1, 0, 0],
      d: [0.5, 0.5, 0, 0],
    };
    let store: QdrantVectorStore;
    beforeEach(async () => {
      store = await open();
      await store.upsert(catalog.map((p) => ({ product: p, hash: `h-${p.id}`, vector: unit(vectors[p.id]!) })));
      fake.requests.length = 0;
    });

    it('queries the named vector with limit k, product ids only in the payload, and parses the points', async () => {
      const hits = await store.search(unit([1, 0, 0, 0]), 2);
      expect(fake.ops()).toEqual(['query_points']);
      expect(fake.requests[0]!.body).toEqual({
        query: [1, 0, 0, 0],
        using: 'text',
        limit: 2,
        with_payload: ['product_id'],
        with_vector: false,
      });
      expect(hits.map((h) => h.id)).toEqual(['a', 'b']);
      expect(hits[0]!.score).toBeCloseTo(1, 6);
      expect(await store.search(unit([1, 0, 0, 0]), 0)).toEqual([]);
    });

    const cases: Array<[string, Filters, unknown]> = [
      [
        'category prefix',
        { category: ' sports/ ' },
        { must: [{ key: 'category_prefixes', match: { value: 'sports' } }] },
      ],
      ['brand', { brand: 'NIKE' }, { must: [{ key: 'brand_key', match: { value: 'nike' } }] }],
      ['price_min', { price_min: 100 }, { must: [{ key: 'price', range: { gte: 100 } }] }],
      ['price_max', { price_max: 100 }, { must: [{ key: 'price', range: { lte: 100 } }] }],
      ['in_stock', { in_stock: false }, { must: [{ key: 'in_stock', match: { value: false } }] }],
    ];
    for (const [name, filters, expected] of cases) {
      it(`sends a schema-valid filter for ${name}`, async () => {
        const hits = await store.search(unit([1, 0, 0, 0]), 10, filters);
        expect(fake.requests[0]!.body.filter).toEqual(expected);
        // The naive canned answer agrees with the reference semantics on this tiny catalog.
        const pass = compileFilter(filters);
        expect(hits.map((h) => h.id).sort()).toEqual(
          catalog
            .filter((p) => pass(filterPayload(p)))
            .map((p) => p.id)
            .sort(),
        );
      });
    }

    it('combines category prefix, brand, price range and in_stock into one must filter', async () => {
      await store.search(unit([1, 0, 0, 0]), 5, {
        category: 'Sports/Footwear',
        brand: ' Nike',
        price_min: 100,
        price_max: 150,
        in_stock: true,
      });
      expect(fake.requests[0]!.body.filter).toEqual({
        must: [
          { key: 'category_prefixes', match: { value: 'sports/footwear' } },
          { key: 'brand_key', match: { value: 'nike' } },
          { key: 'price', range: { gte: 100, lte: 150 } },
          { key: 'in_stock', match: { value: true } },
        ],
      });
    });

    it('sends no filter when every filter field is undefined', async () => {
      await store.search(unit([1, 0, 0, 0]), 5, { brand: undefined });
      expect(fake.requests[0]!.body).not.toHaveProperty('filter');
    });

    it('deletes by point UUID with wait=true', async () => {
      await store.delete(['a', 'a', 'missing']);
      expect(fake.ops()).toEqual(['delete_points']);
      expect(fake.requests[0]!.query['wait']).toBe('true');
      expect(fake.requests[0]!.body).toEqual({ points: [pointId('a'), pointId('missing')] });
      expect(await store.count()).toBe(3);
      fake.requests.length = 0;
      await store.delete([]);
      expect(fake.requests).toEqual([]);
    });

    it('counts exactly', async () => {
      expect(await store.count()).toBe(4);
      expect(fake.requests[0]!.body).toEqual({ exact: true });
    });
  });

  it('reads stored vectors back by product id, leaving out unknown ids', async () => {
    const store = await open();
    await store.upsert([
      { product: product('a'), hash: 'ha', vector: unit([1, 0, 0, 0]) },
      { product: product('b'), hash: 'hb', vector: unit([0, 1, 1, 0]) },
    ]);
    fake.requests.length = 0;
    const got = await store.vectorsOf(['b', 'nope', 'a', 'b']);
    expect([...got.keys()].sort()).toEqual(['a', 'b']);
    expect(Array.from(got.get('b')!)).toEqual(Array.from(unit([0, 1, 1, 0])));
    const req = fake.requests.filter((r) => r.operationId === 'get_points');
    expect(req).toHaveLength(1);
    expect(req[0]!.body).toEqual({
      ids: ['b', 'nope', 'a'].map(pointId),
      with_payload: ['product_id'],
      with_vector: ['text'],
    });
  });

  it('reads every hash through paginated scroll', async () => {
    const store = await open();
    const n = 2100;
    const points = Array.from({ length: n }, (_, i) => ({
      product: product(`p${i}`),
      hash: `h${i}`,
      vector: unit([1, 1, i, 0]),
    }));
    await store.upsert(points);
    fake.requests.length = 0;
    const hashes = await store.hashes();
    expect(hashes.size).toBe(n);
    expect(hashes.get('p1234')).toBe('h1234');
    const scrolls = fake.requests.filter((r) => r.operationId === 'scroll_points');
    expect(scrolls.length).toBe(3);
    expect(scrolls[0]!.body).toEqual({ limit: 1024, with_payload: ['product_id', 'hash'], with_vector: false });
    expect(scrolls[1]!.body.offset).toBe(scrolls[0]!.response.result.next_page_offset);
  });
});

describe('the image vector of the same collection, against the OpenAPI contract', () => {
  const fake = new FakeQdrant(new OpenApiContract(OPENAPI_PATH));
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());
  afterEach(() => expect(fake.errors).toEqual([]));
  const vectors = { text: 4, image: 3 };

  it('creates one collection with both named vectors and refuses one whose image dimension differs', async () => {
    await QdrantVectorStore.open({ url: fake.url, collection: 'c', dim: 4, collectionVectors: vectors });
    expect(fake.requests[1]!.body).toEqual({
      vectors: { text: { size: 4, distance: 'Cosine' }, image: { size: 3, distance: 'Cosine' } },
    });
    await expect(
      QdrantVectorStore.open({ url: fake.url, collection: 'c', dim: 4, collectionVectors: { text: 4, image: 5 } }),
    ).rejects.toThrow(/vector "image" has dimension 3, but the embedder produces dimension 5/);
    await expect(
      QdrantVectorStore.open({ url: fake.url, collection: 'c', dim: 4, vector: 'image', collectionVectors: vectors }),
    ).rejects.toThrow(/disagrees/);
  });

  it("sets, searches, lists, counts and removes image vectors on the text store's points", async () => {
    const client = qdrantClient({ url: fake.url });
    const text = await QdrantVectorStore.open({
      url: fake.url,
      client,
      collection: 'c',
      dim: 4,
      collectionVectors: vectors,
    });
    const image = await QdrantVectorStore.open({
      url: fake.url,
      client,
      collection: 'c',
      dim: 3,
      vector: 'image',
      collectionVectors: vectors,
    });
    await text.upsert(
      ['a', 'b', 'c'].map((id) => ({
        product: product(id, { price: id === 'b' ? 30 : 10 }),
        hash: `h-${id}`,
        vector: unit([1, 0, 0, 0]),
      })),
    );
    fake.requests.length = 0;
    await image.upsert([
      { product: product('a'), hash: 'h-a', vector: unit([1, 0, 0]) },
      { product: product('b'), hash: 'h-b', vector: unit([0.8, 0.2, 0]) },
    ]);
    expect(fake.ops()).toEqual(['update_vectors']);
    expect(fake.requests[0]!.query['wait']).toBe('true');
    expect(fake.requests[0]!.body.points[0]).toEqual({ id: pointId('a'), vector: { image: [1, 0, 0] } });

    expect((await image.search(unit([1, 0, 0]), 5)).map((h) => h.id)).toEqual(['a', 'b']);
    expect(fake.requests.at(-1)!.body.using).toBe('image');
    expect((await image.search(unit([1, 0, 0]), 5, { price_min: 20 })).map((h) => h.id)).toEqual(['b']);
    expect(await image.count()).toBe(2);
    expect(fake.requests.at(-1)!.body).toEqual({ exact: true, filter: { must: [{ has_vector: 'image' }] } });
    expect(await image.hashes()).toEqual(
      new Map([
        ['a', 'h-a'],
        ['b', 'h-b'],
      ]),
    );
    expect(await text.count()).toBe(3);

    fake.requests.length = 0;
    await image.delete(['a', 'no-such-product']);
    expect(fake.requests[0]!.body).toEqual({
      vector: ['image'],
      filter: { must: [{ has_id: [pointId('a'), pointId('no-such-product')] }] },
    });
    expect(await image.count()).toBe(1);
    expect(await text.count()).toBe(3);
    // Rewriting a point through the text store keeps its image vector: Qdrant's upsert replaces
    // every named vector, so the text store reads the image vector first and writes it back.
    fake.requests.length = 0;
    await text.upsert([{ product: product('b'), hash: 'h-b2', vector: unit([1, 0, 0, 0]) }]);
    expect(fake.ops()).toEqual(['get_points', 'upsert_points']);
    expect(fake.requests[0]!.body).toMatchObject({ ids: [pointId('b')], with_vector: ['image'] });
    expect(Object.keys(fake.requests[1]!.body.points[0].vector).sort()).toEqual(['image', 'text']);
    expect(await image.count()).toBe(1);
    expect([...(await image.vectorsOf(['b'])).keys()]).toEqual(['b']);
  });
});

describe('Qdrant aliases against the OpenAPI contract', () => {
  const fake = new FakeQdrant(new OpenApiContract(OPENAPI_PATH));
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());
  afterEach(() => expect(fake.errors).toEqual([]));

  it('creates an alias, then moves it with delete + create in ONE request, and searches through it', async () => {
    const client = qdrantClient({ url: fake.url });
    const a = await QdrantVectorStore.open({ url: fake.url, client, collection: 'shelf-products-1', dim: 4 });
    await a.upsert([{ product: product('old'), hash: 'h', vector: unit([1, 0, 0, 0]) }]);
    const b = await QdrantVectorStore.open({ url: fake.url, client, collection: 'shelf-products-2', dim: 4 });
    await b.upsert([{ product: product('new'), hash: 'h', vector: unit([1, 0, 0, 0]) }]);

    expect(await aliasTarget(client, 'shelf-products')).toBeUndefined();
    fake.requests.length = 0;
    await swapAlias(client, 'shelf-products', 'shelf-products-1');
    expect(fake.ops()).toEqual(['get_collections_aliases', 'update_aliases']);
    expect(fake.requests[1]!.body).toEqual({
      actions: [{ create_alias: { collection_name: 'shelf-products-1', alias_name: 'shelf-products' } }],
    });
    const viaAlias = QdrantVectorStore.attach(client, 'shelf-products', 4);
    expect((await viaAlias.search(unit([1, 0, 0, 0]), 5)).map((h) => h.id)).toEqual(['old']);

    fake.requests.length = 0;
    await swapAlias(client, 'shelf-products', 'shelf-products-2');
    expect(fake.ops()).toEqual(['get_collections_aliases', 'update_aliases']);
    expect(fake.requests[1]!.body).toEqual({
      actions: [
        { delete_alias: { alias_name: 'shelf-products' } },
        { create_alias: { collection_name: 'shelf-products-2', alias_name: 'shelf-products' } },
      ],
    });
    // The same store object now reads the new collection: nothing to reopen.
    expect((await viaAlias.search(unit([1, 0, 0, 0]), 5)).map((h) => h.id)).toEqual(['new']);
    expect(await aliasTarget(client, 'shelf-products')).toBe('shelf-products-2');

    // Moving it where it already points sends no change.
    fake.requests.length = 0;
    await swapAlias(client, 'shelf-products', 'shelf-products-2');
    expect(fake.ops()).toEqual(['get_collections_aliases']);
  });

  it('lists collections by prefix and drops them idempotently', async () => {
    const client = qdrantClient({ url: fake.url });
    for (const c of ['shelf-products-1', 'shelf-products-2', 'other'])
      await QdrantVectorStore.open({ url: fake.url, client, collection: c, dim: 4 });
    expect((await collectionsWithPrefix(client, 'shelf-products-')).sort()).toEqual([
      'shelf-products-1',
      'shelf-products-2',
    ]);
    await dropCollection(client, 'shelf-products-1');
    await dropCollection(client, 'shelf-products-1');
    expect(await collectionsWithPrefix(client, 'shelf-products-')).toEqual(['shelf-products-2']);
    expect(fake.ops().filter((o) => o === 'delete_collection')).toHaveLength(1);
  });
});

describe('point ids and filter translation', () => {
  it('derives RFC 4122 v5 UUIDs', () => {
    // Reference vector: uuid5(NAMESPACE_DNS, 'www.example.com') (Python's uuid module).
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    expect(pointId('p1')).toBe(pointId('p1'));
    expect(pointId('p1')).not.toBe(pointId('p2'));
    expect(pointId('p1')).not.toBe(pointId('P1'));
    for (const id of ['p1', '', '跑步鞋', 'a/b c?d']) expect(pointId(id)).toMatch(UUID_RE);
  });

  it('category prefixes match compileFilter exactly', () => {
    expect(categoryPrefixes('sports/footwear/running shoes')).toEqual([
      'sports',
      'sports/footwear',
      'sports/footwear/running shoes',
    ]);
    const categories = [
      'Sports/Footwear/Running Shoes',
      'Sportswear',
      'sports/',
      '/Home/Kitchen',
      'A//B',
      'Electronics',
    ];
    const queries = [
      'Sports',
      'sport',
      'SPORTS/FOOTWEAR/',
      'sportswear',
      '/home',
      'home',
      'a',
      'a/',
      'a//b',
      'electronics/audio',
      '',
    ];
    for (const category of categories) {
      const payload = filterPayload(product('x', { category }));
      const prefixes = categoryPrefixes(payload.categoryKey!);
      for (const q of queries) {
        const filter = qdrantFilter({ category: q }) as { must: Array<{ match: { value: string } }> };
        const wanted = filter.must[0]!.match.value;
        expect(prefixes.includes(wanted), `${category} vs ${q}`).toBe(compileFilter({ category: q })(payload));
      }
    }
  });

  it('translates no filters to no filter', () => {
    expect(qdrantFilter(undefined)).toBeUndefined();
    expect(qdrantFilter({})).toBeUndefined();
  });
});

describe('the Qdrant client asks for uncompressed answers', () => {
  // A compressed answer over 1 KiB reaches the client ~40 ms late (Nagle on Qdrant's side meets the
  // client's delayed ACK, see QDRANT_CLIENT_HEADERS), so every request must say `identity`.
  let server: http.Server;
  let url: string;
  const seen: Array<{ path: string; encoding: string | undefined }> = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', encoding: req.headers['accept-encoding'] });
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ result: { points: [] }, status: 'ok', time: 0 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends Accept-Encoding: identity on searches, with and without an API key and timeout', async () => {
    expect(QDRANT_CLIENT_HEADERS['accept-encoding']).toBe('identity');
    for (const client of [qdrantClient({ url }), qdrantClient({ url, apiKey: 'k', timeoutMs: 5_000 })]) {
      seen.length = 0;
      await QdrantVectorStore.attach(client, 'c', 2).search(Float32Array.from([1, 0]), 100);
      expect(seen).toEqual([{ path: '/collections/c/points/query', encoding: 'identity' }]);
    }
  });
});
