import type { Dependency } from '../../core/dependencies.ts';
import { partitionKey, type BehaviorEvent } from '../event.ts';
import type { ConsumeOptions, EventLog, StreamRecord, Subscription } from '../event-log.ts';
import type { KafkaConnection } from './kafka-client.ts';
import { KafkaTopic, type KafkaTopicOptions } from './kafka-topic.ts';

export interface KafkaEventLogOptions extends KafkaConnection {
  /** Config `backends.namespace`: the topic is `${namespace}.behavior`. */
  namespace: string;
  /** Another topic than `${namespace}.behavior` (the served-response log uses `${namespace}.served`). */
  topic?: string;
  /** Partitions when the topic is created (default 6): the most consumers that can share the work. */
  partitions?: number;
  /** Topic retention when the topic is created (see KafkaTopicOptions). */
  retention?: KafkaTopicOptions['retention'];
  consumer?: KafkaTopicOptions['consumer'];
}

export const behaviorTopic = (namespace: string) => `${namespace}.behavior`;

/**
 * The production behaviour stream: one Kafka topic keyed by partitionKey(event), so each
 * shopper's events stay in one partition and are applied in order. `append` resolves once all
 * in-sync replicas have the events; consumers commit offsets only after their handler resolved.
 */
export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka';

  private constructor(private readonly t: KafkaTopic) {}

  get topic(): string {
    return this.t.opts.topic;
  }

  static async open(opts: KafkaEventLogOptions): Promise<KafkaEventLog> {
    return new KafkaEventLog(
      await KafkaTopic.open({
        ...opts,
        topic: opts.topic ?? behaviorTopic(opts.namespace),
        partitions: opts.partitions ?? 6,
      }),
    );
  }

  append(events: readonly BehaviorEvent[]): Promise<void> {
    return this.t.send(events.map((e) => ({ key: partitionKey(e), value: JSON.stringify(e) })));
  }

  appendRaw(records: ReadonlyArray<{ key?: string; value: string }>): Promise<void> {
    return this.t.send(records.map((r) => ({ key: r.key ?? null, value: r.value })));
  }

  consume(opts: ConsumeOptions, handler: (batch: StreamRecord[]) => Promise<void>): Promise<Subscription> {
    return this.t.consume(opts, handler);
  }

  dependencies(): Dependency[] {
    return this.t.dependencies();
  }

  close(): Promise<void> {
    return this.t.close();
  }
}
