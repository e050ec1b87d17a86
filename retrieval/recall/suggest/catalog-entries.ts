import type { Product } from '../../../core/catalog/product.ts';
import type { CompletionEntry } from './completion-index.ts';
import type { Suggestion } from './suggestion.ts';
import { displayText, isBoundaryWord, normalized, phraseKey, words } from './text.ts';

/**
 * What the catalog itself suggests: title words and phrases, category nodes and brands, each
 * counted in products. Counts go both ways: a product is added when it enters the catalog and
 * removed (with the same fields it was added with) when it leaves or changes, and a key whose
 * count drops to zero is gone. `entry(key)` is what the completion index holds for a key, from
 * the counts alone (its text the most common way the catalog writes it, not the first one read),
 * so an index updated key by key equals one built from `entries()` in any read order.
 */

export interface CatalogEntryOptions {
  /** Longest title phrase, in words. */
  maxPhraseWords: number;
  /** Fewest products a title phrase of two or more words must appear in (a one-off is that product's own title). */
  minPhraseProducts: number;
}

/** The fields suggestions come from. */
export type SuggestFields = Pick<Product, 'title' | 'category' | 'brand'>;

interface TitleTally {
  count: number;
  /** Words in the phrase. */
  words: number;
  /** Where one occurrence was written (the normalised title and span): most phrases are in one title and never shown. */
  from: string;
  start: number;
  end: number;
  /** That occurrence's text, once another was compared with it. */
  form?: string;
  /** Every occurrence's written form, counted: only once two of them differ ("crème brûlée", "creme brulee"). */
  forms?: Map<string, number>;
}

/**
 * The ways a name is written, counted. The one shown is the most common (ties: the first in
 * code-unit order): a function of the catalog, not of the order products were read in, so an
 * index kept up by difference shows what one built from scratch does.
 */
class Forms {
  private readonly counts = new Map<string, number>();

  constructor(form: string) {
    this.counts.set(form, 1);
  }

  add(form: string, by: 1 | -1): void {
    const n = (this.counts.get(form) ?? 0) + by;
    if (n > 0) this.counts.set(form, n);
    else this.counts.delete(form);
  }

  get shown(): string {
    return mostCommon(this.counts);
  }
}

function mostCommon(counts: ReadonlyMap<string, number>): string {
  let best = '';
  let most = 0;
  for (const [form, n] of counts)
    if (n > most || (n === most && form < best)) {
      best = form;
      most = n;
    }
  return best;
}

interface NamedTally {
  /** As the catalog writes it. */
  text: Forms;
  count: number;
  /** Keys of its later words: "shoes" finds "Running Shoes". */
  inner: string[];
  /** Category nodes: the path, as the catalog writes it. */
  path?: Forms;
}

/** Source order when two sources give the same text: structure first (a category page is a better landing). */
const RANK: Record<Suggestion['source'], number> = { query: 3, category: 2, brand: 1, title: 0 };

/** What may sit between two words of a title phrase: spaces, a hyphen ("t-shirt"), an apostrophe ("men's"). */
const JOINER = /^[\s'’-]*$/;

export class CatalogEntries {
  private readonly titles = new Map<string, TitleTally>();
  private readonly brands = new Map<string, NamedTally>();
  /** Category nodes by key, then by lowercased path: two nodes may share a name ("Jackets"). */
  private readonly categories = new Map<string, Map<string, NamedTally>>();

  constructor(private readonly opts: CatalogEntryOptions) {}

  /** Counts a product in; the own keys whose entries it changed are added to `touched`. */
  add(p: SuggestFields, touched?: Set<string>): void {
    this.apply(p, 1, touched);
  }

  /** Counts out a product added before, with the fields it was added with. */
  remove(p: SuggestFields, touched?: Set<string>): void {
    this.apply(p, -1, touched);
  }

  private apply(p: SuggestFields, by: 1 | -1, touched: Set<string> | undefined): void {
    this.title(p.title, by, touched);
    if (p.category) {
      // Every node of the path is a category of its own ("Sports", "Sports/Footwear", …).
      const parts = p.category.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const path = parts.slice(0, i).join('/');
        this.named(parts[i - 1]!, by, touched, (key) => {
          const nodes = this.categories.get(key) ?? new Map<string, NamedTally>();
          this.categories.set(key, nodes);
          const drop = () => void (nodes.size === 0 && this.categories.delete(key));
          return { map: nodes, id: path.toLowerCase(), path, drop };
        });
      }
    }
    if (p.brand) this.named(p.brand, by, touched, (key) => ({ map: this.brands, id: key }));
  }

  private title(title: string, by: 1 | -1, touched: Set<string> | undefined): void {
    const ws = words(title);
    const written = normalized(title);
    const seen = new Set<string>();
    for (let i = 0; i < ws.length; i++) {
      if (isBoundaryWord(ws[i]!)) continue;
      for (let n = 1; n <= this.opts.maxPhraseWords && i + n <= ws.length; n++) {
        // A phrase never spans punctuation ("16GB RAM, 512GB SSD").
        if (n > 1 && !JOINER.test(written.slice(ws[i + n - 2]!.end, ws[i + n - 1]!.start))) break;
        const phrase = ws.slice(i, i + n);
        const last = phrase.at(-1)!;
        if (isBoundaryWord(last)) continue;
        const key = phraseKey(phrase);
        if (seen.has(key)) continue;
        seen.add(key);
        touched?.add(key);
        const t = this.titles.get(key);
        const start = phrase[0]!.start;
        if (t) this.countTitle(key, t, by, written, start, last.end);
        else if (by > 0) this.titles.set(key, { count: 1, words: n, from: written, start, end: last.end });
      }
    }
  }

  /** Counts one more or one less occurrence of a phrase, written at `written[start, end)`. */
  private countTitle(key: string, t: TitleTally, by: 1 | -1, written: string, start: number, end: number): void {
    const form = (t.form ??= t.from.slice(t.start, t.end));
    // Most occurrences are written as the one in hand: compared in place, no copy.
    const same = end - start === form.length && written.startsWith(form, start);
    if (by > 0) {
      t.count++;
      if (same && !t.forms) return;
      t.forms ??= new Map([[form, t.count - 1]]);
      const f = same ? form : written.slice(start, end);
      t.forms.set(f, (t.forms.get(f) ?? 0) + 1);
      return;
    }
    if (--t.count <= 0) {
      this.titles.delete(key);
      return;
    }
    if (!t.forms) return;
    const f = same ? form : written.slice(start, end);
    const n = (t.forms.get(f) ?? 0) - 1;
    if (n > 0) t.forms.set(f, n);
    else t.forms.delete(f);
    if (t.forms.size === 1 || !t.forms.has(form)) {
      // The occurrence in hand is gone: any remaining form stands for the phrase.
      const kept = t.forms.keys().next().value!;
      Object.assign(t, { from: kept, start: 0, end: kept.length, form: kept });
      if (t.forms.size === 1) delete t.forms;
    }
  }

  private named(
    name: string,
    by: 1 | -1,
    touched: Set<string> | undefined,
    where: (key: string) => { map: Map<string, NamedTally>; id: string; path?: string; drop?: () => void },
  ): void {
    const ws = words(name);
    const key = phraseKey(ws);
    if (key.length === 0) return;
    touched?.add(key);
    const { map, id, path, drop } = where(key);
    const t = map.get(id);
    const text = name.trim();
    if (t) {
      t.count += by;
      t.text.add(text, by);
      if (path !== undefined) t.path?.add(path, by);
      if (t.count <= 0) map.delete(id);
      drop?.();
      return;
    }
    if (by < 0) {
      drop?.();
      return;
    }
    const inner: string[] = [];
    for (let i = 1; i < ws.length; i++) if (!isBoundaryWord(ws[i]!)) inner.push(phraseKey(ws.slice(i)));
    map.set(id, { text: new Forms(text), count: 1, inner, ...(path !== undefined && { path: new Forms(path) }) });
  }

  /**
   * The entry of one own key: the best-ranked source that has it (then the larger count, then
   * the first path), with its product count; undefined when nothing suggests it any more.
   */
  entry(key: string): CompletionEntry<Suggestion> | undefined {
    let best: { s: Suggestion; keys: string[] } | undefined;
    const offer = (s: Suggestion, keys: string[]) => {
      const had = best?.s;
      if (
        !had ||
        RANK[s.source] > RANK[had.source] ||
        (s.source === had.source &&
          (s.count > had.count || (s.count === had.count && (s.category ?? '') < (had.category ?? ''))))
      )
        best = { s, keys };
    };
    const t = this.titles.get(key);
    if (t && this.suggestsTitle(key, t)) {
      const written = t.forms ? mostCommon(t.forms) : t.from.slice(t.start, t.end);
      offer({ text: displayText(written), source: 'title', count: t.count }, [key]);
    }
    const b = this.brands.get(key);
    if (b) offer({ text: b.text.shown, source: 'brand', count: b.count }, [key, ...b.inner]);
    for (const c of this.categories.get(key)?.values() ?? [])
      offer({ text: c.text.shown, source: 'category', count: c.count, category: c.path!.shown }, [key, ...c.inner]);
    return best && { keys: best.keys, score: best.s.count, value: best.s };
  }

  /** One entry per own key (see entry()). */
  entries(): Array<CompletionEntry<Suggestion>> {
    const out: Array<CompletionEntry<Suggestion>> = [];
    const push = (key: string) => {
      const e = this.entry(key);
      if (e) out.push(e);
    };
    // A key in more than one source is one entry: offered from the first map that has it.
    for (const key of this.titles.keys()) push(key);
    for (const key of this.brands.keys()) if (!this.titles.has(key)) push(key);
    for (const key of this.categories.keys()) if (!this.titles.has(key) && !this.brands.has(key)) push(key);
    return out;
  }

  private suggestsTitle(key: string, t: TitleTally): boolean {
    // A bare number ("10", "256") completes nothing a shopper means; one character is what was typed.
    if (t.words === 1) return !/^\p{N}+$/u.test(key) && Array.from(key).length >= 2;
    return t.count >= this.opts.minPhraseProducts;
  }
}
