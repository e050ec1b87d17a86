import type { BehaviorConfig } from './config.ts';
import { BehaviorEventSchema, type BehaviorEvent } from './event.ts';
import type { EventLog, StreamRecord, Subscription } from './event-log.ts';
import type { ItemLookup } from './item-lookup.ts';
import { StateConflictError, type DeadLetter, type StateStore } from './state-store.ts';
import { applyEvents, type UserState } from './user-state.ts';

export interface ConsumerOptions {
  log: EventLog;
  state: StateStore;
  items: ItemLookup;
  config: BehaviorConfig;
  group?: string;
  /** The clock events from the future are judged by (default Date.now). */
  now?: () => number;
  /** Called after each batch's effects are stored (before the stream position is committed). */
  onApplied?: (info: { events: BehaviorEvent[]; duplicates: number; deadLetters: number }) => void;
  onError?: (err: Error) => void;
}

export interface RunningConsumer extends Subscription {
  readonly stats: { applied: number; duplicates: number; deadLetters: number; conflicts: number };
}

const MAX_CONFLICT_RETRIES = 20;

/**
 * Keeps user vectors, affinities, trending and co-occurrence up to date from the stream. Each
 * batch's effects are stored in one atomic commit together with its event ids; the stream
 * position is committed only afterwards. A redelivered batch therefore finds its ids applied
 * and changes nothing: at-least-once delivery, exactly-once effects.
 */
export async function startConsumer(opts: ConsumerOptions): Promise<RunningConsumer> {
  const stats = { applied: 0, duplicates: 0, deadLetters: 0, conflicts: 0 };
  const handle = async (batch: StreamRecord[]) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await applyBatch(batch, opts);
        stats.applied += r.events.length;
        stats.duplicates += r.duplicates;
        stats.deadLetters += r.deadLetters;
        opts.onApplied?.(r);
        return;
      } catch (err) {
        if (!(err instanceof StateConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw err;
        stats.conflicts++;
      }
    }
  };
  const sub = await opts.log.consume(
    { group: opts.group ?? 'shelf-state', fromBeginning: true, ...(opts.onError && { onError: opts.onError }) },
    handle,
  );
  return { stats, stop: () => sub.stop() };
}

/** One batch: parse, drop what is already applied, fold the rest into state, commit. */
export async function applyBatch(
  batch: readonly StreamRecord[],
  opts: Pick<ConsumerOptions, 'state' | 'items' | 'config' | 'now'>,
): Promise<{ events: BehaviorEvent[]; duplicates: number; deadLetters: number }> {
  const deadLetters: DeadLetter[] = [];
  const parsed: BehaviorEvent[] = [];
  const recordOf = new Map<BehaviorEvent, StreamRecord>();
  for (const rec of batch) {
    const r = parseRecord(rec);
    if ('reason' in r)
      deadLetters.push({ position: rec.position, raw: rec.value.slice(0, 10_000), reason: r.reason, ts: Date.now() });
    else {
      parsed.push(r.event);
      recordOf.set(r.event, rec);
    }
  }
  const already = parsed.length > 0 ? await opts.state.applied(parsed.map((e) => e.event_id)) : new Set<string>();
  const seen = new Set<string>();
  const events: BehaviorEvent[] = [];
  for (const e of parsed) {
    if (already.has(e.event_id) || seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    events.push(e);
  }
  const duplicates = parsed.length - events.length;
  if (events.length === 0 && deadLetters.length === 0) return { events, duplicates, deadLetters: 0 };

  const users = await loadUsers(events, opts.state);
  const productIds = [
    ...new Set(events.flatMap((e) => (e.product_id !== undefined && e.type !== 'impression' ? [e.product_id] : []))),
  ];
  const items = productIds.length > 0 ? await opts.items.get(productIds) : new Map();
  const now = (opts.now ?? Date.now)();
  let applied = events;
  try {
    const { changed, effects, skipped } = applyEvents(events, users, items, opts.config, { now });
    if (skipped.length > 0) {
      // Another producer (or an older service) wrote them: kept aside, their ids applied so a
      // redelivery does not dead-letter them twice.
      const out = new Set(skipped);
      applied = events.filter((e) => !out.has(e));
      for (const e of skipped)
        deadLetters.push({
          position: recordOf.get(e)!.position,
          raw: recordOf.get(e)!.value.slice(0, 10_000),
          reason: `ts ${e.ts} is more than ${opts.config.max_future_skew_ms} ms ahead of the consumer's clock (${now})`,
          ts: now,
        });
    }
    await opts.state.commit({ eventIds: events.map((e) => e.event_id), users: changed, effects, deadLetters });
  } catch (err) {
    // States were changed in place; a caching store must not keep them.
    opts.state.forget?.([...users.keys()]);
    throw err;
  }
  return { events: applied, duplicates, deadLetters: deadLetters.length };
}

function parseRecord(rec: StreamRecord): { event: BehaviorEvent } | { reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(rec.value);
  } catch (err) {
    return { reason: `not JSON: ${(err as Error).message}` };
  }
  const r = BehaviorEventSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return { reason: `invalid event: ${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  return { event: r.data };
}

/** The states a batch touches: its subjects, and the users their sessions are linked to. */
async function loadUsers(events: readonly BehaviorEvent[], state: StateStore): Promise<Map<string, UserState>> {
  const subjects = new Set<string>();
  for (const e of events) {
    if (e.user_id !== undefined) subjects.add(`u:${e.user_id}`);
    if (e.session_id !== undefined) subjects.add(`s:${e.session_id}`);
  }
  const users = await state.getUsers([...subjects]);
  const linked = [...users.values()].flatMap((u) =>
    u.linked_to !== undefined && !users.has(u.linked_to) ? [u.linked_to] : [],
  );
  if (linked.length > 0) for (const [k, v] of await state.getUsers(linked)) users.set(k, v);
  return users;
}
