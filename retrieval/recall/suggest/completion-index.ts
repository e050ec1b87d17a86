/**
 * Top-k completion over a fixed set of weighted phrases: a sorted array of keys (binary search
 * finds the keys starting with a prefix, a contiguous range) and a sparse table of range maxima
 * over their scores, so the best k of a range of any size come out in O(k log k) — "r" over
 * 300,000 keys costs what "running sh" does. Built once per catalog generation (and per refresh
 * of popular queries) and never changed: a new one is swapped in whole.
 *
 * An entry may be reachable from several keys (a category "Trail Running Shoes" is found from
 * "trail", "running" and "shoes"); the best key of an entry stands for it, once. At equal scores
 * an entry found from its start ("shoes") comes before one found from a later word ("Running
 * Shoes"), then key order decides.
 */

export interface CompletionEntry<T> {
  /** Keys the entry completes from (phraseKey form); the first is its own text's key. */
  keys: readonly string[];
  /** Higher first. */
  score: number;
  value: T;
}

export class CompletionIndex<T> {
  private readonly keys: string[];
  /** Entry of each key, in key order. */
  private readonly entryOf: Int32Array;
  private readonly scores: Float64Array;
  /** 1 where the key is its entry's own (the entry's text starts with it). */
  private readonly own: Uint8Array;
  /** levels[j][i]: position of the best score in keys[i, i + 2^j). */
  private readonly levels: Int32Array[];
  private readonly values: T[];

  constructor(entries: readonly CompletionEntry<T>[]) {
    const rows: Array<{ key: string; entry: number; own: boolean }> = [];
    entries.forEach((e, i) => {
      [...new Set(e.keys)].forEach((key, k) => key.length > 0 && rows.push({ key, entry: i, own: k === 0 }));
    });
    // Code-unit order: what the binary search compares with, and fast (no locale).
    rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.entry - b.entry));
    const n = rows.length;
    this.keys = rows.map((r) => r.key);
    this.entryOf = Int32Array.from(rows, (r) => r.entry);
    this.scores = Float64Array.from(rows, (r) => entries[r.entry]!.score);
    this.own = Uint8Array.from(rows, (r) => (r.own ? 1 : 0));
    this.values = entries.map((e) => e.value);
    const base = new Int32Array(n);
    for (let i = 0; i < n; i++) base[i] = i;
    this.levels = [base];
    for (let span = 2; span <= n; span *= 2) {
      const prev = this.levels.at(-1)!;
      const half = span / 2;
      const level = new Int32Array(n - span + 1);
      for (let i = 0; i < level.length; i++) level[i] = this.better(prev[i]!, prev[i + half]!);
      this.levels.push(level);
    }
  }

  /** Number of keys (an entry counts once per key). */
  get size(): number {
    return this.keys.length;
  }

  /** The best `k` distinct entries with a key starting with `prefix`, best first (ties: earlier key). */
  complete(prefix: string, k: number): Array<{ value: T; score: number; key: string }> {
    const lo = this.lowerBound(prefix);
    const hi = prefix.length === 0 ? this.keys.length : this.lowerBound(successor(prefix));
    const out: Array<{ value: T; score: number; key: string }> = [];
    if (lo >= hi || k <= 0) return out;
    const seen = new Set<number>();
    // A max-heap of ranges by their best position's score; popping a range emits its best and
    // pushes the two halves beside it.
    const heap = new RangeHeap((a, b) => this.precedes(a, b));
    heap.push(lo, hi - 1, this.argmax(lo, hi - 1));
    while (heap.length > 0 && out.length < k) {
      const { l, r, at } = heap.pop();
      const entry = this.entryOf[at]!;
      if (!seen.has(entry)) {
        seen.add(entry);
        out.push({ value: this.values[entry]!, score: this.scores[at]!, key: this.keys[at]! });
      }
      if (l <= at - 1) heap.push(l, at - 1, this.argmax(l, at - 1));
      if (at + 1 <= r) heap.push(at + 1, r, this.argmax(at + 1, r));
    }
    return out;
  }

  /** Whether key position `a` ranks before `b`: score, then own key, then key order. */
  private precedes(a: number, b: number): boolean {
    const sa = this.scores[a]!;
    const sb = this.scores[b]!;
    if (sa !== sb) return sa > sb;
    if (this.own[a] !== this.own[b]) return this.own[a]! > this.own[b]!;
    return a < b;
  }

  private better(a: number, b: number): number {
    return this.precedes(b, a) ? b : a;
  }

  /** Position of the best score in keys[l..r] (inclusive), in O(1). */
  private argmax(l: number, r: number): number {
    const j = 31 - Math.clz32(r - l + 1);
    const level = this.levels[j]!;
    return this.better(level[l]!, level[r - (1 << j) + 1]!);
  }

  private lowerBound(s: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The smallest string greater than every string starting with `prefix`. */
function successor(prefix: string): string {
  let i = prefix.length - 1;
  while (i >= 0 && prefix.charCodeAt(i) === 0xffff) i--;
  return i < 0
    ? '\uffff'.repeat(prefix.length + 1)
    : prefix.slice(0, i) + String.fromCharCode(prefix.charCodeAt(i) + 1);
}

/** A small binary heap of index ranges, ordered by each range's best position. */
class RangeHeap {
  private readonly items: Array<{ l: number; r: number; at: number }> = [];
  constructor(private readonly precedes: (a: number, b: number) => boolean) {}

  get length(): number {
    return this.items.length;
  }

  private above(a: { at: number }, b: { at: number }): boolean {
    return this.precedes(a.at, b.at);
  }

  push(l: number, r: number, at: number): void {
    const items = this.items;
    items.push({ l, r, at });
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(items[i]!, items[p]!)) break;
      [items[i], items[p]] = [items[p]!, items[i]!];
      i = p;
    }
  }

  pop(): { l: number; r: number; at: number } {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const a = 2 * i + 1;
        const b = a + 1;
        let best = i;
        if (a < items.length && this.above(items[a]!, items[best]!)) best = a;
        if (b < items.length && this.above(items[b]!, items[best]!)) best = b;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
}
