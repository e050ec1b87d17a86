import path from 'node:path';
import type { Dependency } from '../core/dependencies.ts';
import type { BehaviorConfig } from './config.ts';
import { SqliteEventLog } from './embedded/sqlite-event-log.ts';
import { SqliteStateStore } from './embedded/sqlite-state-store.ts';
import type { EventLog } from './event-log.ts';
import type { StateStore } from './state-store.ts';

export interface BehaviorBackends {
  namespace: string;
  kafkaBrokers?: string[] | undefined;
  redisUrl?: string | undefined;
}

/** The behaviour stream, the state built from it, and the log of what each response showed. */
export interface Behavior {
  log: EventLog;
  state: StateStore;
  served: EventLog;
  dependencies(): Dependency[];
  close(): Promise<void>;
}

/**
 * Kafka when KAFKA_BROKERS is set, else a SQLite log under the data dir; Redis when REDIS_URL
 * is set, else SQLite. The production modules load only when configured, so an embedded
 * install never opens a socket.
 */
export async function openBehavior(opts: {
  dataDir: string;
  backends: BehaviorBackends;
  config: BehaviorConfig;
  /** The consumer's connection: the only writer, so it may cache user states. */
  writer?: boolean;
}): Promise<Behavior> {
  const dir = path.join(opts.dataDir, 'behavior');
  const ns = opts.backends.namespace;
  let log: EventLog;
  let served: EventLog;
  if (opts.backends.kafkaBrokers) {
    const { KafkaEventLog } = await import('./kafka/kafka-event-log.ts');
    log = await KafkaEventLog.open({ brokers: opts.backends.kafkaBrokers, namespace: ns });
    try {
      served = await KafkaEventLog.open({ brokers: opts.backends.kafkaBrokers, namespace: ns, topic: `${ns}.served` });
    } catch (err) {
      await log.close();
      throw err;
    }
  } else {
    log = new SqliteEventLog({ file: path.join(dir, 'events.sqlite') });
    served = new SqliteEventLog({ file: path.join(dir, 'served.sqlite') });
  }
  let state: StateStore;
  if (opts.backends.redisUrl) {
    const { RedisStateStore } = await import('./redis/redis-state-store.ts');
    try {
      state = await RedisStateStore.open({
        url: opts.backends.redisUrl,
        namespace: ns,
        trendingHalfLifeMs: opts.config.trending_half_life_ms,
      });
    } catch (err) {
      await Promise.allSettled([log.close(), served.close()]);
      throw err;
    }
  } else {
    state = new SqliteStateStore({
      file: path.join(dir, 'state.sqlite'),
      trendingHalfLifeMs: opts.config.trending_half_life_ms,
      ...(opts.writer && { cacheUsers: 100_000 }),
    });
  }
  return {
    log,
    state,
    served,
    dependencies: () => [...log.dependencies(), ...state.dependencies()],
    async close() {
      await log.close();
      await served.close();
      await state.close();
    },
  };
}
