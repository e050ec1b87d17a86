import { Partitioners, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Dependency } from '../../core/dependencies.ts';
import type { ConsumeOptions, StreamRecord, Subscription } from '../event-log.ts';
import { BatchingSender } from './batching-sender.ts';
import {
  createKafka,
  describeKafkaError,
  ensureTopic,
  kafkaDependency,
  type KafkaConnection,
  type TopicRetention,
} from './kafka-client.ts';
import { consumeTopic, type TopicConsumerOptions } from './topic-consumer.ts';

export interface KafkaTopicOptions extends KafkaConnection {
  topic: string;
  /** Partitions when the topic is created (an existing topic keeps its own). */
  partitions: number;
  /** Topic retention when the topic is created (an existing topic keeps its own). */
  retention?: TopicRetention;
  /** Consumer tuning, see TopicConsumerOptions. */
  consumer?: Pick<TopicConsumerOptions, 'sessionTimeoutMs' | 'maxWaitMs' | 'retryMs' | 'retryMaxMs'>;
}

/**
 * One topic with a producer and any number of at-least-once consumers: what the behaviour
 * stream and the catalog-changes stream have in common. Sends go through an idempotent
 * producer with acks from all in-sync replicas, so a retried send never duplicates or reorders.
 */
export class KafkaTopic {
  private readonly sender: BatchingSender;
  private readonly subs = new Set<Subscription>();

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    readonly opts: KafkaTopicOptions,
  ) {
    this.sender = new BatchingSender(producer, opts.topic);
  }

  /** Connects and creates the topic if needed; fails with a readable message when no broker answers. */
  static async open(opts: KafkaTopicOptions): Promise<KafkaTopic> {
    const kafka = createKafka(opts);
    const admin = kafka.admin();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Java's murmur2 partitioner: other producers writing this topic put a key where we do.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    try {
      await admin.connect();
      await ensureTopic(admin, opts.topic, opts.partitions, opts.retention);
      await producer.connect();
    } catch (err) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw describeKafkaError(err, opts.brokers);
    }
    return new KafkaTopic(kafka, admin, producer, opts);
  }

  /** Resolves once the broker has acknowledged every message. */
  send(messages: Message[]): Promise<void> {
    return this.sender.send(messages);
  }

  async consume(opts: ConsumeOptions, handler: (batch: StreamRecord[]) => Promise<void>): Promise<Subscription> {
    let inner: Subscription;
    try {
      inner = await consumeTopic(
        this.kafka,
        this.admin,
        { ...this.opts.consumer, ...opts, topic: this.opts.topic },
        handler,
      );
    } catch (err) {
      throw describeKafkaError(err, this.opts.brokers);
    }
    const sub: Subscription = {
      stop: async () => {
        await inner.stop();
        this.subs.delete(sub);
      },
    };
    this.subs.add(sub);
    return sub;
  }

  dependencies(): Dependency[] {
    return [kafkaDependency(this.admin, this.opts.brokers)];
  }

  async close(): Promise<void> {
    await Promise.all([...this.subs].map((s) => s.stop()));
    await this.sender.drain();
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}
