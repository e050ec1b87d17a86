import { z } from 'zod';

/** Experiments, mounted at `experiments` in the settings tree (src/settings/schema.ts). */
export const ExperimentConfigSchema = z
  .object({
    /**
     * How long an instance serves the definitions it read before reading them again: a start or
     * stop made on another instance is in force within this (the instance that made it: at once).
     * 0: read on every request.
     */
    cache_ms: z.number().int().min(0).max(60_000).default(500),
    /**
     * Reports credit a purchase to an arm also when it follows, within this, a click on the same
     * product in a response the arm served (besides purchases naming the response's request_id).
     */
    attribution_window_ms: z
      .number()
      .int()
      .min(0)
      .default(24 * 3_600_000),
  })
  .strict();
export type ExperimentConfig = z.output<typeof ExperimentConfigSchema>;
