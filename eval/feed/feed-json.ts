import type { BehaviorConfig } from '../../behavior/config.ts';
import type { FeedConfig } from '../../retrieval/recall/feed-config.ts';
import type { ItemVectorReport } from './item-vectors.ts';
import type { Phase } from './protocol.ts';
import type { HitMetrics } from './sampled.ts';
import type { SequencePhaseRecord } from './sequence-phase.ts';
import type { TuneResult } from './tune.ts';
import type { EvalRoute, Scored } from './user-eval.ts';

/** The shape of `feed.json`, shared by the eval that writes it and the report that reads it. */
export type MetricTable = Partial<Record<Scored, HitMetrics>>;

export interface Significance {
  metric: keyof HitMetrics;
  mean_diff: number;
  ci95: [number, number];
  p_value: number;
  n: number;
}

export interface FeedJson {
  full: MetricTable;
  sampled100: MetricTable;
  users: number;
  dataset: string;
  protocol: Record<string, unknown>;
  chosen: Pick<
    FeedConfig,
    | 'weights'
    | 'rrf_k'
    | 'recall_k'
    | 'seeds'
    | 'cooc_alpha'
    | 'short_weight'
    | 'itemcf_confident_score'
    | 'itemcf_confident_scale'
  >;
  beats: Record<'full' | 'sampled100', Partial<Record<EvalRoute, boolean>>>;
  significance: Record<'full' | 'sampled100', Record<string, Partial<Record<keyof HitMetrics, Significance>>>>;
  validation: {
    users: number;
    full: MetricTable;
    sampled100: MetricTable;
    tuning: Omit<TuneResult, 'chosen' | 'users'>;
  };
  item_vectors: ItemVectorReport;
  behavior: Pick<
    BehaviorConfig,
    | 'trending_half_life_ms'
    | 'short_half_life_ms'
    | 'long_half_life_ms'
    | 'cooc_window'
    | 'cooc_max_gap_ms'
    | 'cooc_backward_weight'
    | 'recent_items'
  >;
  replay: Record<Phase, { events: number; applied: number; dead_letters: number; ms: number }>;
  /** The learned sequence route's model per phase (eval/feed/sequence-phase.ts), when it ran. */
  sequence?: Partial<Record<Phase, SequencePhaseRecord>>;
  timing_ms: Record<string, number>;
}
