import { describe, expect, it } from 'vitest';
import { analyze } from './analyze.ts';

describe('analyze', () => {
  it('lowercases and splits English, dropping stopwords', () => {
    expect(analyze('The Running Shoes for Men, size 10.5')).toEqual(['running', 'shoes', 'men', 'size', '10', '5']);
  });
  it('turns Chinese runs into overlapping bigrams', () => {
    expect(analyze('李宁运动鞋')).toEqual(['李宁', '宁运', '运动', '动鞋']);
  });
  it('keeps a lone CJK character and handles mixed scripts', () => {
    expect(analyze('鞋 Nike跑步鞋')).toEqual(['鞋', 'nike', '跑步', '步鞋']);
  });
  it('normalises full-width characters (NFKC)', () => {
    expect(analyze('ＡＢＣ１２３')).toEqual(['abc123']);
  });
  it('returns nothing for punctuation-only input', () => {
    expect(analyze('!!! ... ---')).toEqual([]);
  });
});
