import { Redis } from 'ioredis';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultBehaviorConfig } from '../behavior/config.ts';
import { startConsumer } from '../behavior/consumer.ts';
import { BehaviorEventSchema, type BehaviorEvent } from '../behavior/event.ts';
import { staticItems } from '../behavior/item-lookup.ts';
import { createKafka } from '../behavior/kafka/kafka-client.ts';
import { behaviorTopic, KafkaEventLog } from '../behavior/kafka/kafka-event-log.ts';
import { RedisStateStore } from '../behavior/redis/redis-state-store.ts';
import type { ItemInfo } from '../behavior/user-state.ts';
import { mulberry32 } from '../core/rng.ts';
import { summarize } from './stats.ts';

export interface KafkaBenchOptions {
  brokers: string[];
  redisUrl: string;
  outDir: string;
  /** Steady phase: events per second, each its own append() as one API request would make. */
  rate?: number;
  seconds?: number;
  /** Throughput phase: this many events appended in batches of 500, as fast as acks allow. */
  burst?: number;
  users?: number;
  products?: number;
  /** Embedding size of the synthetic products (user vectors are this long). */
  dim?: number;
  seed?: number;
  quiet?: boolean;
}

/**
 * Click-to-state latency of the production behaviour path: events appended to Kafka through
 * KafkaEventLog while behavior/consumer.ts applies them to the Redis StateStore. Each event's
 * latency runs from its append() call to the consumer's onApplied for its batch (its effects
 * committed in Redis, which is what the feed reads). Producer and consumer share this process.
 */
export async function runKafkaBench(o: KafkaBenchOptions) {
  const rate = o.rate ?? 200;
  const seconds = o.seconds ?? 30;
  const burst = o.burst ?? 20_000;
  const users = o.users ?? 1000;
  const productCount = o.products ?? 2000;
  const dim = o.dim ?? 128;
  const log = (s: string) => o.quiet || console.error(s);
  const config = defaultBehaviorConfig();
  const r = mulberry32(o.seed ?? 42);
  const ns = `bench-${Date.now().toString(36)}`;

  const items = new Map<string, ItemInfo>();
  for (let i = 0; i < productCount; i++) {
    const v = new Float32Array(dim).map(() => r() - 0.5);
    items.set(`p${i}`, {
      vector: v,
      categoryKey: `c${i % 20}/s${i % 100}`,
      brandKey: `b${i % 50}`,
      price: 5 + (i % 200),
    });
  }
  let seq = 0;
  const TYPES = ['view', 'view', 'view', 'click', 'click', 'add_to_cart', 'purchase'] as const;
  const event = (): BehaviorEvent =>
    BehaviorEventSchema.parse({
      event_id: `${ns}-${++seq}`,
      type: TYPES[Math.floor(r() * TYPES.length)],
      user_id: `u${Math.floor(r() * users)}`,
      product_id: `p${Math.floor(r() * productCount)}`,
      ts: Date.now(),
    });

  const eventLog = await KafkaEventLog.open({ brokers: o.brokers, namespace: ns });
  const state = await RedisStateStore.open({
    url: o.redisUrl,
    namespace: ns,
    trendingHalfLifeMs: config.trending_half_life_ms,
  });
  const [kafkaInfo, redisInfo] = await Promise.all([
    eventLog.dependencies()[0]!.check(),
    state.dependencies()[0]!.check(),
  ]);
  const sentAt = new Map<string, number>();
  const e2e: number[] = [];
  let applied = 0;
  let lastAppliedAt = 0;
  const consumer = await startConsumer({
    log: eventLog,
    state,
    items: staticItems(items),
    config,
    group: `${ns}-state`,
    onApplied: ({ events }) => {
      const now = performance.now();
      for (const e of events) {
        const t = sentAt.get(e.event_id);
        if (t !== undefined) e2e.push(now - t);
      }
      applied += events.length;
      lastAppliedAt = now;
    },
    onError: (err) => log(`consumer error: ${err.message}`),
  });
  const waitApplied = async (n: number, what: string) => {
    const deadline = Date.now() + 120_000;
    while (applied < n) {
      if (Date.now() > deadline) throw new Error(`${what}: only ${applied} of ${n} events applied after 120 s`);
      await new Promise((res) => setTimeout(res, 5));
    }
  };

  try {
    // Warm-up: connections, the consumer's first fetches, JIT.
    for (let i = 0; i < 200; i++) await eventLog.append([event()]);
    await waitApplied(200, 'warm-up');
    e2e.length = 0;

    log(`steady: ${rate} events/s for ${seconds} s, one append per event`);
    const total = rate * seconds;
    const acks: number[] = [];
    const pending: Array<Promise<void>> = [];
    const base = applied;
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((res) => setTimeout(res, wait));
      const e = event();
      const sent = performance.now();
      sentAt.set(e.event_id, sent);
      pending.push(eventLog.append([e]).then(() => void acks.push(performance.now() - sent)));
    }
    await Promise.all(pending);
    const sendSeconds = (performance.now() - t0) / 1000;
    await waitApplied(base + total, 'steady phase');
    const steady = {
      events: total,
      achieved_rate: Math.round(total / sendSeconds),
      e2e: summarize(e2e),
      append_ack: summarize(acks),
    };
    log(
      `steady: e2e p50 ${steady.e2e.p50_ms} ms, p99 ${steady.e2e.p99_ms} ms; append ack p50 ${steady.append_ack.p50_ms} ms`,
    );

    log(`burst: ${burst} events in appends of 500`);
    const before = applied;
    const b0 = performance.now();
    for (let i = 0; i < burst; i += 500) await eventLog.append(Array.from({ length: Math.min(500, burst - i) }, event));
    const appendedAt = performance.now();
    await waitApplied(before + burst, 'burst phase');
    const burstResult = {
      events: burst,
      append_seconds: round((appendedAt - b0) / 1000),
      appended_per_s: Math.round(burst / ((appendedAt - b0) / 1000)),
      applied_seconds: round((lastAppliedAt - b0) / 1000),
      applied_per_s: Math.round(burst / ((lastAppliedAt - b0) / 1000)),
    };
    log(`burst: appended ${burstResult.appended_per_s}/s, applied ${burstResult.applied_per_s}/s`);

    const result = {
      bench: 'kafka',
      what: 'append() → Kafka (acks=all, idempotent) → behavior/consumer.ts → Redis commit (onApplied), per event',
      servers: { kafka: kafkaInfo, redis: redisInfo },
      config: {
        topic_partitions: 6,
        consumer_max_wait_ms: 50,
        users,
        products: productCount,
        dim,
        rate,
        seconds,
        burst,
      },
      machine: { cpus: os.cpus().length, node: process.version },
      steady,
      burst: burstResult,
      consumer: consumer.stats,
    };
    fs.mkdirSync(o.outDir, { recursive: true });
    fs.writeFileSync(path.join(o.outDir, 'bench-kafka.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    await consumer.stop();
    await eventLog.close();
    await state.close();
    await cleanup(o, ns);
  }
}

/** The bench's topic and keys are its own: remove them so repeated runs do not pile up. */
async function cleanup(o: KafkaBenchOptions, ns: string): Promise<void> {
  const admin = createKafka({ brokers: o.brokers }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [behaviorTopic(ns)] }).catch(() => {});
  await admin.disconnect();
  const redis = new Redis(o.redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${ns}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

const round = (x: number) => Math.round(x * 1000) / 1000;
