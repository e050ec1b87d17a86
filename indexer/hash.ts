import { createHash } from 'node:crypto';
import { productText, type Product } from '../core/catalog/product.ts';

/** Canonical JSON (sorted keys) so that field order in the source file never looks like a change. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Detects any change to a product: a differing hash means the stores must be updated. */
export function contentHash(p: Product): string {
  return createHash('sha256').update(canonical(p)).digest('hex').slice(0, 32);
}

/**
 * Keys the embedding cache: only the text the embedder sees, so a price or stock change
 * updates the stores without paying for a new embedding.
 */
export function textHash(p: Product): string {
  return createHash('sha256').update(productText(p)).digest('hex').slice(0, 32);
}
