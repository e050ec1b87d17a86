import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexCatalog } from '../../indexer/index-catalog.ts';
import { openSearcher, type Searcher } from '../../retrieval/recall/searcher.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { createApp } from '../app.ts';

/** Facets, multi-valued and attribute filters, sort and browse on /v1/search (embedded back end). */
let searcher: Searcher;
let app: ReturnType<typeof createApp>;
const embedder = new HashEmbedder();

const CATALOG = SAMPLE_PRODUCTS.map((p) =>
  p.id === 'p1'
    ? { ...p, attributes: { color: 'Red' }, updated_at: '2026-05-01T00:00:00Z' }
    : p.id === 'p2'
      ? { ...p, attributes: { color: 'Blue' }, updated_at: '2026-06-01T00:00:00Z' }
      : p,
);

beforeAll(async () => {
  const dir = tempDir();
  const dataDir = path.join(dir, 'data');
  await indexCatalog({ catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), CATALOG), dataDir, embedder });
  searcher = await openSearcher({ dataDir, embedder });
  app = createApp({ searcher, embedder });
});
afterAll(async () => searcher.close());

const get = async (qs: string) => {
  const res = await app.request(`/v1/search?${qs}`);
  return { status: res.status, body: await res.json() };
};
const post = async (body: unknown) => {
  const res = await app.request('/v1/search', {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, body: await res.json() };
};
const ids = (b: { items: Array<{ id: string }> }) => b.items.map((i) => i.id);

describe('/v1/search filters', () => {
  it('takes several brands (repeated, comma list, POST array): any of them', async () => {
    const repeated = await get('q=running&brand=nike&brand=adidas&size=20');
    expect(repeated.status).toBe(200);
    expect(ids(repeated.body).sort()).toEqual(['p1', 'p2', 'p4']);
    expect(ids((await get('q=running&brand=nike,adidas&size=20')).body).sort()).toEqual(['p1', 'p2', 'p4']);
    const body = await post({ q: 'running', size: 20, filters: { brand: ['Nike', 'Adidas'] } });
    expect(ids(body.body).sort()).toEqual(['p1', 'p2', 'p4']);
    // AND across fields.
    const both = await post({ q: 'running', size: 20, filters: { brand: ['Nike', 'Adidas'], category: ['Clothing'] } });
    expect(ids(both.body)).toEqual(['p4']);
  });

  it('filters by attributes (GET attributes.color=…, POST filters.attributes)', async () => {
    expect(ids((await get('q=running&attributes.color=red&size=20')).body)).toEqual(['p1']);
    expect(
      ids((await post({ q: 'running', filters: { attributes: { color: ['RED', 'blue'] } } })).body).sort(),
    ).toEqual(['p1', 'p2']);
  });

  it('answers a repeated single-valued parameter with a 400 naming it', async () => {
    const r = await get('q=running&price_max=100&price_max=200');
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('filters.price_max');
    expect(r.body.error.message).toMatch(/2 times/);
    const q = await get('q=a&q=b');
    expect(q.status).toBe(400);
    expect(q.body.error.field).toBe('q');
  });
});

describe('/v1/search sort and browse', () => {
  it('sorts the whole match set by price both ways, and newest', async () => {
    const asc = await get('q=running&sort=price:asc&size=20');
    expect(asc.status).toBe(200);
    const prices = asc.body.items.map((i: { price: number }) => i.price);
    expect(prices).toEqual([...prices].sort((a: number, b: number) => a - b));
    expect(asc.body.total).toBeGreaterThanOrEqual(3);
    const desc = await post({ q: 'running', sort: 'price:desc', size: 20 });
    const d = desc.body.items.map((i: { price: number }) => i.price);
    expect(d).toEqual([...d].sort((a: number, b: number) => b - a));
    const newest = await post({ q: '', sort: 'newest', size: 2 });
    expect(ids(newest.body)).toEqual(['p2', 'p1']);
  });

  it('browses a category page without q; without a filter or sort q is required', async () => {
    const page = await get('category=Electronics');
    expect(page.status).toBe(200);
    expect(ids(page.body).sort()).toEqual(['p7', 'p8']);
    expect(page.body.total).toBe(2);
    const none = await get('size=5');
    expect(none.status).toBe(400);
    expect(none.body.error).toMatchObject({ code: 'invalid_query', field: 'q' });
    const empty = await post({ q: '' });
    expect(empty.status).toBe(400);
  });

  it('answers an unknown sort with a 400 naming the field', async () => {
    const r = await get('q=running&sort=cheapest');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'invalid_parameter', field: 'sort' });
  });

  it('pages a sorted browse without overlap', async () => {
    const p1 = await get('in_stock=true&sort=price:asc&size=3&page=1');
    const p2 = await get('in_stock=true&sort=price:asc&size=3&page=2');
    expect(ids(p1.body).filter((id) => ids(p2.body).includes(id))).toEqual([]);
    expect(p1.body.items.at(-1).price).toBeLessThanOrEqual(p2.body.items[0].price);
  });
});

describe('/v1/search facets', () => {
  it('counts over every match, disjunctively, with category levels and price buckets', async () => {
    const r = await get(
      'category=Sports,Clothing,Electronics&brand=nike&facets=brand,category,price,in_stock,attributes.color',
    );
    expect(r.status).toBe(200);
    expect(ids(r.body).sort()).toEqual(['p1', 'p4']);
    const f = r.body.facets;
    // The brand facet ignores the brand filter (disjunctive): every brand in the three categories.
    expect(f.brand).toEqual([
      { value: 'Nike', count: 2 },
      { value: 'Adidas', count: 1 },
      { value: 'Apple', count: 1 },
      { value: 'Sony', count: 1 },
    ]);
    // The category facet ignores the category filter but keeps the brand filter.
    expect(f.category.filter((c: { level: number }) => c.level === 1)).toEqual([
      { value: 'Clothing', count: 1, level: 1 },
      { value: 'Sports', count: 1, level: 1 },
    ]);
    expect(f.in_stock).toEqual([
      { value: false, count: 1 },
      { value: true, count: 1 },
    ]);
    expect(f.price).toMatchObject({ min: 30, max: 120 });
    expect(f.price.buckets.reduce((s: number, b: { count: number }) => s + b.count, 0)).toBe(2);
    expect(f['attributes.color']).toEqual([{ value: 'Red', count: 1 }]);
  });

  it('takes a POST array and max_values; rejects an unknown facet', async () => {
    const r = await post({ q: '', filters: { in_stock: true }, facets: ['brand'], max_values: 2 });
    expect(r.status).toBe(200);
    expect(r.body.facets.brand).toHaveLength(2);
    const bad = await post({ q: 'running', facets: ['colour'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toMatch(/^facets/);
  });
});
