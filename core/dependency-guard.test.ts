import { describe, expect, it } from 'vitest';
import {
  DependencyBudgetsSchema,
  DependencyGuard,
  DependencyUnavailable,
  dependencyBudgetSchema,
  guardByPlan,
  guardMethods,
  type GuardPlan,
} from './dependency-guard.ts';
import { createMetrics, guardMetrics } from './metrics.ts';

const budget = (o: Record<string, unknown> = {}) =>
  dependencyBudgetSchema(50).parse({ consecutive_failures: 3, half_open_after_ms: 200, ...o });
const never = () => new Promise<never>(() => {});
const fail = () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379'));

describe('DependencyGuard', () => {
  it('abandons a call that does not answer at its budget, whatever the client does', async () => {
    const g = new DependencyGuard('redis', budget());
    const t0 = performance.now();
    const err = await g.call(never).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(err).toBeInstanceOf(DependencyUnavailable);
    expect(err).toMatchObject({ dependency: 'redis', kind: 'timeout' });
  });

  it('opens after the consecutive failures, then refuses without calling, then half-opens', async () => {
    const g = new DependencyGuard('kafka', budget());
    let calls = 0;
    const counted = () => (calls++, fail());
    for (let i = 0; i < 3; i++) await expect(g.call(counted)).rejects.toMatchObject({ kind: 'error' });
    expect(g.state).toBe('open');
    const refused = await g.call(counted).catch((e: DependencyUnavailable) => e);
    expect(refused).toMatchObject({ kind: 'open' });
    expect(calls).toBe(3);
    // Retry-After: the rest of the open period, in whole seconds, at least 1.
    expect((refused as DependencyUnavailable).retryAfterSeconds).toBe(1);
    await new Promise((r) => setTimeout(r, 250));
    expect(await g.call(async () => 'back')).toBe('back');
    expect(g.state).toBe('closed');
  });

  it('passes answers the caller names through, without counting them against the breaker', async () => {
    class Conflict extends Error {}
    const g = new DependencyGuard('redis', budget({ consecutive_failures: 1 }));
    const conflict = () => Promise.reject(new Conflict('changed concurrently'));
    await expect(g.call(conflict, (e) => e instanceof Conflict)).rejects.toBeInstanceOf(Conflict);
    expect(g.state).toBe('closed');
  });

  it('never puts the server error text in its message (it reaches clients); the cause keeps it', async () => {
    const g = new DependencyGuard('redis', budget());
    const err = (await g.call(fail).catch((e: unknown) => e)) as DependencyUnavailable;
    expect(err.message).not.toContain('127.0.0.1');
    expect((err.cause as Error).message).toContain('ECONNREFUSED');
  });

  it('opens on a failure ratio with the sampling breaker', async () => {
    const g = new DependencyGuard(
      'qdrant',
      budget({ breaker: 'sampling', failure_ratio: 0.5, sampling_ms: 1000, min_rps: 1 }),
    );
    for (let i = 0; i < 20; i++) await g.call(i % 2 === 0 ? fail : async () => 1).catch(() => {});
    expect(g.state).toBe('open');
  });

  it('feeds the failures counter and the breaker gauge', async () => {
    const metrics = createMetrics();
    const g = new DependencyGuard('elasticsearch', budget({ consecutive_failures: 2 }), guardMetrics(metrics));
    await g.call(never).catch(() => {});
    await g.call(fail).catch(() => {});
    await g.call(fail).catch(() => {});
    const text = await metrics.registry.metrics();
    expect(text).toContain('shelf_dependency_failures_total{dependency="elasticsearch",kind="timeout"} 1');
    expect(text).toContain('shelf_dependency_failures_total{dependency="elasticsearch",kind="error"} 1');
    expect(text).toContain('shelf_dependency_failures_total{dependency="elasticsearch",kind="open"} 1');
    expect(text).toContain('shelf_dependency_breaker_state{dependency="elasticsearch"} 1');
  });

  it('has a budget per server in the settings, with defaults', () => {
    const b = DependencyBudgetsSchema.parse({ redis: { timeout_ms: 100 } });
    expect(b.redis).toMatchObject({ timeout_ms: 100, breaker: 'consecutive', consecutive_failures: 5 });
    expect(b.kafka.timeout_ms).toBe(2000);
    expect(b.elasticsearch.timeout_ms).toBe(1000);
    expect(() => DependencyBudgetsSchema.parse({ redis: { timeout_ms: 0 } })).toThrow();
  });
});

describe('guardMethods', () => {
  class Store {
    readonly kind = 'remote';
    private calls = 0;
    async list(): Promise<string[]> {
      this.calls++;
      return never();
    }
    async count(): Promise<number> {
      return this.calls;
    }
    name(): string {
      return `${this.kind} store`;
    }
  }

  it('runs the named methods within the budget and leaves the rest as they are, bound to the store', async () => {
    const store = guardMethods(new Store(), new DependencyGuard('redis', budget()), ['list']);
    const t0 = performance.now();
    await expect(store.list()).rejects.toMatchObject({ dependency: 'redis', kind: 'timeout' });
    expect(performance.now() - t0).toBeLessThan(500);
    // Unguarded members see the store's own state: the guarded call reached it once.
    expect(await store.count()).toBe(1);
    expect(store.name()).toBe('remote store');
    expect(store.kind).toBe('remote');
  });

  it('guardByPlan guards what a plan naming every async method marks, and the plan must name them all', async () => {
    // @ts-expect-error `count` is not placed: a store's plan does not compile until every async method is.
    const partial: GuardPlan<Store> = { list: true };
    expect(partial).toBeDefined();
    const store = guardByPlan(new Store(), new DependencyGuard('redis', budget()), { list: true, count: false });
    await expect(store.list()).rejects.toMatchObject({ dependency: 'redis', kind: 'timeout' });
    expect(await store.count()).toBe(1);
  });
});
