import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { Kafka, logLevel, type Admin, type LogEntry } from 'kafkajs';
import type { Dependency } from '../../core/dependencies.ts';

export interface KafkaConnection {
  /** host:port list (config `backends.kafkaBrokers`). */
  brokers: readonly string[];
  clientId?: string;
  /** Attempts after the first failure of a request (default 5, about 6 s in all). */
  retries?: number;
  /** Where kafkajs warnings and errors go; the default prints one line each to stderr. */
  log?: (level: 'warn' | 'error', message: string) => void;
}

/**
 * A kafkajs client that speaks only when something is wrong. Its default logger prints every
 * retry as a multi-line JSON record; one line per warning is what an operator can read.
 */
export function createKafka(c: KafkaConnection): Kafka {
  const log = c.log ?? ((level, message) => console.error(`kafka ${level}: ${message}`));
  return new Kafka({
    clientId: c.clientId ?? 'shelf',
    brokers: [...c.brokers],
    connectionTimeout: 3000,
    // Few, short retries: an unreachable cluster should fail start-up in seconds, not minutes.
    retry: { initialRetryTime: 200, retries: c.retries ?? 5, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        // Deliberate: a send fails after a few retries so the caller can answer 503 rather than
        // hang; a caller's retry may then duplicate an event, which consumers drop by event_id.
        if (entry.message.startsWith('Limiting retries for the idempotent producer')) return;
        const extra = typeof entry.error === 'string' ? `: ${entry.error}` : '';
        log(level === logLevel.ERROR ? 'error' : 'warn', `${entry.message}${extra}`);
      },
  });
}

/** Rewords kafkajs's connection failures so the message says what to check. */
export function describeKafkaError(err: unknown, brokers: readonly string[]): Error {
  const e = err as Error & { cause?: Error; originalError?: Error };
  const root = e.originalError ?? e.cause ?? e;
  const unreachable = /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|Connection (error|timeout)|connect/i.test(
    `${e.message} ${root.message}`,
  );
  if (e.name === 'KafkaJSNumberOfRetriesExceeded' || e.name === 'KafkaJSConnectionError' || unreachable) {
    return new Error(
      `Kafka brokers unreachable (${brokers.join(',')}): ${root.message}. Is Kafka running, and is KAFKA_BROKERS right?`,
      {
        cause: err,
      },
    );
  }
  return e instanceof Error ? e : new Error(String(err));
}

/** A topic's retention (Kafka topic configs): undefined keeps the broker's default. */
export interface TopicRetention {
  /** `retention.ms`. */
  ms?: number | undefined;
  /** `retention.bytes`, which Kafka applies per partition. */
  bytesPerPartition?: number | undefined;
}

/**
 * Creates the topic if it is missing, with `retention` as its topic configs (an existing topic
 * keeps its own: changing it is an operator's `kafka-configs.sh --alter`). Idempotent:
 * createTopics answers false for an existing topic, and a concurrent creator's "already exists"
 * is not an error either.
 */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  retention: TopicRetention = {},
): Promise<void> {
  // Asking first keeps the broker's "already exists" answer out of the error log on every start.
  if ((await admin.listTopics()).includes(topic)) return;
  const configEntries = [
    ...(retention.ms !== undefined ? [{ name: 'retention.ms', value: String(Math.round(retention.ms)) }] : []),
    ...(retention.bytesPerPartition !== undefined
      ? [{ name: 'retention.bytes', value: String(Math.round(retention.bytesPerPartition)) }]
      : []),
  ];
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, configEntries }],
      waitForLeaders: true,
      timeout: TOPIC_READY_MS,
    });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'TOPIC_ALREADY_EXISTS') return;
    if (type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
    // kafkajs waits out "leader not available" but not this one: a broker busy electing the new
    // partitions' leaders can answer for a while that it does not host them yet (seen on a
    // loaded 2-core machine). The topic was created; wait until its metadata says so.
    await untilKnown.execute(() => admin.fetchTopicMetadata({ topics: [topic] }));
  }
}

/** How long a new topic may take to have leaders for all its partitions. */
const TOPIC_READY_MS = 30_000;

/** Retries a metadata read while the broker says it does not host the new topic yet (about 30 s in all). */
const untilKnown = retry(
  handleWhen((err) => (err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION'),
  { maxAttempts: 35, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }) },
);

/** Start-up and `/readyz` check: a metadata round trip to the cluster. */
export function kafkaDependency(admin: Admin, brokers: readonly string[]): Dependency {
  return {
    name: 'kafka',
    check: async () => {
      try {
        const c = await admin.describeCluster();
        return `Kafka cluster ${c.clusterId} at ${brokers.join(',')} (${c.brokers.length} broker${c.brokers.length === 1 ? '' : 's'})`;
      } catch (err) {
        throw describeKafkaError(err, brokers);
      }
    },
  };
}
