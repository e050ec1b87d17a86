import { z } from 'zod';

const MiB = 1024 * 1024;
const days = (d: number) => z.number().min(0).max(3650).default(d);
const bytes = (b: number) => z.number().int().min(0).default(b);

/**
 * How long the stores the service writes keep their rows. `days` 0 and `bytes` 0 mean no limit of
 * that kind; when both are set a row goes when either is passed. The embedded (SQLite) stores are
 * compacted by a background timer in small chunks (`behavior/retention.ts`); on the servers the same
 * windows become Kafka topic retention (`retention.ms`, `retention.bytes`, set when a topic is
 * created) and Redis key TTLs (behavior/README.md).
 */
export const RetentionConfigSchema = z
  .object({
    /** Off: nothing is ever pruned (the stores grow without limit). */
    enabled: z.boolean().default(true),
    /** How often the background compaction runs. */
    interval_ms: z.number().int().min(1000).default(60_000),
    /**
     * Rows deleted per transaction: each chunk holds SQLite's write lock for about a millisecond,
     * and the event loop is yielded between chunks, so requests never wait behind a compaction.
     */
    chunk_rows: z.number().int().min(10).max(100_000).default(1000),
    /** Most chunks per store per run: a large backlog is worked off over several runs. */
    max_chunks: z.number().int().min(1).default(50),
    /**
     * The behaviour stream. Embedded, a row goes only once every consumer group has committed a
     * position past it: an event the consumer has not applied is never pruned, whatever its age or
     * the log's size.
     */
    events: z
      .object({ days: days(30), bytes: bytes(2048 * MiB) })
      .strict()
      .prefault({}),
    /** What each response showed (the ranker's training data): the window training can read back. */
    served: z
      .object({ days: days(30), bytes: bytes(1024 * MiB) })
      .strict()
      .prefault({}),
    /**
     * The ids of applied events, which make a redelivered event a no-op: an event redelivered after
     * its id was pruned would count twice, so this must cover the stream's own window.
     */
    applied: z
      .object({ days: days(35) })
      .strict()
      .prefault({}),
    /** Stream messages the consumer could not use. */
    dead_letters: z
      .object({ days: days(30), rows: z.number().int().min(0).default(10_000) })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.applied.days > 0 && (r.events.days === 0 || r.events.days > r.applied.days))
      ctx.addIssue({
        code: 'custom',
        path: ['applied', 'days'],
        message: `must be at least events.days (${r.events.days || 'no limit'}): an event redelivered after its id is pruned would be applied twice`,
      });
  });

export type RetentionConfig = z.output<typeof RetentionConfigSchema>;

export const DAY_MS = 86_400_000;

/** A window in days as milliseconds; undefined for "no limit". */
export const windowMs = (d: number): number | undefined => (d > 0 ? d * DAY_MS : undefined);
