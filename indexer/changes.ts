import { z } from 'zod';
import { describeIssues, firstField, parseProduct, ProductPatchSchema, type Product } from '../core/catalog/product.ts';
import { readRows, type RowError } from '../core/catalog/read.ts';

const ChangeSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('upsert'), product: z.unknown() }),
  z.object({ op: z.literal('delete'), product: z.object({ id: z.union([z.string(), z.number()]).transform(String) }) }),
  z.object({ op: z.literal('update'), product: z.unknown() }),
]);

/** A partial update of a stored product: the fields given replace the stored ones. */
export interface ProductUpdate {
  line: number;
  id: string;
  /** The raw fields (validated as a patch), merged into the stored product before it is parsed again. */
  patch: Record<string, unknown>;
}

export interface ChangeSet {
  upserts: Product[];
  deletes: string[];
  /** Partial updates of products the index holds; an unknown id is reported, never created. */
  updates?: ProductUpdate[];
  errors: RowError[];
}

/** One change line checked on its own: what it does, or every reason it is refused. */
export type CheckedChange =
  | { ok: true; op: 'upsert'; id: string; product: Product }
  | { ok: true; op: 'delete'; id: string }
  | { ok: true; op: 'update'; id: string; patch: Record<string, unknown> }
  | { ok: false; code: 'invalid_json' | 'invalid_change'; field: string; reason: string; id?: string };

/**
 * Validates one line of a change file (or a catalog-topic record, or an element of the catalog
 * endpoint's batch) by itself: the envelope, then the product (a whole one for `upsert`, a patch
 * for `update`), with every problem and the value sent.
 */
export function checkChange(raw: unknown): CheckedChange {
  if (raw instanceof Error) return { ok: false, code: 'invalid_json', field: '(line)', reason: raw.message };
  const change = ChangeSchema.safeParse(raw);
  const rawId = (raw as { product?: { id?: unknown } } | null)?.product?.id;
  const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : undefined;
  if (!change.success) {
    return {
      ok: false,
      code: 'invalid_change',
      field: firstField(change.error) === '(row)' ? 'op' : firstField(change.error),
      reason: describeIssues(change.error, raw),
      ...(id !== undefined && { id }),
    };
  }
  if (change.data.op === 'delete') return { ok: true, op: 'delete', id: change.data.product.id };
  if (change.data.op === 'update') {
    const patch = ProductPatchSchema.safeParse(change.data.product);
    if (!patch.success) {
      return {
        ok: false,
        code: 'invalid_change',
        field: firstField(patch.error, 'product.'),
        reason: describeIssues(patch.error, change.data.product, 'product.'),
        ...(id !== undefined && { id }),
      };
    }
    return { ok: true, op: 'update', id: patch.data.id, patch: change.data.product as Record<string, unknown> };
  }
  const res = parseProduct(change.data.product, 'product.');
  if (!res.ok)
    return { ok: false, code: 'invalid_change', field: res.field, reason: res.reason, ...(id !== undefined && { id }) };
  return { ok: true, op: 'upsert', id: res.product.id, product: res.product };
}

/**
 * Folds changes, in order, into one set: for one id only its last change counts (an upsert
 * after a delete re-creates the product; a delete after an upsert removes it). Shared by change
 * files and the Kafka catalog topic, so both mean the same thing.
 */
export class ChangeCollector {
  private readonly last = new Map<
    string,
    { op: 'upsert'; product: Product } | { op: 'delete'; line: number } | { op: 'update'; update: ProductUpdate }
  >();
  readonly errors: RowError[] = [];

  add(line: number, raw: unknown): void {
    const change = checkChange(raw);
    if (!change.ok) {
      this.errors.push({
        line,
        reason: change.reason,
        code: change.code,
        field: change.field,
        ...(change.id !== undefined && { id: change.id }),
      });
      return;
    }
    const id = change.id;
    if (change.op === 'delete') {
      this.last.delete(id);
      this.last.set(id, { op: 'delete', line });
      return;
    }
    if (change.op === 'update') {
      const raw = change.patch;
      const before = this.last.get(id);
      if (before?.op === 'delete') {
        this.errors.push({
          line,
          id,
          code: 'unknown_product',
          field: 'product.id',
          reason: `product.id: "${id}" was deleted on line ${before.line}; an update never creates`,
        });
        return;
      }
      if (before?.op === 'upsert') {
        // Updating a product this batch already upserts: merge into it now.
        const res = parseProduct({ ...before.product, ...raw, id }, 'product.');
        if (!res.ok) this.errors.push({ line, id, code: 'invalid_change', field: res.field, reason: res.reason });
        else this.last.set(id, { op: 'upsert', product: res.product });
        return;
      }
      const merged = before?.op === 'update' ? { ...before.update.patch, ...raw } : raw;
      this.last.delete(id);
      this.last.set(id, { op: 'update', update: { line, id, patch: merged } });
      return;
    }
    this.last.delete(id);
    this.last.set(id, { op: 'upsert', product: change.product });
  }

  result(): ChangeSet {
    const upserts: Product[] = [];
    const deletes: string[] = [];
    const updates: ProductUpdate[] = [];
    for (const [id, c] of this.last) {
      if (c.op === 'upsert') upserts.push(c.product);
      else if (c.op === 'update') updates.push(c.update);
      else deletes.push(id);
    }
    return { upserts, deletes, ...(updates.length > 0 && { updates }), errors: this.errors };
  }
}

/**
 * Merges partial updates into the stored products (`stored`: what the index holds for their
 * ids): each becomes an upsert of the whole product, so the content hash decides what is
 * rewritten and re-embedded (a price or stock change is not). An id the index does not hold
 * is an error, not a new product.
 */
export function resolveUpdates(
  updates: readonly ProductUpdate[],
  stored: ReadonlyMap<string, Product>,
): { upserts: Product[]; errors: RowError[] } {
  const upserts: Product[] = [];
  const errors: RowError[] = [];
  for (const u of updates) {
    const current = stored.get(u.id);
    if (!current) {
      errors.push({
        line: u.line,
        id: u.id,
        code: 'unknown_product',
        field: 'product.id',
        reason: `product.id: no product "${u.id}" in the index; an update never creates one`,
      });
      continue;
    }
    const merged: Record<string, unknown> = { ...current, ...u.patch };
    // `stock` decides `in_stock` unless the update says otherwise.
    if (u.patch.stock !== undefined && u.patch.in_stock === undefined) delete merged.in_stock;
    const res = parseProduct(merged, 'product.');
    if (res.ok) upserts.push(res.product);
    else errors.push({ line: u.line, id: u.id, code: 'invalid_change', field: res.field, reason: res.reason });
  }
  return { upserts, errors };
}

/** Reads a change file of {"op": "upsert"|"delete"|"update", "product": {...}} lines. */
export async function readChanges(file: string): Promise<ChangeSet> {
  const c = new ChangeCollector();
  for await (const { line, raw } of readRows(file, 'jsonl')) c.add(line, raw);
  return c.result();
}
