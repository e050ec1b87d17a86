/** Helpers shared by the dataset converters. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';

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
  if (missing.length > 0) throw new Error(`${path}: missing column(s) ${missing.join(', ')} (header: ${header.join(', ')})`);
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
