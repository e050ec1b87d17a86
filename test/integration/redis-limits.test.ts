import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisClient } from '../../behavior/redis/redis-connect.ts';
import { createMetrics } from '../../core/metrics.ts';
import { ApiError, errorResponse } from '../../src/api/errors.ts';
import { createLimits } from '../../src/api/limits.ts';
import { LimitsSettingsSchema } from '../../src/settings/schema.ts';
import { dropRedisNamespace, REDIS_URL, testNamespace } from './helpers/behavior-servers.ts';

/**
 * Rate limits in real Redis: every instance of the service spends from one counter per client,
 * so a client cannot multiply its limit by the number of instances behind the load balancer.
 */
const ns = testNamespace('limits');
const clients: Redis[] = [];

/** One "instance": its own Redis client and limiter, the same namespace. */
async function instance(points: number) {
  const redis = redisClient(REDIS_URL, 'limits-test', { commandTimeoutMs: 1000 });
  await redis.connect();
  clients.push(redis);
  const limits = createLimits({
    settings: LimitsSettingsSchema.parse({ max_in_flight: 0, refusal_delay_ms: 0, client: { points, duration_s: 60 } }),
    metrics: createMetrics(),
    redis,
    namespace: ns,
    isServer: () => false,
    clientAddress: (c) => c.req.header('x-test-client'),
  });
  const app = new Hono();
  app.use('*', limits.middleware);
  app.get('/v1/search', (c) => c.json({ ok: true }));
  app.onError((err, c) => (err instanceof ApiError ? errorResponse(c, err) : c.json({}, 500)));
  return (ip: string) => app.request('/v1/search', { headers: { 'x-test-client': ip } });
}

beforeAll(async () => {
  await dropRedisNamespace(ns);
});
afterAll(async () => {
  await dropRedisNamespace(ns);
  for (const c of clients) c.disconnect();
});

describe(`rate limits shared in Redis at ${REDIS_URL}`, () => {
  it('two instances spend one client budget: the sixth request of a 5-point client is refused on either', async () => {
    const a = await instance(5);
    const b = await instance(5);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await (i % 2 === 0 ? a : b)('10.1.0.1')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = await a('10.1.0.1');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another client has its own budget.
    expect((await b('10.1.0.2')).status).toBe(200);
  });
});
