import path from 'node:path';
import type { Dependency } from '../core/dependencies.ts';
import type { DependencyGuards } from '../core/dependency-guard.ts';
import type { BehaviorConfig } from './config.ts';
import { SqliteEventLog } from './embedded/sqlite-event-log.ts';
import { SqliteStateStore } from './embedded/sqlite-state-store.ts';
import type { EventLog } from './event-log.ts';
import { GuardedEventLog } from './guarded-event-log.ts';
import { GuardedStateStore } from './guarded-state-store.ts';
import { DAY_MS, windowMs, type RetentionConfig } from './retention-config.ts';
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
 * install never opens a socket. With `guards`, a server's calls run within its budget and
 * breaker (Kafka appends, every Redis state call); the embedded SQLite files are used as they are.
 */
export async function openBehavior(opts: {
  dataDir: string;
  backends: BehaviorBackends;
  config: BehaviorConfig;
  /**
   * The windows servers keep by themselves: Kafka topic retention when the topics are created,
   * Redis TTLs on applied markers and the dead-letter cap. The embedded stores are pruned by
   * behavior/retention.ts instead. Undefined: the servers' and stores' defaults.
   */
  retention?: RetentionConfig | undefined;
  /** The consumer's connection: the only writer, so it may cache user states. */
  writer?: boolean;
  /**
   * The serving path's budgets and breakers (core/dependency-guard.ts). None for a writer that
   * retries on its own (the consumer process): its batches are not a request's to wait for.
   */
  guards?: Pick<DependencyGuards, 'kafka' | 'redis'> | undefined;
}): Promise<Behavior> {
  const dir = path.join(opts.dataDir, 'behavior');
  const ns = opts.backends.namespace;
  let log: EventLog;
  let served: EventLog;
  const r = opts.retention?.enabled ? opts.retention : undefined;
  if (opts.backends.kafkaBrokers) {
    const { KafkaEventLog } = await import('./kafka/kafka-event-log.ts');
    const partitions = 6;
    const topicRetention = (w: { days: number; bytes: number } | undefined) => ({
      ms: w ? windowMs(w.days) : undefined,
      bytesPerPartition: w?.bytes ? w.bytes / partitions : undefined,
    });
    log = await KafkaEventLog.open({
      brokers: opts.backends.kafkaBrokers,
      namespace: ns,
      partitions,
      retention: topicRetention(r?.events),
    });
    try {
      served = await KafkaEventLog.open({
        brokers: opts.backends.kafkaBrokers,
        namespace: ns,
        topic: `${ns}.served`,
        partitions,
        retention: topicRetention(r?.served),
      });
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
        ...(r && {
          // "No limit" is as long as a Redis TTL sensibly goes: ten years.
          appliedTtlMs: windowMs(r.applied.days) ?? 3650 * DAY_MS,
          ...(r.dead_letters.rows > 0 && { deadLetterCap: r.dead_letters.rows }),
        }),
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
      ...(r && r.dead_letters.rows > 0 && { deadLetterCap: r.dead_letters.rows }),
    });
  }
  const g = opts.guards;
  const guardLog = (l: EventLog) => (g && l.kind === 'kafka' ? new GuardedEventLog(l, g.kafka) : l);
  return {
    log: guardLog(log),
    state: g && state.kind === 'redis' ? new GuardedStateStore(state, g.redis) : state,
    served: guardLog(served),
    // /readyz checks each server itself, with its own deadline: never through a breaker.
    dependencies: () => [...log.dependencies(), ...state.dependencies()],
    async close() {
      await log.close();
      await served.close();
      await state.close();
    },
  };
}
