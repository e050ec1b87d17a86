/**
 * Hashed n-gram featurizer of Shelf's default text embedder (featurizer_version "ngram-v1").
 *
 * One specification, two implementations: this file (serving) and
 * models/text_embedder/features.py (training). They must agree exactly; the shared vectors in
 * models/text_embedder/feature_vectors.json (written by the Python side) are checked by
 * ngram-features.test.ts. Changing either side means: bump FEATURIZER_VERSION, regenerate the
 * vectors, retrain the model.
 *
 * Specification (ngram-v1)
 *  1. Normalise: NFKC, then full Unicode lowercase. Keep the first 2048 code points.
 *  2. Tokenise, scanning code points: a CJK code point (fixed ranges below: Han, Hiragana,
 *     Katakana, Hangul, minus the punctuation U+30A0 and U+30FB) extends the current CJK run;
 *     a letter or digit (general category L or N) extends the current word, and so does a
 *     mark (M) when already inside a word; anything else (space, punctuation, symbol, emoji,
 *     a leading mark) ends the current token. Result: ordered words and CJK runs.
 *  3. Features:
 *       "w:" + word                 every word
 *       "c:" + g                    every code-point n-gram g, n = 3..5, of "<" + word + ">",
 *                                   for words of at most 30 code points
 *       "b:" + w1 + " " + w2        every two consecutive tokens that are both words
 *       "h:" + ch                   every character of a CJK run
 *       "hh:" + ch1 + ch2           every two adjacent characters of a CJK run
 *  4. Hash: FNV-1a 32-bit over the UTF-8 bytes of the feature string;
 *     bucket = 1 + (hash mod (B - 1)), so bucket 0 stays the padding id. B is the model's
 *     metadata "buckets" (32768 for the shipped model).
 *  5. Weight: sublinear tf. Features are counted per bucket (collisions add up) and a bucket
 *     gets weight sqrt(count); sqrt is correctly rounded on both sides, so weights are
 *     bit-identical. No IDF is stored: every bucket has a free-norm learned vector, so its
 *     importance is its row norm. Buckets are returned in ascending order.
 *
 * Known gap: L/N/M come from the runtime's Unicode tables (Python 3.11 has Unicode 14, Node
 * newer), so only code points assigned after Unicode 14 outside the CJK ranges may tokenise
 * differently from training. CJK membership is by fixed ranges, independent of the version.
 *
 * Hashing walks code points and emits UTF-8 bytes on the fly: no feature string is built on
 * the hot path (featureStrings() builds them, for tests and debugging).
 */

export const FEATURIZER_VERSION = 'ngram-v1';
export const MAX_CODEPOINTS = 2048;
export const MAX_NGRAM_WORD = 30;
const NGRAM_MIN = 3;
const NGRAM_MAX = 5;

/** Inclusive code-point ranges treated as CJK, ascending (same table as features.py). */
const CJK_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x11ff], // Hangul Jamo
  [0x3005, 0x3007], // 々 〆 〇
  [0x3021, 0x3029], // Hangzhou numerals
  [0x3031, 0x3035], // kana repeat marks
  [0x3038, 0x303c],
  [0x3041, 0x309f], // Hiragana
  [0x30a1, 0x30fa], // Katakana (U+30A0 is punctuation)
  [0x30fc, 0x30ff], // (U+30FB ・ is punctuation)
  [0x3131, 0x318f], // Hangul compatibility Jamo
  [0x31f0, 0x31ff], // Katakana phonetic extensions
  [0x3400, 0x4dbf], // CJK Ext A
  [0x4e00, 0x9fff], // CJK Unified Ideographs
  [0xa960, 0xa97f], // Hangul Jamo Ext A
  [0xac00, 0xd7ff], // Hangul syllables + Jamo Ext B
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xff66, 0xff9f], // halfwidth Katakana
  [0xffa0, 0xffdc], // halfwidth Hangul
  [0x1b000, 0x1b16f], // Kana supplement / extended / small kana
  [0x20000, 0x3ffff], // CJK Ext B.. and compatibility supplement (planes 2 and 3)
];

export function isCjk(cp: number): boolean {
  if (cp < 0x1100) return false;
  for (const [lo, hi] of CJK_RANGES) {
    if (cp < lo) return false;
    if (cp <= hi) return true;
  }
  return false;
}

const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
const MARK = /^\p{M}$/u;

const enum Kind {
  None = 0,
  Word = 1,
  Cjk = 2,
}

export interface Token {
  kind: 'word' | 'cjk';
  /** Code points of the token. */
  cps: number[];
}

export function normalizeText(text: string): number[] {
  const norm = text.normalize('NFKC').toLowerCase();
  const cps: number[] = [];
  for (const ch of norm) {
    if (cps.length >= MAX_CODEPOINTS) break;
    cps.push(ch.codePointAt(0)!);
  }
  return cps;
}

function kindOf(cp: number, current: Kind): Kind {
  if (cp < 0x80) {
    // ASCII fast path (already lowercased, but stay exact for any input).
    if ((cp >= 0x61 && cp <= 0x7a) || (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a)) return Kind.Word;
    return Kind.None;
  }
  if (isCjk(cp)) return Kind.Cjk;
  const ch = String.fromCodePoint(cp);
  if (LETTER_OR_DIGIT.test(ch)) return Kind.Word;
  if (current === Kind.Word && MARK.test(ch)) return Kind.Word;
  return Kind.None;
}

export function tokenize(cps: number[]): Token[] {
  const tokens: Token[] = [];
  let cur: number[] = [];
  let kind = Kind.None;
  for (const cp of cps) {
    const k = kindOf(cp, kind);
    if (k !== kind && cur.length > 0) {
      tokens.push({ kind: kind === Kind.Word ? 'word' : 'cjk', cps: cur });
      cur = [];
    }
    kind = k;
    if (k !== Kind.None) cur.push(cp);
  }
  if (cur.length > 0) tokens.push({ kind: kind === Kind.Word ? 'word' : 'cjk', cps: cur });
  return tokens;
}

// ---- FNV-1a over UTF-8, fed one code point at a time ----------------------------------------

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnvByte(h: number, b: number): number {
  return Math.imul(h ^ b, FNV_PRIME) >>> 0;
}

function fnvCp(h: number, cp: number): number {
  if (cp < 0x80) return fnvByte(h, cp);
  if (cp < 0x800) return fnvByte(fnvByte(h, 0xc0 | (cp >> 6)), 0x80 | (cp & 0x3f));
  if (cp < 0x10000) {
    h = fnvByte(h, 0xe0 | (cp >> 12));
    h = fnvByte(h, 0x80 | ((cp >> 6) & 0x3f));
    return fnvByte(h, 0x80 | (cp & 0x3f));
  }
  h = fnvByte(h, 0xf0 | (cp >> 18));
  h = fnvByte(h, 0x80 | ((cp >> 12) & 0x3f));
  h = fnvByte(h, 0x80 | ((cp >> 6) & 0x3f));
  return fnvByte(h, 0x80 | (cp & 0x3f));
}

function fnvAscii(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = fnvByte(h, s.charCodeAt(i));
  return h;
}

/** FNV-1a 32-bit of a string's UTF-8 bytes (exported for tests). */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  for (const ch of s) h = fnvCp(h, ch.codePointAt(0)!);
  return h;
}

const H_W = fnvAscii(FNV_OFFSET, 'w:');
const H_C = fnvAscii(FNV_OFFSET, 'c:');
const H_B = fnvAscii(FNV_OFFSET, 'b:');
const H_H = fnvAscii(FNV_OFFSET, 'h:');
const H_HH = fnvAscii(FNV_OFFSET, 'hh:');
const LT = 0x3c; // '<'
const GT = 0x3e; // '>'
const SPACE = 0x20;

let scratch = new Uint32Array(4096);

/**
 * Buckets of every feature of the token list, unsorted, in scratch[0..count). Char n-grams are
 * hashed incrementally (the 4- and 5-gram at a position extend the 3-gram's FNV state), so the
 * order differs from featureStrings(); only the multiset matters for featurize().
 */
function collectBuckets(tokens: Token[], mod: number): number {
  let count = 0;
  const push = (h: number): void => {
    if (count === scratch.length) {
      const bigger = new Uint32Array(scratch.length * 2);
      bigger.set(scratch);
      scratch = bigger;
    }
    scratch[count++] = 1 + (h % mod);
  };
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t]!;
    const w = tok.cps;
    if (tok.kind === 'word') {
      let h = H_W;
      for (const cp of w) h = fnvCp(h, cp);
      push(h);
      if (w.length <= MAX_NGRAM_WORD) {
        const len = w.length + 2;
        for (let s = 0; s + NGRAM_MIN <= len; s++) {
          let g = H_C;
          for (let i = s; i < s + NGRAM_MAX && i < len; i++) {
            g = fnvCp(g, i === 0 ? LT : i === len - 1 ? GT : w[i - 1]!);
            if (i - s + 1 >= NGRAM_MIN) push(g);
          }
        }
      }
      const next = tokens[t + 1];
      if (next !== undefined && next.kind === 'word') {
        let b = H_B;
        for (const cp of w) b = fnvCp(b, cp);
        b = fnvCp(b, SPACE);
        for (const cp of next.cps) b = fnvCp(b, cp);
        push(b);
      }
    } else {
      for (let j = 0; j < w.length; j++) {
        push(fnvCp(H_H, w[j]!));
        if (j + 1 < w.length) push(fnvCp(fnvCp(H_HH, w[j]!), w[j + 1]!));
      }
    }
  }
  return count;
}

export interface Features {
  /** Bucket ids in 1..buckets-1, ascending, unique. */
  ids: number[];
  /** sqrt(count) per bucket, same order. */
  weights: number[];
}

export function featurize(text: string, buckets: number): Features {
  if (!Number.isInteger(buckets) || buckets < 2 || buckets > 2 ** 32) throw new Error(`bad bucket count ${buckets}`);
  const n = collectBuckets(tokenize(normalizeText(text)), buckets - 1);
  const sorted = scratch.subarray(0, n).sort();
  const ids: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < n;) {
    const id = sorted[i]!;
    let j = i + 1;
    while (j < n && sorted[j] === id) j++;
    ids.push(id);
    weights.push(Math.sqrt(j - i));
    i = j;
  }
  return { ids, weights };
}

/** The feature strings in generation order (tests and debugging; not used for serving). */
export function featureStrings(text: string): string[] {
  const out: string[] = [];
  const tokens = tokenize(normalizeText(text));
  const str = (cps: number[]): string => String.fromCodePoint(...cps);
  tokens.forEach((tok, t) => {
    const s = str(tok.cps);
    if (tok.kind === 'word') {
      out.push('w:' + s);
      if (tok.cps.length <= MAX_NGRAM_WORD) {
        const wrapped = [LT, ...tok.cps, GT];
        for (let n = NGRAM_MIN; n <= NGRAM_MAX; n++) {
          for (let i = 0; i + n <= wrapped.length; i++) out.push('c:' + str(wrapped.slice(i, i + n)));
        }
      }
      const next = tokens[t + 1];
      if (next !== undefined && next.kind === 'word') out.push('b:' + s + ' ' + str(next.cps));
    } else {
      for (let j = 0; j < tok.cps.length; j++) {
        out.push('h:' + str([tok.cps[j]!]));
        if (j + 1 < tok.cps.length) out.push('hh:' + str([tok.cps[j]!, tok.cps[j + 1]!]));
      }
    }
  });
  return out;
}
