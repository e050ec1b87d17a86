import type { KafkaCatalogChanges } from '../behavior/kafka/catalog-changes.ts';
import type { Subscription } from '../behavior/event-log.ts';
import { ChangeCollector } from './changes.ts';
import { applyChanges, type ChangeSetOptions, type IndexSummary } from './index-catalog.ts';

export interface FollowOptions extends Omit<ChangeSetOptions, 'changes' | 'strict'> {
  topic: KafkaCatalogChanges;
  group?: string;
  /** After each applied batch, with the bad records it skipped (by stream position). */
  onBatch?: (summary: IndexSummary, bad: Array<{ position: string; reason: string }>) => void;
  onError?: (err: Error) => void;
}

/**
 * Keeps the index following the catalog-changes topic. Each batch is applied like a change
 * file (last change per product wins) and the topic offset is committed only after the index
 * write, so a crash redelivers; redelivery is harmless because unchanged content hashes are
 * skipped and deleting an absent product is a no-op. A batch whose store write still fails
 * after its retries is retried as a whole rather than committed past.
 */
export async function followCatalogChanges(opts: FollowOptions): Promise<Subscription> {
  const { topic, group, onBatch, onError, ...rest } = opts;
  // What failed attempts at the batch in hand committed anyway (see carryOver).
  let carried: { first: string; done: Committed } | undefined;
  return topic.consume(
    { group: group ?? 'shelf-indexer', fromBeginning: true, ...(onError && { onError }) },
    async (batch) => {
      const first = batch[0]?.position ?? '';
      if (carried?.first !== first) carried = undefined;
      const collector = new ChangeCollector();
      const bad: Array<{ position: string; reason: string }> = [];
      batch.forEach((rec, i) => {
        if ('error' in rec) bad.push({ position: rec.position, reason: rec.error });
        else collector.add(i + 1, rec.change);
      });
      const changes = collector.result();
      for (const e of changes.errors) bad.push({ position: batch[e.line - 1]!.position, reason: e.reason });
      const summary = await applyChanges({ ...rest, changes: { ...changes, errors: [] } });
      const done = committed(summary);
      if (summary.writeFailures.length > 0) {
        carried = {
          first,
          done: {
            indexed: (carried?.done.indexed ?? 0) + done.indexed,
            deleted: (carried?.done.deleted ?? 0) + done.deleted,
          },
        };
        throw new Error(
          `index write failed (${summary.writeFailures.map((f) => `${f.store} ${f.op}: ${f.reason}`).join('; ')}); batch will be retried`,
        );
      }
      onBatch?.(carryOver(summary, carried?.done), bad);
      carried = undefined;
    },
  );
}

interface Committed {
  indexed: number;
  deleted: number;
}

/** What an attempt wrote for good: a product counts only if no store failed for it. */
function committed(s: IndexSummary): Committed {
  const failed = (op: 'upsert' | 'delete') =>
    new Set(s.writeFailures.filter((f) => f.op === op).flatMap((f) => f.ids)).size;
  return { indexed: s.indexed - failed('upsert'), deleted: s.deleted - failed('delete') };
}

/**
 * A failed attempt still commits the writes that worked: the retry then finds those products
 * unchanged or already gone. Counted where they were written, so a retried batch reports each
 * change once, as indexed or deleted, and not as unchanged.
 */
function carryOver(s: IndexSummary, done: Committed | undefined): IndexSummary {
  if (!done) return s;
  return {
    ...s,
    indexed: s.indexed + done.indexed,
    deleted: s.deleted + done.deleted,
    unchanged: Math.max(0, s.unchanged - done.indexed),
  };
}
