import type { ServedEntry } from '../../../behavior/served-log.ts';
import type { CompletionEntry } from './completion-index.ts';
import type { Suggestion } from './suggestion.ts';
import { displayText, phraseKey, typedPrefix, words } from './text.ts';

/**
 * Popular queries, folded from the served log: every search response's entry names its query
 * and how many products it found. A query counts once per shopper per day (a shopper retyping
 * or paging is not popularity), only when it found something, and is suggested only when at
 * least `minCount` such searches in the window found something and its latest search did too: a
 * query that now finds nothing (the catalog changed, or it never did) is never suggested.
 */

const DAY_MS = 86_400_000;

export interface PopularQueryOptions {
  /** Fewest counted searches a query needs (also keeps one shopper's private searches out). */
  minCount: number;
  /** Days of searches that count. */
  windowDays: number;
  /** Queries tracked at most (the least counted are dropped beyond it). */
  maxQueries: number;
}

interface QueryTally {
  text: string;
  /** Its key, then the keys it is found from after its start. */
  keys: string[];
  /** Counted searches per day (epoch day). */
  days: Map<number, number>;
  /** Results of the latest search of it (by time). */
  lastTotal: number;
  lastTs: number;
}

export class PopularQueries {
  private readonly queries = new Map<string, QueryTally>();
  /** Who already counted for which query today: `${day}\0${subject}\0${key}`. */
  private counted = new Set<string>();
  private countedDay = -1;

  constructor(private readonly opts: PopularQueryOptions) {}

  /** Folds one served-log message (a JSON ServedEntry); anything else is ignored. */
  addRaw(value: string): void {
    // Most entries are feed and similar items: skip them without parsing.
    if (!value.includes('"surface":"search"')) return;
    let e: ServedEntry;
    try {
      e = JSON.parse(value) as ServedEntry;
    } catch {
      return;
    }
    this.add(e);
  }

  add(e: Pick<ServedEntry, 'surface' | 'query' | 'total' | 'ts' | 'subject' | 'request_id' | 'items'>): void {
    if (e.surface !== 'search' || typeof e.query !== 'string' || typeof e.total !== 'number') return;
    // Page 2 and beyond repeat page 1's search.
    if ((e.items[0]?.position ?? 0) > 0) return;
    const key = typedPrefix(e.query)?.trimEnd();
    if (!key) return;
    let t = this.queries.get(key);
    if (!t) {
      if (e.total === 0) return; // never found anything: nothing to track
      t = { text: displayText(e.query), keys: innerKeys(e.query), days: new Map(), lastTotal: e.total, lastTs: e.ts };
      this.queries.set(key, t);
    }
    if (e.ts >= t.lastTs) {
      t.lastTs = e.ts;
      t.lastTotal = e.total;
      if (e.total > 0) t.text = displayText(e.query);
    }
    if (e.total === 0) return;
    const day = Math.floor(e.ts / DAY_MS);
    if (day > this.countedDay) {
      this.counted = new Set();
      this.countedDay = day;
    }
    if (day === this.countedDay) {
      const who = `${day}\u0000${e.subject ?? e.request_id}\u0000${key}`;
      if (this.counted.has(who)) return;
      this.counted.add(who);
    }
    t.days.set(day, (t.days.get(day) ?? 0) + 1);
  }

  /** The queries to suggest now, as completion entries scored by their count. */
  entries(now: number): Array<CompletionEntry<Suggestion>> {
    const first = Math.floor(now / DAY_MS) - this.opts.windowDays + 1;
    const out: Array<CompletionEntry<Suggestion>> = [];
    for (const [key, t] of this.queries) {
      let count = 0;
      for (const [day, n] of t.days) {
        if (day < first) t.days.delete(day);
        else count += n;
      }
      if (t.days.size === 0 && t.lastTs < first * DAY_MS) {
        this.queries.delete(key);
        continue;
      }
      if (count < this.opts.minCount || t.lastTotal === 0) continue;
      out.push({ keys: t.keys, score: count, value: { text: t.text, source: 'query', count } });
    }
    if (this.queries.size > this.opts.maxQueries) this.trim(out);
    return out;
  }

  /** Keeps the `maxQueries` most counted (the rest are forgotten; a popular one comes back). */
  private trim(kept: ReadonlyArray<CompletionEntry<Suggestion>>): void {
    const keep = new Set(
      [...kept]
        .sort((a, b) => b.score - a.score)
        .slice(0, this.opts.maxQueries)
        .map((e) => e.keys[0]!),
    );
    for (const key of this.queries.keys())
      if (!keep.has(key) && this.queries.size > this.opts.maxQueries) this.queries.delete(key);
  }

  /** Queries tracked (suggested or not yet). */
  get size(): number {
    return this.queries.size;
  }
}

/** A query is found from its start and from each later word ("run" finds "trail running shoes", "外套" 保暖外套). */
function innerKeys(query: string): string[] {
  const ws = words(query);
  return ws.map((_, i) => phraseKey(ws.slice(i)));
}
