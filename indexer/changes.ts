import { z } from 'zod';
import { parseProduct, type Product } from '../src/catalog/product.ts';
import { readRows, type RowError } from '../src/catalog/read.ts';

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
 * Reads a change file. Lines apply in order, so for one id only its last change counts
 * (an upsert after a delete re-creates the product; a delete after an upsert removes it).
 */
export async function readChanges(file: string): Promise<ChangeSet> {
  const last = new Map<string, { op: 'upsert'; product: Product } | { op: 'delete' }>();
  const errors: RowError[] = [];
  for await (const { line, raw } of readRows(file, 'jsonl')) {
    if (raw instanceof Error) {
      errors.push({ line, reason: raw.message });
      continue;
    }
    const change = ChangeSchema.safeParse(raw);
    if (!change.success) {
      const issue = change.error.issues[0];
      errors.push({ line, reason: `${issue?.path.join('.') || 'op'}: ${issue?.message ?? 'invalid change'}` });
      continue;
    }
    if (change.data.op === 'delete') {
      const id = change.data.product.id;
      last.delete(id);
      last.set(id, { op: 'delete' });
      continue;
    }
    const res = parseProduct(change.data.product);
    if (!res.ok) {
      errors.push({ line, reason: `product.${res.reason}` });
      continue;
    }
    last.delete(res.product.id);
    last.set(res.product.id, { op: 'upsert', product: res.product });
  }
  const upserts: Product[] = [];
  const deletes: string[] = [];
  for (const [id, c] of last) {
    if (c.op === 'upsert') upserts.push(c.product);
    else deletes.push(id);
  }
  return { upserts, deletes, errors };
}
