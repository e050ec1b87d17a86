import { z } from 'zod';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * How events turn into state. Half-lives are in event time (the events' `ts`), not wall-clock
 * time, so replaying the stream rebuilds exactly the same state.
 */
export const BehaviorConfigSchema = z
  .object({
    /** How much one event of each type moves a user's vectors and affinities (purchase > cart > click > view). */
    weights: z
      .object({
        view: z.number().nonnegative().default(1),
        click: z.number().nonnegative().default(2),
        add_to_cart: z.number().nonnegative().default(4),
        purchase: z.number().nonnegative().default(8),
      })
      .prefault({}),
    /** Short-term interest: what the shopper is doing in this visit. */
    short_half_life_ms: z
      .number()
      .positive()
      .default(30 * 60_000),
    /** Long-term taste. */
    long_half_life_ms: z
      .number()
      .positive()
      .default(90 * DAY),
    /** Category, brand and price affinities. */
    affinity_half_life_ms: z
      .number()
      .positive()
      .default(30 * DAY),
    /** Product popularity for the trending route. */
    trending_half_life_ms: z.number().positive().default(DAY),
    recent_items: z.number().int().min(1).max(500).default(20),
    purchased_items: z.number().int().min(0).max(5000).default(500),
    /** The last N impressions are remembered so the feed need not repeat them. */
    shown_items: z.number().int().min(0).max(5000).default(100),
    affinities: z.number().int().min(1).max(1000).default(50),
    /** An action pairs with this many of the shopper's previous items for co-occurrence… */
    cooc_window: z.number().int().min(1).max(50).default(5),
    /** …if they were touched within this long before it. */
    cooc_max_gap_ms: z.number().positive().default(DAY),
    /**
     * Weight of the backward pair (current → earlier item) relative to the forward one (earlier →
     * current). Sequences are directed: what follows an item predicts the next action better than
     * what precedes it. 1 = symmetric co-occurrence, 0 = forward only. On Amazon Video 0.5 raised
     * item-CF's full nDCG@10 from 0.056 to 0.063 and the fused feed's from 0.057 to 0.063
     * (docs/BENCHMARKS.md, "Feed accuracy"). The default stays 1 because the shipped ranker
     * (models/ranker/default) was trained on feeds built with symmetric co-occurrence: a shop that
     * lowers it (SHELF_COOC_BACKWARD_WEIGHT) should retrain its ranker on the logs that follow.
     */
    cooc_backward_weight: z.number().min(0).max(1).default(1),
    /**
     * How far ahead of the server clock an event's `ts` may be. Decay is in event time, so one event
     * from the far future would decay every other count to nothing (trending all zero): POST
     * /v1/events rejects such events, and the consumer skips (dead-letters) any that reach the stream.
     */
    max_future_skew_ms: z.number().int().nonnegative().default(HOUR),
    /** The earliest `ts` POST /v1/events accepts (epoch ms; default 2000-01-01T00:00:00Z). */
    min_event_ts: z
      .number()
      .int()
      .nonnegative()
      .default(Date.UTC(2000, 0, 1)),
  })
  .strict();

export type BehaviorConfig = z.output<typeof BehaviorConfigSchema>;
export type BehaviorConfigInput = z.input<typeof BehaviorConfigSchema>;

export const defaultBehaviorConfig = (): BehaviorConfig => BehaviorConfigSchema.parse({});
