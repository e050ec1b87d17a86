import path from 'node:path';
import { SqliteExperimentStore } from './embedded/sqlite-experiment-store.ts';
import type { ExperimentStore } from './store.ts';

/** Redis when REDIS_URL is set, else SQLite at `<dataDir>/experiments/experiments.sqlite`. */
export async function openExperimentStore(opts: {
  dataDir: string;
  redisUrl?: string | undefined;
  namespace: string;
}): Promise<ExperimentStore> {
  if (opts.redisUrl) {
    const { RedisExperimentStore } = await import('./redis/redis-experiment-store.ts');
    return RedisExperimentStore.open({ url: opts.redisUrl, namespace: opts.namespace });
  }
  return new SqliteExperimentStore({ file: path.join(opts.dataDir, 'experiments', 'experiments.sqlite') });
}
