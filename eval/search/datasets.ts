/**
 * The on-disk format of an offline search evaluation set (one directory):
 *
 *   products.jsonl  the catalog, one product per line, same format the indexer reads
 *                   (see core/catalog/product.ts)
 *   queries.tsv     `query_id<TAB>query`, no header (a `query_id<TAB>query` header line is tolerated)
 *   qrels.tsv       TREC qrels: `query_id 0 product_id grade`, whitespace separated, grade 0..3
 *   dataset.json    optional metadata written by the converters (name, source, how grades were made)
 *
 * Readers fail on the first malformed line with `file:line: what is wrong`, so a broken
 * converter or a hand-edited file is caught before hours of indexing.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseProduct, type Product, type ProductInput } from '../../core/catalog/product.ts';

export const DATASET_FILES = {
  products: 'products.jsonl',
  queries: 'queries.tsv',
  qrels: 'qrels.tsv',
  meta: 'dataset.json',
} as const;

export const MAX_GRADE = 3;

export interface EvalQuery {
  id: string;
  query: string;
}

/** query id → (product id → grade 0..3). */
export type Qrels = Map<string, Map<string, number>>;

export interface DatasetMeta {
  name: string;
  source?: string;
  description?: string;
  /** How the grades were derived, in words: shown in reports. */
  grades?: string;
  /** Weak labels (derived from attributes, not human judgments)? */
  weak_labels?: boolean;
  counts?: { products: number; queries: number; qrels: number };
  [key: string]: unknown;
}

export class DatasetFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'DatasetFormatError';
  }
}

/** Ids go into whitespace-separated TREC files: no whitespace allowed. */
function checkId(kind: string, id: string): string | undefined {
  if (id.length === 0) return `${kind} is empty`;
  if (/\s/.test(id)) return `${kind} ${JSON.stringify(id)} contains whitespace`;
  return undefined;
}

async function* lines(path: string): AsyncGenerator<{ line: string; n: number }> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of rl) {
    n++;
    // Strip a UTF-8 BOM on the first line.
    yield { line: n === 1 ? raw.replace(/^\uFEFF/, '') : raw, n };
  }
}

async function writeLines(path: string, rows: Iterable<string>): Promise<void> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  // `once` rejects when the stream emits 'error', so both awaits below surface write errors.
  const closed = once(out, 'close');
  closed.catch(() => undefined); // observed below; avoid an unhandled rejection while draining
  try {
    for (const row of rows) {
      if (!out.write(row + '\n')) await once(out, 'drain');
    }
  } catch (err) {
    out.destroy();
    throw err;
  }
  out.end();
  await closed;
}

// ---------------------------------------------------------------- products

/** Reads and validates a catalog (JSON Lines). Blank lines are skipped; duplicate ids are an error. */
export async function readProducts(path: string): Promise<Product[]> {
  const products: Product[] = [];
  const seen = new Set<string>();
  for await (const { line, n } of lines(path)) {
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new DatasetFormatError(path, n, `not valid JSON (${(err as Error).message})`);
    }
    const parsed = parseProduct(raw);
    if (!parsed.ok) throw new DatasetFormatError(path, n, parsed.reason);
    if (seen.has(parsed.product.id))
      throw new DatasetFormatError(path, n, `duplicate product id ${JSON.stringify(parsed.product.id)}`);
    seen.add(parsed.product.id);
    products.push(parsed.product);
  }
  return products;
}

export async function writeProducts(path: string, products: Iterable<ProductInput | Product>): Promise<void> {
  function* rows(): Generator<string> {
    for (const p of products) yield JSON.stringify(p);
  }
  await writeLines(path, rows());
}

// ---------------------------------------------------------------- queries

export async function readQueries(path: string): Promise<EvalQuery[]> {
  const queries: EvalQuery[] = [];
  const seen = new Set<string>();
  for await (const { line, n } of lines(path)) {
    if (line.trim() === '') continue;
    const tab = line.indexOf('\t');
    if (tab < 0) throw new DatasetFormatError(path, n, 'expected `query_id<TAB>query`, found no tab');
    const id = line.slice(0, tab).trim();
    const query = line.slice(tab + 1).trim();
    if (n === 1 && id === 'query_id' && query === 'query') continue; // header
    const bad = checkId('query id', id);
    if (bad) throw new DatasetFormatError(path, n, bad);
    if (query === '') throw new DatasetFormatError(path, n, `query ${id} has empty text`);
    if (seen.has(id)) throw new DatasetFormatError(path, n, `duplicate query id ${JSON.stringify(id)}`);
    seen.add(id);
    queries.push({ id, query });
  }
  return queries;
}

/** Tabs and line breaks inside query text are replaced by spaces (they would break the format). */
export function cleanQueryText(text: string): string {
  return text
    .replace(/[\t\r\n]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export async function writeQueries(path: string, queries: Iterable<EvalQuery>): Promise<void> {
  function* rows(): Generator<string> {
    for (const q of queries) {
      const bad = checkId('query id', q.id);
      if (bad) throw new Error(bad);
      const text = cleanQueryText(q.query);
      if (text === '') throw new Error(`query ${q.id} has empty text`);
      yield `${q.id}\t${text}`;
    }
  }
  await writeLines(path, rows());
}

// ---------------------------------------------------------------- qrels

export async function readQrels(path: string): Promise<Qrels> {
  const qrels: Qrels = new Map();
  for await (const { line, n } of lines(path)) {
    if (line.trim() === '') continue;
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 4) {
      throw new DatasetFormatError(path, n, `expected 4 fields \`query_id 0 product_id grade\`, found ${parts.length}`);
    }
    const [qid, , pid, gradeText] = parts as [string, string, string, string];
    if (!/^-?\d+$/.test(gradeText))
      throw new DatasetFormatError(path, n, `grade ${JSON.stringify(gradeText)} is not an integer`);
    const grade = Number(gradeText);
    if (grade < 0 || grade > MAX_GRADE)
      throw new DatasetFormatError(path, n, `grade ${grade} is outside 0..${MAX_GRADE}`);
    let judged = qrels.get(qid);
    if (!judged) {
      judged = new Map();
      qrels.set(qid, judged);
    }
    const before = judged.get(pid);
    if (before !== undefined && before !== grade) {
      throw new DatasetFormatError(
        path,
        n,
        `query ${qid} judges product ${pid} twice with different grades (${before}, ${grade})`,
      );
    }
    judged.set(pid, grade);
  }
  return qrels;
}

export async function writeQrels(path: string, qrels: Qrels): Promise<void> {
  function* rows(): Generator<string> {
    for (const [qid, judged] of qrels) {
      const badQ = checkId('query id', qid);
      if (badQ) throw new Error(badQ);
      for (const [pid, grade] of judged) {
        const badP = checkId('product id', pid);
        if (badP) throw new Error(badP);
        if (!Number.isInteger(grade) || grade < 0 || grade > MAX_GRADE) {
          throw new Error(`query ${qid}, product ${pid}: grade ${grade} is outside 0..${MAX_GRADE}`);
        }
        yield `${qid} 0 ${pid} ${grade}`;
      }
    }
  }
  await writeLines(path, rows());
}

export function countQrels(qrels: Qrels): number {
  let n = 0;
  for (const judged of qrels.values()) n += judged.size;
  return n;
}

// ---------------------------------------------------------------- whole directory

export interface Dataset {
  dir: string;
  productsPath: string;
  products: Product[];
  queries: EvalQuery[];
  qrels: Qrels;
  meta: DatasetMeta | undefined;
  /** Non-fatal inconsistencies (qrels for unknown queries or products, queries without judgments). */
  warnings: string[];
}

async function mustExist(path: string, what: string): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new Error(`${what} not found: ${path}`);
  }
}

export async function readDataset(dir: string): Promise<Dataset> {
  const productsPath = join(dir, DATASET_FILES.products);
  const queriesPath = join(dir, DATASET_FILES.queries);
  const qrelsPath = join(dir, DATASET_FILES.qrels);
  await mustExist(productsPath, 'catalog');
  await mustExist(queriesPath, 'queries');
  await mustExist(qrelsPath, 'qrels');
  const [products, queries, qrels] = await Promise.all([
    readProducts(productsPath),
    readQueries(queriesPath),
    readQrels(qrelsPath),
  ]);

  let meta: DatasetMeta | undefined;
  try {
    meta = JSON.parse(await readFile(join(dir, DATASET_FILES.meta), 'utf8')) as DatasetMeta;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`${join(dir, DATASET_FILES.meta)}: ${(err as Error).message}`);
  }

  const warnings: string[] = [];
  const queryIds = new Set(queries.map((q) => q.id));
  const productIds = new Set(products.map((p) => p.id));
  const unknownQueries = [...qrels.keys()].filter((id) => !queryIds.has(id));
  if (unknownQueries.length > 0) {
    warnings.push(
      `${unknownQueries.length} query ids in qrels are not in queries.tsv (ignored), e.g. ${unknownQueries.slice(0, 3).join(', ')}`,
    );
  }
  let unknownProducts = 0;
  for (const judged of qrels.values()) for (const pid of judged.keys()) if (!productIds.has(pid)) unknownProducts++;
  if (unknownProducts > 0) {
    warnings.push(
      `${unknownProducts} qrels point at products missing from products.jsonl (they can never be retrieved)`,
    );
  }
  const unjudged = queries.filter((q) => !qrels.has(q.id)).length;
  if (unjudged > 0) warnings.push(`${unjudged} queries have no qrels (skipped)`);
  return { dir, productsPath, products, queries, qrels, meta, warnings };
}

export async function writeDataset(
  dir: string,
  data: { products: Iterable<ProductInput | Product>; queries: EvalQuery[]; qrels: Qrels; meta?: DatasetMeta },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeProducts(join(dir, DATASET_FILES.products), data.products);
  await writeQueries(join(dir, DATASET_FILES.queries), data.queries);
  await writeQrels(join(dir, DATASET_FILES.qrels), data.qrels);
  if (data.meta) {
    await writeFile(join(dir, DATASET_FILES.meta), JSON.stringify(data.meta, null, 2) + '\n');
  }
}
