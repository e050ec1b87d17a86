import { z } from 'zod';

export const FEED_ROUTES = ['uservector', 'itemcf', 'similar', 'trending', 'category', 'sequence'] as const;
export type FeedRoute = (typeof FEED_ROUTES)[number];

/** Feed ("guess you like") knobs; mounted at `feed` in the settings tree (src/settings/) and passed down. */
export const FeedConfigSchema = z
  .object({
    rrf_k: z.number().nonnegative().default(60),
    /**
     * Route weights in the fusion. uservector: ANN on the shopper's interest vector; itemcf:
     * co-occurrence with recent items; similar: neighbours of the context product; trending:
     * decayed popularity; category: popular in the context (or favourite) category; sequence:
     * the learned next-item model (models/sequence/) on the shopper's recent items, when one is served.
     */
    weights: z
      .object({
        uservector: z.number().nonnegative().default(1),
        itemcf: z.number().nonnegative().default(1),
        similar: z.number().nonnegative().default(1),
        trending: z.number().nonnegative().default(0.3),
        category: z.number().nonnegative().default(0.6),
        sequence: z.number().nonnegative().default(1),
      })
      .prefault({}),
    recall_k: z.number().int().min(1).max(2000).default(100),
    /** Recent items used as item-CF seeds, most recent first. */
    seeds: z.number().int().min(1).max(100).default(10),
    /** Co-occurrence is divided by count^alpha so that best-sellers do not co-occur with everything. */
    cooc_alpha: z.number().min(0).max(1).default(0.5),
    /**
     * Confidence gate. Item-CF is the best predictor of the very next item when the shopper's
     * recent items co-occur strongly with something (many shoppers made that step); there the
     * other routes mostly push item-CF's right answers down. When the best item-CF candidate's
     * score (in item-CF's units: weighted co-occurrence, see `cooc_alpha`) reaches
     * `itemcf_confident_score`, the other routes' weights are multiplied by
     * `itemcf_confident_scale`. 0 disables the gate.
     */
    itemcf_confident_score: z.number().nonnegative().default(0),
    itemcf_confident_scale: z.number().min(0).max(1).default(1),
    /** Share of the short-term (this visit) vector in the user vector. */
    short_weight: z.number().min(0).max(1).default(0.7),
    /** Items among the shopper's last N impressions are left out; 0 disables. */
    exclude_shown: z.number().int().min(0).max(1000).default(20),
    exclude_purchased: z.boolean().default(true),
    /** The shopper's N most recent items are left out: they have just seen them. 0 disables. */
    exclude_recent: z.number().int().min(0).max(500).default(10),
  })
  .strict();

export type FeedConfig = z.output<typeof FeedConfigSchema>;
export type FeedConfigInput = z.input<typeof FeedConfigSchema>;
