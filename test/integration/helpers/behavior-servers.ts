import { Redis } from 'ioredis';
import { createKafka } from '../../../behavior/kafka/kafka-client.ts';
import { KafkaEventLog } from '../../../behavior/kafka/kafka-event-log.ts';
import { RedisStateStore } from '../../../behavior/redis/redis-state-store.ts';
import { behaviorConfig } from '../../helpers/behavior-stream.ts';

/** The servers scripts/test-integration.sh started (scripts/servers/ defaults otherwise). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';
export const KAFKA_BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A namespace no other test or run uses, so tests never see each other's keys or topics. */
export const testNamespace = (what: string) =>
  `shelf-test-${what}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Kafka's minimum: a killed consumer's partitions move to a new one after this long. */
export const SESSION_TIMEOUT_MS = 6000;

export function openLog(namespace: string) {
  return KafkaEventLog.open({
    brokers: KAFKA_BROKERS,
    namespace,
    consumer: { sessionTimeoutMs: SESSION_TIMEOUT_MS, retryMs: 50 },
  });
}

export function openState(namespace: string) {
  return RedisStateStore.open({ url: REDIS_URL, namespace, trendingHalfLifeMs: behaviorConfig.trending_half_life_ms });
}

export async function dropRedisNamespace(namespace: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      if (keys.length > 0) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** Deletes every topic the namespace made (behaviour, dead letters, catalog changes). */
export async function dropTopics(namespace: string): Promise<void> {
  const admin = createKafka({ brokers: KAFKA_BROKERS }).admin();
  await admin.connect();
  try {
    // Listed first: kafkajs retries deleting a topic that was never made for seconds.
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } catch {
    // Already gone: either way nothing is left behind.
  } finally {
    await admin.disconnect();
  }
}
