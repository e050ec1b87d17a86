import type { Candidate, Evidence, ProductSummary } from '../../core/candidate.ts';
import type { TextStore } from '../index/stores.ts';
import type { Product } from '../index/types.ts';

/** The product fields every result list shows. */
export function productSummary(p: Product): ProductSummary {
  return {
    id: p.id,
    title: p.title,
    in_stock: p.in_stock,
    ...(p.price !== undefined && { price: p.price }),
    ...(p.currency !== undefined && { currency: p.currency }),
    ...(p.category !== undefined && { category: p.category }),
    ...(p.brand !== undefined && { brand: p.brand }),
    ...(p.image !== undefined && { image: p.image }),
  };
}

/** A recalled product as a candidate: fused score, fusion slot and the routes that found it. */
export function toCandidate(
  p: Product,
  fused: number,
  fusionPosition: number,
  routes: Record<string, Evidence>,
): Candidate {
  return {
    id: p.id,
    product: productSummary(p),
    routes,
    fused_score: fused,
    fusion_position: fusionPosition,
    score: fused,
  };
}

/**
 * The first `size` hits whose product exists and passes `accept`, in order. Routes such as
 * trending and co-occurrence know nothing of stock or category, so products are read a few
 * pages at a time further down the list until the page is full.
 */
export async function firstAccepted<H extends { id: string }>(
  text: TextStore,
  hits: readonly H[],
  size: number,
  accept: (p: Product) => boolean,
): Promise<Array<{ hit: H; product: Product }>> {
  const out: Array<{ hit: H; product: Product }> = [];
  for (let start = 0; start < hits.length && out.length < size; start += size * 2) {
    const chunk = hits.slice(start, start + size * 2);
    const products = await text.get(chunk.map((h) => h.id));
    for (const hit of chunk) {
      const product = products.get(hit.id);
      if (!product || !accept(product)) continue;
      out.push({ hit, product });
      if (out.length === size) break;
    }
  }
  return out;
}
