import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/**
 * Charts of the report shell: Vega-Lite specs rendered to SVG at build time (no scripts in the
 * page, so a report stays one self-contained file). Every chart has axis titles, a scale fitted to
 * its data (not a fixed 0–1), and intervals drawn where the numbers have them.
 */

export async function vegaSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface IntervalPoint {
  /** Category on the y axis (an arm, a setting). */
  label: string;
  value: number;
  lo: number;
  hi: number;
  /** Colour group (e.g. control vs treatment). */
  group?: string;
}

/** Points with 95% interval bars, one row per label: what a lift or a rate per arm looks like. */
export function intervalChart(o: {
  title: string;
  x: string;
  y: string;
  points: readonly IntervalPoint[];
  /** A reference line (0 for a lift). */
  rule?: number;
  format?: string;
}): TopLevelSpec {
  const finite = o.points.filter((p) => [p.value, p.lo, p.hi].every(Number.isFinite));
  const fmt = o.format ?? '.3~f';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: 320,
    height: { step: 28 },
    data: { values: finite.map((p) => ({ ...p, group: p.group ?? p.label })) },
    layer: [
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          y: { field: 'label', type: 'nominal', title: o.y, sort: null },
          x: { field: 'lo', type: 'quantitative', title: o.x, scale: { zero: false }, axis: { format: fmt } },
          x2: { field: 'hi' },
          color: { field: 'group', type: 'nominal', legend: null },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          y: { field: 'label', type: 'nominal', sort: null },
          x: { field: 'value', type: 'quantitative' },
          color: { field: 'group', type: 'nominal', legend: null },
          tooltip: [
            { field: 'label', type: 'nominal' },
            { field: 'value', type: 'quantitative', format: fmt },
            { field: 'lo', type: 'quantitative', format: fmt },
            { field: 'hi', type: 'quantitative', format: fmt },
          ],
        },
      },
      ...(o.rule !== undefined
        ? [
            {
              data: { values: [{ r: o.rule }] },
              mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#888' },
              encoding: { x: { field: 'r', type: 'quantitative' as const } },
            },
          ]
        : []),
    ],
  } as TopLevelSpec;
}

/** Bars of a value per category (CTR by position, searches per query), with optional intervals. */
export function barChart(o: {
  title: string;
  x: string;
  y: string;
  bars: ReadonlyArray<{ label: string; value: number; lo?: number; hi?: number }>;
  format?: string;
  /** Keep the given order of labels (positions), else sort by value. */
  ordered?: boolean;
}): TopLevelSpec {
  const fmt = o.format ?? '.3~f';
  const withCi = o.bars.some((b) => b.lo !== undefined);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: { step: 26 },
    height: 180,
    data: { values: o.bars.filter((b) => Number.isFinite(b.value)) },
    layer: [
      {
        mark: { type: 'bar', color: '#4e79a7' },
        encoding: {
          x: { field: 'label', type: 'ordinal', title: o.x, sort: o.ordered ? null : '-y' },
          y: { field: 'value', type: 'quantitative', title: o.y, axis: { format: fmt } },
          tooltip: [
            { field: 'label', type: 'nominal' },
            { field: 'value', type: 'quantitative', format: fmt },
          ],
        },
      },
      ...(withCi
        ? [
            {
              mark: { type: 'rule' as const, color: '#222' },
              encoding: {
                x: { field: 'label', type: 'ordinal' as const, sort: o.ordered ? null : ('-y' as const) },
                y: { field: 'lo', type: 'quantitative' as const },
                y2: { field: 'hi' },
              },
            },
          ]
        : []),
    ],
  } as TopLevelSpec;
}
