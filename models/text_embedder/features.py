"""Hashed n-gram featurizer for Shelf's default text embedder (featurizer_version "ngram-v1").

This file and core/embedding/ngram-features.ts implement ONE specification and must give
identical results (bucket ids exactly, weights bit for bit once cast to float32). The shared
test vectors in models/text_embedder/feature_vectors.json are written by this file
(`python3 models/text_embedder/features.py --write-vectors`) and checked by
core/embedding/ngram-features.test.ts. Change either side => bump FEATURIZER_VERSION,
regenerate the vectors and retrain the model.

Specification (ngram-v1)
------------------------
1. Normalise: NFKC, then full Unicode lowercase (Python str.lower == JS toLowerCase,
   including final sigma). Keep the first MAX_CODEPOINTS (2048) code points.
2. Tokenise by scanning code points left to right:
   * CJK code point (pure code-point ranges, see CJK_RANGES: Han, Hiragana, Katakana,
     Hangul, minus the punctuation 30A0 and 30FB) -> extends the current CJK run.
   * General category L* or N*              -> extends the current word.
   * General category M* while inside a word -> extends the word (accents, Indic vowel signs).
   * Anything else (space, punctuation, symbols, emoji, a leading mark) ends the token.
   The result is an ordered list of tokens, each a word or a CJK run.
3. Features (prefix + text, joined without separator):
   * "w:" + word                         for every word
   * "c:" + g  for every code-point n-gram g (n = 3, 4, 5) of "<" + word + ">",
                                         only for words of at most MAX_NGRAM_WORD (30) code points
   * "b:" + w1 + " " + w2               for every two consecutive tokens that are both words
                                         (a CJK run between two words breaks the pair)
   * "h:" + ch                           for every character of a CJK run
   * "hh:" + ch1 + ch2                   for every two adjacent characters of a CJK run
4. Hash: FNV-1a 32-bit (offset 2166136261, prime 16777619) over the UTF-8 bytes of the feature
   string (a lone UTF-16 surrogate on the JS side can never reach here: its category is Cs, a
   separator). Bucket = 1 + (hash mod (B - 1)); bucket 0 is padding. B comes from the model's
   metadata ("buckets"), 32768 for the shipped model.
5. Weights: features are counted per bucket (hash collisions add up) and each bucket gets
   weight sqrt(count), a sublinear tf. sqrt is correctly rounded in IEEE 754 on both sides, so
   weights are bit-identical. There is no stored IDF: the model learns a free-norm vector per
   bucket, so a bucket's importance lives in its row norm. Output buckets are sorted ascending.

Known gap: general categories come from each runtime's Unicode tables (Python 3.11: Unicode 14,
Node 20: ICU's, newer). Only code points assigned after Unicode 14 outside the CJK ranges can
tokenise differently; CJK membership is by fixed ranges and does not depend on the version.
"""
from __future__ import annotations

import json
import math
import sys
import unicodedata
from pathlib import Path

FEATURIZER_VERSION = "ngram-v1"
DEFAULT_BUCKETS = 1 << 15
MAX_CODEPOINTS = 2048
MAX_NGRAM_WORD = 30
NGRAM_MIN, NGRAM_MAX = 3, 5

# Inclusive code-point ranges treated as CJK (Han / Hiragana / Katakana / Hangul), in order.
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3031, 0x3035),  # kana repeat marks
    (0x3038, 0x303C),
    (0x3041, 0x309F),  # Hiragana
    (0x30A1, 0x30FA),  # Katakana (30A0 ゠ is punctuation)
    (0x30FC, 0x30FF),  # ー ヽ ヾ ヿ (30FB ・ is punctuation)
    (0x3131, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK Ext A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xA960, 0xA97F),  # Hangul Jamo Ext A
    (0xAC00, 0xD7FF),  # Hangul syllables + Jamo Ext B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0xFFA0, 0xFFDC),  # halfwidth Hangul
    (0x1B000, 0x1B16F),  # Kana supplement / extended / small kana
    (0x20000, 0x3FFFF),  # CJK Ext B.. and compatibility supplement (planes 2 and 3)
)

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def is_cjk(cp: int) -> bool:
    if cp < 0x1100:
        return False
    for lo, hi in CJK_RANGES:
        if cp < lo:
            return False
        if cp <= hi:
            return True
    return False


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()[:MAX_CODEPOINTS]


def tokenize(norm: str) -> list[tuple[str, str]]:
    """[(kind, text)] with kind "w" (word) or "h" (CJK run), in order."""
    tokens: list[tuple[str, str]] = []
    cur: list[str] = []
    kind = ""
    for ch in norm:
        cp = ord(ch)
        if is_cjk(cp):
            k = "h"
        else:
            cat = unicodedata.category(ch)[0]
            if cat == "L" or cat == "N" or (cat == "M" and kind == "w"):
                k = "w"
            else:
                k = ""
        if k != kind and cur:
            tokens.append((kind, "".join(cur)))
            cur = []
        kind = k
        if k:
            cur.append(ch)
    if cur:
        tokens.append((kind, "".join(cur)))
    return tokens


def feature_strings(text: str) -> list[str]:
    """All feature strings, in generation order (tokens in order; per word: w, c..., then b)."""
    toks = tokenize(normalize(text))
    out: list[str] = []
    for i, (kind, tok) in enumerate(toks):
        if kind == "w":
            out.append("w:" + tok)
            if len(tok) <= MAX_NGRAM_WORD:
                wrapped = "<" + tok + ">"
                for n in range(NGRAM_MIN, NGRAM_MAX + 1):
                    for s in range(0, len(wrapped) - n + 1):
                        out.append("c:" + wrapped[s : s + n])
            if i + 1 < len(toks) and toks[i + 1][0] == "w":
                out.append("b:" + tok + " " + toks[i + 1][1])
        else:
            for j, ch in enumerate(tok):
                out.append("h:" + ch)
                if j + 1 < len(tok):
                    out.append("hh:" + ch + tok[j + 1])
    return out


def fnv1a32(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFF
    return h


def bucket_of(feature: str, buckets: int = DEFAULT_BUCKETS) -> int:
    return 1 + fnv1a32(feature.encode("utf-8")) % (buckets - 1)


_bucket_cache: dict[tuple[str, int], int] = {}


def _bucket_cached(feature: str, buckets: int) -> int:
    key = (feature, buckets)
    b = _bucket_cache.get(key)
    if b is None:
        if len(_bucket_cache) > 2_000_000:
            _bucket_cache.clear()
        b = bucket_of(feature, buckets)
        _bucket_cache[key] = b
    return b


def featurize(text: str, buckets: int = DEFAULT_BUCKETS) -> tuple[list[int], list[float]]:
    """(bucket ids ascending, weights = sqrt(count)) -- the model's input for one text."""
    counts: dict[int, int] = {}
    for f in feature_strings(text):
        b = _bucket_cached(f, buckets)
        counts[b] = counts.get(b, 0) + 1
    ids = sorted(counts)
    return ids, [math.sqrt(counts[i]) for i in ids]


# ---- shared test vectors -------------------------------------------------------------------

VECTOR_TEXTS: list[str] = [
    "",
    "   ",
    "running shoes",
    "Running Shoes",
    "Nike Air Zoom Pegasus 40 Men's Running Shoes",
    "running shoes running shoes",
    "a",
    "I",
    "USB-C charger, 65W (GaN)",
    "iPhone15 Pro Max 256GB",
    "3.5mm jack / 1/2\" pipe",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ１２３",
    "ﬁne ligature ﬀ ™ ½ ²",
    "Crème brûlée café",
    "Straße GROSS",
    "ΟΔΟΣ Σίσυφος",
    "İstanbul",
    "运动鞋",
    "李宁男子跑步鞋 轻便透气",
    "鞋",
    "小米13 Pro 手机",
    "Nike跑步鞋 size 42",
    "不锈钢 炒锅 (32cm) 无涂层",
    "ﾊﾝｶｸ カタカナ ひらがな",
    "한국어 키보드",
    "日本語のテキスト・テスト",
    "emoji 🏃‍♂️ shoes 👟❤️ love",
    "👍",
    "!!! ... ---",
    "tab\tnew\nline",
    "supercalifragilisticexpialidocious antidisestablishmentarianism-x",
    "naïve e\u0301 combining",
    "हिन्दी शब्द",
    "Привет мир",
    "𠀀𠀁 rare han",
]


def make_vectors(buckets: int = DEFAULT_BUCKETS) -> dict:
    cases = []
    for t in VECTOR_TEXTS:
        ids, weights = featurize(t, buckets)
        cases.append(
            {
                "text": t,
                "features": feature_strings(t),
                "ids": ids,
                "weights": weights,
            }
        )
    return {
        "featurizer_version": FEATURIZER_VERSION,
        "buckets": buckets,
        "generated_by": "models/text_embedder/features.py --write-vectors",
        "cases": cases,
    }


if __name__ == "__main__":
    if "--write-vectors" in sys.argv:
        out = Path(__file__).with_name("feature_vectors.json")
        out.write_text(json.dumps(make_vectors(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out} ({len(VECTOR_TEXTS)} cases)")
    else:
        for line in sys.stdin:
            print(json.dumps(featurize(line.rstrip("\n"))))
