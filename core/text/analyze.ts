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
 *
 * words() is the segmentation (what a word is), tokens() the index terms made from it: the
 * search box's suggestions complete words(), so they and search agree on every word.
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

/** The form every analysed text is compared in: NFKC (full-width, ligatures), lowercase. */
export function normalize(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/**
 * One word of a text as the analyzer cuts it, before it becomes index terms: what search and
 * the search box's suggestions (retrieval/recall/suggest) both call a word.
 */
export interface Word {
  /** The word as it stands in the normalised text (see normalize()). */
  text: string;
  /** Where it stands in the normalised text. */
  start: number;
  end: number;
  /**
   * `word`: letters and digits of a spaced script (stopwords included: the caller decides);
   * `han`: a word of jieba's dictionary; `unknown`: Han characters jieba left single, run
   * together (an unknown word: a brand, a name; indexed as bigrams); `cjk`: a run holding kana or
   * Hangul, which jieba does not know (indexed as bigrams).
   */
  kind: 'word' | 'han' | 'unknown' | 'cjk';
}

/** The words of `text`, in order, with their spans in `normalize(text)`. */
export function words(text: string): Word[] {
  const out: Word[] = [];
  const norm = normalize(text);
  for (const m of norm.matchAll(TOKEN_RUN)) {
    const run = m[0];
    const at = m.index;
    if (!CJK.test(run[0]!)) out.push({ text: run, start: at, end: at + run.length, kind: 'word' });
    else if (!HAN_RUN.test(run)) out.push({ text: run, start: at, end: at + run.length, kind: 'cjk' });
    else {
      let pos = at;
      for (const w of hanWords(run)) {
        out.push({ text: w.text, start: pos, end: pos + w.text.length, kind: w.known ? 'han' : 'unknown' });
        pos += w.text.length;
      }
    }
  }
  return out;
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

/** Whether search leaves `term` (a normalised word) out of the index and the query. */
export function isStopword(term: string): boolean {
  return STOPWORDS.has(term);
}

/**
 * The tokens of `text` with their spans in `text.normalize('NFKC').toLowerCase()`. NFKC can
 * change lengths (full-width forms, ligatures), so callers that highlight the original text map
 * spans through the normalised copy (see highlight.ts).
 */
export function tokens(text: string): Token[] {
  const out: Token[] = [];
  for (const w of words(text)) {
    if (w.kind === 'word') {
      if (!STOPWORDS.has(w.text)) out.push({ term: w.text, start: w.start, end: w.end });
    } else if (w.kind === 'han') {
      // The segmentation's word, after the dictionary words inside it ("运动鞋" → "运动 运动鞋").
      for (const sub of searchWords(w.text)) out.push({ term: sub, start: w.start, end: w.end });
      out.push({ term: w.text, start: w.start, end: w.end });
    } else bigrams(Array.from(w.text), w.start, out);
  }
  return out;
}

interface HanWord {
  text: string;
  /** A dictionary word; else a run of characters jieba left single. */
  known: boolean;
}

/**
 * jieba's segmentation of Han runs and the dictionary words inside each word, by text: a catalog
 * repeats its words (100,000 titles hold a few thousand distinct runs), so indexing and building
 * suggestions cut each once. Bounded: cleared when full.
 */
const hanCache = new Map<string, readonly HanWord[]>();
const subCache = new Map<string, readonly string[]>();
const CACHE_MAX = 100_000;

/** jieba's words of a Han run (cut(), not cutForSearch()), the characters it leaves single run together. */
function hanWords(run: string): readonly HanWord[] {
  let out = hanCache.get(run);
  if (out) return out;
  const ws: HanWord[] = [];
  let singles = '';
  for (const w of segmenter().cut(run, false)) {
    if (Array.from(w).length === 1) {
      singles += w;
      continue;
    }
    if (singles) ws.push({ text: singles, known: false });
    singles = '';
    ws.push({ text: w, known: true });
  }
  if (singles) ws.push({ text: singles, known: false });
  if (hanCache.size >= CACHE_MAX) hanCache.clear();
  hanCache.set(run, (out = ws));
  return out;
}

/** The dictionary words of two or more characters inside a word, other than the word itself (cutForSearch). */
function searchWords(word: string): readonly string[] {
  let out = subCache.get(word);
  if (out) return out;
  out = segmenter()
    .cutForSearch(word, false)
    .filter((sub) => sub !== word && Array.from(sub).length > 1);
  if (subCache.size >= CACHE_MAX) subCache.clear();
  subCache.set(word, out);
  return out;
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
 * Characters jieba leaves single stay together, so the engine bigrams them as analyze() does.
 */
export function segmentedText(text: string): string {
  return text.replace(
    /\p{Script=Han}+/gu,
    (run) =>
      ` ${hanWords(run)
        .map((w) => w.text)
        .join(' ')} `,
  );
}

/**
 * `term` without the accents of Latin, Greek and Cyrillic letters ("café" → "cafe"), as the
 * embedded index matches them (FTS5's `remove_diacritics 2`): for comparing what a shopper types
 * with what the catalog writes. Japanese voicing marks, which change the word, are kept.
 */
export function foldDiacritics(term: string): string {
  return term.normalize('NFKD').replace(LATIN_MARKS, '').normalize('NFKC');
}
const LATIN_MARKS = /[\u0300-\u036f]/g;
