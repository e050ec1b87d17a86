import os from 'node:os';
import type { EventLog, Subscription } from '../../../behavior/event-log.ts';
import type { IndexSnapshot, SnapshotSource } from '../../index/stores.ts';
import { CatalogSuggestions, type CatalogUpdate } from './catalog-suggestions.ts';
import { CompletionIndex } from './completion-index.ts';
import type { SuggestConfig } from './config.ts';
import { PopularQueries } from './popular-queries.ts';
import type { Suggestion } from './suggestion.ts';
import { typedPrefix } from './text.ts';

/**
 * Search-box completions: popular queries that found products (from the served log), then the
 * catalog's categories, brands and title phrases (from the served index generation), each ranked
 * by its count. Two immutable completion indexes are swapped in whole: the catalog one when the
 * searcher serves a new generation (updated beside the old one from the products the switch
 * changed, catalog-suggestions.ts; the old one answers meanwhile), the query one every
 * `refresh_ms` from what the served-log reader has folded since.
 *
 * The catalog is read through the snapshot's text store, so the embedded and the
 * Elasticsearch back ends are read the same way; the served log through its EventLog (SQLite
 * embedded, the Kafka topic in production), with a consumer group of this process's own read
 * from the beginning: every instance tallies every search in the retention window.
 */

export interface SuggesterOptions {
  config: SuggestConfig;
  /** The served index (the searcher): its generation is followed. */
  index: SnapshotSource;
  /** The served log; undefined: catalog suggestions only. */
  served?: EventLog | undefined;
  now?: () => number;
  /** A failed catalog read or served-log batch (it is retried). */
  onError?: (err: Error) => void;
  /**
   * A catalog index built (`full`) or brought to a new generation by the products it changed
   * (`incremental`): its generation, keys, the products read and how long it took.
   */
  onBuilt?: (b: { generation: string | undefined; keys: number } & CatalogUpdate) => void;
}

export interface SuggestResult {
  suggestions: Suggestion[];
  /** The index generation the catalog suggestions come from. */
  generation: string | undefined;
}

export class Suggester {
  private catalog: CatalogSuggestions | undefined;
  private queries = new CompletionIndex<Suggestion>([]);
  private readonly popular: PopularQueries;
  private building: Promise<void> | undefined;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** When the last catalog read failed: not retried on every request while its server is down. */
  private failedAt = -Infinity;
  private readonly now: () => number;

  constructor(private readonly opts: SuggesterOptions) {
    const c = opts.config;
    this.popular = new PopularQueries({
      minCount: c.min_query_count,
      windowDays: c.query_window_days,
      maxQueries: c.max_queries,
    });
    this.now = opts.now ?? Date.now;
  }

  /** Builds the catalog index of the served generation and starts reading the served log. */
  async start(): Promise<void> {
    await this.followIndex();
    if (this.opts.served) {
      const group = `shelf-suggest-${os.hostname()}-${process.pid}-${Date.now()}`;
      this.sub = await this.opts.served.consume(
        { group, fromBeginning: true, maxBatch: 5000, onError: (err) => this.opts.onError?.(err) },
        async (batch) => {
          for (const r of batch) this.popular.addRaw(r.value);
        },
      );
    }
    this.timer = setInterval(() => {
      this.refreshQueries();
      void this.checkCatalog();
    }, this.opts.config.refresh_ms);
    this.timer.unref();
  }

  /** Completions of what the shopper typed so far, best first, at most `size`. */
  suggest(typed: string, size: number): SuggestResult {
    // A new generation is built in the background; this answer comes from the one in hand.
    if (this.catalog?.generation !== this.opts.index.generation) void this.followIndex();
    const prefix = typedPrefix(typed);
    const generation = this.catalog?.generation;
    if (prefix === undefined) return { suggestions: [], generation };
    const out: Suggestion[] = [];
    const seen = new Set<string>();
    // Queries shoppers search (and find things with) first; then what the catalog holds.
    for (const index of [this.queries, this.catalog?.index]) {
      if (!index) continue;
      for (const hit of index.complete(prefix, size + seen.size)) {
        const key = typedPrefix(hit.value.text)?.trimEnd() ?? hit.key;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(hit.value);
        if (out.length === size) return { suggestions: out, generation };
      }
    }
    return { suggestions: out, generation };
  }

  /** Re-ranks popular queries from what the served-log reader folded so far. */
  refreshQueries(): void {
    this.queries = new CompletionIndex(this.popular.entries(this.now()));
  }

  /** Queries the served log has shown so far (suggested or not yet). */
  get trackedQueries(): number {
    return this.popular.size;
  }

  /** The generation the catalog suggestions come from. */
  get generation(): string | undefined {
    return this.catalog?.generation;
  }

  /**
   * Updates the catalog suggestions when the served generation changed, when its product count
   * did (the production index takes writes in place, under the same generation), or when the
   * last read is `catalog_refresh_ms` old (edits in place).
   */
  async checkCatalog(): Promise<void> {
    const built = this.catalog;
    if (!built || built.generation !== this.opts.index.generation) return this.followIndex();
    const stale = performance.now() - built.readAt >= this.opts.config.catalog_refresh_ms;
    try {
      const count = await this.opts.index.withSnapshot(async (snap) => (snap ? snap.text.count() : 0));
      if (stale || count !== built.products) return this.followIndex(true);
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }

  /**
   * Brings the catalog suggestions to the served generation when it is not the one they come
   * from, or when `force`d (one at a time): by the products that changed when there is a usable
   * previous state, else in full.
   */
  followIndex(force = false): Promise<void> {
    if (this.building) return this.building;
    if (!force && this.catalog && this.catalog.generation === this.opts.index.generation) return Promise.resolve();
    if (performance.now() - this.failedAt < Math.min(this.opts.config.refresh_ms, 5000)) return Promise.resolve();
    this.building = this.opts.index
      .withSnapshot((snap) => this.build(snap))
      .catch((err: Error) => {
        this.failedAt = performance.now();
        this.opts.onError?.(err);
      })
      .finally(() => (this.building = undefined));
    return this.building;
  }

  private async build(snap: IndexSnapshot | undefined): Promise<void> {
    const c = this.opts.config;
    const closed = () => this.closed;
    const held = this.catalog;
    let update: CatalogUpdate;
    if (held?.usable) update = await held.update(snap, closed);
    else {
      const full = await CatalogSuggestions.build(
        snap,
        { maxPhraseWords: c.max_phrase_words, minPhraseProducts: c.min_phrase_products },
        closed,
      );
      if (this.closed) return;
      this.catalog = full.built;
      update = full.update;
    }
    if (this.closed) return;
    this.opts.onBuilt?.({ generation: snap?.generation, keys: this.catalog!.index.size, ...update });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.sub?.stop();
    await this.building;
  }
}
