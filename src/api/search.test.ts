import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexCatalog } from '../../indexer/index-catalog.ts';
import { openSearcher, type Searcher } from '../../retrieval/recall/searcher.ts';
import { FailingEmbedder, HashEmbedder } from '../../test/helpers/embedders.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { createApp } from '../app.ts';

let searcher: Searcher;
let app: ReturnType<typeof createApp>;
let dataDir: string;
const embedder = new HashEmbedder();

beforeAll(async () => {
  const dir = tempDir();
  dataDir = path.join(dir, 'data');
  await indexCatalog({ catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS), dataDir, embedder });
  searcher = await openSearcher({ dataDir, embedder });
  app = createApp({ searcher, embedder });
});
afterAll(async () => searcher.close());

const post = (body: unknown, a = app): Response | Promise<Response> =>
  a.request('/v1/search', {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

describe('GET /v1/search', () => {
  it('returns fused hybrid results with the documented shape', async () => {
    const res = await app.request('/v1/search?q=running%20shoes&size=3');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ page: 1, size: 3 });
    expect(typeof body.took_ms).toBe('number');
    expect(typeof body.request_id).toBe('string');
    expect(body.items).toHaveLength(3);
    expect(body.items[0]).toMatchObject({
      id: expect.any(String),
      title: expect.any(String),
      score: expect.any(Number),
    });
    expect(['p1', 'p2']).toContain(body.items[0].id);
    expect(body.items[0].debug).toBeUndefined();
  });

  it('applies filters given as query parameters', async () => {
    const res = await app.request('/v1/search?q=running&brand=nike&in_stock=true&size=10');
    const body = await res.json();
    expect(body.items.map((i: { id: string }) => i.id)).toEqual(['p1']);
  });

  it('pages without overlap', async () => {
    const p1 = await (await app.request('/v1/search?q=running&size=2&page=1')).json();
    const p2 = await (await app.request('/v1/search?q=running&size=2&page=2')).json();
    const ids1 = p1.items.map((i: { id: string }) => i.id);
    const ids2 = p2.items.map((i: { id: string }) => i.id);
    expect(ids2).toHaveLength(2);
    expect(ids1.filter((id: string) => ids2.includes(id))).toEqual([]);
  });
});

describe('POST /v1/search', () => {
  it('filters inside every route: category prefix, price range, stock', async () => {
    const body = await (
      await post({ q: 'running', size: 20, filters: { category: 'sports/footwear', price_max: 150 } })
    ).json();
    expect(body.items.map((i: { id: string }) => i.id)).toEqual(['p1']);
    const oos = await (await post({ q: 'nike', size: 20, filters: { in_stock: false } })).json();
    expect(oos.items.map((i: { id: string }) => i.id)).toEqual(['p4']);
  });

  it('finds Chinese products by Chinese queries', async () => {
    const body = await (await post({ q: '跑步鞋', size: 3 })).json();
    expect(body.items[0].id).toBe('p5');
  });

  it('with debug=true shows each route rank and the fused score', async () => {
    const body = await (await post({ q: 'wireless noise cancelling', size: 5, debug: true })).json();
    const top = body.items[0];
    expect(top.debug.fused_score).toBeCloseTo(top.score, 12);
    expect(top.debug.bm25_rank).toBeGreaterThanOrEqual(1);
    expect(top.debug.vector_rank).toBeGreaterThanOrEqual(1);
    // The fused score is reproducible from the per-item evidence and the fusion debug alone.
    const f = body.debug.fusion;
    expect(f).toMatchObject({ mode: 'score', lexical_evidence: 'all_terms' });
    expect(top.debug.bm25_coverage).toBe(1);
    expect(f.weights.vector).toBeCloseTo(body.debug.weights.vector * f.all_terms, 12);
    const bestBm25 = Math.max(...body.items.map((i: { debug: { bm25_score?: number } }) => i.debug.bm25_score ?? 0));
    expect(top.debug.bm25_rank).toBe(1);
    const expected =
      f.weights.bm25 * (top.debug.bm25_score / bestBm25) * top.debug.bm25_coverage ** f.coverage_power +
      f.weights.vector * top.debug.vector_score;
    expect(top.debug.fused_score).toBeCloseTo(expected, 12);
    expect(body.debug.generation).toMatch(/^gen-/);
  });
});

describe('bad input gets a 400 with a machine-readable error', () => {
  const cases: Array<[string, () => Response | Promise<Response>, string, string | undefined]> = [
    ['empty query', () => app.request('/v1/search?q='), 'invalid_query', 'q'],
    ['whitespace query', () => post({ q: '   ' }), 'invalid_query', 'q'],
    ['missing query', () => post({ size: 3 }), 'invalid_query', 'q'],
    ['1,000-character query', () => post({ q: 'a'.repeat(1000) }), 'invalid_query', 'q'],
    ['size 0', () => app.request('/v1/search?q=x&size=0'), 'invalid_parameter', 'size'],
    ['size 101', () => post({ q: 'x', size: 101 }), 'invalid_parameter', 'size'],
    ['size not a number', () => app.request('/v1/search?q=x&size=ten'), 'invalid_parameter', 'size'],
    ['page 0', () => post({ q: 'x', page: 0 }), 'invalid_parameter', 'page'],
    ['unknown filter', () => post({ q: 'x', filters: { colour: 'red' } }), 'unknown_filter', 'filters.colour'],
    ['unknown GET parameter', () => app.request('/v1/search?q=x&colour=red'), 'unknown_parameter', 'colour'],
    [
      'wrong filter type',
      () => post({ q: 'x', filters: { price_min: '10' } }),
      'invalid_parameter',
      'filters.price_min',
    ],
    [
      'in_stock not boolean',
      () => app.request('/v1/search?q=x&in_stock=maybe'),
      'invalid_parameter',
      'filters.in_stock',
    ],
    [
      'price_min > price_max',
      () => post({ q: 'x', filters: { price_min: 50, price_max: 10 } }),
      'invalid_parameter',
      'filters.price_min',
    ],
    ['q not a string', () => post({ q: 42 }), 'invalid_query', 'q'],
    ['malformed JSON', () => post('{"q": '), 'invalid_json', undefined],
    ['body not an object', () => post([1, 2]), 'invalid_body', undefined],
  ];
  it.each(cases)('%s', async (_name, send, code, field) => {
    const res = await send();
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.field).toBe(field);
  });
});

describe('degradation and empty index', () => {
  it('answers from BM25 alone when the vector route fails, and says so', async () => {
    const broken = new FailingEmbedder(0, 64, embedder.id);
    const s = await openSearcher({ dataDir, embedder: broken });
    const a = createApp({ searcher: s, embedder: broken });
    const res = await a.request('/v1/search?q=skillet');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.items[0].id).toBe('p3');
    expect(body.degraded).toEqual([{ route: 'vector', reason: 'embedder unavailable' }]);
    const metrics = await (await a.request('/metrics')).text();
    expect(metrics).toMatch(/shelf_search_degraded_total\{route="vector"\} 1/);
    await s.close();
  });

  it('an empty index answers 200 with no items', async () => {
    const s = await openSearcher({ dataDir: path.join(tempDir(), 'nothing'), embedder });
    const res = await createApp({ searcher: s, embedder }).request('/v1/search?q=anything');
    expect(res.status).toBe(200);
    expect((await res.json()).items).toEqual([]);
    await s.close();
  });

  it('unknown routes get a JSON 404', async () => {
    const res = await app.request('/v2/nothing');
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('not_found');
  });
});
