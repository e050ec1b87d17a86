import { foldDiacritics, isStopword, normalize, words as analyzedWords } from '../../../core/text/analyze.ts';

/**
 * How suggestions compare text: one key per phrase, so "Café", "cafe" and "CAFE" complete alike
 * and a shopper's "跑步" finds "跑步鞋". The words are search's own (core/text/analyze.ts: letters
 * and digits, Chinese cut by jieba with the characters it leaves single kept together as one
 * unknown word), so a suggestion is made of the words a search for it matches. A key is the
 * phrase's words with their accents folded, joined by one space, except between two CJK words,
 * which are joined directly: Chinese is typed without spaces, so "保暖外" must be a prefix of
 * "保暖外套" whether or not the segmenter cut it into 保暖|外套.
 */

/** One word of a text: its key form, and where it is in `normalize(text)` (a phrase is shown as written there). */
export interface Word {
  key: string;
  cjk: boolean;
  start: number;
  end: number;
}

/**
 * Folded words by text: a catalog repeats its words (100,000 titles hold a few thousand distinct
 * ones), so building suggestions folds each once. Bounded: cleared when full.
 */
const folded = new Map<string, string>();
function keyOf(word: string): string {
  let key = folded.get(word);
  if (key === undefined) {
    if (folded.size >= 200_000) folded.clear();
    folded.set(word, (key = foldDiacritics(word)));
  }
  return key;
}

/** The words of `text`, in order, as search's analyzer cuts them. */
export function words(text: string): Word[] {
  return analyzedWords(text).map((w) => ({ key: keyOf(w.text), cjk: w.kind !== 'word', start: w.start, end: w.end }));
}

/** The text words() spans point into. */
export const normalized = normalize;

/** Words that neither start nor end a useful phrase, and are no completion on their own. */
const BOUNDARY_WORDS = new Set(['no', 'not', '的', '和', '与', '及', '或']);

/** Search's stopwords, the words above, and a lone Latin letter: never a phrase's first or last word. */
export function isBoundaryWord(w: Word): boolean {
  return isStopword(w.key) || BOUNDARY_WORDS.has(w.key) || (!w.cjk && w.key.length < 2 && !/\p{N}/u.test(w.key));
}

/** The key of a phrase: its words' keys, spaced except between two CJK words. */
export function phraseKey(ws: ReadonlyArray<Pick<Word, 'key' | 'cjk'>>): string {
  let key = '';
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if (i > 0 && !(w.cjk && ws[i - 1]!.cjk)) key += ' ';
    key += w.key;
  }
  return key;
}

/**
 * The key prefix of what a shopper typed so far, cut and folded as catalog text is, with a
 * trailing space kept when the text ends in one after a Latin word, so "running " completes to
 * phrases that go on after "running" and not to "runnings". Undefined when the text holds no
 * letter or digit.
 */
export function typedPrefix(typed: string): string | undefined {
  const ws = words(typed);
  if (ws.length === 0) return undefined;
  const key = phraseKey(ws);
  const endsWord = /[\s\p{P}\p{S}]$/u.test(typed.normalize('NFKC')) && !ws.at(-1)!.cjk;
  return endsWord ? key + ' ' : key;
}

/** The display form of a query or title phrase: as written, lowercased, whitespace collapsed. */
export function displayText(s: string): string {
  return normalize(s).replace(/\s+/g, ' ').trim();
}
