import { z } from 'zod';

/**
 * One catalog row as a shop sends it (JSON Lines or CSV). Validation lives here so the
 * indexer, the change-file reader and the production adapters all reject the same rows
 * for the same reasons.
 */
export const ProductInputSchema = z
  .object({
    id: z.union([z.string(), z.number()]).transform(String).pipe(z.string().trim().min(1, 'id is empty').max(256)),
    title: z.string().trim().min(1, 'title is empty').max(1000),
    description: z.string().max(20_000).optional(),
    category: z.string().max(500).optional(),
    brand: z.string().max(200).optional(),
    price: z.number().finite().nonnegative().optional(),
    currency: z.string().trim().length(3, 'currency must be an ISO 4217 code').optional(),
    in_stock: z.boolean().optional(),
    stock: z.number().int().nonnegative().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    image: z.string().max(2000).optional(),
    tags: z.array(z.string()).optional(),
    updated_at: z.string().optional(),
  })
  .strip();

export type ProductInput = z.input<typeof ProductInputSchema>;

/** A partial update (`{"op": "update"}`): the id and any fields to replace. */
export const ProductPatchSchema = ProductInputSchema.partial().required({ id: true });

/**
 * Every problem of a row, each with the value that caused it:
 * `price: expected a number, got "1,299.00"; title: …`. A shop fixing a feed wants to see all
 * of a row's errors and what was sent, not only the first one's name.
 */
export function describeIssues(error: z.ZodError, raw: unknown, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.join('.') || '(row)';
      const value = issue.path.reduce<unknown>(
        (o, k) =>
          o !== null && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined,
        raw,
      );
      if (issue.code === 'invalid_type') {
        const got = value === undefined ? 'nothing' : JSON.stringify(value);
        return `${prefix}${field}: expected ${article(issue.expected)}, got ${got}`;
      }
      const shown = value === undefined || typeof value === 'object' ? '' : ` (got ${JSON.stringify(value)})`;
      return `${prefix}${field}: ${issue.message}${shown}`;
    })
    .join('; ');
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

/** A validated, normalised product: what every store receives. */
export interface Product {
  id: string;
  title: string;
  description?: string;
  /** Normalised path: segments trimmed, joined by '/', no leading or trailing slash. */
  category?: string;
  brand?: string;
  price?: number;
  currency?: string;
  in_stock: boolean;
  stock?: number;
  attributes?: Record<string, string>;
  image?: string;
  tags?: string[];
  updated_at?: string;
}

export function normalizeCategory(path: string): string | undefined {
  const parts = path
    .split('/')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  return parts.length > 0 ? parts.join('/') : undefined;
}

export type ParseResult = { ok: true; product: Product } | { ok: false; reason: string; field: string };

/** The (prefixed) path of a zod error's first issue: the field an API rejection names. */
export function firstField(error: z.ZodError, prefix = ''): string {
  return `${prefix}${error.issues[0]?.path.join('.') ?? ''}` || '(row)';
}

export function parseProduct(raw: unknown, prefix = ''): ParseResult {
  const parsed = ProductInputSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, reason: describeIssues(parsed.error, raw, prefix), field: firstField(parsed.error, prefix) };
  }
  const p = parsed.data;
  const category = p.category !== undefined ? normalizeCategory(p.category) : undefined;
  const product: Product = {
    id: p.id,
    title: p.title,
    // Stock wins over a missing flag: a shop that sends `stock: 0` means out of stock.
    in_stock: p.in_stock ?? (p.stock !== undefined ? p.stock > 0 : true),
  };
  if (p.description) product.description = p.description;
  if (category) product.category = category;
  if (p.brand?.trim()) product.brand = p.brand.trim();
  if (p.price !== undefined) product.price = p.price;
  if (p.currency) product.currency = p.currency.toUpperCase();
  if (p.stock !== undefined) product.stock = p.stock;
  if (p.attributes && Object.keys(p.attributes).length > 0) product.attributes = p.attributes;
  if (p.image) product.image = p.image;
  if (p.tags && p.tags.length > 0) product.tags = p.tags;
  if (p.updated_at) product.updated_at = p.updated_at;
  return { ok: true, product };
}

/** The text a text embedder sees for a product: most telling fields first. */
export function productText(p: Product): string {
  const parts = [p.title];
  if (p.brand) parts.push(p.brand);
  if (p.category) parts.push(p.category.split('/').join(' '));
  if (p.tags) parts.push(p.tags.join(' '));
  if (p.attributes)
    parts.push(
      Object.entries(p.attributes)
        .map(([k, v]) => `${k} ${v}`)
        .join(' '),
    );
  if (p.description) parts.push(p.description);
  return parts.join('. ');
}
