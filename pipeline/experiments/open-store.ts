import path from 'node:path';
import { guardByPlan, type DependencyGuards, type GuardPlan } from '../../core/dependency-guard.ts';
import { SqliteExperimentStore } from './embedded/sqlite-experiment-store.ts';
import type { ExperimentStore } from './store.ts';

/**
 * Every personalised request reads the definitions (at most once per cache_ms): with `guards`, a
 * frozen Redis costs it the Redis budget, not the client's command time-out.
 */
const PLAN: GuardPlan<ExperimentStore> = { create: true, get: true, list: true, setStatus: true, close: false };

/** Redis when REDIS_URL is set, else SQLite at `<dataDir>/experiments/experiments.sqlite`. */
export async function openExperimentStore(opts: {
  dataDir: string;
  redisUrl?: string | undefined;
  namespace: string;
  guards?: Pick<DependencyGuards, 'redis'> | undefined;
}): Promise<ExperimentStore> {
  if (opts.redisUrl) {
    const { RedisExperimentStore } = await import('./redis/redis-experiment-store.ts');
    const store = await RedisExperimentStore.open({ url: opts.redisUrl, namespace: opts.namespace });
    return opts.guards ? guardByPlan<ExperimentStore>(store, opts.guards.redis, PLAN) : store;
  }
  return new SqliteExperimentStore({ file: path.join(opts.dataDir, 'experiments', 'experiments.sqlite') });
}
