/**
 * Maximal Marginal Relevance over the head of a ranked list (Carbonell & Goldstein, 1998):
 * pick, one slot at a time, the item maximising
 *
 *   λ · relevance(i) − (1 − λ) · max_{j already picked} sim(i, j)
 *
 * so a near-duplicate of something already shown has to be much more relevant to be shown next
 * to it. Pure: no I/O, deterministic for a given input.
 *
 * Similarity of two items is a convex blend of three signals, each in [0, 1]:
 *
 *   sim(i, j) = w_v · max(0, cos(v_i, v_j)) + w_c · [same category] + w_b · [same brand]
 *   w_c = category_weight, w_b = brand_weight, w_v = 1 − w_c − w_b   (w_c + w_b ≤ 1)
 *
 * Embeddings say "looks like the same product"; category and brand say "a shelf of one kind /
 * one maker" even when titles differ. When a pair has no vectors (no vector store, or a product
 * without one) the cosine term is left out and w_c and w_b are rescaled to sum to 1, so the
 * penalty keeps its [0, 1] range instead of shrinking to a fraction of it. Negative cosines count
 * as 0: being unlike an item is no reason to be shown before a more relevant one.
 */
export interface MmrItem {
  id: string;
  /** Any score where higher is better (fused score, pCTR·pCVR); normalised in the window. */
  relevance: number;
  vector?: Float32Array | undefined;
  /** filterKey()'d category path and brand: equal keys mean "same category / brand". */
  categoryKey?: string | undefined;
  brandKey?: string | undefined;
}

export interface MmrCaps {
  /** At most this many items of one brand per page (hard constraint, see mmr()). */
  per_brand?: number | undefined;
  per_category?: number | undefined;
}

export interface MmrOptions {
  /** 1: relevance only; 0: diversity only. */
  lambda: number;
  /** How many items from the top are reordered; the rest keep their order after them. */
  top_n: number;
  category_weight: number;
  brand_weight: number;
  caps?: MmrCaps | undefined;
  /**
   * Caps hold within each page [k·page_size, (k+1)·page_size) of the output. Default: top_n
   * (the whole diversified head counts as one page).
   */
  page_size?: number | undefined;
  /**
   * How many slots to fill by MMR (default: the whole head). Callers pass the end of the page
   * they show: greedy MMR is prefix-stable (the first k picks do not depend on how many follow),
   * so page 2 computed with a deeper `depth` starts exactly where page 1 ended, and the rest of
   * the head, never shown, keeps its ranked order instead of costing O(n²) similarity work.
   */
  depth?: number | undefined;
}

export interface MmrPlacement {
  id: string;
  /** Relevance min-max normalised within the head; undefined beyond top_n. */
  relevance?: number;
  /** max sim to the items picked before it (0 for the first); undefined beyond top_n. */
  penalty?: number;
  /** λ · relevance − (1 − λ) · penalty at the time it was picked; undefined beyond top_n. */
  mmr_score?: number;
  /** True when no remaining item fitted the caps and this one was taken anyway (see mmr()). */
  cap_relaxed?: boolean;
  position_before: number;
  position_after: number;
}

export interface MmrResult {
  /** Every input item once, in the new order. */
  items: MmrPlacement[];
  /** Slots where the caps could not be met. */
  caps_relaxed: number;
}

/**
 * Reorders the first `top_n` items by greedy MMR; items beyond `top_n` follow unchanged.
 *
 * Relevance is min-max normalised within the head (best → 1, worst → 0, all equal → 1) because
 * λ weighs it against a similarity in [0, 1]: RRF fusion scores live around 0.01–0.03 and
 * pCTR·pCVR around 0.001–0.05, so raw scores would let the same λ mean "ignore relevance" on
 * one surface and "ignore diversity" on another. Normalised, λ means the same for both.
 *
 * Caps are hard constraints per page: an item that would exceed per_brand or per_category on the
 * page being filled is skipped for that slot. When no remaining item fits (e.g. a one-brand
 * result list), the best remaining item by MMR score is taken anyway and marked
 * `cap_relaxed`: a cap never drops an item, it only reorders. Ties in MMR score go to the
 * earlier input position (the upstream stage already broke its own ties deterministically),
 * which keeps λ = 1 without caps the identity for any input sorted by relevance.
 */
export function mmr(items: readonly MmrItem[], opts: MmrOptions): MmrResult {
  const n = Math.min(Math.max(0, Math.floor(opts.top_n)), items.length);
  const lambda = opts.lambda;
  const head = items.slice(0, n);
  const rel = normaliseRelevance(head.map((it) => it.relevance));
  const pageSize = Math.max(1, opts.page_size ?? n);
  const perBrand = opts.caps?.per_brand;
  const perCategory = opts.caps?.per_category;
  const picks = Math.min(n, Math.max(0, Math.floor(opts.depth ?? n)));
  const sim = pairSimilarity(head, opts.category_weight, opts.brand_weight);

  const maxSim = new Float64Array(n);
  const taken = new Uint8Array(n);
  const out: MmrPlacement[] = [];
  let relaxed = 0;
  let brandCount = new Map<string, number>();
  let categoryCount = new Map<string, number>();
  const fits = (it: MmrItem) =>
    (perBrand === undefined || it.brandKey === undefined || (brandCount.get(it.brandKey) ?? 0) < perBrand) &&
    (perCategory === undefined ||
      it.categoryKey === undefined ||
      (categoryCount.get(it.categoryKey) ?? 0) < perCategory);

  // Lazy greedy: maxSim[i] only ever grows, so a score computed against the first seen[i] picks
  // is an upper bound of the exact one. Each slot takes the best bound; if that item has not seen
  // every pick yet, its similarity to the missing picks is folded in and the slot looks again.
  // The winner is exact and at least every other item's bound, so the result is the plain greedy
  // one (same ties: the lower position), while low-relevance items that can never win are never
  // compared with anything: the similarity work drops from picks × n to a few × picks.
  const seen = new Int32Array(n);
  const picked: number[] = [];
  const score = (i: number) => lambda * rel[i]! - (1 - lambda) * maxSim[i]!;
  for (let slot = 0; slot < picks; slot++) {
    if (slot % pageSize === 0) {
      brandCount = new Map();
      categoryCount = new Map();
    }
    let best = -1;
    let bestScore = -Infinity;
    let capRelaxed = false;
    for (;;) {
      best = -1;
      bestScore = -Infinity;
      let fallback = -1;
      let fallbackScore = -Infinity;
      for (let i = 0; i < n; i++) {
        if (taken[i]) continue;
        const sc = score(i);
        // Strictly greater: on a tie the earlier input position (lower i) stays.
        if (sc > fallbackScore) {
          fallback = i;
          fallbackScore = sc;
        }
        if (sc > bestScore && fits(head[i]!)) {
          best = i;
          bestScore = sc;
        }
      }
      capRelaxed = best < 0;
      if (capRelaxed) {
        best = fallback;
        bestScore = fallbackScore;
      }
      // λ = 1 ignores similarity: every bound is exact.
      if (lambda >= 1 || seen[best] === picked.length) break;
      for (let k = seen[best]!; k < picked.length; k++) maxSim[best] = Math.max(maxSim[best]!, sim(best, picked[k]!));
      seen[best] = picked.length;
    }
    if (capRelaxed) relaxed++;
    const it = head[best]!;
    taken[best] = 1;
    picked.push(best);
    out.push({
      id: it.id,
      relevance: rel[best]!,
      penalty: maxSim[best]!,
      mmr_score: bestScore,
      ...(capRelaxed && { cap_relaxed: true }),
      position_before: best,
      position_after: slot,
    });
    if (it.brandKey !== undefined) brandCount.set(it.brandKey, (brandCount.get(it.brandKey) ?? 0) + 1);
    if (it.categoryKey !== undefined) categoryCount.set(it.categoryKey, (categoryCount.get(it.categoryKey) ?? 0) + 1);
  }
  // Head items beyond the picked depth: not shown by this request, ranked order kept.
  for (let i = 0; i < n; i++)
    if (!taken[i]) out.push({ id: head[i]!.id, position_before: i, position_after: out.length });
  for (let i = n; i < items.length; i++) out.push({ id: items[i]!.id, position_before: i, position_after: i });
  return { items: out, caps_relaxed: relaxed };
}

/** Min-max to [0, 1]; a flat (or single-item) window is all 1. */
export function normaliseRelevance(scores: readonly number[]): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores) {
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  const span = hi - lo;
  return scores.map((s) => (span > 0 && Number.isFinite(span) ? (s - lo) / span : 1));
}

/** The blended similarity documented at the top of this file. */
export function similarity(categoryWeight: number, brandWeight: number): (a: MmrItem, b: MmrItem) => number {
  const wc = categoryWeight;
  const wb = brandWeight;
  const wv = Math.max(0, 1 - wc - wb);
  const keysOnly = wc + wb;
  return (a, b) => {
    const sameCat = a.categoryKey !== undefined && a.categoryKey === b.categoryKey ? 1 : 0;
    const sameBrand = a.brandKey !== undefined && a.brandKey === b.brandKey ? 1 : 0;
    if (a.vector && b.vector && a.vector.length === b.vector.length) {
      return wv * Math.max(0, cosine(a.vector, b.vector)) + wc * sameCat + wb * sameBrand;
    }
    return keysOnly > 0 ? (wc * sameCat + wb * sameBrand) / keysOnly : 0;
  };
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * similarity() for items of one window, by index: category and brand keys interned to integers
 * once, each vector's norm computed the first time it is needed (lazy greedy MMR compares only
 * the few items that can still win a slot, so most are never touched). The pairwise loop is the
 * whole cost of MMR, so it reads typed arrays only. Same values as similarity() (mmr.test.ts).
 */
export function pairSimilarity(
  items: readonly MmrItem[],
  categoryWeight: number,
  brandWeight: number,
): (i: number, j: number) => number {
  const n = items.length;
  const wc = categoryWeight;
  const wb = brandWeight;
  const wv = Math.max(0, 1 - wc - wb);
  const keysOnly = wc + wb;
  const cat = new Int32Array(n);
  const brand = new Int32Array(n);
  const cats = new Map<string, number>();
  const brands = new Map<string, number>();
  const intern = (ids: Map<string, number>, k: string | undefined) => {
    if (k === undefined) return -1;
    let id = ids.get(k);
    if (id === undefined) ids.set(k, (id = ids.size));
    return id;
  };
  for (let i = 0; i < n; i++) {
    cat[i] = intern(cats, items[i]!.categoryKey);
    brand[i] = intern(brands, items[i]!.brandKey);
  }
  const vectors = items.map((it) => it.vector);
  const invNorm = new Float64Array(n).fill(-1);
  const inv = (i: number, v: Float32Array) => {
    let r = invNorm[i]!;
    if (r < 0) {
      let nn = 0;
      for (let k = 0; k < v.length; k++) nn += v[k]! * v[k]!;
      invNorm[i] = r = nn > 0 ? 1 / Math.sqrt(nn) : 0;
    }
    return r;
  };
  return (i, j) => {
    const sameCat = cat[i]! >= 0 && cat[i] === cat[j] ? 1 : 0;
    const sameBrand = brand[i]! >= 0 && brand[i] === brand[j] ? 1 : 0;
    const a = vectors[i];
    const b = vectors[j];
    if (a && b && a.length === b.length) {
      // Four running sums: independent adds pipeline where one chained sum would wait on itself.
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      let k = 0;
      const d = a.length;
      for (; k + 3 < d; k += 4) {
        d0 += a[k]! * b[k]!;
        d1 += a[k + 1]! * b[k + 1]!;
        d2 += a[k + 2]! * b[k + 2]!;
        d3 += a[k + 3]! * b[k + 3]!;
      }
      for (; k < d; k++) d0 += a[k]! * b[k]!;
      const cos = (d0 + d1 + d2 + d3) * inv(i, a) * inv(j, b);
      return wv * (cos > 0 ? cos : 0) + wc * sameCat + wb * sameBrand;
    }
    return keysOnly > 0 ? (wc * sameCat + wb * sameBrand) / keysOnly : 0;
  };
}
