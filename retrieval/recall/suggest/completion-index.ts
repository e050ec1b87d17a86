/**
 * Top-k completion over a set of weighted phrases: a sorted array of keys (binary search finds
 * the keys starting with a prefix, a contiguous range) and a sparse table of range maxima over
 * their scores, so the best k of a range of any size come out in O(k log k) — "r" over 300,000
 * keys costs what "running sh" does. Never changed once built: readers keep the one they hold,
 * and a change makes a new one — in full from the entries, or by `updated()` from the one in
 * hand and the entries that changed (a merge of sorted rows, no sort of the whole key set), so
 * a catalog change of a few products costs a few milliseconds, not a rebuild.
 *
 * An entry may be reachable from several keys (a category "Trail Running Shoes" is found from
 * "trail", "running" and "shoes"); the best key of an entry stands for it, once. At equal scores
 * an entry found from its start ("shoes") comes before one found from a later word ("Running
 * Shoes"), then key order decides (and between entries under the same key, their own keys' order:
 * an index updated in place orders its rows as one built in full from the same entries).
 */

export interface CompletionEntry<T> {
  /** Keys the entry completes from (phraseKey form); the first is its own text's key, and names the entry. */
  keys: readonly string[];
  /** Higher first. */
  score: number;
  value: T;
}

/** One key of one entry, before the rows are laid out in arrays. */
interface Row {
  key: string;
  entry: number;
  own: boolean;
}

export class CompletionIndex<T> {
  private keys: string[] = [];
  /** Entry of each key, in key order. */
  private entryOf: Int32Array = new Int32Array(0);
  /** Score of each key (its entry's). */
  private scores: Float64Array = new Float64Array(0);
  /** 1 where the key is its entry's own (the entry's text starts with it). */
  private own: Uint8Array = new Uint8Array(0);
  /** levels[j][i]: position of the best score in keys[i, i + 2^j). */
  private levels: Int32Array[] = [];
  private values: T[] = [];
  /** Each entry's name (its own key) and score. */
  private ids: string[] = [];
  private entryScores: number[] = [];
  /** Entry by name; built when first updated. */
  private byId: Map<string, number> | undefined;

  constructor(entries: readonly CompletionEntry<T>[]) {
    const rows: Row[] = [];
    entries.forEach((e, i) => rowsOf(e, i, rows));
    const ids = entries.map((e) => e.keys[0] ?? '');
    // Code-unit order: what the binary search compares with, and fast (no locale).
    rows.sort((a, b) => compareRows(a.key, ids[a.entry]!, b.key, ids[b.entry]!));
    this.load(
      rows.map((r) => r.key),
      Int32Array.from(rows, (r) => r.entry),
      Uint8Array.from(rows, (r) => (r.own ? 1 : 0)),
      entries.map((e) => e.value),
      ids,
      entries.map((e) => e.score),
    );
  }

  /**
   * A new index: this one with the entries named in `changes` (by their own key) replaced by
   * the entry given, or removed when it is undefined. This one is left as it is.
   */
  updated(changes: ReadonlyMap<string, CompletionEntry<T> | undefined>): CompletionIndex<T> {
    const byId = (this.byId ??= new Map(this.ids.map((id, i) => [id, i])));
    const count = this.values.length;
    const remap = new Int32Array(count);
    for (const id of changes.keys()) {
      const e = byId.get(id);
      if (e !== undefined) remap[e] = -1;
    }
    const values: T[] = [];
    const ids: string[] = [];
    const scores: number[] = [];
    for (let e = 0; e < count; e++) {
      if (remap[e] === -1) continue;
      remap[e] = values.length;
      values.push(this.values[e]!);
      ids.push(this.ids[e]!);
      scores.push(this.entryScores[e]!);
    }
    const added: Row[] = [];
    for (const [id, entry] of changes) {
      if (!entry) continue;
      if (entry.keys[0] !== id) throw new Error(`completion entry ${entry.keys[0]} given as ${id}`);
      rowsOf(entry, values.length, added);
      values.push(entry.value);
      ids.push(id);
      scores.push(entry.score);
    }
    added.sort((a, b) => compareRows(a.key, ids[a.entry]!, b.key, ids[b.entry]!));
    // The kept rows are in order already: merge the few added ones in.
    let kept = 0;
    for (let i = 0; i < this.keys.length; i++) if (remap[this.entryOf[i]!] !== -1) kept++;
    const n = kept + added.length;
    const keys = new Array<string>(n);
    const entryOf = new Int32Array(n);
    const own = new Uint8Array(n);
    let i = 0;
    let j = 0;
    for (let o = 0; o < n; o++) {
      while (i < this.keys.length && remap[this.entryOf[i]!] === -1) i++;
      const fromOld =
        j >= added.length ||
        (i < this.keys.length &&
          compareRows(this.keys[i]!, ids[remap[this.entryOf[i]!]!]!, added[j]!.key, ids[added[j]!.entry]!) < 0);
      if (fromOld) {
        keys[o] = this.keys[i]!;
        entryOf[o] = remap[this.entryOf[i]!]!;
        own[o] = this.own[i]!;
        i++;
      } else {
        const r = added[j++]!;
        keys[o] = r.key;
        entryOf[o] = r.entry;
        own[o] = r.own ? 1 : 0;
      }
    }
    const next = new CompletionIndex<T>([]);
    next.load(keys, entryOf, own, values, ids, scores);
    return next;
  }

  private load(
    keys: string[],
    entryOf: Int32Array,
    own: Uint8Array,
    values: T[],
    ids: string[],
    entryScores: number[],
  ): void {
    const n = keys.length;
    this.keys = keys;
    this.entryOf = entryOf;
    this.own = own;
    this.values = values;
    this.ids = ids;
    this.entryScores = entryScores;
    this.byId = undefined;
    this.scores = new Float64Array(n);
    for (let i = 0; i < n; i++) this.scores[i] = entryScores[entryOf[i]!]!;
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

  /** Number of entries. */
  get entries(): number {
    return this.values.length;
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

/** The rows of one entry: each distinct non-empty key once, the first its own. */
function rowsOf<T>(e: CompletionEntry<T>, entry: number, out: Row[]): void {
  [...new Set(e.keys)].forEach((key, k) => key.length > 0 && out.push({ key, entry, own: k === 0 }));
}

/** Row order: by key, then by the entry's own key (code-unit order). */
function compareRows(keyA: string, idA: string, keyB: string, idB: string): number {
  if (keyA !== keyB) return keyA < keyB ? -1 : 1;
  return idA < idB ? -1 : idA > idB ? 1 : 0;
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
