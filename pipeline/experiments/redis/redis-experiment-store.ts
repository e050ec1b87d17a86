import type { Redis } from 'ioredis';
import { connectRedis, redisDependency } from '../../../behavior/redis/redis-connect.ts';
import type { Dependency } from '../../../core/dependencies.ts';
import type { Experiment, ExperimentStatus } from '../experiment.ts';
import { withStatus, type ExperimentStore } from '../store.ts';

/** Key layout: one hash, `<namespace>:experiments`, field = experiment id, value = its JSON. */
export const experimentsKey = (namespace: string) => `${namespace}:experiments`;

/**
 * Experiment definitions in Redis, shared by every service instance. A status move is a
 * WATCH/MULTI transaction on the hash, retried when another instance wrote it in between.
 */
export class RedisExperimentStore implements ExperimentStore {
  readonly kind = 'redis';

  private constructor(
    private readonly redis: Redis,
    private readonly url: string,
    private readonly key: string,
  ) {}

  static async open(opts: { url: string; namespace: string }): Promise<RedisExperimentStore> {
    return new RedisExperimentStore(
      await connectRedis(opts.url, 'experiments'),
      opts.url,
      experimentsKey(opts.namespace),
    );
  }

  async create(e: Experiment): Promise<'created' | 'exists'> {
    return (await this.redis.hsetnx(this.key, e.id, JSON.stringify(e))) === 1 ? 'created' : 'exists';
  }

  async get(id: string): Promise<Experiment | undefined> {
    const raw = await this.redis.hget(this.key, id);
    return raw === null ? undefined : (JSON.parse(raw) as Experiment);
  }

  async list(): Promise<Experiment[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.keys(all)
      .sort()
      .map((id) => JSON.parse(all[id]!) as Experiment);
  }

  async setStatus(id: string, status: ExperimentStatus, at: number): Promise<Experiment | undefined> {
    // WATCH needs its own connection so concurrent calls on this client do not share a transaction.
    // The service's clients have no offline queue (a lost Redis fails at once, core/dependency-guard.ts),
    // so the new connection is used only once it is ready.
    const conn = this.redis.duplicate({ lazyConnect: true });
    try {
      await conn.connect();
      for (let attempt = 0; attempt < 20; attempt++) {
        await conn.watch(this.key);
        const raw = await conn.hget(this.key, id);
        if (raw === null) {
          await conn.unwatch();
          return undefined;
        }
        const next = withStatus(JSON.parse(raw) as Experiment, status, at);
        const done = await conn.multi().hset(this.key, id, JSON.stringify(next)).exec();
        if (done !== null) return next;
      }
      throw new Error(`experiment ${id}: status kept changing under concurrent writers`);
    } finally {
      conn.disconnect();
    }
  }

  dependencies(): Dependency[] {
    return [redisDependency(this.redis, this.url, 'experiments')];
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
