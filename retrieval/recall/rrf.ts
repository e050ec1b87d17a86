/**
 * Weighted Reciprocal Rank Fusion (Cormack et al., 2009): score(d) = Σ_r w_r / (k + rank_r(d)),
 * ranks 1-based. Scores from different routes (BM25, cosine) live on different scales; ranks
 * do not, which is why fusion uses ranks only.
 */
export interface RankedList {
  route: string;
  ids: readonly string[];
  weight?: number;
  /** Per-position multipliers of the route's weight (same order as `ids`), e.g. lexical term coverage. */
  itemWeights?: readonly number[];
}

export interface FusedHit {
  id: string;
  score: number;
  /** route → 1-based rank in that route's list. */
  ranks: Record<string, number>;
}

export function reciprocalRankFusion(lists: readonly RankedList[], k = 60): FusedHit[] {
  if (!(k >= 0)) throw new RangeError(`rrf k must be >= 0, got ${k}`);
  const byId = new Map<string, FusedHit>();
  for (const list of lists) {
    const w = list.weight ?? 1;
    list.ids.forEach((id, i) => {
      let hit = byId.get(id);
      if (!hit) {
        hit = { id, score: 0, ranks: {} };
        byId.set(id, hit);
      }
      // A route that lists an id twice counts only its best rank.
      if (hit.ranks[list.route] !== undefined) return;
      hit.ranks[list.route] = i + 1;
      hit.score += (w * (list.itemWeights?.[i] ?? 1)) / (k + i + 1);
    });
  }
  return sortFused([...byId.values()]);
}

/** Best fused score first; ties break by best single rank, then id, so paging is stable. */
export function sortFused(hits: FusedHit[]): FusedHit[] {
  return hits.sort(
    (a, b) => b.score - a.score || bestRank(a) - bestRank(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

function bestRank(h: FusedHit): number {
  let best = Infinity;
  for (const r of Object.values(h.ranks)) if (r < best) best = r;
  return best;
}
