import type { Dependency } from '../core/dependencies.ts';
import type { BehaviorEvent } from './event.ts';

/** One message as read back from the stream: raw, because the stream may hold anything. */
export interface StreamRecord {
  /** Monotonic within its partition; "partition:offset" in Kafka, the row id embedded. */
  position: string;
  /** Partition key the producer used. */
  key: string | undefined;
  value: string;
}

export interface Subscription {
  /** Stops after the batch in hand is handled and committed. */
  stop(): Promise<void>;
}

export interface ConsumeOptions {
  /** Consumer group: each group sees every message once and keeps its own committed position. */
  group: string;
  /** A group with no committed position starts from the beginning (replay) rather than the end. */
  fromBeginning?: boolean;
  maxBatch?: number;
  /** Called when the handler throws; the batch is then retried (nothing is skipped). */
  onError?: (err: Error) => void;
}

/** What `EventLog.prune` may cut from the head of a log. */
export interface LogPrunePolicy {
  now: number;
  /** Rows appended longer ago than this go; undefined: no age limit. */
  maxAgeMs?: number | undefined;
  /** The oldest rows go while the log holds more than this; undefined: no size limit. */
  maxBytes?: number | undefined;
  /** Only rows every consumer group has committed past (the behaviour stream, not the served log). */
  committedOnly: boolean;
}

/**
 * The behaviour stream: a Kafka topic in production, a SQLite log embedded. `append` resolves
 * only once the events are durable. Consumers commit their position only after the handler
 * resolves, so a crash redelivers rather than loses (handlers are idempotent by event id).
 */
export interface EventLog {
  readonly kind: string;
  append(events: readonly BehaviorEvent[]): Promise<void>;
  /** Writes messages as they are, for replaying archives and for testing bad input on the stream. */
  appendRaw(records: ReadonlyArray<{ key?: string; value: string }>): Promise<void>;
  consume(opts: ConsumeOptions, handler: (batch: StreamRecord[]) => Promise<void>): Promise<Subscription>;
  /**
   * Logs that live in a local file (the embedded one) can tell a consumer on another thread that
   * something was appended, instead of leaving it to its next poll: `onAppend` on the writer's
   * side, `wake` on the reader's. A broker (Kafka) pushes to its consumers itself and has neither.
   */
  onAppend?(fn: () => void): () => void;
  wake?(): void;
  /**
   * Logs the service keeps itself (the embedded one) delete their head in chunks of at most `rows`
   * for retention and say how many rows went; a broker's topic has its own retention (Kafka's
   * `retention.ms` / `retention.bytes`) and has no `prune`.
   */
  prune?(policy: LogPrunePolicy, rows: number): Promise<number>;
  dependencies(): Dependency[];
  close(): Promise<void>;
}
