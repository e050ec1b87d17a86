/**
 * Converter: taobao-userbehavior-sample (a slice of Tianchi's UserBehavior.csv) → sequential
 * dataset directory for `npm run eval -- feed`.
 *
 *   npm run eval -- convert taobao [--out .cache/eval/taobao] [--source DIR]
 *
 * UserBehavior.csv has no header: user_id, item_id, category_id, behavior_type, unix seconds.
 * Behaviour types map to the service's event types: pv → view, cart → add_to_cart,
 * fav → click (a favourite is a light signal of interest, between a view and a cart; the event
 * schema has no "favourite"), buy → purchase. Times become epoch milliseconds. Rows are only
 * "roughly" time-ordered within a user, so each user's rows are sorted by time (stable, file
 * order breaks ties). items.jsonl holds each item's category (the first one seen) and no text.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringOpt, type Command } from '../kit/command.ts';
import type { CatalogItem, Interaction, InteractionType } from '../feed/sequential-data.ts';
import { SHARED_DATASETS_DIR } from './common.ts';
import { formatSequentialSummary, writeConvertedSequential, type SequentialSummary } from './sequential.ts';

export const DEFAULT_TAOBAO_SOURCE = join(SHARED_DATASETS_DIR, 'taobao-userbehavior-sample');

export const TAOBAO_TYPES: Readonly<Record<string, InteractionType>> = {
  pv: 'view',
  cart: 'add_to_cart',
  fav: 'click',
  buy: 'purchase',
};

export function parseTaobao(
  text: string,
  file = 'UserBehavior.csv',
): { interactions: Interaction[]; items: CatalogItem[] } {
  const rows: Array<Interaction & { order: number }> = [];
  const items = new Map<string, CatalogItem>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const cells = line.split(',').map((c) => c.trim());
    const where = `${file}:${i + 1}`;
    if (cells.length !== 5) throw new Error(`${where}: expected 5 comma-separated fields, got ${cells.length}`);
    const [user, item, category, behavior, seconds] = cells as [string, string, string, string, string];
    if (i === 0 && !/^\d+$/.test(seconds)) return; // a header row, if someone added one
    const type = TAOBAO_TYPES[behavior];
    if (!type) throw new Error(`${where}: unknown behavior_type ${JSON.stringify(behavior)} (pv, cart, fav, buy)`);
    if (!/^\d+$/.test(seconds))
      throw new Error(`${where}: timestamp must be unix seconds, got ${JSON.stringify(seconds)}`);
    if (user === '' || item === '') throw new Error(`${where}: empty user_id or item_id`);
    rows.push({ user, item, ts: Number(seconds) * 1000, type, order: rows.length });
    if (!items.has(item)) items.set(item, category !== '' ? { id: item, category } : { id: item });
  });
  // Users stay in order of first appearance; within a user, by time.
  const firstSeen = new Map<string, number>();
  for (const r of rows) if (!firstSeen.has(r.user)) firstSeen.set(r.user, r.order);
  rows.sort((a, b) => firstSeen.get(a.user)! - firstSeen.get(b.user)! || a.ts - b.ts || a.order - b.order);
  return {
    interactions: rows.map(({ user, item, ts, type }) => ({ user, item, ts, type })),
    items: [...items.values()],
  };
}

export async function convertTaobao(opts: { source?: string | undefined; out: string }): Promise<SequentialSummary> {
  const path = join(resolve(opts.source ?? DEFAULT_TAOBAO_SOURCE), 'UserBehavior.csv');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  const { interactions, items } = parseTaobao(text, path);
  return writeConvertedSequential({
    out: opts.out,
    interactions,
    typed: true,
    items,
    meta: {
      name: 'taobao-userbehavior-sample',
      source: path,
      description:
        'A 43-user slice of Taobao UserBehavior (Tianchi 649): page views, carts, favourites and purchases with real times.',
      notes: [
        'behaviour types: pv → view, cart → add_to_cart, fav → click, buy → purchase',
        "each user's events sorted by time",
        'items.jsonl: category only, no text',
      ],
    },
  });
}

export const taobaoCommand: Command = {
  path: ['convert', 'taobao'],
  summary:
    'Convert the Taobao UserBehavior sample (UserBehavior.csv) into a sequential dataset for `feed` (typed events, item categories).',
  options: {
    out: {
      type: 'string',
      value: 'DIR',
      help: 'output directory (interactions.tsv, items.jsonl, dataset.json)',
      default: '.cache/eval/taobao',
    },
    source: {
      type: 'string',
      value: 'DIR',
      help: 'directory holding UserBehavior.csv',
      exists: 'folder',
      default: '../shared/datasets/taobao-userbehavior-sample',
    },
  },
  async run(values) {
    const summary = await convertTaobao({
      out: stringOpt(values, 'out') || '.cache/eval/taobao',
      source: stringOpt(values, 'source'),
    });
    console.log(formatSequentialSummary('taobao', summary));
  },
};
