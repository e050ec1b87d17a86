import type { EventLog } from './event-log.ts';

/**
 * What a search or feed response showed, keyed by its request_id. Impressions and clicks name
 * the request_id, so training can join them to exactly what was shown, where, and why, with the ranker's
 * feature values.
 */
export interface ServedEntry {
  request_id: string;
  surface: 'search' | 'feed' | 'similar';
  ts: number;
  subject?: string | undefined;
  query?: string | undefined;
  /** Search: how many products the query matched (0: it found nothing), for popular-query suggestions. */
  total?: number | undefined;
  items: Array<{
    id: string;
    position: number;
    score: number;
    routes?: string[];
    /** Slot in fusion order, before ranking. */
    fusion_position?: number;
    /** Slot in ranked order, before diversity (MMR) moved it to `position`; absent when MMR is off. */
    rank_position?: number;
    p_ctr?: number;
    p_cvr?: number;
    /** The exact ranker input (ranking/feature-spec.json order), so training reads what serving saw. */
    features?: number[];
    /** The coupon shown on the item (coupons/attach.ts): training data for a discount-aware conversion model. */
    coupon?: { id: string; discount: number; expected_value: number };
  }>;
  /** How the ranker ordered this response (ranking/ranker.ts). */
  ranking?: { mode: 'model' | 'heuristic' | 'off'; model_version?: string; feature_spec: string };
  /** Feed and similar items: the sequence model version (models/sequence/) that served the `sequence` list. */
  sequence?: { model_version: string };
  /**
   * Search: the text model (its id) the vector route encoded the query with, so clicks and purchases
   * join to the model that found the products (an experiment between text models reads it).
   */
  text_model?: string | undefined;
  /** The experiment arm that served it (pipeline/experiments/): events joined by request_id count for that arm. */
  experiment?: { id: string; arm: string };
}

/**
 * Writes served entries off the request path. A write failure is counted, never surfaced to the
 * shopper: a missing log line costs a training example, a failed page costs a sale.
 */
export class ServedLog {
  private pending: ServedEntry[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly onError: (err: Error, lost: number) => void = () => {},
  ) {}

  record(entry: ServedEntry): void {
    this.pending.push(entry);
    this.flushing ??= Promise.resolve().then(() => this.flushLoop());
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.log.appendRaw(batch.map((e) => ({ key: e.request_id, value: JSON.stringify(e) })));
      } catch (err) {
        this.onError(err as Error, batch.length);
      }
    }
    this.flushing = undefined;
  }

  /** Resolves when everything recorded so far is written (or has failed). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}
