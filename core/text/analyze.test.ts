import { describe, expect, it } from 'vitest';
import { analyze, segmentedText } from './analyze.ts';

describe('analyze', () => {
  it('lowercases and splits English, dropping stopwords', () => {
    expect(analyze('The Running Shoes for Men, size 10.5')).toEqual(['running', 'shoes', 'men', 'size', '10', '5']);
  });
  it('segments Chinese into words, with the dictionary words inside a long one', () => {
    expect(analyze('李宁运动鞋')).toEqual(['李宁', '运动', '运动鞋']);
    // "warm coat": two words, never the pair across them ("暖外") that matched unrelated products.
    expect(analyze('保暖外套')).toEqual(['保暖', '外套']);
  });
  it('falls back to character pairs for characters the dictionary does not join', () => {
    expect(analyze('罗莱家纺')).toEqual(['罗莱', '莱家', '家纺']);
  });
  it('keeps a lone CJK character, bigrams kana, and handles mixed scripts', () => {
    expect(analyze('鞋 Nike跑步鞋')).toEqual(['鞋', 'nike', '跑步', '鞋']);
    expect(analyze('ランニング')).toEqual(['ラン', 'ンニ', 'ニン', 'ング']);
  });
  it('separates Chinese words by spaces for an engine analyzer, leaving other text alone', () => {
    expect(segmentedText('Nike跑步鞋 罗莱家纺').split(/\s+/).filter(Boolean)).toEqual([
      'Nike',
      '跑步',
      '鞋',
      '罗莱家纺',
    ]);
    expect(segmentedText('USB-C Cable, 2m')).toBe('USB-C Cable, 2m');
  });
  it('normalises full-width characters (NFKC)', () => {
    expect(analyze('ＡＢＣ１２３')).toEqual(['abc123']);
  });
  it('returns nothing for punctuation-only input', () => {
    expect(analyze('!!! ... ---')).toEqual([]);
  });
});
