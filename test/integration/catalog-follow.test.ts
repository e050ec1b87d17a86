import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaCatalogChanges } from '../../behavior/kafka/catalog-changes.ts';
import { followCatalogChanges } from '../../indexer/follow-catalog.ts';
import { indexCatalog } from '../../indexer/index-catalog.ts';
import { EmbeddedBackend } from '../../retrieval/index/embedded/embedded-backend.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../helpers/catalog.ts';
import { FlakyBackend } from '../helpers/backends.ts';
import { HashEmbedder } from '../helpers/embedders.ts';
import { waitFor } from '../helpers/behavior-stream.ts';
import { dropTopics, KAFKA_BROKERS, SESSION_TIMEOUT_MS, testNamespace } from './helpers/behavior-servers.ts';
import path from 'node:path';

/**
 * The indexer following the catalog-changes topic on a real Kafka: changes reach the index, the
 * offset is committed only after the index write (a failing write is retried, not skipped), and
 * redelivered changes change nothing. Over 3 partitions the delete of p3 travels alone; over 1, in
 * the batch whose upserts fail, so a failed attempt has already deleted p3 when the batch is
 * retried, and the delete must still be counted once.
 */
describe.each([3, 1])(
  `indexer following the Kafka catalog topic at ${KAFKA_BROKERS.join(',')} (%i partitions)`,
  (partitions) => {
    const ns = testNamespace('follow');
    const embedder = new HashEmbedder();
    let topic: KafkaCatalogChanges;
    let dir: string;

    beforeAll(async () => {
      topic = await KafkaCatalogChanges.open({
        brokers: KAFKA_BROKERS,
        namespace: ns,
        partitions,
        consumer: { retryMs: 50, sessionTimeoutMs: SESSION_TIMEOUT_MS },
      });
      dir = tempDir();
      await indexCatalog({
        catalogPath: writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS),
        dataDir: dir,
        embedder,
      });
    });
    afterAll(async () => {
      await topic?.close();
      await dropTopics(ns);
    });

    it('applies upserts and deletes, retries a failed write, and ignores redelivery', async () => {
      // The vector store fails twice: the batch must be retried, and the offset not committed past it.
      const backend = new FlakyBackend(dir, { store: 'vectors', op: 'upsert', failures: 2 * 3 });
      const applied: Array<{ indexed: number; unchanged: number; deleted: number }> = [];
      const bad: string[] = [];
      const errors: string[] = [];
      const follow = () =>
        followCatalogChanges({
          topic,
          group: `${ns}-indexer`,
          dataDir: dir,
          backend,
          embedder,
          imageBase: dir,
          onBatch: (s, b) => {
            applied.push({ indexed: s.indexed, unchanged: s.unchanged, deleted: s.deleted });
            bad.push(...b.map((x) => x.reason));
          },
          onError: (e) => errors.push(e.message),
        });
      const sub = await follow();
      await topic.publish([
        {
          op: 'upsert',
          product: { id: 'n1', title: 'Trail Running Vest 5L', category: 'Sports/Running', price: 59, in_stock: true },
        },
        { op: 'upsert', product: { id: 'p1', ...SAMPLE_PRODUCTS[0], price: 99 } },
        { op: 'delete', product: { id: 'p3' } },
        { op: 'upsert', product: { id: 'bad', title: '' } },
      ]);
      // Kafka may hand the four records over in one batch or several.
      const sum = (k: 'indexed' | 'unchanged' | 'deleted') => applied.reduce((n, a) => n + a[k], 0);
      // What was seen so far, for a wait that times out.
      const seen = (e: Error) => {
        throw new Error(`${e.message}; seen: ${JSON.stringify({ applied, bad, errors })}`);
      };
      await waitFor(() => sum('indexed') + sum('deleted') + bad.length >= 4, 'all four changes', 45_000).catch(seen);
      await sub.stop();
      expect(errors.length).toBe(2);
      expect(errors[0]).toMatch(/batch will be retried/);
      expect([sum('indexed'), sum('deleted')]).toEqual([2, 1]);
      expect(bad).toEqual([expect.stringMatching(/title/)]);

      const snap = (await new EmbeddedBackend(dir).openSnapshot())!;
      const got = await snap.text.get(['n1', 'p1', 'p3']);
      expect(got.get('n1')?.title).toBe('Trail Running Vest 5L');
      expect(got.get('p1')?.price).toBe(99);
      expect(got.has('p3')).toBe(false);
      expect((await snap.vectors!.vectorsOf!(['n1'])).size).toBe(1);
      await snap.close();

      // The same changes again (a producer retry, a replay): nothing is rewritten.
      const again = await follow();
      // Counted before publishing: the consumer may apply the batch before publish() resolves.
      const before = applied.length;
      await topic.publish([
        { op: 'upsert', product: { id: 'p1', ...SAMPLE_PRODUCTS[0], price: 99 } },
        { op: 'delete', product: { id: 'p3' } },
      ]);
      await waitFor(
        () => applied.slice(before).reduce((n, a) => n + a.unchanged, 0) >= 1 && applied.length > before,
        'the redelivered changes',
        45_000,
      ).catch(seen);
      await new Promise((r) => setTimeout(r, 500));
      await again.stop();
      const redelivered = applied.slice(before);
      expect(redelivered.reduce((n, a) => n + a.indexed + a.deleted, 0)).toBe(0);
      expect(redelivered.reduce((n, a) => n + a.unchanged, 0)).toBe(1);
    }, 120_000);
  },
);
