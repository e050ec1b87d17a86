import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { loadConfig } from '../config.ts';
import { openService, type Service } from '../service.ts';
import { servedEntry } from '../../test/helpers/served.ts';
import type { EventLog } from '../../behavior/event-log.ts';
import { createApp } from '../app.ts';

const KEY = 'test-admin-key-0123456789';
let service: Service;
let dataDir: string;
let config: ReturnType<typeof loadConfig>;

beforeAll(async () => {
  const dir = tempDir();
  dataDir = path.join(dir, 'data');
  config = loadConfig({
    SHELF_DATA_DIR: dataDir,
    SHELF_CATALOG: '',
    SHELF_RANK: 'off',
    SHELF_CONSUMER: 'inline',
    SHELF_ADMIN_API_KEY: KEY,
  });
  service = await openService(config, {
    embedder: new HashEmbedder(),
    catalog: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS),
    log: () => {},
  });
});
afterAll(async () => service?.close());

const post = (pathname: string, body: string, headers: Record<string, string> = {}) =>
  service.app.request(pathname, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

describe('parameters named like object built-ins', () => {
  const names = ['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty'];
  const urls = ['/v1/search?q=x', '/v1/feed?user_id=u1', '/v1/products/p1/similar?size=3', '/v1/coupons?user_id=u1'];
  for (const url of urls)
    for (const name of names)
      it(`${url}&${name}=1 is a 400 unknown_parameter`, async () => {
        const res = await service.app.request(`${url}&${name}=1`);
        expect(res.status).toBe(400);
        expect(await res.json()).toEqual({
          error: { code: 'unknown_parameter', message: `unknown parameter "${name}"`, field: name },
        });
      });
});

describe('JSON bodies with a __proto__ or constructor key', () => {
  const cases: Array<[string, string, string]> = [
    ['POST', '/v1/search', '{"q":"x","__proto__":{"polluted":1}}'],
    ['POST', '/v1/search', '{"q":"x","filters":{"__proto__":{"polluted":1}}}'],
    ['POST', '/v1/search', '{"q":"x","constructor":{"prototype":{"polluted":1}}}'],
    ['POST', '/v1/feed', '{"user_id":"u","__proto__":{"polluted":1}}'],
    ['POST', '/v1/feed', '{"user_id":"u","context":{"__proto__":{"polluted":1}}}'],
    ['POST', '/v1/events', '{"__proto__":{"events":[{"polluted":1}]}}'],
    [
      'POST',
      '/v1/events',
      '[{"__proto__":{"polluted":1},"event_id":"pp","type":"view","user_id":"u","product_id":"p1","ts":1700000000000}]',
    ],
    ['POST', '/v1/coupons/c-none/claim', '{"user_id":"u","__proto__":{"polluted":1}}'],
    ['PUT', '/v1/admin/coupons/c-pp', '{"name":"c","__proto__":{"polluted":1}}'],
  ];
  for (const [method, pathname, body] of cases)
    it(`${method} ${pathname} ${body.slice(0, 60)}: a 400, and nothing polluted`, async () => {
      const res = await service.app.request(pathname, {
        method,
        body,
        headers: { 'content-type': 'application/json', 'idempotency-key': 'pp-1', authorization: `Bearer ${KEY}` },
      });
      expect(res.status).toBe(400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    });
});

describe('POST /v1/events: event times', () => {
  it('rejects, per event, a ts too far ahead of the server clock or before 2000', async () => {
    const base = { type: 'click', user_id: 'u-time', product_id: 'p1' };
    const res = await post(
      '/v1/events',
      JSON.stringify({
        events: [
          { ...base, event_id: 't-ok', ts: Date.now() },
          { ...base, event_id: 't-max', ts: 8_640_000_000_000_000 },
          { ...base, event_id: 't-iso', ts: '9999-12-31T23:59:59Z' },
          { ...base, event_id: 't-old', ts: '1999-12-31T23:59:59Z' },
        ],
      }),
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.accepted_ids).toEqual(['t-ok']);
    expect(body.rejected.map((r: Record<string, unknown>) => [r.index, r.event_id, r.code, r.field])).toEqual([
      [1, 't-max', 'invalid_event', 'ts'],
      [2, 't-iso', 'invalid_event', 'ts'],
      [3, 't-old', 'invalid_event', 'ts'],
    ]);
  });
});

describe('request ids', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  for (const [name, send] of [
    [
      'GET /v1/search',
      () => service.app.request('/v1/search?q=running', { headers: { 'X-Request-Id': 'victim-request-1' } }),
    ],
    [
      'POST /v1/feed',
      () => post('/v1/feed', JSON.stringify({ user_id: 'u-rid' }), { 'X-Request-Id': 'victim-request-1' }),
    ],
  ] as const)
    it(`${name}: the client's X-Request-Id is not the request id nor the served-log key`, async () => {
      const res = await send();
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.request_id).toMatch(UUID);
      expect(res.headers.get('X-Request-Id')).toBe(body.request_id);
      expect(res.headers.get('X-Client-Request-Id')).toBe('victim-request-1');
      expect((await servedEntry(service, dataDir, body.request_id)).request_id).toBe(body.request_id);
      await expect(servedEntry(service, dataDir, 'victim-request-1')).rejects.toThrow(/no served entry/);
    });

  it('every request gets its own id', async () => {
    const a = await (await service.app.request('/v1/search?q=x', { headers: { 'X-Request-Id': 'same' } })).json();
    const b = await (await service.app.request('/v1/search?q=x', { headers: { 'X-Request-Id': 'same' } })).json();
    expect(a.request_id).not.toBe(b.request_id);
  });
});

describe('what unauthenticated answers do not tell', () => {
  it('/readyz names each dependency and whether it is up, not the data directory', async () => {
    const res = await service.app.request('/readyz');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(dataDir);
    const body = JSON.parse(text);
    expect(body.dependencies.length).toBeGreaterThan(0);
    for (const d of body.dependencies) expect(d).toMatchObject({ name: expect.any(String), ok: true });
  });

  it('503 stream_unavailable does not carry the back end error, on events and coupon claims', async () => {
    const secret = 'connect ECONNREFUSED 10.1.2.3:9092 at /srv/kafka/secret-path';
    const log = {
      ...service.behavior.log,
      async append() {
        throw new Error(secret);
      },
    } as EventLog;
    const c = config;
    const app = createApp({
      searcher: service.searcher,
      embedder: undefined,
      behavior: { state: service.behavior.state, feed: c.feed, config: c.behavior, log },
      coupons: { ledger: service.coupons },
    });
    const define = await service.app.request('/v1/admin/coupons/c-leak', {
      method: 'PUT',
      body: JSON.stringify({
        name: 'c-leak',
        type: 'fixed',
        value: 10,
        valid_from: Date.now() - 86_400_000,
        valid_until: Date.now() + 86_400_000,
        stock: 10,
      }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    });
    expect(define.status).toBeLessThan(300);
    const errors: unknown[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args) => void errors.push(args));
    try {
      for (const res of [
        await app.request('/v1/events', {
          method: 'POST',
          body: JSON.stringify([{ event_id: 'leak-1', type: 'view', user_id: 'u', product_id: 'p1', ts: Date.now() }]),
          headers: { 'content-type': 'application/json' },
        }),
        await app.request('/v1/coupons/c-leak/claim', {
          method: 'POST',
          body: JSON.stringify({ user_id: 'leaky' }),
          headers: { 'content-type': 'application/json', 'idempotency-key': 'leak-k1' },
        }),
      ]) {
        expect(res.status).toBe(503);
        const text = await res.text();
        expect(JSON.parse(text).error.code).toBe('stream_unavailable');
        expect(text).not.toContain('ECONNREFUSED');
        expect(text).not.toContain('secret-path');
      }
    } finally {
      spy.mockRestore();
    }
    // The detail is logged on the server.
    expect(JSON.stringify(errors.map(String))).toContain('ECONNREFUSED');
  });
});

describe('body limits', () => {
  /** A body of `total` bytes of JSON-ish filler, streamed in 64 KiB chunks; `pulled` says how much was read. */
  function streamed(total: number) {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    const state = { pulled: 0 };
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (state.pulled >= total) return controller.close();
        state.pulled += chunk.length;
        controller.enqueue(chunk);
      },
    });
    return { body, state };
  }
  const send = (pathname: string, body: BodyInit, headers: Record<string, string> = {}) =>
    service.app.request(pathname, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      duplex: 'half',
    } as RequestInit);

  it('declared once in the settings: 4 MiB for events, 64 KiB for search and feed, 256 KiB for admin', () => {
    expect(config.service.bodyLimits).toEqual({
      events: 4 * 1024 * 1024,
      search: 64 * 1024,
      feed: 64 * 1024,
      coupons: 64 * 1024,
      admin: 256 * 1024,
      other: 64 * 1024,
      catalog: 32 * 1024 * 1024,
    });
    expect(loadConfig({ SHELF__SERVICE__BODY_LIMITS__SEARCH: '2048' }).service.bodyLimits.search).toBe(2048);
  });

  it('a body over the limit is a 413 payload_too_large, without reading it all', async () => {
    for (const [pathname, limit] of [
      ['/v1/search', 64 * 1024],
      ['/v1/feed', 64 * 1024],
      ['/v1/events', 4 * 1024 * 1024],
    ] as const) {
      const { body, state } = streamed(400 * 1024 * 1024);
      const res = await send(pathname, body);
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        error: { code: 'payload_too_large', message: expect.stringContaining(`${limit} bytes`) },
      });
      expect(state.pulled).toBeLessThanOrEqual(limit + 2 * 64 * 1024);
    }
  });

  it('a declared Content-Length over the limit is refused before the body is read', async () => {
    const res = await send('/v1/search', JSON.stringify({ q: 'x'.repeat(70 * 1024) }), {
      'content-length': String(70 * 1024 + 9),
    });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('payload_too_large');
  });

  it('a body within the limit is served as before', async () => {
    const search = await send('/v1/search', JSON.stringify({ q: 'running', size: 2 }));
    expect(search.status).toBe(200);
    const events = Array.from({ length: 1000 }, (_, i) => ({
      event_id: `bl-${i}`,
      type: 'view',
      user_id: 'u-bl',
      product_id: 'p1',
      query: 'q'.repeat(900),
      ts: Date.now(),
    }));
    const text = JSON.stringify({ events });
    expect(text.length).toBeGreaterThan(64 * 1024);
    const res = await send('/v1/events', text);
    expect(res.status).toBe(200);
    expect((await res.json()).accepted).toBe(1000);
  });
});

describe('URLs within the HTTP server’s header limit (found by the API fuzzer)', () => {
  it('GET /v1/feed takes at most 50 exclude ids (documented), the POST body up to 1,000', async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
    const over = await service.app.request(`/v1/feed?user_id=u1&exclude=${ids(51).join(',')}`);
    expect(over.status).toBe(400);
    expect(((await over.json()) as { error: { field: string } }).error.field).toBe('exclude');
    expect((await service.app.request(`/v1/feed?user_id=u1&exclude=${ids(50).join(',')}`)).status).toBe(200);
    expect((await post('/v1/feed', JSON.stringify({ user_id: 'u1', exclude: ids(1000) }))).status).toBe(200);
    const doc = (await (await service.app.request('/openapi.json')).json()) as {
      paths: Record<string, { get: { parameters: Array<{ name: string; schema: { maxItems?: number } }> } }>;
    };
    const param = doc.paths['/v1/feed']!.get.parameters.find((p) => p.name === 'exclude')!;
    expect(param.schema.maxItems).toBe(50);
    // 50 ids of the longest allowed length fit in Node's 16 KiB header limit.
    expect(`GET /v1/feed?user_id=u1&exclude=${Array(50).fill('x'.repeat(256)).join(',')}`.length).toBeLessThan(
      16 * 1024,
    );
  });
});
