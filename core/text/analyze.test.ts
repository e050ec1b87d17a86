import { describe, expect, it } from 'vitest';
import { analyze, foldDiacritics, segmentedText, tokens, words } from './analyze.ts';

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
  it('cuts text into the words its tokens are made from: one segmentation for search and suggestions', () => {
    const ws = words('Nike 运动鞋 罗莱家纺 ランニング The');
    expect(ws.map((w) => [w.text, w.kind])).toEqual([
      ['nike', 'word'],
      ['运动鞋', 'han'],
      ['罗莱家纺', 'unknown'],
      ['ランニング', 'cjk'],
      ['the', 'word'],
    ]);
    expect(ws.map((w) => [w.start, w.end])).toEqual([
      [0, 4],
      [5, 8],
      [9, 13],
      [14, 19],
      [20, 23],
    ]);
    // Every token lies within the word it was made from.
    for (const t of tokens('Nike 运动鞋 罗莱家纺 ランニング The'))
      expect(ws.some((w) => w.start <= t.start && t.end <= w.end)).toBe(true);
  });
  it('folds Latin accents for comparing typed text, keeping Japanese voicing marks', () => {
    expect(foldDiacritics('crème brûlée')).toBe('creme brulee');
    expect(foldDiacritics('ガラス')).toBe('ガラス');
  });
});
