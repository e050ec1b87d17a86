/**
 * Builds the behaviour state the feed reads by replaying interactions through the serving
 * path: each interaction becomes a stream record (JSON of a BehaviorEvent), batches go through
 * the consumer's applyBatch (validation, the applyEvents reducer, one atomic commit) into a
 * SqliteStateStore on ':memory:'. What is evaluated is therefore state built by serving code.
 */
import type { BehaviorConfig } from '../../behavior/config.ts';
import { applyBatch } from '../../behavior/consumer.ts';
import { SqliteStateStore } from '../../behavior/embedded/sqlite-state-store.ts';
import type { StreamRecord } from '../../behavior/event-log.ts';
import { partitionKey, type BehaviorEventInput } from '../../behavior/event.ts';
import { staticItems } from '../../behavior/item-lookup.ts';
import type { ItemInfo } from '../../behavior/user-state.ts';
import type { Interaction } from './sequential-data.ts';

/** The stream a set of interactions makes: global time order (a real stream's), stable. */
export function toStreamRecords(rows: readonly Interaction[]): StreamRecord[] {
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.ts - rows[b]!.ts || a - b);
  return order.map((i, position) => {
    const r = rows[i]!;
    const event: BehaviorEventInput = {
      event_id: `e${i}`,
      type: r.type,
      user_id: r.user,
      product_id: r.item,
      ts: r.ts,
    };
    return {
      position: String(position),
      key: partitionKey({ user_id: r.user, type: r.type }),
      value: JSON.stringify(event),
    };
  });
}

export interface ReplayOptions {
  behavior: BehaviorConfig;
  items: ReadonlyMap<string, ItemInfo>;
  trendingHalfLifeMs: number;
  batchSize?: number;
}

export async function replayIntoState(
  rows: readonly Interaction[],
  opts: ReplayOptions,
): Promise<{ state: SqliteStateStore; applied: number; deadLetters: number }> {
  const state = new SqliteStateStore({ file: ':memory:', trendingHalfLifeMs: opts.trendingHalfLifeMs });
  const records = toStreamRecords(rows);
  const items = staticItems(opts.items);
  const size = opts.batchSize ?? 1000;
  let applied = 0;
  let deadLetters = 0;
  for (let i = 0; i < records.length; i += size) {
    const r = await applyBatch(records.slice(i, i + size), { state, items, config: opts.behavior });
    applied += r.events.length;
    deadLetters += r.deadLetters;
  }
  return { state, applied, deadLetters };
}
