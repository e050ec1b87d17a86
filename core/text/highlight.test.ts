import { describe, expect, it } from 'vitest';
import { highlight, highlightSnippet } from './highlight.ts';

describe('highlight', () => {
  it('marks whole matched words, the typed part of a prefix, and an inflected ending', () => {
    expect(highlight('Nike Running Shoes', { terms: ['shoe'], prefixes: ['run'] })).toBe(
      'Nike <em>Run</em>ning <em>Shoe</em>s',
    );
    expect(highlight('Sony Headphones', { terms: ['headphones'], prefixes: [] })).toBe('Sony <em>Headphones</em>');
  });
  it('marks Chinese words', () => {
    expect(highlight('波司登 男士保暖羽绒服外套', { terms: ['保暖', '外套'], prefixes: [] })).toBe(
      '波司登 男士<em>保暖</em>羽绒服<em>外套</em>',
    );
  });
  it('escapes HTML, inside and outside the marks', () => {
    expect(highlight('<b>Tom & Jerry</b> "shoes"', { terms: ['shoes', 'tom'], prefixes: [] })).toBe(
      '&lt;b&gt;<em>Tom</em> &amp; Jerry&lt;/b&gt; &quot;<em>shoes</em>&quot;',
    );
  });
  it('returns undefined when nothing matched', () => {
    expect(highlight('Cast Iron Skillet', { terms: ['shoes'], prefixes: [] })).toBeUndefined();
  });
  it('cuts a long text to a snippet around the first match', () => {
    const text = 'Lorem ipsum dolor sit amet. '.repeat(20) + 'Great for running & trail. ' + 'More text. '.repeat(20);
    const s = highlightSnippet(text, { terms: ['running'], prefixes: [] })!;
    expect(s).toContain('<em>running</em> &amp; trail');
    expect(s.startsWith('…')).toBe(true);
    expect(s.endsWith('…')).toBe(true);
    expect(s.length).toBeLessThan(260);
  });
});
