import { describe, expect, it } from 'vitest';
import { BASE_CSS, escapeHtml, htmlPage, htmlTable } from './html.ts';

describe('report shell', () => {
  it('builds a self-contained page with an escaped title and the shared styles', () => {
    const html = htmlPage({ title: 'a <b> & c', body: ['<p>x</p>'], css: '.x{color:red}' });
    expect(html).toMatch(/^<!doctype html>\n<html lang="en"><head><meta charset="utf-8">/);
    expect(html).toContain('<title>a &lt;b&gt; &amp; c</title>');
    expect(html).toContain(BASE_CSS + '\n.x{color:red}</style>');
    expect(html).toContain('<body>\n<p>x</p>\n</body></html>\n');
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('renders tables with header cells and classes', () => {
    expect(
      htmlTable({
        head: ['', 'a'],
        rows: [
          [
            { html: 'r', header: true },
            { html: '1', className: 'best' },
          ],
          ['x', 'y'],
        ],
      }),
    ).toBe(
      '<table><thead><tr><th></th><th>a</th></tr></thead><tbody><tr><th>r</th><td class="best">1</td></tr><tr><td>x</td><td>y</td></tr></tbody></table>',
    );
    expect(escapeHtml(`"'`)).toBe('&quot;&#39;');
  });
});
