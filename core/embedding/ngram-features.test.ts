import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEATURIZER_VERSION, featureStrings, featurize, fnv1a32, isCjk } from './ngram-features.ts';

interface VectorCase {
  text: string;
  features: string[];
  ids: number[];
  weights: number[];
}
interface Vectors {
  featurizer_version: string;
  buckets: number;
  cases: VectorCase[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../models/text_embedder/feature_vectors.json', import.meta.url), 'utf8'),
) as Vectors;

describe('ngram featurizer matches the Python training featurizer', () => {
  it('is the same featurizer version', () => {
    expect(vectors.featurizer_version).toBe(FEATURIZER_VERSION);
    expect(vectors.cases.length).toBeGreaterThanOrEqual(30);
  });

  for (const c of vectors.cases) {
    it(`reproduces ${JSON.stringify(c.text)}`, () => {
      expect(featureStrings(c.text)).toEqual(c.features);
      const f = featurize(c.text, vectors.buckets);
      expect(f.ids).toEqual(c.ids);
      // Exact equality on purpose: sqrt is correctly rounded on both sides.
      expect(f.weights).toEqual(c.weights);
    });
  }
});

describe('ngram featurizer basics', () => {
  it('hashes with FNV-1a 32-bit over UTF-8', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // Multi-byte: must equal hashing the UTF-8 bytes.
    const bytes = new TextEncoder().encode('鞋𠀀é');
    let h = 0x811c9dc5;
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(fnv1a32('鞋𠀀é')).toBe(h);
  });

  it('never emits the padding bucket and respects the bucket count', () => {
    for (const c of vectors.cases) {
      for (const id of featurize(c.text, 97).ids) {
        expect(id).toBeGreaterThanOrEqual(1);
        expect(id).toBeLessThan(97);
      }
    }
  });

  it('classifies CJK by fixed ranges', () => {
    expect(isCjk('鞋'.codePointAt(0)!)).toBe(true);
    expect(isCjk('ア'.codePointAt(0)!)).toBe(true);
    expect(isCjk('한'.codePointAt(0)!)).toBe(true);
    expect(isCjk('・'.codePointAt(0)!)).toBe(false);
    expect(isCjk('。'.codePointAt(0)!)).toBe(false);
    expect(isCjk('a'.codePointAt(0)!)).toBe(false);
  });

  it('is case- and width-insensitive', () => {
    expect(featurize('RUNNING Shoes', 32768)).toEqual(featurize('running shoes', 32768));
    expect(featurize('ＡＢＣ１２３', 32768)).toEqual(featurize('abc123', 32768));
  });

  it('truncates very long input instead of blowing up', () => {
    const f = featurize('word '.repeat(10_000), 32768);
    expect(f.ids.length).toBeGreaterThan(0);
    expect(f.ids.length).toBeLessThan(50);
  });
});
