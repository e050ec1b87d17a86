import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';

/**
 * How suggestions compare text: one key per phrase, so "Café", "cafe" and "CAFE" complete alike
 * and a shopper's "跑步" finds "跑步鞋". A key is the phrase's words folded (NFKC, lowercase, Latin
 * accents dropped) and joined by one space, except between two CJK words, which are joined
 * directly: Chinese is typed without spaces, so "保暖外" must be a prefix of "保暖外套" whether
 * or not the catalog's segmenter cut it into 保暖|外套.
 *
 * Catalog text is cut into words (Latin: letters and digits; Chinese: jieba's dictionary words,
 * `@node-rs/jieba`) so phrases start and end on word boundaries; the typed text needs no
 * segmentation, only the same folding and joining, because completion is by key prefix.
 */

const CJK_CLASS = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}';
const CJK = new RegExp(`[${CJK_CLASS}]`, 'u');
const HAN_RUN = /^\p{Script=Han}+$/u;
/** Runs of CJK characters, or of other letters and digits (an apostrophe inside a word keeps it whole). */
const RUN = new RegExp(
  `[${CJK_CLASS}]+|(?:(?![${CJK_CLASS}])[\\p{L}\\p{N}])+(?:['’](?:(?![${CJK_CLASS}])[\\p{L}\\p{N}])+)*`,
  'gu',
);
/** Combining accents of Latin, Greek and Cyrillic letters only: Japanese voicing marks change the word. */
const LATIN_MARKS = /[\u0300-\u036f]/g;

let jieba: Jieba | undefined;
/** Loaded on first use (about 0.2 s): a catalog without Chinese never pays for it. */
const segmenter = () => (jieba ??= Jieba.withDict(dict));

/** Case-, width- and accent-insensitive form of `s` ("Café" → "cafe", "ＡＢＣ" → "abc"). */
export function fold(s: string): string {
  return s.normalize('NFKD').replace(LATIN_MARKS, '').normalize('NFKC').toLowerCase().replaceAll('’', "'");
}

/** One word of a text: its folded form (for keys) and how it was written (for display). */
export interface Word {
  key: string;
  surface: string;
  cjk: boolean;
  /** Where it is in `text.normalize('NFKC')`: a phrase is shown as written there, spaces included. */
  start: number;
  end: number;
}

/**
 * Folded words and jieba cuts by run: a catalog repeats its words (100,000 titles hold a few
 * thousand distinct ones), so building suggestions folds and segments each once. Bounded: cleared when full.
 */
const runCache = new Map<string, string | string[]>();
const cached = <T extends string | string[]>(key: string, make: () => T): T => {
  let v = runCache.get(key) as T | undefined;
  if (v === undefined) {
    if (runCache.size >= 200_000) runCache.clear();
    runCache.set(key, (v = make()));
  }
  return v;
};

/** The words of `text`, in order: Latin words as written, Chinese runs cut by jieba. */
export function words(text: string): Word[] {
  const out: Word[] = [];
  const norm = text.normalize('NFKC');
  for (const m of norm.matchAll(RUN)) {
    const run = m[0];
    if (!CJK.test(run[0]!)) {
      out.push({
        key: cached(run, () => fold(run)),
        surface: run,
        cjk: false,
        start: m.index,
        end: m.index + run.length,
      });
      continue;
    }
    // Kana and Hangul, which jieba does not know, stay whole runs (still prefix-completable).
    const parts = HAN_RUN.test(run) ? cached(`\u0000${run}`, () => hanWords(run)) : [run];
    let at = m.index;
    for (const w of parts) {
      out.push({ key: cached(w, () => fold(w)), surface: w, cjk: true, start: at, end: at + w.length });
      at += w.length;
    }
  }
  return out;
}

/**
 * jieba's words of a Han run, with the characters it leaves single joined back together: they
 * are an unknown word (a brand, a product line: 米家 in 小米 米家), not a phrase of characters.
 */
function hanWords(run: string): string[] {
  const out: string[] = [];
  let singles = '';
  for (const w of segmenter().cut(run, false)) {
    if (Array.from(w).length === 1) {
      singles += w;
      continue;
    }
    if (singles) out.push(singles);
    singles = '';
    out.push(w);
  }
  if (singles) out.push(singles);
  return out;
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
 * The key prefix of what a shopper typed so far: its runs folded and joined as catalog keys are
 * (no segmentation needed), with a trailing space kept when the text ends in one after a Latin
 * word, so "running " completes to phrases that go on after "running" and not to "runnings".
 * Undefined when the text holds no letter or digit.
 */
export function typedPrefix(typed: string): string | undefined {
  const norm = typed.normalize('NFKC');
  const runs = [...norm.matchAll(RUN)].map((m) => ({ key: fold(m[0]), cjk: CJK.test(m[0][0]!) }));
  if (runs.length === 0) return undefined;
  const key = phraseKey(runs);
  const last = runs.at(-1)!;
  const endsWord = /[\s\p{P}\p{S}]$/u.test(norm) && !last.cjk;
  return endsWord ? key + ' ' : key;
}

/** The display form of a query or title phrase: as written, lowercased, whitespace collapsed. */
export function displayText(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}
