import type { EventLog } from './event-log.ts';

/**
 * What a search or feed response showed, keyed by its request_id. Impressions and clicks name
 * the request_id, so training can join them to exactly what was shown, where, and why (the
 * ranking issue adds the feature values used).
 */
export interface ServedEntry {
  request_id: string;
  surface: 'search' | 'feed' | 'similar';
  ts: number;
  subject?: string | undefined;
  query?: string | undefined;
  items: Array<{ id: string; position: number; score: number; routes?: string[] }>;
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
