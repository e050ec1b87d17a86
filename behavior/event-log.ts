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
  dependencies(): Dependency[];
  close(): Promise<void>;
}
