import { readFileSync } from 'node:fs';

/**
 * Real session shapes from the Taobao UserBehavior sample (../shared/datasets/
 * taobao-userbehavior-sample): per real shopper, their visits (events split where more than
 * 30 minutes pass) with the page views of each visit and the seconds between them. Simulated
 * shoppers borrow these shapes, so how many requests a visit has and how they are spaced in time
 * come from real traffic; what is clicked and bought comes from the hidden preferences.
 */
export interface Visit {
  /** Seconds since the shopper's first event, one per page view. */
  offsets: number[];
}

export interface Shape {
  taobaoUser: string;
  visits: Visit[];
}

const GAP_S = 30 * 60;

export function parseTaobaoShapes(csv: string): Shape[] {
  const byUser = new Map<string, number[]>();
  for (const line of csv.split('\n')) {
    const f = line.trim().split(',');
    if (f.length < 5 || f[3] !== 'pv') continue;
    const ts = Number(f[4]);
    if (!Number.isFinite(ts)) continue;
    const list = byUser.get(f[0]!) ?? [];
    list.push(ts);
    byUser.set(f[0]!, list);
  }
  const shapes: Shape[] = [];
  for (const [user, tss] of [...byUser.entries()].sort((a, b) => Number(a[0]) - Number(b[0]))) {
    tss.sort((a, b) => a - b);
    const t0 = tss[0]!;
    const visits: Visit[] = [];
    let cur: number[] = [];
    for (const [i, t] of tss.entries()) {
      if (i > 0 && t - tss[i - 1]! > GAP_S) {
        visits.push({ offsets: cur });
        cur = [];
      }
      cur.push(t - t0);
    }
    if (cur.length > 0) visits.push({ offsets: cur });
    shapes.push({ taobaoUser: user, visits });
  }
  return shapes;
}

export function loadTaobaoShapes(file: string): Shape[] {
  return parseTaobaoShapes(readFileSync(file, 'utf8'));
}

/**
 * Request times of one simulated shopper: the borrowed shape's visits, at most `maxVisits`
 * visits of at most `perVisit` page views each (the sample's heaviest shoppers have hundreds).
 */
export function requestTimes(shape: Shape, maxVisits: number, perVisit: number): number[][] {
  return shape.visits.slice(0, maxVisits).map((v) => v.offsets.slice(0, perVisit).map((s) => s * 1000));
}
