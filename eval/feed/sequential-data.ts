/**
 * The sequential behaviour dataset directory that `npm run eval -- feed` reads:
 *
 *   interactions.tsv  user_id<TAB>item_id<TAB>timestamp[<TAB>type]   (header line optional)
 *   items.jsonl       optional catalog: {"id", "title"?, "description"?, "category"?, ...}
 *   dataset.json      optional: name, source, notes
 *
 * `timestamp` is epoch milliseconds. `type` is one of view, click, add_to_cart, purchase; a
 * missing type means purchase (a review or an order: the only thing most public sets record).
 * Readers stop at the first malformed line with `file:line: reason`, like eval/datasets.ts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const INTERACTION_TYPES = ['view', 'click', 'add_to_cart', 'purchase'] as const;
export type InteractionType = (typeof INTERACTION_TYPES)[number];

export interface Interaction {
  user: string;
  item: string;
  /** Epoch milliseconds. */
  ts: number;
  type: InteractionType;
}

export interface CatalogItem {
  id: string;
  title?: string;
  description?: string;
  category?: string;
}

export interface SequentialMeta {
  name: string;
  source: string;
  description: string;
  /** What was assumed or made up while converting (e.g. synthetic timestamps). */
  notes: string[];
  counts?: { interactions: number; users: number; items: number };
}

export interface SequentialDataset {
  interactions: Interaction[];
  /** Empty when there is no items.jsonl. */
  items: Map<string, CatalogItem>;
  meta?: SequentialMeta;
  /** Whether interactions.tsv had the optional type column. */
  typed: boolean;
}

const TYPES = new Set<string>(INTERACTION_TYPES);
const HEADER = ['user_id', 'item_id', 'timestamp'];

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Parses interactions.tsv; the file order is kept (it breaks timestamp ties within a user). */
export function parseInteractions(
  text: string,
  file = 'interactions.tsv',
): { interactions: Interaction[]; typed: boolean } {
  const interactions: Interaction[] = [];
  let typed = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const cells = line.split('\t');
    if (i === 0 && cells[0] === HEADER[0]) {
      typed = cells[3] === 'type';
      continue;
    }
    const where = `${file}:${i + 1}`;
    if (cells.length < 3 || cells.length > 4)
      throw new Error(`${where}: expected 3 or 4 tab-separated fields, got ${cells.length}`);
    const [user, item, tsText, typeText] = cells as [string, string, string, string | undefined];
    if (user === '' || item === '') throw new Error(`${where}: empty user_id or item_id`);
    if (!/^\d+$/.test(tsText))
      throw new Error(`${where}: timestamp must be epoch milliseconds, got ${JSON.stringify(tsText)}`);
    let type: InteractionType = 'purchase';
    if (typeText !== undefined && typeText !== '') {
      if (!TYPES.has(typeText))
        throw new Error(`${where}: unknown type ${JSON.stringify(typeText)} (${INTERACTION_TYPES.join(', ')})`);
      type = typeText as InteractionType;
      typed = true;
    }
    interactions.push({ user, item, ts: Number(tsText), type });
  }
  return { interactions, typed };
}

export function parseCatalog(text: string, file = 'items.jsonl'): Map<string, CatalogItem> {
  const items = new Map<string, CatalogItem>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
    }
    const o = v as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.id !== 'string' || o.id === '')
      throw new Error(`${file}:${i + 1}: needs a string "id"`);
    const item: CatalogItem = { id: o.id };
    for (const k of ['title', 'description', 'category'] as const) if (typeof o[k] === 'string') item[k] = o[k];
    items.set(item.id, item);
  });
  return items;
}

export async function readSequentialDataset(dir: string): Promise<SequentialDataset> {
  const path = join(dir, 'interactions.tsv');
  const { interactions, typed } = parseInteractions(await readText(path), path);
  if (interactions.length === 0) throw new Error(`${path}: no interactions`);
  const catalogText = await readOptional(join(dir, 'items.jsonl'));
  const items =
    catalogText !== undefined ? parseCatalog(catalogText, join(dir, 'items.jsonl')) : new Map<string, CatalogItem>();
  const metaText = await readOptional(join(dir, 'dataset.json'));
  const meta = metaText !== undefined ? (JSON.parse(metaText) as SequentialMeta) : undefined;
  return { interactions, items, typed, ...(meta && { meta }) };
}

export function formatInteractions(rows: readonly Interaction[], typed: boolean): string {
  const head = typed ? [...HEADER, 'type'] : HEADER;
  const body = rows.map((r) => [r.user, r.item, String(r.ts), ...(typed ? [r.type] : [])].join('\t'));
  return [head.join('\t'), ...body, ''].join('\n');
}

export async function writeSequentialDataset(
  dir: string,
  ds: { interactions: readonly Interaction[]; typed: boolean; items?: readonly CatalogItem[]; meta: SequentialMeta },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const r of ds.interactions) {
    if (/[\t\n]/.test(r.user) || /[\t\n]/.test(r.item))
      throw new Error(`ids must not contain tabs or newlines: ${JSON.stringify(r)}`);
  }
  await writeFile(join(dir, 'interactions.tsv'), formatInteractions(ds.interactions, ds.typed));
  if (ds.items) await writeFile(join(dir, 'items.jsonl'), ds.items.map((it) => JSON.stringify(it)).join('\n') + '\n');
  await writeFile(join(dir, 'dataset.json'), JSON.stringify(ds.meta, null, 2) + '\n');
}
