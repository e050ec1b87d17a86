/**
 * Scoring one target among candidates, as SASRec reports HR@10 and NDCG@10: the target is ranked
 * against 100 sampled items the user never interacted with (rank among 101), or against the whole
 * catalog minus the user's history ("full").
 */
import { mulberry32 } from '../../core/rng.ts';

export interface HitMetrics {
  'hr@10': number;
  'ndcg@10': number;
}

/** FNV-1a of a string: a per-user seed that does not depend on which other users are evaluated. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * `n` distinct items from `universe` that are not in `exclude`, drawn uniformly with a seeded
 * RNG (rejection sampling; stops early when the universe runs out). SASRec draws with
 * replacement and excludes only training items; distinct negatives outside the whole sequence
 * make every one of the 100 a real negative.
 */
export function sampleNegatives(
  universe: readonly string[],
  exclude: ReadonlySet<string>,
  n: number,
  seed: number,
): string[] {
  const rng = mulberry32(seed);
  const picked = new Set<string>();
  // Rejection sampling is fast while most of the universe is allowed; a bounded number of
  // draws keeps a tiny universe (tests, small shops) from looping, and a scan finishes it.
  for (let draws = 0; picked.size < n && draws < 50 * n; draws++) {
    const id = universe[Math.floor(rng() * universe.length)]!;
    if (!exclude.has(id)) picked.add(id);
  }
  if (picked.size < n) {
    const start = Math.floor(rng() * universe.length);
    for (let i = 0; i < universe.length && picked.size < n; i++) {
      const id = universe[(start + i) % universe.length]!;
      if (!exclude.has(id)) picked.add(id);
    }
  }
  return [...picked];
}

const gainAt = (rank0: number): number => (rank0 < 10 ? 1 / Math.log2(rank0 + 2) : 0);

/**
 * HR@10 / NDCG@10 of `target` among `target + negatives`, by position in `ranking` (best first;
 * absent = below everything listed). When the target and some negatives are all absent they
 * tie; the target's rank is then uniform over the tied places and the metrics are its
 * expectation, so an unranked target is neither lucky nor unlucky.
 */
export function sampledMetrics(ranking: readonly string[], target: string, negatives: readonly string[]): HitMetrics {
  const pos = new Map<string, number>();
  ranking.forEach((id, i) => {
    if (!pos.has(id)) pos.set(id, i);
  });
  const t = pos.get(target);
  let better = 0;
  let tied = 0;
  for (const n of negatives) {
    const p = pos.get(n);
    if (p === undefined) tied += t === undefined ? 1 : 0;
    else if (t === undefined || p < t) better++;
  }
  let hr = 0;
  let ndcg = 0;
  for (let r = better; r <= better + tied && r < 10; r++) {
    hr += 1;
    ndcg += gainAt(r);
  }
  return { 'hr@10': hr / (tied + 1), 'ndcg@10': ndcg / (tied + 1) };
}

/** Full ranking: the target's place in the route's list (history already removed). */
export function fullMetrics(ranking: readonly string[], target: string): HitMetrics {
  const r = ranking.slice(0, 10).indexOf(target);
  return r < 0 ? { 'hr@10': 0, 'ndcg@10': 0 } : { 'hr@10': 1, 'ndcg@10': gainAt(r) };
}
