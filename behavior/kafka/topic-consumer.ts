import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { ConsumeOptions, StreamRecord, Subscription } from '../event-log.ts';

export interface TopicConsumerOptions extends ConsumeOptions {
  topic: string;
  /** A consumer that dies is replaced after this long (the broker's minimum is 6 s). */
  sessionTimeoutMs?: number;
  /** Longest a fetch waits for new records: the floor of click-to-effect latency when idle. */
  maxWaitMs?: number;
  /** Wait before retrying a failed batch, doubled per failure up to `retryMaxMs`. */
  retryMs?: number;
  retryMaxMs?: number;
  /** How long consume() waits for the group to accept the consumer. */
  joinTimeoutMs?: number;
}

/**
 * At-least-once consumption of one topic: offsets are committed only after the handler has
 * resolved for the records below them. A handler that throws gets the same records again
 * (after a backoff) until it succeeds; nothing is skipped, so a record the handler cannot use
 * must be dealt with by the handler itself (the behaviour consumer dead-letters it).
 */
export async function consumeTopic(
  kafka: Kafka,
  admin: Admin,
  opts: TopicConsumerOptions,
  handler: (batch: StreamRecord[]) => Promise<void>,
): Promise<Subscription> {
  const maxBatch = opts.maxBatch ?? 500;
  const sessionTimeout = opts.sessionTimeoutMs ?? 30_000;
  const consumer = kafka.consumer({
    groupId: opts.group,
    maxWaitTimeInMs: opts.maxWaitMs ?? 50,
    minBytes: 1,
    sessionTimeout,
    heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
    allowAutoTopicCreation: false,
  });
  let stopping = false;
  let wakeSleepers: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (wakeSleepers = resolve));
  const sleep = (ms: number) => Promise.race([new Promise<void>((r) => setTimeout(r, ms).unref()), stopped]);

  consumer.on(consumer.events.CRASH, (e) => opts.onError?.(e.payload.error));
  try {
    const anchor = opts.fromBeginning ? undefined : await endOffsetsIfNew(admin, opts.group, opts.topic);
    await consumer.connect();
    await consumer.subscribe({ topics: [opts.topic], fromBeginning: opts.fromBeginning ?? false });
    const joined = waitForJoin(consumer, opts.topic, anchor, opts.joinTimeoutMs ?? sessionTimeout + 30_000);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        // After a rebalance or stop, records not yet handled belong to whoever gets the partition.
        const mayContinue = () => isRunning() && !isStale() && !stopping;
        for (let i = 0; i < batch.messages.length && mayContinue(); i += maxBatch) {
          const chunk = batch.messages.slice(i, i + maxBatch);
          const records: StreamRecord[] = chunk.map((m) => ({
            position: `${batch.partition}:${m.offset}`,
            key: m.key?.toString('utf8'),
            value: m.value?.toString('utf8') ?? '',
          }));
          let delay = opts.retryMs ?? 200;
          for (;;) {
            try {
              await handler(records);
              break;
            } catch (err) {
              opts.onError?.(err as Error);
              await sleep(delay);
              delay = Math.min(delay * 2, opts.retryMaxMs ?? 5000);
              // A batch that keeps failing is left uncommitted on stop: the next consumer retries it.
              if (!mayContinue()) return;
              await heartbeat();
            }
          }
          // Even when stopping: the handler's work is done, so its position must be kept.
          const last = chunk.at(-1)!.offset;
          resolveOffset(last);
          await commitOffsetsIfNecessary({
            topics: [
              {
                topic: batch.topic,
                partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }],
              },
            ],
          });
          await heartbeat();
        }
      },
    });
    await joined;
    if (anchor) await commitStart(consumer, admin, opts.group, opts.topic, anchor);
  } catch (err) {
    await consumer.disconnect().catch(() => {});
    throw err;
  }

  let stopping$: Promise<void> | undefined;
  return {
    stop: () => {
      stopping$ ??= (async () => {
        stopping = true;
        wakeSleepers();
        // disconnect() waits for the batch in hand (and its commit), then leaves the group.
        await consumer.disconnect();
      })();
      return stopping$;
    },
  };
}

/**
 * A new group without fromBeginning starts at the end as of the consume() call. Left to
 * kafkajs, "latest" would be looked up lazily at the first fetch and whatever was appended in
 * between silently skipped; and until something is committed a restarted consumer would look
 * it up again, skipping more.
 */
type Anchor = Array<{ partition: number; offset: string }>;

async function endOffsetsIfNew(admin: Admin, group: string, topic: string): Promise<Anchor | undefined> {
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  if (committed && committed.partitions.some((p) => p.offset !== '-1')) return undefined;
  return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high }));
}

/** Resolves once the group has accepted the consumer, with a new group's start sought. */
function waitForJoin(consumer: Consumer, topic: string, anchor: Anchor | undefined, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`consumer did not join its group within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = consumer.on(consumer.events.GROUP_JOIN, () => {
      clearTimeout(timer);
      off();
      if (!anchor) return resolve();
      // Called synchronously from the join, so the seeks apply before the first fetch.
      for (const p of anchor) consumer.seek({ topic, ...p });
      resolve();
    });
  });
}

/**
 * Commits a new group's start, so it survives a stop before anything was consumed. kafkajs
 * silently drops commits made before its join has fully returned, so check and repeat.
 */
async function commitStart(
  consumer: Consumer,
  admin: Admin,
  group: string,
  topic: string,
  anchor: Anchor,
): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    await consumer.commitOffsets(anchor.map((p) => ({ topic, ...p })));
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    if (committed && committed.partitions.every((p) => p.offset !== '-1')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`could not commit the start position of consumer group ${group}`);
}
