import type { Product } from '../../../core/catalog/product.ts';
import type { CompletionEntry } from './completion-index.ts';
import type { Suggestion } from './suggestion.ts';
import { displayText, phraseKey, words, type Word } from './text.ts';

/**
 * What the catalog itself suggests: title words and phrases, category nodes and brands, each
 * counted in products. Fed product by product (the catalog is read in batches) and turned into
 * completion entries once it has seen them all.
 */

export interface CatalogEntryOptions {
  /** Longest title phrase, in words. */
  maxPhraseWords: number;
  /** Fewest products a title phrase of two or more words must appear in (a one-off is that product's own title). */
  minPhraseProducts: number;
}

/** Words that neither start nor end a useful phrase, and are no completion on their own. */
const STOPWORDS = new Set(
  'a an and are as at be by for from in into is it no not of on or the to with this that your you our x 的 和 与 及 或'.split(
    ' ',
  ),
);

interface Tally {
  text: string;
  count: number;
  /** Category nodes: the path. */
  path?: string;
  /** Title phrases: how many words, and the title and span they were first seen at. */
  words?: number;
  from?: string;
  start?: number;
  end?: number;
}

/** Source order when two sources give the same text: structure first (a category page is a better landing). */
const RANK: Record<Suggestion['source'], number> = { query: 3, category: 2, brand: 1, title: 0 };

export class CatalogEntries {
  private readonly titles = new Map<string, Tally>();
  private readonly categories = new Map<string, Tally>();
  private readonly brands = new Map<string, Tally>();
  /** Keys of every word a category or brand holds, by the entry's own key (found from any of its words). */
  private readonly innerKeys = new Map<string, string[]>();

  constructor(private readonly opts: CatalogEntryOptions) {}

  add(p: Product): void {
    this.addTitle(p.title);
    if (p.category) {
      // Every node of the path is a category of its own ("Sports", "Sports/Footwear", …).
      const parts = p.category.split('/');
      for (let i = 1; i <= parts.length; i++)
        this.addNamed(this.categories, parts[i - 1]!, parts.slice(0, i).join('/'));
    }
    if (p.brand) this.addNamed(this.brands, p.brand);
  }

  private addTitle(title: string): void {
    const ws = words(title);
    const written = title.normalize('NFKC');
    const seen = new Set<string>();
    for (let i = 0; i < ws.length; i++) {
      if (isStop(ws[i]!)) continue;
      for (let n = 1; n <= this.opts.maxPhraseWords && i + n <= ws.length; n++) {
        // A phrase never spans punctuation ("16GB RAM, 512GB SSD"); a hyphen joins ("t-shirt").
        if (n > 1 && !/^[\s-]*$/.test(written.slice(ws[i + n - 2]!.end, ws[i + n - 1]!.start))) break;
        const phrase = ws.slice(i, i + n);
        const last = phrase.at(-1)!;
        if (isStop(last)) continue;
        const key = phraseKey(phrase);
        if (seen.has(key)) continue;
        seen.add(key);
        const t = this.titles.get(key);
        if (t) t.count++;
        else
          // Where it was written, not the text: most phrases are in one title and never shown.
          this.titles.set(key, { text: '', count: 1, words: n, from: written, start: phrase[0]!.start, end: last.end });
      }
    }
  }

  private addNamed(into: Map<string, Tally>, name: string, path?: string): void {
    const ws = words(name);
    const key = phraseKey(ws);
    if (key.length === 0) return;
    const id = path !== undefined ? `${key}\u0000${path.toLowerCase()}` : key;
    const t = into.get(id);
    if (t) {
      t.count++;
      return;
    }
    into.set(id, { text: name.trim(), count: 1, ...(path !== undefined && { path }) });
    if (!this.innerKeys.has(key)) {
      // Found from each of its words too: "shoes" finds "Running Shoes".
      const inner: string[] = [];
      for (let i = 1; i < ws.length; i++) if (!isStop(ws[i]!)) inner.push(phraseKey(ws.slice(i)));
      this.innerKeys.set(key, inner);
    }
  }

  /** One entry per key: the best-ranked source that has it, with its product count. */
  entries(): Array<CompletionEntry<Suggestion>> {
    const best = new Map<string, { s: Suggestion; keys: string[] }>();
    const offer = (key: string, s: Suggestion, keys: string[]) => {
      const had = best.get(key);
      if (!had || RANK[s.source] > RANK[had.s.source] || (s.source === had.s.source && s.count > had.s.count))
        best.set(key, { s, keys });
    };
    for (const [key, t] of this.titles) {
      const multi = (t.words ?? 1) > 1;
      // A bare number ("10", "256") completes nothing a shopper means; one character is what was typed.
      if (!multi && (/^\p{N}+$/u.test(key) || Array.from(key).length < 2)) continue;
      if (multi && t.count < this.opts.minPhraseProducts) continue;
      const text = displayText(t.from!.slice(t.start, t.end));
      offer(key, { text, source: 'title', count: t.count }, [key]);
    }
    for (const [id, t] of this.brands) offer(id, { text: t.text, source: 'brand', count: t.count }, this.keysOf(id));
    for (const [id, t] of this.categories) {
      const key = id.split('\u0000')[0]!;
      offer(key, { text: t.text, source: 'category', count: t.count, category: t.path! }, this.keysOf(key));
    }
    return [...best.values()].map(({ s, keys }) => ({ keys, score: s.count, value: s }));
  }

  private keysOf(key: string): string[] {
    return [key, ...(this.innerKeys.get(key) ?? [])];
  }
}

const isStop = (w: Word) => STOPWORDS.has(w.key) || (!w.cjk && w.key.length < 2 && !/\p{N}/u.test(w.key));
