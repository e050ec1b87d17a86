import { z } from 'zod';
import { parseProduct, type Product } from '../core/catalog/product.ts';
import { readRows, type RowError } from '../core/catalog/read.ts';

const ChangeSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('upsert'), product: z.unknown() }),
  z.object({ op: z.literal('delete'), product: z.object({ id: z.union([z.string(), z.number()]).transform(String) }) }),
]);

export interface ChangeSet {
  upserts: Product[];
  deletes: string[];
  errors: RowError[];
}

/**
 * Folds changes, in order, into one set: for one id only its last change counts (an upsert
 * after a delete re-creates the product; a delete after an upsert removes it). Shared by change
 * files and the Kafka catalog topic, so both mean the same thing.
 */
export class ChangeCollector {
  private readonly last = new Map<string, { op: 'upsert'; product: Product } | { op: 'delete' }>();
  readonly errors: RowError[] = [];

  add(line: number, raw: unknown): void {
    if (raw instanceof Error) {
      this.errors.push({ line, reason: raw.message });
      return;
    }
    const change = ChangeSchema.safeParse(raw);
    if (!change.success) {
      const issue = change.error.issues[0];
      this.errors.push({ line, reason: `${issue?.path.join('.') || 'op'}: ${issue?.message ?? 'invalid change'}` });
      return;
    }
    if (change.data.op === 'delete') {
      const id = change.data.product.id;
      this.last.delete(id);
      this.last.set(id, { op: 'delete' });
      return;
    }
    const res = parseProduct(change.data.product);
    if (!res.ok) {
      this.errors.push({ line, reason: `product.${res.reason}` });
      return;
    }
    this.last.delete(res.product.id);
    this.last.set(res.product.id, { op: 'upsert', product: res.product });
  }

  result(): ChangeSet {
    const upserts: Product[] = [];
    const deletes: string[] = [];
    for (const [id, c] of this.last) {
      if (c.op === 'upsert') upserts.push(c.product);
      else deletes.push(id);
    }
    return { upserts, deletes, errors: this.errors };
  }
}

/** Reads a change file of {"op": "upsert"|"delete", "product": {...}} lines. */
export async function readChanges(file: string): Promise<ChangeSet> {
  const c = new ChangeCollector();
  for await (const { line, raw } of readRows(file, 'jsonl')) c.add(line, raw);
  return c.result();
}
