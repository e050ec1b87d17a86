import { setImmediate as yieldToRequests } from 'node:timers/promises';
import type { EventLog } from './event-log.ts';
import { windowMs, type RetentionConfig } from './retention-config.ts';
import type { StateStore } from './state-store.ts';

/** The stores retention prunes; the `store` label of shelf_retention_pruned_rows_total. */
export type RetainedStore = 'events' | 'served' | 'applied' | 'dead_letters';

/** One store's pruning: deletes at most `rows` rows and says how many went. */
interface Target {
  store: RetainedStore;
  chunk(now: number, rows: number): Promise<number>;
}

export interface RetentionOptions {
  log: EventLog;
  served: EventLog;
  state: StateStore;
  config: RetentionConfig;
  now?: () => number;
  onPruned?: (store: RetainedStore, rows: number) => void;
  onError?: (store: RetainedStore, err: Error) => void;
}

export interface Retention {
  /** One compaction pass over every store now (what the timer runs); rows pruned per store. */
  run(): Promise<Partial<Record<RetainedStore, number>>>;
  stop(): Promise<void>;
}

/**
 * The stores' windows, kept by a background timer: every `interval_ms`, each store the service
 * keeps itself is cut in chunks of `chunk_rows` (one short transaction each), yielding to the
 * event loop between chunks so requests interleave with a compaction instead of waiting for it.
 * Stores on servers have no prune methods (Kafka topic retention and Redis TTLs do their work)
 * and are skipped. The behaviour stream is cut only below every consumer group's committed
 * position: an event the consumer has not applied is never pruned.
 */
export function startRetention(opts: RetentionOptions, timer = true): Retention {
  const c = opts.config;
  const targets = retentionTargets(opts);
  const now = opts.now ?? Date.now;
  let running: Promise<Partial<Record<RetainedStore, number>>> | undefined;
  let stopped = false;

  const pass = async () => {
    const out: Partial<Record<RetainedStore, number>> = {};
    for (const t of targets) {
      let total = 0;
      try {
        for (let i = 0; i < c.max_chunks && !stopped; i++) {
          const n = await t.chunk(now(), c.chunk_rows);
          total += n;
          if (n < c.chunk_rows) break;
          await yieldToRequests();
        }
      } catch (err) {
        opts.onError?.(t.store, err as Error);
      }
      out[t.store] = total;
      if (total > 0) opts.onPruned?.(t.store, total);
    }
    return out;
  };
  const run = () => {
    // One pass at a time: a timer tick during a long pass joins it instead of starting another.
    running ??= pass().finally(() => (running = undefined));
    return running;
  };
  const interval = c.enabled && timer && targets.length > 0 ? setInterval(() => void run(), c.interval_ms) : undefined;
  interval?.unref();
  return {
    run,
    async stop() {
      stopped = true;
      clearInterval(interval);
      await running;
    },
  };
}

function retentionTargets(o: RetentionOptions): Target[] {
  const c = o.config;
  if (!c.enabled) return [];
  const out: Target[] = [];
  const logTarget = (store: 'events' | 'served', log: EventLog, w: { days: number; bytes: number }) => {
    const prune = log.prune?.bind(log);
    if (!prune || (w.days === 0 && w.bytes === 0)) return;
    out.push({
      store,
      chunk: (now, rows) =>
        prune(
          {
            now,
            maxAgeMs: windowMs(w.days),
            maxBytes: w.bytes || undefined,
            committedOnly: store === 'events',
          },
          rows,
        ),
    });
  };
  logTarget('events', o.log, c.events);
  logTarget('served', o.served, c.served);
  const applied = o.state.pruneApplied?.bind(o.state);
  const appliedMs = windowMs(c.applied.days);
  if (applied && appliedMs !== undefined)
    out.push({ store: 'applied', chunk: (now, rows) => applied(now - appliedMs, rows) });
  const dead = o.state.pruneDeadLetters?.bind(o.state);
  const deadMs = windowMs(c.dead_letters.days);
  if (dead && (deadMs !== undefined || c.dead_letters.rows > 0))
    out.push({
      store: 'dead_letters',
      chunk: (now, rows) =>
        dead(
          {
            before: deadMs === undefined ? undefined : now - deadMs,
            keep: c.dead_letters.rows || undefined,
          },
          rows,
        ),
    });
  return out;
}
