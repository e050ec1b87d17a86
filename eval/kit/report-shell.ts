import { escapeHtml, htmlPage } from './html.ts';

/**
 * The report shell every report renders into: a title, a one-line verdict that names the next
 * action (coloured by tone), "too little data" warnings where they apply, then sections of tables
 * and charts (Vega-Lite SVG, vega-chart.ts). Self-contained HTML.
 */
/** The one-line verdict: what the numbers say and the next action, coloured by tone. */
export interface Verdict {
  text: string;
  tone: 'good' | 'bad' | 'neutral' | 'wait';
}

export interface ReportShell {
  title: string;
  /** Plain text under the title: what data, when. */
  meta: string;
  verdict: Verdict;
  /** Plain text, one warning a line. */
  warnings?: readonly string[];
  sections: ReadonlyArray<{ title: string; html: string }>;
  /** Extra CSS rules of this report. */
  css?: string;
}

const CSS = `.headline.neutral{border-color:#4e79a7;background:#eef3f9}.headline.wait{border-color:#e0a800;background:#fff6e0}
.charts svg{max-width:100%;height:auto}`;

export function reportPage(r: ReportShell): string {
  return htmlPage({
    title: r.title,
    css: CSS + (r.css ? '\n' + r.css.trim() : ''),
    body: [
      `<h1>${escapeHtml(r.title)}</h1>`,
      `<p class="meta">${escapeHtml(r.meta)}</p>`,
      `<p class="headline ${r.verdict.tone}" data-verdict="${r.verdict.tone}">${escapeHtml(r.verdict.text)}</p>`,
      ...(r.warnings ?? []).map((w) => `<p class="warn">${escapeHtml(w)}</p>`),
      ...r.sections.map((s) => `<h2>${escapeHtml(s.title)}</h2>\n${s.html}`),
    ],
  });
}

/** SVG charts side by side. */
export const chartRow = (svgs: readonly string[]): string =>
  `<div class="charts">${svgs.map((s) => `<figure>${s}</figure>`).join('')}</div>`;

/** XML namespace names in inline SVG: identifiers, never fetched. */
const NAMESPACES = new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']);

/**
 * What a page would fetch or link to outside itself (scripts, stylesheets, images, fonts, links):
 * empty for a self-contained report.
 */
export function externalReferences(html: string): string[] {
  const tags = html.match(/<(script|link|iframe|img|object|embed)\b[^>]*>/gi) ?? [];
  const urls = (html.match(/\b(?:https?:)?\/\/[^\s"'<>)]+/gi) ?? []).filter((u) => !NAMESPACES.has(u));
  const css = html.match(/url\(|@import/gi) ?? [];
  return [...tags, ...urls, ...css];
}
