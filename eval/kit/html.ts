/**
 * The one HTML report shell every eval report uses (search.html, feed.html, diversity.html,
 * coupons.html): a self-contained page (no external scripts, styles or fonts), escaping, number
 * formatting and tables. The verdict, warnings and sections are report-shell.ts; charts vega-chart.ts.
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Styles shared by every report; a report adds its own rules with `css`. */
export const BASE_CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #eee;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0}th,td{border:1px solid #ddd;padding:4px 10px;text-align:right;vertical-align:top}
th{background:#f6f6f6}th:first-child{text-align:left}td.best,.best{font-weight:700}
.meta,.note{color:#666;font-size:.9em}
.warn{background:#fff6e0;border-left:4px solid #e0a800;padding:.5em .8em}
.headline{padding:.6em 1em;border-left:4px solid}.headline.good{border-color:#59a14f;background:#eef7ec}.headline.bad{border-color:#e15759;background:#fdeeee}
.charts{display:flex;flex-wrap:wrap;gap:1.5em}figure{margin:0;max-width:380px}figcaption{font-size:.85em;color:#555}
pre{background:#f6f6f6;padding:.6em;overflow:auto}.num{white-space:nowrap;font-variant-numeric:tabular-nums}`;

export interface PageOptions {
  /** Plain text; escaped here. */
  title: string;
  /** HTML fragments, joined by newlines. */
  body: readonly string[];
  /** Extra CSS rules of this report. */
  css?: string;
}

/** A whole self-contained page: doctype, head (charset, viewport, title, styles), body. */
export function htmlPage(p: PageOptions): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title><style>${BASE_CSS}${p.css ? '\n' + p.css.trim() : ''}</style></head>
<body>
${p.body.join('\n')}
</body></html>
`;
}

export interface TableOptions {
  /** Header cells (HTML). */
  head: readonly string[];
  /** Body rows of cells (HTML); a cell may be `{ html, className, header }`. */
  rows: ReadonlyArray<ReadonlyArray<string | Cell>>;
  className?: string;
}

export interface Cell {
  html: string;
  className?: string;
  /** Render as <th> (row labels). */
  header?: boolean;
}

/** A table; cell contents are HTML, so escape text with escapeHtml first. */
export function htmlTable(t: TableOptions): string {
  const cell = (c: string | Cell): string => {
    const { html, className, header } = typeof c === 'string' ? { html: c } : c;
    const tag = header ? 'th' : 'td';
    return `<${tag}${className ? ` class="${className}"` : ''}>${html}</${tag}>`;
  };
  return [
    `<table${t.className ? ` class="${t.className}"` : ''}><thead><tr>${t.head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>`,
    ...t.rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`),
    '</tbody></table>',
  ].join('');
}

/** `0.123` with `digits` decimals; `–` for NaN/Infinity. */
export const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');
/** `+0.012` / `−0.012` (a real minus sign). */
export const signed = (x: number, digits = 3): string => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(digits);
/** A p-value for HTML: `&lt; 0.001` or `0.042`. */
export const pValueHtml = (p: number): string => (p < 0.001 ? '&lt; 0.001' : p.toFixed(3));
