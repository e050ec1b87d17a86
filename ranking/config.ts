import { z } from 'zod';

/**
 * Ranking knobs, mounted at `ranking` in the settings tree (src/settings/) and passed to the Ranker.
 * Final score = pCTR^a · pCVR^b · price^c (price term left out when the price is unknown).
 */
export const RankConfigSchema = z
  .object({
    /** `model`: rank with the model in model_dir (heuristic when there is no usable model); `off`: fusion order. */
    mode: z.enum(['model', 'off']).default('model'),
    /** Folder with model.onnx + metadata.json; polled for a new version. Unset: heuristic only. */
    model_dir: z.string().optional(),
    /**
     * Search ranking. `off` (default): search keeps fusion order even when `mode` is `model`,
     * because the shipped model is trained on simulated shoppers and lifts weak matches (a
     * dumbbell for "noise cancelling headphones", dog toys for "yoga mat") above good ones, and on
     * search it does not beat the heuristic (docs/BENCHMARKS.md, ranking). Set `model` once the
     * model in model_dir is trained on the shop's own logs. The feed and similar items follow
     * `mode`; a request's or an experiment arm's `ranking.mode` override applies on search too.
     */
    search: z.enum(['model', 'off']).default('off'),
    /**
     * Folders of further deployed model versions, loaded once beside `model_dir` so a request (an
     * experiment arm) can be scored by one of them through `model_version`. Fixed at start-up.
     */
    extra_model_dirs: z.array(z.string().min(1)).default([]),
    /**
     * The model version that scores a request, by its metadata `version`: the one in `model_dir` or
     * one of `extra_model_dirs`. Empty: the model in `model_dir` (followed as it is redeployed).
     */
    model_version: z.string().default(''),
    a: z.number().min(0).max(10).default(1),
    b: z.number().min(0).max(10).default(1),
    c: z.number().min(-10).max(10).default(0),
    /** How many fused candidates are scored (all in one batch); deeper results stay in fusion order. */
    window: z.number().int().min(1).max(2000).default(100),
    /** How often the model folder is checked for a new version; 0 disables. */
    refresh_ms: z.number().int().min(0).default(2000),
  })
  .strict();

export type RankConfig = z.output<typeof RankConfigSchema>;
export type RankConfigInput = z.input<typeof RankConfigSchema>;
