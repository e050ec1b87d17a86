/** The one chart helper of the eval reports: small inline SVG bar charts (no scripts). */
import { escapeHtml, fmt } from './html.ts';

/** Colours of the bars, in order (Tableau 10). */
export const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'] as const;

export interface Bar {
  label: string;
  value: number;
  color: string;
}

const r1 = (x: number): string => (Math.round(x * 10) / 10).toString();

/** A small vertical bar chart, values on a 0..1 scale. */
export function barChartSvg(title: string, values: readonly Bar[]): string {
  const barW = 56;
  const gap = 28;
  const left = 40;
  const top = 40;
  const plotH = 160;
  const width = left + values.length * (barW + gap) + gap;
  const height = top + plotH + 40;
  const y = (v: number): number => Math.round((top + plotH - Math.max(0, Math.min(1, v)) * plotH) * 10) / 10;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="${left}" y="16" font-size="13" font-weight="600">${escapeHtml(title)}</text>`,
  ];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${left}" x2="${width - 8}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(t) + 4}" font-size="10" text-anchor="end" fill="#666">${t.toFixed(2)}</text>`,
    );
  }
  values.forEach((v, i) => {
    const x = left + gap + i * (barW + gap);
    const h = r1(top + plotH - y(v.value));
    parts.push(
      `<rect x="${x}" y="${y(v.value)}" width="${barW}" height="${h}" fill="${v.color}"><title>${escapeHtml(v.label)}: ${fmt(v.value, 4)}</title></rect>`,
      `<text x="${x + barW / 2}" y="${r1(y(v.value) - 4)}" font-size="11" text-anchor="middle">${fmt(v.value)}</text>`,
      `<text x="${x + barW / 2}" y="${top + plotH + 16}" font-size="12" text-anchor="middle">${escapeHtml(v.label)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** A chart with a caption, for a `<div class="charts">` row. */
export function chartFigure(title: string, values: readonly Bar[], caption?: string): string {
  return `<figure>${barChartSvg(title, values)}${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ''}</figure>`;
}
