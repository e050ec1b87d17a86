import { escapeHtml, htmlPage } from './html.ts';

/**
 * The report shell every report renders into: a title, a one-line verdict that names the next
 * action (coloured by tone), "too little data" warnings where they apply, then sections of tables
 * and charts (Vega-Lite SVG, vega-chart.ts). Self-contained HTML.
 */
export interface ReportShell {
  title: string;
  /** Plain text under the title: what data, when. */
  meta: string;
  verdict: { text: string; tone: 'good' | 'bad' | 'neutral' | 'wait' };
  /** Plain text, one warning a line. */
  warnings?: readonly string[];
  sections: ReadonlyArray<{ title: string; html: string }>;
}

const CSS = `.headline.neutral{border-color:#4e79a7;background:#eef3f9}.headline.wait{border-color:#e0a800;background:#fff6e0}
.charts svg{max-width:100%;height:auto}`;

export function reportPage(r: ReportShell): string {
  return htmlPage({
    title: r.title,
    css: CSS,
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
