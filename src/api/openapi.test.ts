import fs from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import type { Dependency } from '../../core/dependencies.ts';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { openService, type Service } from '../service.ts';
import { PublishedCatalogChanges } from '../../indexer/change-batch.ts';
import type { EmbeddedBackend } from '../../retrieval/index/embedded/embedded-backend.ts';

/**
 * The served OpenAPI document is a valid OpenAPI 3.1 document, lists every route the app serves,
 * and says what the routes really answer: each real response below is validated against the
 * schema the document declares for its route and status.
 */

const KEY = 'openapi-test-admin-key-0123';
const NOW = Date.now();
const DAY = 86_400_000;
let service: Service;
type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes?: Record<string, unknown> };
};
type Operation = {
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
};
let doc: Doc;
let ajv: Ajv2020;
const validators = new Map<string, ValidateFunction>();
/** Every (method, path, status) a real call below checked. */
const checked = new Set<string>();

beforeAll(async () => {
  const dir = tempDir();
  service = await openService(
    loadConfig({
      SHELF_DATA_DIR: path.join(dir, 'data'),
      SHELF_CATALOG: '',
      SHELF_CONSUMER: 'inline',
      SHELF_ADMIN_API_KEY: KEY,
    }),
    { embedder: new HashEmbedder(), catalog: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS) },
  );
  const res = await service.app.request('http://shelf.test/openapi.json');
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(doc as object, 'openapi.json');
});
afterAll(async () => service?.close());

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/**
 * Validates a real response against the document: the route and status must be declared, the
 * content type must be the declared one, and the body must match the declared schema.
 */
async function expectDocumented(res: Response, method: string, route: string, status?: number): Promise<unknown> {
  if (status !== undefined) expect(res.status, await res.clone().text()).toBe(status);
  const op = doc.paths[route]?.[method];
  expect(op, `${method.toUpperCase()} ${route} is in the document`).toBeDefined();
  const declared = op!.responses[String(res.status)];
  expect(declared, `${method.toUpperCase()} ${route} declares ${res.status}`).toBeDefined();
  checked.add(`${method} ${route} ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith('text/plain')) {
    expect(declared!.content?.['text/plain']).toBeDefined();
    return res.text();
  }
  expect(type).toMatch(/^application\/json/);
  expect(declared!.content?.['application/json']).toBeDefined();
  const body: unknown = await res.json();
  const ref = `openapi.json#/${pointer('paths', route, method, 'responses', String(res.status), 'content', 'application/json', 'schema')}`;
  let validate = validators.get(ref);
  if (!validate) validators.set(ref, (validate = ajv.compile({ $ref: ref })));
  const ok = validate(body);
  expect(ok ? null : { errors: validate.errors, body }, `${method.toUpperCase()} ${route} ${res.status}`).toBeNull();
  return body;
}

const json = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));
const send = (method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}) =>
  service.app.request(pathname, {
    method,
    ...(body !== undefined && { body: json(body) }),
    headers: { 'content-type': 'application/json', ...headers },
  });
const admin = (method: string, pathname: string, body?: unknown) =>
  send(method, pathname, body, { authorization: `Bearer ${KEY}` });

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document about Shelf', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? null).toBeNull();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.info.title).toBe('Shelf');
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(doc.components.securitySchemes?.adminKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('describes every route the app serves, and only those', () => {
    const served = new Set(
      service.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([^/]+)/g, '{$1}')}`)
        // The document itself and the page (with its assets) that renders it; the console's pages.
        .filter(
          (r) =>
            !(
              r === 'get /openapi.json' ||
              r === 'get /docs' ||
              r.startsWith('get /docs/') ||
              r === 'get /console' ||
              r.startsWith('get /console/')
            ),
        ),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)),
    );
    expect([...served].sort()).toEqual([...documented].sort());
    for (const r of [
      'get /v1/search',
      'post /v1/search',
      'get /v1/feed',
      'post /v1/feed',
      'post /v1/events',
      'get /v1/products/{id}/similar',
      'get /v1/coupons',
      'post /v1/coupons/{id}/claim',
      'post /v1/coupons/{id}/redeem',
      'get /v1/admin/coupons',
      'put /v1/admin/coupons/{id}',
      'get /v1/admin/coupons/{id}',
      'delete /v1/admin/coupons/{id}',
      'post /v1/admin/experiments',
      'get /v1/admin/experiments',
      'get /v1/admin/experiments/{id}',
      'post /v1/admin/experiments/{id}/start',
      'post /v1/admin/experiments/{id}/stop',
      'get /v1/admin/synonyms',
      'put /v1/admin/synonyms',
      'delete /v1/admin/synonyms',
      'get /v1/suggest',
      'get /healthz',
      'get /readyz',
      'get /metrics',
    ])
      expect(documented).toContain(r);
  });

  it('tags every operation, and puts the admin ones behind the bearer scheme', () => {
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        expect(op.tags?.length, `${m} ${p}`).toBeGreaterThan(0);
        if (p.startsWith('/v1/admin/')) expect(op.security, `${m} ${p}`).toEqual([{ adminKey: [] }]);
      }
    }
  });

  it('documents 404 on every operation with a path parameter: an empty or dot-segment id names no route', async () => {
    for (const [p, ops] of Object.entries(doc.paths))
      for (const [m, op] of Object.entries(ops))
        if (p.includes('{')) expect(Object.keys(op.responses ?? {}), `${m} ${p}`).toContain('404');
    // What a client sends for PUT /v1/admin/coupons/{id} with the id "." (the dot segment removed).
    await expectDocumented(await admin('put', '/v1/admin/coupons/', {}), 'put', '/v1/admin/coupons/{id}', 404);
  });

  it("documents 431 on every operation: Node's HTTP server refuses an oversized request line before the app", async () => {
    for (const [p, ops] of Object.entries(doc.paths))
      for (const [m, op] of Object.entries(ops)) expect(Object.keys(op.responses ?? {}), `${m} ${p}`).toContain('431');
    // A real server: the app never sees this request, so app.request cannot show it.
    const server = serve({ fetch: service.app.fetch, hostname: '127.0.0.1', port: 0 });
    try {
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/v1/search?q=${'a'.repeat(20_000)}`);
      expect(res.status).toBe(431);
      expect(doc.paths['/v1/search']!.get!.responses['431']).toBeDefined();
      checked.add('get /v1/search 431');
    } finally {
      server.close();
    }
  });

  it('derives the GET parameters from the POST body', () => {
    const names = (p: string) =>
      ((doc.paths[p]!.get as unknown as { parameters: Array<{ name: string }> }).parameters ?? []).map((x) => x.name);
    expect(names('/v1/search').sort()).toEqual(
      [
        'q',
        'size',
        'page',
        'debug',
        'highlight',
        'user_id',
        'session_id',
        'category',
        'brand',
        'price_min',
        'price_max',
        'in_stock',
        'facets',
        'max_values',
        'sort',
      ].sort(),
    );
    expect(names('/v1/feed').sort()).toEqual(
      ['user_id', 'session_id', 'size', 'category', 'product_id', 'exclude', 'debug'].sort(),
    );
  });
});

describe('GET /docs', () => {
  it('renders the document with Swagger UI, every asset served by this app (no CDN)', async () => {
    const res = await service.app.request('/docs');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("url: '/openapi.json'");
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.sort()).toEqual(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']);
    for (const a of assets) {
      const r = await service.app.request(a);
      expect(r.status).toBe(200);
      expect((await r.text()).length).toBeGreaterThan(10_000);
    }
    expect((await service.app.request('/docs/other.js')).status).toBe(404);
  });
});

describe('real responses match the document', () => {
  it('search, GET and POST, with debug, and its errors', async () => {
    const get = (await expectDocumented(
      await service.app.request('/v1/search?q=running&size=3&debug=true&in_stock=true'),
      'get',
      '/v1/search',
      200,
    )) as { items: unknown[]; debug: unknown };
    expect(get.items.length).toBeGreaterThan(0);
    expect(get.debug).toBeDefined();
    // Highlights and the lexical debug (a corrected word, a prefix) are documented too.
    const lexical = (await expectDocumented(
      await service.app.request('/v1/search?q=runing%20sho&size=3&debug=true&highlight=true'),
      'get',
      '/v1/search',
      200,
    )) as { items: Array<{ highlight?: unknown }>; debug: { lexical?: unknown } };
    expect(lexical.items[0]!.highlight).toBeDefined();
    expect(lexical.debug.lexical).toBeDefined();
    await expectDocumented(
      await send('POST', '/v1/search', {
        q: 'wireless',
        size: 5,
        debug: true,
        user_id: 'ann',
        filters: { price_max: 500 },
      }),
      'post',
      '/v1/search',
      200,
    );
    await expectDocumented(await send('POST', '/v1/search', { q: 'shoes' }), 'post', '/v1/search', 200);
    const unknown = (await expectDocumented(
      await service.app.request('/v1/search?q=x&colour=red'),
      'get',
      '/v1/search',
      400,
    )) as { error: { code: string; field: string } };
    expect(unknown.error).toMatchObject({ code: 'unknown_parameter', field: 'colour' });
    const bad = (await expectDocumented(
      await service.app.request('/v1/search?q=x&in_stock=maybe'),
      'get',
      '/v1/search',
      400,
    )) as { error: { code: string; field: string } };
    expect(bad.error).toMatchObject({ code: 'invalid_parameter', field: 'filters.in_stock' });
    await expectDocumented(await send('POST', '/v1/search', '{"q": '), 'post', '/v1/search', 400);
    await expectDocumented(await send('POST', '/v1/search', { q: '' }), 'post', '/v1/search', 400);
  });

  it('suggestions, and their errors', async () => {
    const run = (await expectDocumented(
      await service.app.request('/v1/suggest?q=run&size=5'),
      'get',
      '/v1/suggest',
      200,
    )) as { suggestions: Array<{ source: string }> };
    expect(run.suggestions.map((x) => x.source)).toContain('category');
    const zh = (await expectDocumented(
      await service.app.request(`/v1/suggest?q=${encodeURIComponent('跑步')}`),
      'get',
      '/v1/suggest',
      200,
    )) as { suggestions: unknown[] };
    expect(zh.suggestions.length).toBeGreaterThan(0);
    await expectDocumented(await service.app.request('/v1/suggest?q=zzzz'), 'get', '/v1/suggest', 200);
    const missing = (await expectDocumented(
      await service.app.request('/v1/suggest?size=3'),
      'get',
      '/v1/suggest',
      400,
    )) as { error: { code: string; field: string } };
    expect(missing.error).toMatchObject({ code: 'invalid_query', field: 'q' });
    await expectDocumented(await service.app.request('/v1/suggest?q=run&size=1000'), 'get', '/v1/suggest', 400);
  });

  it('events, feed and similar items', async () => {
    const events = [
      { event_id: 'oa-1', type: 'click', user_id: 'ann', product_id: 'p1', ts: NOW },
      { event_id: 'oa-2', type: 'purchase', user_id: 'ann', product_id: 'p2', ts: NOW + 1 },
      { event_id: 'oa-3', type: 'warp', user_id: 'ann', ts: NOW },
    ];
    const accepted = (await expectDocumented(
      await send('POST', '/v1/events', { events }),
      'post',
      '/v1/events',
      200,
    )) as {
      accepted: number;
    };
    expect(accepted.accepted).toBe(2);
    await expectDocumented(await send('POST', '/v1/events', [events[2]]), 'post', '/v1/events', 400);
    await expectDocumented(await send('POST', '/v1/events', { events: [] }), 'post', '/v1/events', 400);
    const many = Array.from({ length: 1001 }, (_, i) => ({ ...events[0], event_id: `oa-big-${i}` }));
    await expectDocumented(await send('POST', '/v1/events', many), 'post', '/v1/events', 413);
    for (let i = 0; i < 300 && (await service.behavior.state.applied(['oa-2'])).size === 0; i++)
      await new Promise((r) => setTimeout(r, 10));

    await expectDocumented(await service.app.request('/v1/feed?user_id=ann&size=5&debug=true'), 'get', '/v1/feed', 200);
    await expectDocumented(
      await send('POST', '/v1/feed', {
        session_id: 's1',
        context: { category: 'Sports' },
        exclude: ['p1'],
        debug: true,
      }),
      'post',
      '/v1/feed',
      200,
    );
    await expectDocumented(await send('POST', '/v1/feed', { user_id: 'ann' }), 'post', '/v1/feed', 200);
    await expectDocumented(await service.app.request('/v1/feed?size=5'), 'get', '/v1/feed', 400);

    await expectDocumented(
      await service.app.request('/v1/products/p1/similar?size=3&debug=true'),
      'get',
      '/v1/products/{id}/similar',
      200,
    );
    await expectDocumented(
      await service.app.request('/v1/products/p1/similar'),
      'get',
      '/v1/products/{id}/similar',
      200,
    );
    await expectDocumented(
      await service.app.request('/v1/products/nope/similar'),
      'get',
      '/v1/products/{id}/similar',
      404,
    );
    await expectDocumented(
      await service.app.request('/v1/products/p1/similar?size=0'),
      'get',
      '/v1/products/{id}/similar',
      400,
    );
  });

  it('synonyms (admin)', async () => {
    const route = '/v1/admin/synonyms';
    await expectDocumented(
      await admin('PUT', route, { synonyms: [['tv', 'television'], { from: 'a', to: ['b'] }] }),
      'put',
      route,
      200,
    );
    await expectDocumented(await admin('PUT', route, { synonyms: [['tv']] }), 'put', route, 400);
    await expectDocumented(await admin('GET', route), 'get', route, 200);
    await expectDocumented(await send('GET', route), 'get', route, 401);
    await expectDocumented(await admin('DELETE', route), 'delete', route, 200);
  });

  it('coupons, admin and public', async () => {
    const route = '/v1/admin/coupons/{id}';
    const def = { name: 'Ten off', type: 'fixed', value: 10, valid_from: NOW - DAY, valid_until: NOW + DAY, stock: 1 };
    await expectDocumented(await admin('PUT', '/v1/admin/coupons/oa-c', def), 'put', route, 201);
    await expectDocumented(
      await admin('PUT', '/v1/admin/coupons/oa-c', { ...def, stock: 2, budget: 100 }),
      'put',
      route,
      200,
    );
    await expectDocumented(await admin('PUT', '/v1/admin/coupons/oa-c', { ...def, value: -1 }), 'put', route, 400);
    await expectDocumented(await admin('GET', '/v1/admin/coupons/oa-c'), 'get', route, 200);
    await expectDocumented(await admin('GET', '/v1/admin/coupons/nope'), 'get', route, 404);
    await expectDocumented(await admin('GET', '/v1/admin/coupons'), 'get', '/v1/admin/coupons', 200);
    await expectDocumented(await send('GET', '/v1/admin/coupons'), 'get', '/v1/admin/coupons', 401);
    const keyless = createApp({
      searcher: service.searcher,
      embedder: undefined,
      coupons: { ledger: service.coupons },
    });
    await expectDocumented(
      await keyless.request('/v1/admin/coupons', { headers: { authorization: `Bearer ${KEY}` } }),
      'get',
      '/v1/admin/coupons',
      403,
    );

    await expectDocumented(await service.app.request('/v1/coupons?user_id=bob'), 'get', '/v1/coupons', 200);
    await expectDocumented(await service.app.request('/v1/coupons'), 'get', '/v1/coupons', 400);
    const claim = (id: string, body: unknown, key: string | null) =>
      send('POST', `/v1/coupons/${id}/claim`, body, key === null ? {} : { 'idempotency-key': key });
    const claimRoute = '/v1/coupons/{id}/claim';
    await expectDocumented(await claim('oa-c', { user_id: 'bob' }, 'bob-1'), 'post', claimRoute, 200);
    await expectDocumented(await claim('oa-c', { user_id: 'bob' }, 'bob-1'), 'post', claimRoute, 200);
    await expectDocumented(await claim('oa-c', { user_id: 'bob' }, 'bob-2'), 'post', claimRoute, 409);
    await expectDocumented(await claim('oa-c', { user_id: 'bob' }, null), 'post', claimRoute, 400);
    await expectDocumented(await claim('oa-c', { user_id: 'bob', extra: 1 }, 'bob-3'), 'post', claimRoute, 400);
    await expectDocumented(await claim('nope', { user_id: 'bob' }, 'bob-4'), 'post', claimRoute, 404);
    const redeem = (body: unknown, key: string) =>
      send('POST', '/v1/coupons/oa-c/redeem', body, { 'idempotency-key': key });
    const redeemRoute = '/v1/coupons/{id}/redeem';
    await expectDocumented(
      await redeem({ user_id: 'bob', order_amount: 50, order_id: 'o1' }, 'r1'),
      'post',
      redeemRoute,
      200,
    );
    await expectDocumented(
      await redeem({ user_id: 'cy', order_amount: 50, order_id: 'o2' }, 'r2'),
      'post',
      redeemRoute,
      409,
    );
    await expectDocumented(await redeem({ user_id: 'bob' }, 'r3'), 'post', redeemRoute, 400);

    await expectDocumented(await admin('DELETE', '/v1/admin/coupons/oa-c'), 'delete', route, 200);
    await expectDocumented(await admin('DELETE', '/v1/admin/coupons/nope'), 'delete', route, 404);
  });

  it('experiments, admin, and the arm on a response', async () => {
    const base = '/v1/admin/experiments';
    const def = {
      id: 'oa-x',
      surface: 'search',
      status: 'draft',
      start: NOW - DAY,
      arms: [
        { name: 'control', weight: 1 },
        { name: 'b', weight: 1, overrides: { 'retrieval.weights.vector': 0.5 } },
      ],
    };
    await expectDocumented(await admin('POST', base, def), 'post', base, 201);
    await expectDocumented(await admin('POST', base, def), 'post', base, 409);
    const bad = { ...def, id: 'oa-bad', arms: [def.arms[0], { name: 'b', weight: 1, overrides: { 'ranking.a': 99 } }] };
    const refused = (await expectDocumented(await admin('POST', base, bad), 'post', base, 400)) as {
      error: { field: string };
    };
    expect(refused.error.field).toBe('ranking.a');
    await expectDocumented(await send('POST', base, def), 'post', base, 401);
    await expectDocumented(await admin('GET', base), 'get', base, 200);
    await expectDocumented(await admin('GET', `${base}/oa-x`), 'get', `${base}/{id}`, 200);
    await expectDocumented(await admin('GET', `${base}/nope`), 'get', `${base}/{id}`, 404);
    await expectDocumented(await admin('POST', `${base}/oa-x/start`), 'post', `${base}/{id}/start`, 200);
    const served = (await expectDocumented(
      await send('GET', '/v1/search?q=shoes&user_id=oa-shopper'),
      'get',
      '/v1/search',
      200,
    )) as { experiment: { id: string } };
    expect(served.experiment.id).toBe('oa-x');
    await expectDocumented(await admin('POST', `${base}/oa-x/stop`), 'post', `${base}/{id}/stop`, 200);
    await expectDocumented(await admin('POST', `${base}/oa-x/start`), 'post', `${base}/{id}/start`, 409);
    await expectDocumented(await admin('POST', `${base}/nope/stop`), 'post', `${base}/{id}/stop`, 404);
  });

  it("the console's admin reads: playground, shopper, index, reports", async () => {
    const play = '/v1/admin/playground/search';
    const ran = (await expectDocumented(
      await admin('POST', play, { search: { q: 'shoes' }, overrides: { 'ranking.mode': 'off' } }),
      'post',
      play,
      200,
    )) as { response: { debug: { ranking: { mode: string } } } };
    expect(ran.response.debug.ranking.mode).toBe('off');
    const bad = (await expectDocumented(
      await admin('POST', play, { search: { q: 'shoes' }, overrides: { 'diversity.search.lambda': 7 } }),
      'post',
      play,
      400,
    )) as { error: { code: string; field: string } };
    expect(bad.error).toMatchObject({ code: 'invalid_override', field: 'diversity.search.lambda' });
    await expectDocumented(await send('POST', play, { search: { q: 'shoes' } }), 'post', play, 401);
    await expectDocumented(await admin('GET', '/v1/admin/shopper?user_id=oa-shopper'), 'get', '/v1/admin/shopper', 200);
    await expectDocumented(await admin('GET', '/v1/admin/shopper'), 'get', '/v1/admin/shopper', 400);
    await expectDocumented(await admin('GET', '/v1/admin/index'), 'get', '/v1/admin/index', 200);
    await expectDocumented(await admin('GET', '/v1/admin/index/drift'), 'get', '/v1/admin/index/drift', 200);
    // This service was opened without the report code (npm start hands it in): reports_off.
    const r = '/v1/admin/reports';
    await expectDocumented(await admin('GET', `${r}/experiments/oa-x`), 'get', `${r}/experiments/{id}`, 404);
    await expectDocumented(await admin('GET', `${r}/shop`), 'get', `${r}/shop`, 404);
    await expectDocumented(await admin('GET', `${r}/shop?from=yesterday`), 'get', `${r}/shop`, 400);
    await expectDocumented(await admin('GET', `${r}/files`), 'get', `${r}/files`, 200);
    await expectDocumented(await admin('GET', `${r}/file?name=../../etc/passwd`), 'get', `${r}/file`, 404);
  });

  it('catalog changes (admin)', async () => {
    const route = '/v1/admin/catalog/changes';
    const changes = (body: string, type: string, key: string | null = KEY) =>
      send('POST', route, body, { 'content-type': type, ...(key !== null && { authorization: `Bearer ${key}` }) });
    const ndjson =
      '{"op":"update","product":{"id":"p3","price":21}}\n{"op":"update","product":{"id":"p3","price":"1,299.00"}}\n';
    const applied = (await expectDocumented(await changes(ndjson, 'application/x-ndjson'), 'post', route, 200)) as {
      rejected: Array<{ line: number }>;
    };
    expect(applied.rejected[0]!.line).toBe(2);
    await expectDocumented(
      await changes(JSON.stringify([{ op: 'update', product: { id: 'ghost', price: 1 } }]), 'application/json'),
      'post',
      route,
      400,
    );
    await expectDocumented(await changes('[', 'application/json'), 'post', route, 400);
    await expectDocumented(await changes(ndjson, 'application/x-ndjson', null), 'post', route, 401);
    await expectDocumented(await changes('x', 'text/csv'), 'post', route, 415);
    const many = '{"op":"delete","product":{"id":"x"}}\n'.repeat(10_001);
    await expectDocumented(await changes(many, 'application/x-ndjson'), 'post', route, 413);
    const lock = path.join((service.backend as EmbeddedBackend).dataDir, 'indexer.lock');
    fs.writeFileSync(lock, '1'); // another live indexer
    try {
      await expectDocumented(await changes(ndjson, 'application/x-ndjson'), 'post', route, 409);
    } finally {
      fs.rmSync(lock);
    }
    /** An app that publishes catalog changes with `publish` (the catalog topic's stand-in). */
    const publishing = (publish: () => Promise<void>) =>
      createApp({
        searcher: service.searcher,
        embedder: undefined,
        catalog: {
          adminKey: KEY,
          changes: new PublishedCatalogChanges({ topic: 'shelf.catalog', publish }, async (ids) => new Set(ids)),
        },
      });
    const published = publishing(async () => {});
    const auth = { 'content-type': 'application/x-ndjson', authorization: `Bearer ${KEY}` };
    await expectDocumented(
      await published.request(route, { method: 'POST', body: ndjson, headers: auth }),
      'post',
      route,
      202,
    );
    const down = publishing(async () => {
      throw new Error('broker down');
    });
    await expectDocumented(
      await down.request(route, { method: 'POST', body: ndjson, headers: auth }),
      'post',
      route,
      503,
    );
    const keyless = createApp({
      searcher: service.searcher,
      embedder: undefined,
      catalog: { changes: service.catalogChanges },
    });
    await expectDocumented(
      await keyless.request(route, { method: 'POST', body: ndjson, headers: auth }),
      'post',
      route,
      403,
    );
  });

  it('health, readiness and metrics', async () => {
    await expectDocumented(await service.app.request('/healthz'), 'get', '/healthz', 200);
    await expectDocumented(await service.app.request('/readyz'), 'get', '/readyz', 200);
    const down: Dependency = {
      name: 'elasticsearch',
      check: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const unready = createApp({ searcher: service.searcher, embedder: undefined, dependencies: [down] });
    await expectDocumented(await unready.request('/readyz'), 'get', '/readyz', 503);
    const text = await expectDocumented(await service.app.request('/metrics'), 'get', '/metrics', 200);
    expect(text).toMatch(/shelf_/);
  });

  it('catches a response that drifts from the document', () => {
    const ref = `openapi.json#/${pointer('paths', '/v1/search', 'get', 'responses', '200', 'content', 'application/json', 'schema')}`;
    const validate = ajv.compile({ $ref: ref });
    const good = { request_id: 'r', items: [], page: 1, size: 10, total: 0, took_ms: 1 };
    expect(validate(good)).toBe(true);
    expect(validate({ ...good, surprise: true })).toBe(false);
    expect(validate({ ...good, items: [{ id: 'p1', title: 't', in_stock: true, score: '1' }] })).toBe(false);
  });

  it('checked a response for every operation in the document', () => {
    const operations = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    const seen = new Set([...checked].map((c) => c.split(' ').slice(0, 2).join(' ')));
    expect(operations.filter((o) => !seen.has(o))).toEqual([]);
  });
});
