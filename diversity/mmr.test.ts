import { describe, expect, it } from 'vitest';
import { categoryCoverage, intraListDiversity } from './diversity.ts';
import { mmr, normaliseRelevance, pairSimilarity, similarity, type MmrItem, type MmrOptions } from './mmr.ts';

const v = (...xs: number[]) => Float32Array.from(xs);
const opts = (o: Partial<MmrOptions> = {}): MmrOptions => ({
  lambda: 0.5,
  top_n: 100,
  category_weight: 0,
  brand_weight: 0,
  ...o,
});
const ids = (items: MmrItem[], o: Partial<MmrOptions>) => mmr(items, opts(o)).items.map((p) => p.id);

/** a and a2 are near-duplicates; b and c point elsewhere. Relevance strictly decreasing. */
const DUPES: MmrItem[] = [
  { id: 'a', relevance: 1.0, vector: v(1, 0, 0) },
  { id: 'a2', relevance: 0.95, vector: v(0.999, 0.04, 0) },
  { id: 'b', relevance: 0.9, vector: v(0, 1, 0) },
  { id: 'c', relevance: 0.8, vector: v(0, 0, 1) },
];

describe('mmr', () => {
  it('is the identity at λ = 1 without caps, whatever the vectors and keys', () => {
    const items: MmrItem[] = Array.from({ length: 12 }, (_, i) => ({
      id: `p${i}`,
      relevance: 10 - Math.floor(i / 3),
      vector: v(1, 0),
      brandKey: 'x',
      categoryKey: 'y',
    }));
    const out = mmr(items, opts({ lambda: 1, category_weight: 0.3, brand_weight: 0.3 }));
    expect(out.items.map((p) => p.id)).toEqual(items.map((it) => it.id));
    expect(out.items.every((p) => p.position_before === p.position_after)).toBe(true);
    expect(out.caps_relaxed).toBe(0);
  });

  it('separates a near-duplicate pair at λ < 1 and reports relevance, penalty and positions', () => {
    expect(ids(DUPES, { lambda: 1 })).toEqual(['a', 'a2', 'b', 'c']);
    const out = mmr(DUPES, opts({ lambda: 0.5 }));
    expect(out.items.map((p) => p.id)).toEqual(['a', 'b', 'c', 'a2']);
    const a2 = out.items.find((p) => p.id === 'a2')!;
    expect(a2).toMatchObject({ position_before: 1, position_after: 3 });
    expect(a2.penalty).toBeGreaterThan(0.99);
    expect(a2.relevance).toBeCloseTo(0.75, 9); // (0.95 − 0.8) / (1 − 0.8)
    expect(out.items[0]).toMatchObject({ id: 'a', relevance: 1, penalty: 0, position_before: 0, position_after: 0 });
  });

  it('blends same-category and same-brand penalties, with or without vectors', () => {
    const sim = similarity(0.3, 0.2);
    const x = { id: 'x', relevance: 1, vector: v(1, 0), categoryKey: 'shoes', brandKey: 'nike' };
    expect(sim(x, { id: 'y', relevance: 1, vector: v(0, 1), categoryKey: 'shoes', brandKey: 'nike' })).toBeCloseTo(
      0.5,
      9,
    );
    expect(sim(x, { id: 'y', relevance: 1, vector: v(1, 0), categoryKey: 'shoes' })).toBeCloseTo(0.5 + 0.3, 9);
    expect(sim(x, { id: 'y', relevance: 1, vector: v(-1, 0) })).toBe(0); // unlike is not a bonus
    // No vectors: the key weights are rescaled to the whole [0, 1] range.
    expect(sim({ id: 'x', relevance: 1, brandKey: 'nike' }, { id: 'y', relevance: 1, brandKey: 'nike' })).toBeCloseTo(
      0.4,
      9,
    );
    expect(similarity(0, 0)({ id: 'x', relevance: 1, brandKey: 'n' }, { id: 'y', relevance: 1, brandKey: 'n' })).toBe(
      0,
    );
  });

  it('pushes a second item of the same brand down on brand penalty alone', () => {
    const items: MmrItem[] = [
      { id: 'n1', relevance: 1, brandKey: 'nike' },
      { id: 'n2', relevance: 0.9, brandKey: 'nike' },
      { id: 'a1', relevance: 0.8, brandKey: 'adidas' },
    ];
    expect(ids(items, { lambda: 0.6, brand_weight: 1 })).toEqual(['n1', 'a1', 'n2']);
    expect(ids(items, { lambda: 0.6, category_weight: 1 })).toEqual(['n1', 'n2', 'a1']); // no categories: no penalty
  });

  it('honours per-page brand and category caps, even at λ = 1', () => {
    const items: MmrItem[] = [
      ...['n1', 'n2', 'n3', 'n4'].map((id, i) => ({ id, relevance: 10 - i, brandKey: 'nike', categoryKey: 'shoes' })),
      { id: 'a1', relevance: 5, brandKey: 'adidas', categoryKey: 'shoes' },
      { id: 'p1', relevance: 4, brandKey: 'puma', categoryKey: 'socks' },
    ];
    // Page size 3, at most 2 Nike per page: page 1 = n1 n2 a1, page 2 starts fresh.
    expect(ids(items, { lambda: 1, page_size: 3, caps: { per_brand: 2 } })).toEqual([
      'n1',
      'n2',
      'a1',
      'n3',
      'n4',
      'p1',
    ]);
    // At most 1 per category: socks comes up to slot 2; then only shoes remain, taken anyway (relaxed).
    const byCat = mmr(items, opts({ lambda: 1, page_size: 3, caps: { per_category: 1 } }));
    expect(byCat.items.map((p) => p.id)).toEqual(['n1', 'p1', 'n2', 'n3', 'n4', 'a1']);
    expect(byCat.caps_relaxed).toBe(3);
    const out = mmr(items, opts({ lambda: 1, page_size: 3, caps: { per_brand: 2 } }));
    for (let page = 0; page < 2; page++) {
      const brands = out.items.slice(page * 3, page * 3 + 3).map((p) => items.find((it) => it.id === p.id)!.brandKey);
      expect(brands.filter((b) => b === 'nike').length).toBeLessThanOrEqual(2);
    }
  });

  it('when caps cannot be met, takes the best remaining item anyway, marks it and drops nothing', () => {
    const items: MmrItem[] = ['x1', 'x2', 'x3', 'x4'].map((id, i) => ({ id, relevance: 4 - i, brandKey: 'only' }));
    const out = mmr(items, opts({ lambda: 1, page_size: 4, caps: { per_brand: 1 } }));
    expect(out.items.map((p) => p.id)).toEqual(['x1', 'x2', 'x3', 'x4']);
    expect(out.items.map((p) => !!p.cap_relaxed)).toEqual([false, true, true, true]);
    expect(out.caps_relaxed).toBe(3);
  });

  it('breaks score ties deterministically by input position', () => {
    const items: MmrItem[] = [
      { id: 'z', relevance: 1 },
      { id: 'y', relevance: 0.5, categoryKey: 'k' },
      { id: 'x', relevance: 0.5, categoryKey: 'k' },
    ];
    expect(ids(items, { lambda: 0.5, category_weight: 1 })).toEqual(['z', 'y', 'x']);
  });

  it('reorders only the first top_n items; the rest keep their order and carry no MMR figures', () => {
    const items = [
      ...DUPES,
      { id: 'd', relevance: 0.7, vector: v(1, 0, 0) },
      { id: 'e', relevance: 0.6, vector: v(0, 1, 0) },
    ];
    const out = mmr(items, opts({ lambda: 0.3, top_n: 4 }));
    expect(out.items.slice(4).map((p) => [p.id, p.position_before, p.position_after, p.relevance, p.penalty])).toEqual([
      ['d', 4, 4, undefined, undefined],
      ['e', 5, 5, undefined, undefined],
    ]);
    expect(new Set(out.items.slice(0, 4).map((p) => p.id))).toEqual(new Set(['a', 'a2', 'b', 'c']));
  });

  it('normalises relevance within the window so λ means the same on any score scale', () => {
    expect(normaliseRelevance([4, 3, 2])).toEqual([1, 0.5, 0]);
    expect(normaliseRelevance([7, 7])).toEqual([1, 1]);
    const scaled = DUPES.map((it) => ({ ...it, relevance: it.relevance * 0.001 }));
    expect(ids(scaled, { lambda: 0.5 })).toEqual(ids(DUPES, { lambda: 0.5 }));
  });
});

describe('mmr kernel and depth', () => {
  // A seeded window: some items without vectors, shared categories and brands, negative cosines.
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const window: MmrItem[] = Array.from({ length: 60 }, (_, i) => ({
    id: `p${i}`,
    relevance: 1 - i / 60 + rnd() * 0.05,
    ...(i % 7 !== 3 && { vector: Float32Array.from({ length: 16 }, () => rnd() * 2 - 1) }),
    ...(i % 5 !== 0 && { categoryKey: `c${i % 4}` }),
    ...(i % 3 !== 0 && { brandKey: `b${i % 6}` }),
  }));

  it('the per-call kernel gives the documented similarity for every pair', () => {
    for (const [wc, wb] of [
      [0, 0],
      [0.2, 0.2],
      [0.5, 0.1],
    ] as const) {
      const ref = similarity(wc, wb);
      const fast = pairSimilarity(window, wc, wb);
      for (let i = 0; i < window.length; i++)
        for (let j = 0; j < window.length; j++) expect(fast(i, j)).toBeCloseTo(ref(window[i]!, window[j]!), 6);
    }
  });

  it('gives the plain greedy result (lazy evaluation changes no pick, penalty or score)', () => {
    // Reference: every remaining item re-scored against every pick, slot by slot.
    const greedy = (items: MmrItem[], o: MmrOptions) => {
      const rel = normaliseRelevance(items.map((it) => it.relevance));
      const sim = similarity(o.category_weight, o.brand_weight);
      const left = items.map((_, i) => i);
      const chosen: number[] = [];
      const out: Array<{ id: string; penalty: number; cap_relaxed: boolean }> = [];
      const counts = new Map<string, number>();
      while (left.length > 0) {
        if (chosen.length % (o.page_size ?? items.length) === 0) counts.clear();
        const penalty = (i: number) => Math.max(0, ...chosen.map((j) => sim(items[i]!, items[j]!)));
        const sc = (i: number) => o.lambda * rel[i]! - (1 - o.lambda) * penalty(i);
        const fits = (i: number) =>
          o.caps?.per_brand === undefined ||
          items[i]!.brandKey === undefined ||
          (counts.get(items[i]!.brandKey!) ?? 0) < o.caps.per_brand;
        const pick = (pool: number[]) => pool.reduce((a, b) => (sc(b) > sc(a) ? b : a), pool[0]!);
        const fitting = left.filter(fits);
        const i = pick(fitting.length > 0 ? fitting : left);
        out.push({ id: items[i]!.id, penalty: penalty(i), cap_relaxed: fitting.length === 0 });
        chosen.push(i);
        left.splice(left.indexOf(i), 1);
        if (items[i]!.brandKey !== undefined)
          counts.set(items[i]!.brandKey!, (counts.get(items[i]!.brandKey!) ?? 0) + 1);
      }
      return out;
    };
    for (const o of [
      opts({ lambda: 0.7, category_weight: 0.2, brand_weight: 0.2 }),
      opts({ lambda: 0.3, category_weight: 0, brand_weight: 0.5, page_size: 8, caps: { per_brand: 2 } }),
      opts({ lambda: 0.9, category_weight: 0.1, brand_weight: 0.1, page_size: 10, caps: { per_brand: 1 } }),
    ]) {
      const got = mmr(window, o).items;
      const want = greedy(window, o);
      expect(got.map((p) => p.id)).toEqual(want.map((p) => p.id));
      got.forEach((p, k) => {
        expect(p.penalty).toBeCloseTo(want[k]!.penalty, 6);
        expect(!!p.cap_relaxed).toBe(want[k]!.cap_relaxed);
      });
    }
  });

  it('fills only `depth` slots, and deeper pages start where shallower ones ended', () => {
    const o = opts({ lambda: 0.6, category_weight: 0.2, brand_weight: 0.2, page_size: 10, caps: { per_brand: 3 } });
    const full = mmr(window, o).items.map((p) => p.id);
    const page1 = mmr(window, { ...o, depth: 10 }).items;
    const page2 = mmr(window, { ...o, depth: 20 }).items;
    expect(page1.slice(0, 10).map((p) => p.id)).toEqual(full.slice(0, 10));
    expect(page2.slice(0, 20).map((p) => p.id)).toEqual(full.slice(0, 20));
    // Beyond the depth: every remaining item once, in ranked order, without MMR scores.
    const rest = page1.slice(10);
    expect(rest.map((p) => p.position_before)).toEqual([...rest.map((p) => p.position_before)].sort((a, b) => a - b));
    expect(rest.every((p) => p.relevance === undefined)).toBe(true);
    expect(new Set(page1.map((p) => p.id)).size).toBe(window.length);
  });
});

describe('diversity metrics', () => {
  it('intra-list diversity is the mean pairwise cosine distance of the first k vectors', () => {
    expect(intraListDiversity([v(1, 0), v(1, 0)], 10)).toBe(0);
    expect(intraListDiversity([v(1, 0), v(0, 1)], 10)).toBeCloseTo(1, 9);
    // pairs: (x,x)=0, (x,y)=1, (x,y)=1 → 2/3; the fourth vector is beyond k
    expect(intraListDiversity([v(1, 0), v(1, 0), v(0, 1), v(-1, 0)], 3)).toBeCloseTo(2 / 3, 9);
    expect(intraListDiversity([v(1, 0), undefined], 10)).toBe(0);
  });

  it('category coverage is distinct categories among the first k over k', () => {
    expect(categoryCoverage(['a', 'a', 'b', undefined, 'c'], 4)).toBe(0.5);
    expect(categoryCoverage(['a', 'b'], 10)).toBe(0.2);
    expect(categoryCoverage([], 0)).toBe(0);
  });
});
