import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaCatalogChanges, type CatalogChange, type ParsedChange } from '../../behavior/kafka/catalog-changes.ts';
import { waitFor } from '../helpers/behavior-stream.ts';
import { dropTopics, KAFKA_BROKERS, testNamespace } from './helpers/behavior-servers.ts';

/** The catalog-changes topic the indexer will follow, against a real Kafka. */
describe(`Kafka catalog changes at ${KAFKA_BROKERS.join(',')}`, () => {
  const ns = testNamespace('catalog');
  let topic: KafkaCatalogChanges;
  beforeAll(async () => {
    topic = await KafkaCatalogChanges.open({ brokers: KAFKA_BROKERS, namespace: ns, consumer: { retryMs: 50 } });
  });
  afterAll(async () => {
    await topic?.close();
    await dropTopics(ns);
  });

  it('delivers every change once, in order per product, after a failed batch is retried', async () => {
    const changes: CatalogChange[] = [
      { op: 'upsert', product: { id: 'p1', title: 'Shoe', price: 10 } },
      { op: 'upsert', product: { id: 'p2', title: 'Pan' } },
      { op: 'upsert', product: { id: 'p1', title: 'Shoe', price: 12 } },
      { op: 'delete', product: { id: 'p2' } },
      { op: 'upsert', product: { id: 3, title: 'Numeric id' } },
    ];
    await topic.publish(changes);
    const seen: ParsedChange[] = [];
    let failures = 1;
    const errors: Error[] = [];
    const sub = await topic.consume(
      { group: `${ns}-indexer`, fromBeginning: true, onError: (e) => errors.push(e) },
      async (batch) => {
        if (failures-- > 0) throw new Error('index write failed');
        seen.push(...batch);
      },
    );
    await waitFor(() => seen.length >= changes.length, 'all changes');
    await sub.stop();
    expect(errors.map((e) => e.message)).toEqual(['index write failed']);
    const ok = seen.flatMap((s) => ('change' in s ? [s.change] : []));
    expect(ok).toHaveLength(changes.length);
    expect(ok.filter((c) => c.product.id === 'p1')).toEqual([changes[0], changes[2]]);
    expect(ok.filter((c) => c.product.id === 'p2').map((c) => c.op)).toEqual(['upsert', 'delete']);
  });

  it('reports the cluster as a dependency', async () => {
    const [dep] = topic.dependencies();
    expect(dep!.name).toBe('kafka');
    expect(await dep!.check()).toMatch(/^Kafka cluster \S+ at 127\.0\.0\.1:\d+ \(1 broker\)$/);
  });
});
