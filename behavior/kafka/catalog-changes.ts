import { z } from 'zod';
import type { Dependency } from '../../core/dependencies.ts';
import type { ConsumeOptions, StreamRecord, Subscription } from '../event-log.ts';
import type { KafkaConnection } from './kafka-client.ts';
import { KafkaTopic, type KafkaTopicOptions } from './kafka-topic.ts';

/** One line of a change file (indexer/changes.ts), as carried on the catalog topic. */
export type CatalogChange =
  | { op: 'upsert' | 'update'; product: { id: string | number; [field: string]: unknown } }
  | { op: 'delete'; product: { id: string | number } };

/**
 * Only the envelope is checked here: the indexer validates the product itself, and reports a
 * bad one with its position like a bad line of a change file.
 */
const EnvelopeSchema = z.object({
  op: z.enum(['upsert', 'delete', 'update']),
  product: z.looseObject({ id: z.union([z.string().min(1), z.number()]) }),
});

export type ParsedChange =
  { position: string; change: CatalogChange } | { position: string; error: string; raw: string };

export function parseCatalogChange(rec: StreamRecord): ParsedChange {
  let json: unknown;
  try {
    json = JSON.parse(rec.value);
  } catch (err) {
    return { position: rec.position, error: `not JSON: ${(err as Error).message}`, raw: rec.value };
  }
  const r = EnvelopeSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return { position: rec.position, error: `${issue.path.join('.') || 'change'}: ${issue.message}`, raw: rec.value };
  }
  return { position: rec.position, change: r.data as CatalogChange };
}

export const catalogTopic = (namespace: string) => `${namespace}.catalog`;

export interface CatalogChangesOptions extends KafkaConnection {
  namespace: string;
  partitions?: number;
  consumer?: KafkaTopicOptions['consumer'];
}

/**
 * The catalog-changes topic: `{op, product}` records keyed by product id, so every change to
 * one product is read in the order it was published (the last one wins, as in a change file).
 * Consumed with the behaviour stream's discipline: offsets are committed only after the handler
 * resolved, and a failing batch is retried, never skipped.
 */
export class KafkaCatalogChanges {
  private constructor(private readonly t: KafkaTopic) {}

  get topic(): string {
    return this.t.opts.topic;
  }

  static async open(opts: CatalogChangesOptions): Promise<KafkaCatalogChanges> {
    return new KafkaCatalogChanges(
      await KafkaTopic.open({ ...opts, topic: catalogTopic(opts.namespace), partitions: opts.partitions ?? 3 }),
    );
  }

  /** Resolves once every change is acknowledged by all in-sync replicas. */
  publish(changes: readonly CatalogChange[]): Promise<void> {
    return this.t.send(changes.map((c) => ({ key: String(c.product.id), value: JSON.stringify(c) })));
  }

  /** `handler` gets each batch parsed, bad records included (with why), in order per product. */
  consume(opts: ConsumeOptions, handler: (batch: ParsedChange[]) => Promise<void>): Promise<Subscription> {
    return this.t.consume(opts, (batch) => handler(batch.map(parseCatalogChange)));
  }

  dependencies(): Dependency[] {
    return this.t.dependencies();
  }

  close(): Promise<void> {
    return this.t.close();
  }
}
