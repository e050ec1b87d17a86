import fs from 'node:fs';
import readline from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { parseProduct, type Product } from './product.ts';

/**
 * Streams a catalog file (JSON Lines or CSV) into validated products. Bad rows never stop
 * the read: each is reported with its 1-based line number and reason, and the caller decides
 * (skip, or fail the run under --strict).
 */
export interface RowError {
  line: number;
  id?: string;
  reason: string;
  /** Why, for an API: `invalid_json`, `invalid_change`, `unknown_product` (unset: a bad row). */
  code?: string;
  /** The first field at fault (dotted path, e.g. `product.price`). */
  field?: string;
}

export interface CatalogRow {
  line: number;
  raw: unknown;
}

export type CatalogFormat = 'jsonl' | 'csv';

export function detectFormat(file: string): CatalogFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || lower.endsWith('.json')) return 'jsonl';
  throw new Error(`cannot tell the format of ${file}: use .jsonl/.ndjson or .csv`);
}

/** Raw rows with line numbers; a JSON syntax error becomes a row whose raw is an Error. */
export async function* readRows(file: string, format: CatalogFormat = detectFormat(file)): AsyncGenerator<CatalogRow> {
  if (format === 'jsonl') {
    const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let line = 0;
    for await (const text of rl) {
      line++;
      const t = line === 1 ? text.replace(/^\uFEFF/, '').trim() : text.trim();
      if (t === '') continue;
      try {
        yield { line, raw: JSON.parse(t) };
      } catch (err) {
        yield { line, raw: new Error(`invalid JSON: ${(err as Error).message}`) };
      }
    }
    return;
  }
  const parser = fs
    .createReadStream(file)
    .pipe(
      parseCsv({ columns: true, bom: true, skip_empty_lines: true, trim: true, relax_column_count: true, info: true }),
    );
  for await (const rec of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    yield { line: rec.info.lines, raw: csvRecordToProduct(rec.record) };
  }
}

/** CSV cells are strings: convert typed columns, leaving validation to the product schema. */
export function csvRecordToProduct(rec: Record<string, string>): unknown {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rec)) {
    if (value === '' || value === undefined) continue;
    switch (key) {
      case 'price':
      case 'stock': {
        const n = Number(value);
        out[key] = Number.isFinite(n) ? n : value;
        break;
      }
      case 'in_stock': {
        const v = value.toLowerCase();
        out[key] = ['true', '1', 'yes', 'y'].includes(v) ? true : ['false', '0', 'no', 'n'].includes(v) ? false : value;
        break;
      }
      case 'tags':
        out[key] = value.startsWith('[')
          ? safeJson(value)
          : value
              .split(/[|,;]/)
              .map((t) => t.trim())
              .filter(Boolean);
        break;
      case 'attributes':
        out[key] = value.startsWith('{') ? safeJson(value) : pairs(value);
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** "color:black|size:M" → {color: "black", size: "M"}. */
function pairs(s: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of s.split('|')) {
    const i = part.indexOf(':');
    if (i <= 0) return s;
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export interface CatalogRead {
  products: Product[];
  errors: RowError[];
  rows: number;
}

/** Reads a whole catalog. A repeated id is an error on its later line; the first one wins. */
export async function readCatalog(file: string): Promise<CatalogRead> {
  const products: Product[] = [];
  const errors: RowError[] = [];
  const firstLine = new Map<string, number>();
  let rows = 0;
  for await (const { line, raw } of readRows(file)) {
    rows++;
    if (raw instanceof Error) {
      errors.push({ line, reason: raw.message });
      continue;
    }
    const res = parseProduct(raw);
    if (!res.ok) {
      const id =
        typeof raw === 'object' && raw !== null && 'id' in raw ? String((raw as { id: unknown }).id) : undefined;
      errors.push({ line, reason: res.reason, ...(id !== undefined && { id }) });
      continue;
    }
    const seen = firstLine.get(res.product.id);
    if (seen !== undefined) {
      errors.push({ line, id: res.product.id, reason: `duplicate id (first seen on line ${seen})` });
      continue;
    }
    firstLine.set(res.product.id, line);
    products.push(res.product);
  }
  return { products, errors, rows };
}
