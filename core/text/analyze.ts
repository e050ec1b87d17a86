/**
 * Lexical analysis for BM25, shared by every text index (embedded FTS5 and the production
 * engine's query side) so English and Chinese tokenize the same way everywhere.
 *
 * English: NFKC + lowercase words; stemming is left to the engine (FTS5's porter, ES's
 * english analyzer). Chinese/Japanese/Korean have no spaces, so runs of CJK characters
 * become overlapping bigrams, as Lucene's CJK analyzer does: "运动鞋" → "运动 动鞋". A lone
 * CJK character stays a unigram so single-character queries still match something.
 */

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
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

export function analyze(text: string): string[] {
  const out: string[] = [];
  const norm = text.normalize('NFKC').toLowerCase();
  for (const m of norm.matchAll(TOKEN_RUN)) {
    const run = m[0];
    if (CJK.test(run[0]!)) {
      const chars = Array.from(run);
      if (chars.length === 1) out.push(chars[0]!);
      for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
    } else if (!STOPWORDS.has(run)) {
      out.push(run);
    }
  }
  return out;
}

/** Text as an index stores it: analysed tokens joined by spaces. */
export function analyzedText(text: string | undefined): string {
  return text ? analyze(text).join(' ') : '';
}
