import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../../test/helpers/catalog.ts';
import { HashEmbedder } from '../../test/helpers/embedders.ts';
import { createMetrics } from '../../core/metrics.ts';
import { loadConfig } from '../config.ts';
import { openService, type Service } from '../service.ts';
import { createApp } from '../app.ts';
import type { z } from 'zod';
import { LimitsSettingsSchema } from '../settings/schema.ts';

let service: Service;

beforeAll(async () => {
  const dir = tempDir();
  const config = loadConfig({ SHELF_DATA_DIR: path.join(dir, 'data'), SHELF_CATALOG: '', SHELF_RANK: 'off' });
  service = await openService(config, {
    embedder: new HashEmbedder(),
    catalog: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS),
    log: () => {},
  });
});
afterAll(async () => service?.close());

/** An app over the service's index with these limits; the client address comes from a test header. */
function appWith(limits: z.input<typeof LimitsSettingsSchema>) {
  const metrics = createMetrics();
  const app = createApp({
    searcher: service.searcher,
    embedder: undefined,
    metrics,
    limits: LimitsSettingsSchema.parse(limits),
    clientAddress: (c) => c.req.header('x-test-client'),
  });
  return { app, metrics };
}

const rejected = async (metrics: ReturnType<typeof createMetrics>) =>
  Object.fromEntries((await metrics.requestsRejected.get()).values.map((v) => [v.labels.reason, v.value]));

describe('load shedding', () => {
  it('past max_in_flight (no queue), requests are answered 503 overloaded with Retry-After; probes are exempt', async () => {
    const { app, metrics } = appWith({
      max_in_flight: 2,
      shed_retry_after_s: 3,
      refusal_delay_ms: 0,
      queue: { max: 0 },
    });
    const all = await Promise.all([
      ...Array.from({ length: 10 }, () => app.request('/v1/search?q=running+shoes')),
      app.request('/healthz'),
      app.request('/metrics'),
    ]);
    const searches = all.slice(0, 10);
    expect(searches.filter((r) => r.status === 200)).toHaveLength(2);
    const shed = searches.filter((r) => r.status === 503);
    expect(shed).toHaveLength(8);
    for (const r of shed) {
      expect(r.headers.get('retry-after')).toBe('3');
      expect(await r.json()).toEqual({
        error: { code: 'overloaded', message: 'the service is at capacity; retry after the Retry-After seconds' },
      });
    }
    expect(all[10]!.status).toBe(200);
    expect(all[11]!.status).toBe(200);
    expect(await rejected(metrics)).toEqual({ shed: 8 });
    // Once the in-flight ones are done, the next is served.
    expect((await app.request('/v1/search?q=running+shoes')).status).toBe(200);
    expect((await metrics.requestsInFlight.get()).values[0]!.value).toBe(0);
  });

  it('holds refusals refusal_delay_ms without an in-flight slot: admitted requests go on meanwhile', async () => {
    const { app } = appWith({ max_in_flight: 1, refusal_delay_ms: 300, queue: { max: 0 } });
    const slow = app.request('/v1/search?q=running+shoes');
    const t0 = performance.now();
    const shed = app.request('/v1/search?q=running+shoes');
    expect((await slow).status).toBe(200);
    // The held refusal does not count against the bound: the next request is admitted at once.
    const admitted = await app.request('/v1/search?q=shoes');
    expect(admitted.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(300);
    const refused = await shed;
    expect(refused.status).toBe(503);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('one in flight with the default queue: the requests one page sends at once are all served, in turn', async () => {
    const { app, metrics } = appWith({ max_in_flight: 1 });
    const page = await Promise.all([
      app.request('/v1/search?q=running+shoes'),
      app.request('/v1/search?q=headphones'),
      app.request('/v1/search?q=shoes'),
    ]);
    expect(page.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await rejected(metrics)).toEqual({});
    expect((await metrics.requestsQueued.get()).values[0]!.value).toBe(0);
    expect((await metrics.requestsInFlight.get()).values[0]!.value).toBe(0);
  });

  it('max_in_flight 0 sheds nothing', async () => {
    const { app } = appWith({ max_in_flight: 0 });
    const all = await Promise.all(Array.from({ length: 20 }, () => app.request('/v1/search?q=shoes')));
    expect(all.every((r) => r.status === 200)).toBe(true);
  });
});

describe('rate limits', () => {
  it('per client: 429 rate_limited with Retry-After past the limit, other clients unaffected', async () => {
    const { app, metrics } = appWith({ max_in_flight: 0, refusal_delay_ms: 0, client: { points: 3, duration_s: 60 } });
    const from = (ip: string) => app.request('/v1/search?q=shoes', { headers: { 'x-test-client': ip } });
    const a = [];
    for (let i = 0; i < 5; i++) a.push(await from('10.0.0.1'));
    expect(a.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
    const retry = Number(a[3]!.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(await a[3]!.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await from('10.0.0.2')).status).toBe(200);
    expect(await rejected(metrics)).toEqual({ client_rate: 2 });
    expect((await app.request('/healthz', { headers: { 'x-test-client': '10.0.0.1' } })).status).toBe(200);
  });

  it('per shopper: a shopper past the limit gets 429, anonymous search and other shoppers do not', async () => {
    const { app, metrics } = appWith({ max_in_flight: 0, shopper: { points: 2, duration_s: 60 } });
    const as = (user: string) => app.request(`/v1/search?q=shoes&user_id=${user}`);
    expect([(await as('alice')).status, (await as('alice')).status, (await as('alice')).status]).toEqual([
      200, 200, 429,
    ]);
    expect((await as('bob')).status).toBe(200);
    expect((await app.request('/v1/search?q=shoes')).status).toBe(200);
    expect(await rejected(metrics)).toEqual({ shopper_rate: 1 });
  });

  it('the Prometheus text names the rejections', async () => {
    const { app } = appWith({ max_in_flight: 0, client: { points: 1, duration_s: 60 } });
    await app.request('/v1/search?q=shoes', { headers: { 'x-test-client': 'c' } });
    await app.request('/v1/search?q=shoes', { headers: { 'x-test-client': 'c' } });
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('shelf_requests_rejected_total{reason="client_rate"} 1');
    expect(text).toMatch(/shelf_http_requests_total\{route="[^"]*",status="429"\} 1/);
  });
});
