/** Helpers shared by the dataset converters. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { ProductInput } from '../../core/catalog/product.ts';
import { countQrels, writeDataset, type DatasetMeta, type EvalQuery, type Qrels } from '../search/datasets.ts';
import { sampleKeepOrder } from '../../core/rng.ts';

/** `/work/shared/datasets`-style folder next to the repository: `<repo>/../shared/datasets`. */
export const SHARED_DATASETS_DIR = fileURLToPath(new URL('../../../shared/datasets/', import.meta.url));

export interface CsvTable {
  path: string;
  header: string[];
  /** One object per data row, keyed by header name. `row` is 1-based over data rows (header excluded). */
  rows: Array<{ row: number; get(column: string): string }>;
}

/**
 * Reads a whole CSV with a header row and checks that the needed columns are present.
 * Every cell is a string (trimmed); missing cells are ''.
 */
export async function readCsv(path: string, requiredColumns: readonly string[]): Promise<CsvTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true });
  } catch (err) {
    throw new Error(`${path}: malformed CSV: ${(err as Error).message}`);
  }
  const header = records[0];
  if (!header) throw new Error(`${path}: empty file`);
  const index = new Map(header.map((name, i) => [name, i]));
  const missing = requiredColumns.filter((c) => !index.has(c));
  if (missing.length > 0)
    throw new Error(`${path}: missing column(s) ${missing.join(', ')} (header: ${header.join(', ')})`);
  const rows = records.slice(1).map((cells, i) => ({
    row: i + 1,
    get(column: string): string {
      const at = index.get(column);
      return at === undefined ? '' : (cells[at] ?? '');
    },
  }));
  return { path, header, rows };
}

export interface ConvertSummary {
  out: string;
  products: number;
  queries: number;
  qrels: number;
  /** Queries with at least one relevant (grade > 0) product: the ones the runner evaluates. */
  evaluable_queries: number;
  notes: string[];
}

export function formatSummary(name: string, s: ConvertSummary): string {
  const lines = [
    `${name}: wrote ${s.out}`,
    `  products ${s.products}, queries ${s.queries} (${s.evaluable_queries} with a relevant product), qrels ${s.qrels}`,
  ];
  for (const n of s.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

export interface Converted {
  out: string;
  products: ProductInput[];
  /** Every query the source yields, in source order. */
  queries: EvalQuery[];
  qrels: Qrels;
  /** Keep a seeded sample of this many queries, drawn among those with a relevant product. */
  sample?: { queries: number; seed: number } | undefined;
  meta: Pick<DatasetMeta, 'name' | 'source' | 'description' | 'grades' | 'weak_labels'>;
  notes: string[];
}

/** The end every converter shares: optional query sample, write the dataset folder, summarise. */
export async function writeConverted(c: Converted): Promise<ConvertSummary> {
  const hasRelevant = (q: EvalQuery): boolean => [...(c.qrels.get(q.id)?.values() ?? [])].some((g) => g > 0);
  let chosen = c.queries;
  if (c.sample) {
    chosen = sampleKeepOrder(c.queries.filter(hasRelevant), c.sample.queries, c.sample.seed);
    c.notes.push(
      `sampled ${chosen.length} of ${c.queries.length} queries (seed ${c.sample.seed}) among those with a relevant product`,
    );
  }
  const qrels: Qrels = new Map(chosen.map((q) => [q.id, c.qrels.get(q.id) ?? new Map<string, number>()]));
  await writeDataset(c.out, {
    products: c.products,
    queries: chosen,
    qrels,
    meta: {
      ...c.meta,
      counts: { products: c.products.length, queries: chosen.length, qrels: countQrels(qrels) },
      sampling: c.sample ?? null,
    },
  });
  return {
    out: resolve(c.out),
    products: c.products.length,
    queries: chosen.length,
    qrels: countQrels(qrels),
    evaluable_queries: chosen.filter(hasRelevant).length,
    notes: c.notes,
  };
}
