import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { stateKeys } from '../../behavior/redis/redis-keys.ts';
import { RedisStateStore, type RedisStateOptions } from '../../behavior/redis/redis-state-store.ts';
import { apply, applyRecords, behaviorConfig, DAY, ev, T0, toRecords } from '../helpers/behavior-stream.ts';
import { dropRedisNamespace, REDIS_URL, testNamespace } from './helpers/behavior-servers.ts';

/** What only the Redis store has: key expiry, bounded sets and lists, the half-life guard. */
describe(`Redis state store specifics at ${REDIS_URL}`, () => {
  const namespaces: string[] = [];
  const redis = new Redis(REDIS_URL);
  const open = (opts: Partial<RedisStateOptions> = {}, ns = testNamespace('redis')) => {
    namespaces.push(ns);
    return RedisStateStore.open({
      url: REDIS_URL,
      namespace: ns,
      trendingHalfLifeMs: behaviorConfig.trending_half_life_ms,
      ...opts,
    });
  };
  afterAll(async () => {
    for (const ns of namespaces) await dropRedisNamespace(ns);
    redis.disconnect();
  });

  it('expires user states and applied markers after their TTLs', async () => {
    const ns = testNamespace('ttl');
    const store = await open({ userTtlMs: 5 * DAY, appliedTtlMs: 2 * DAY }, ns);
    const e = ev({ type: 'view', product_id: 'shoe', user_id: 'ttl' });
    await apply(store, [e]);
    const k = stateKeys(ns);
    const userTtl = await redis.pttl(k.user('u:ttl'));
    const appliedTtl = await redis.pttl(k.applied(e.event_id));
    expect(userTtl).toBeGreaterThan(5 * DAY - 60_000);
    expect(userTtl).toBeLessThanOrEqual(5 * DAY);
    expect(appliedTtl).toBeGreaterThan(2 * DAY - 60_000);
    expect(appliedTtl).toBeLessThanOrEqual(2 * DAY);
    await store.close();
  });

  it('keeps only the strongest co-occurrences and the newest dead letters', async () => {
    const store = await open({ coocCap: 2, deadLetterCap: 3 });
    // hat is viewed after four others: its neighbours weigh 1, 1/2, 1/3, 1/4 (cooc_window 5).
    const seq = ['shoe', 'sock', 'pan', 'pot', 'hat'];
    await apply(
      store,
      seq.map((p, i) => ev({ type: 'view', product_id: p, user_id: 'cap', ts: T0 + i * 60_000 })),
    );
    expect(await store.cooccurring('hat', 10)).toEqual([
      { id: 'pot', score: 1 },
      { id: 'pan', score: 0.5 },
    ]);
    const bad = toRecords(['a', 'b', 'c', 'd', 'e']);
    await applyRecords(store, bad);
    expect((await store.deadLetters(10)).map((d) => d.raw)).toEqual(['e', 'd', 'c']);
    await store.close();
  });

  it('refuses to mix trending built with another half-life', async () => {
    const ns = testNamespace('halflife');
    const store = await open({}, ns);
    await apply(store, [ev({ type: 'click', product_id: 'shoe', user_id: 'h' })]);
    await store.close();
    await expect(open({ trendingHalfLifeMs: 2 * DAY }, ns)).rejects.toThrow(
      /half-life of 86400000 ms, not 172800000 ms/,
    );
  });

  it('reports its version as a dependency', async () => {
    const store = await open();
    const [dep] = store.dependencies();
    expect(dep!.name).toBe('redis');
    expect(await dep!.check()).toMatch(/^Redis \d+\.\d+\.\d+ at redis:\/\//);
    await store.close();
  });
});
