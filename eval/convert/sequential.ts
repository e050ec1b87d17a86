/**
 * The end the sequential (behaviour) converters share, like writeConverted for search sets:
 * count, write the dataset folder (eval/sequential-data.ts), summarise.
 */
import { resolve } from 'node:path';
import {
  writeSequentialDataset,
  type CatalogItem,
  type Interaction,
  type SequentialMeta,
} from '../feed/sequential-data.ts';

export interface SequentialSummary {
  out: string;
  interactions: number;
  users: number;
  items: number;
  /** Users with at least 3 interactions: the ones leave-last-out evaluates. */
  evaluable_users: number;
  notes: string[];
}

export async function writeConvertedSequential(c: {
  out: string;
  interactions: readonly Interaction[];
  typed: boolean;
  items?: readonly CatalogItem[];
  meta: Omit<SequentialMeta, 'counts'>;
}): Promise<SequentialSummary> {
  const perUser = new Map<string, number>();
  const items = new Set<string>();
  for (const r of c.interactions) {
    perUser.set(r.user, (perUser.get(r.user) ?? 0) + 1);
    items.add(r.item);
  }
  const counts = { interactions: c.interactions.length, users: perUser.size, items: items.size };
  await writeSequentialDataset(c.out, {
    interactions: c.interactions,
    typed: c.typed,
    ...(c.items && { items: c.items }),
    meta: { ...c.meta, counts },
  });
  return {
    out: resolve(c.out),
    ...counts,
    evaluable_users: [...perUser.values()].filter((n) => n >= 3).length,
    notes: c.meta.notes,
  };
}

export function formatSequentialSummary(name: string, s: SequentialSummary): string {
  return [
    `${name}: wrote ${s.out}`,
    `  interactions ${s.interactions}, users ${s.users} (${s.evaluable_users} with ≥ 3 interactions), items ${s.items}`,
    ...s.notes.map((n) => `  note: ${n}`),
  ].join('\n');
}
