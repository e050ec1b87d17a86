import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';

/**
 * Lexical analysis for BM25, shared by every text index (embedded FTS5 and the production
 * engine's query side) so English and Chinese tokenize the same way everywhere.
 *
 * English: NFKC + lowercase words; stemming is left to the engine (FTS5's porter, ES's
 * english analyzer). Chinese has no spaces, so each run of Han characters is segmented into
 * words by jieba (`@node-rs/jieba`, its bundled dictionary, search mode: a long word also
 * yields the dictionary words inside it, "运动鞋" → "运动 运动鞋", so a query for either finds
 * it). Characters the dictionary does not join into a word (an unknown brand, a made-up name)
 * come out one by one; a run of two or more of them becomes overlapping bigrams, as Lucene's
 * CJK analyzer does, so unknown words still match as pairs. Japanese kana and Korean, which
 * jieba does not know, keep the bigrams. A lone CJK character stays a unigram.
 */

/**
 * Names the tokenizer an index was built with. An embedded index records it (generation.ts)
 * and is rebuilt when it differs: tokens written by one analyzer are not found by another's queries.
 */
export const ANALYZER_VERSION = 'jieba-search-v1';
/** What an index that records no analyzer was built with: CJK runs as overlapping bigrams. */
export const LEGACY_ANALYZER = 'cjk-bigram-v0';

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const HAN_RUN = /^\p{Script=Han}+$/u;
const CJK_CLASS = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}';
const TOKEN_RUN = new RegExp(`[${CJK_CLASS}]+|(?:(?![${CJK_CLASS}])[\\p{L}\\p{N}])+`, 'gu');

/** Words so common in product text that they add latency and no ranking signal. */
const STOPWORDS = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'by',
  'for',
  'from',
  'in',
  'into',
  'is',
  'it',
  'of',
  'on',
  'or',
  'the',
  'to',
  'with',
  'this',
  'that',
  'your',
  'you',
  'our',
]);

let jieba: Jieba | undefined;
/** Loaded on first use (about 0.2 s): a service that never sees Chinese never pays for it. */
function segmenter(): Jieba {
  return (jieba ??= Jieba.withDict(dict));
}

/** One analysed token, with where it came from in the normalised text (for highlighting). */
export interface Token {
  term: string;
  /** The run (word, or CJK run) of the normalised text the token was taken from. */
  start: number;
  end: number;
}

export function analyze(text: string): string[] {
  return tokens(text).map((t) => t.term);
}

/**
 * The tokens of `text` with their spans in `text.normalize('NFKC').toLowerCase()`. NFKC can
 * change lengths (full-width forms, ligatures), so callers that highlight the original text map
 * spans through the normalised copy (see highlight.ts).
 */
export function tokens(text: string): Token[] {
  const out: Token[] = [];
  const norm = text.normalize('NFKC').toLowerCase();
  for (const m of norm.matchAll(TOKEN_RUN)) {
    const run = m[0];
    const at = m.index;
    if (CJK.test(run[0]!)) {
      if (HAN_RUN.test(run)) hanTokens(run, at, out);
      else bigrams(Array.from(run), at, out);
    } else if (!STOPWORDS.has(run)) {
      out.push({ term: run, start: at, end: at + run.length });
    }
  }
  return out;
}

/** jieba's words; runs of single characters it could not join (unknown words) as bigrams. */
function hanTokens(run: string, at: number, out: Token[]): void {
  // cut() gives the segmentation; cutForSearch() adds the dictionary words inside long ones.
  const words = segmenter().cut(run, false);
  let pos = 0;
  let singles: string[] = [];
  let singlesAt = 0;
  const flush = () => {
    if (singles.length > 0) bigrams(singles, at + singlesAt, out);
    singles = [];
  };
  for (const w of words) {
    const chars = Array.from(w);
    if (chars.length === 1) {
      if (singles.length === 0) singlesAt = pos;
      singles.push(w);
    } else {
      flush();
      const start = at + pos;
      for (const sub of segmenter().cutForSearch(w, false)) {
        if (sub !== w && Array.from(sub).length > 1) out.push({ term: sub, start, end: start + w.length });
      }
      out.push({ term: w, start, end: start + w.length });
    }
    pos += w.length;
  }
  flush();
}

/** Overlapping pairs of a CJK run (a single character stays a unigram). */
function bigrams(chars: string[], at: number, out: Token[]): void {
  if (chars.length === 1) {
    out.push({ term: chars[0]!, start: at, end: at + chars[0]!.length });
    return;
  }
  let pos = at;
  for (let i = 0; i + 1 < chars.length; i++) {
    const term = chars[i]! + chars[i + 1]!;
    out.push({ term, start: pos, end: pos + term.length });
    pos += chars[i]!.length;
  }
}

/** Text as an index stores it: analysed tokens joined by spaces. */
export function analyzedText(text: string | undefined): string {
  return text ? analyze(text).join(' ') : '';
}

/**
 * Text with its Chinese words separated by spaces and everything else untouched: what the
 * Elasticsearch back end indexes, so an engine analyzer that splits on spaces and bigrams CJK
 * (the test node's `cjk`) sees jieba's words, and the query is sent segmented the same way.
 */
export function segmentedText(text: string): string {
  return text.replace(/\p{Script=Han}+/gu, (run) => {
    // Characters jieba leaves single stay together, so the engine bigrams them as analyze() does.
    const parts: string[] = [];
    let singles = '';
    for (const w of segmenter().cut(run, false)) {
      if (Array.from(w).length === 1) singles += w;
      else {
        if (singles) parts.push(singles);
        singles = '';
        parts.push(w);
      }
    }
    if (singles) parts.push(singles);
    return ` ${parts.join(' ')} `;
  });
}
