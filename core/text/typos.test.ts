import { describe, expect, it } from 'vitest';
import { ES_FUZZINESS, correctable, editDistance, typoBudget } from './typos.ts';

describe('typo rules', () => {
  it('allows no edit below 5 characters, 1 from 5 to 8, 2 from 9', () => {
    expect([4, 5, 8, 9, 12].map(typoBudget)).toEqual([0, 1, 1, 2, 2]);
    expect(ES_FUZZINESS).toBe('AUTO:5,9');
  });
  it('counts insertions, deletions, substitutions and swaps, stopping past the budget', () => {
    expect(editDistance('runing', 'running', 1)).toBe(1);
    expect(editDistance('shoos', 'shoes', 1)).toBe(1);
    expect(editDistance('headphnes', 'headphones', 2)).toBe(1);
    expect(editDistance('form', 'from', 1)).toBe(1);
    expect(editDistance('kettle', 'cattle', 1)).toBe(2);
    expect(editDistance('abc', 'abcdef', 1)).toBe(2);
  });
  it('corrects Latin words only', () => {
    expect(correctable('shoos')).toBe(true);
    expect(correctable('shoe')).toBe(false);
    expect(correctable('保暖外套衣')).toBe(false);
    expect(correctable('12345')).toBe(false);
  });
});
