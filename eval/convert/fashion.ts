/**
 * Converter: fashion-product-images-sample (468 Kaggle "Fashion Product Images (Small)" rows:
 * styles.csv + images/<id>.jpg) → eval dataset directory.
 *
 *   npm run eval -- convert fashion --out .cache/eval/fashion [--source DIR] [--queries N --seed S]
 *
 * Products: id, title = productDisplayName, category = masterCategory/subCategory/articleType,
 * brand = the words of the name before the first gender word ("John Miller Men Dark Grey
 * Trousers" → "John Miller"; at most 3 words), else its first word; attributes = gender,
 * baseColour, season, usage (empty values left out); image = absolute path of images/<id>.jpg
 * when the file exists.
 *
 * WEAK LABELS. The data set has no relevance judgments. Queries and grades are derived from the
 * product attributes, not from people:
 *   - colour queries  "<baseColour> <articleType>"  (lowercased), e.g. "black casual shoes"
 *   - gender queries  "<gender> <articleType>"      (lowercased), e.g. "women kurtas"
 *   one query per label pair that occurs in the data. Grades per query:
 *     3 = same articleType AND same colour (resp. gender)   — "exact match of both labels"
 *     1 = same articleType only
 *     unjudged (→ 0) = any other product.
 * The labels are noisy (a "Navy Blue" shirt is not relevant to "blue shirts" here, a product
 * named "... Tshirt" may be typed "Tops"), and the words of the query usually appear in the
 * product title too, so this set favours lexical matching. Use it to compare configurations,
 * not as an absolute quality number.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EvalQuery, Qrels } from '../search/datasets.ts';
import { intOpt, requiredOpt, stringOpt, type Command } from '../kit/command.ts';
import type { ProductInput } from '../../core/catalog/product.ts';
import { SHARED_DATASETS_DIR, formatSummary, readCsv, writeConverted, type ConvertSummary } from './common.ts';

export const DEFAULT_FASHION_SOURCE = join(SHARED_DATASETS_DIR, 'fashion-product-images-sample');

const GENDER_WORD = /^(men|women|man|woman|mens|womens|boy|boys|girl|girls|unisex|kids(-\w+)?)('s)?$/i;

/** Brand guess from a display name: the words before the first gender word (≤ 3), else the first word. */
export function brandFromName(name: string): string | undefined {
  const words = name.split(/\s+/).filter((w) => w.length > 0);
  const at = words.findIndex((w) => GENDER_WORD.test(w));
  if (at >= 1 && at <= 3) return words.slice(0, at).join(' ');
  return words[0];
}

export interface FashionOptions {
  /** Directory holding styles.csv and images/. */
  source?: string;
  out: string;
  queries?: number;
  seed?: number;
}

interface Labelled {
  id: string;
  articleType: string;
  gender: string;
  baseColour: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function convertFashion(opts: FashionOptions): Promise<ConvertSummary> {
  const source = resolve(opts.source ?? DEFAULT_FASHION_SOURCE);
  const csvPath = join(source, 'styles.csv');
  const table = await readCsv(csvPath, [
    'id',
    'gender',
    'masterCategory',
    'subCategory',
    'articleType',
    'baseColour',
    'season',
    'usage',
    'productDisplayName',
  ]);
  const notes: string[] = [];
  const products: ProductInput[] = [];
  const labelled: Labelled[] = [];
  const seen = new Set<string>();
  let noName = 0;
  let noImage = 0;

  for (const r of table.rows) {
    const id = r.get('id');
    const where = `${csvPath} data row ${r.row}`;
    if (!/^\S+$/.test(id)) throw new Error(`${where}: bad id ${JSON.stringify(id)}`);
    if (seen.has(id)) throw new Error(`${where}: duplicate id ${id}`);
    seen.add(id);
    const title = r.get('productDisplayName').replace(/\s+/g, ' ').trim();
    if (title === '') {
      noName++;
      continue;
    }
    const category = [r.get('masterCategory'), r.get('subCategory'), r.get('articleType')]
      .filter((s) => s !== '')
      .join('/');
    const attributes: Record<string, string> = {};
    for (const key of ['gender', 'baseColour', 'season', 'usage']) {
      const v = r.get(key);
      if (v !== '') attributes[key] = v;
    }
    const product: ProductInput = { id, title };
    if (category) product.category = category;
    const brand = brandFromName(title);
    if (brand) product.brand = brand;
    if (Object.keys(attributes).length > 0) product.attributes = attributes;
    const image = join(source, 'images', `${id}.jpg`);
    if (await exists(image)) product.image = image;
    else noImage++;
    products.push(product);
    labelled.push({ id, articleType: r.get('articleType'), gender: r.get('gender'), baseColour: r.get('baseColour') });
  }
  if (noName > 0) notes.push(`${noName} rows without productDisplayName skipped`);
  if (noImage > 0) notes.push(`${noImage} products have no image file`);

  // One query per (label, articleType) pair present in the data.
  interface Draft {
    kind: 'colour' | 'gender';
    label: string;
    articleType: string;
    exact: number;
  }
  const drafts = new Map<string, Draft>();
  for (const p of labelled) {
    if (p.articleType === '') continue;
    for (const [kind, label] of [
      ['colour', p.baseColour],
      ['gender', p.gender],
    ] as const) {
      if (label === '') continue;
      const key = `${kind}\u0000${label}\u0000${p.articleType}`;
      const d = drafts.get(key);
      if (d) d.exact++;
      else drafts.set(key, { kind, label, articleType: p.articleType, exact: 1 });
    }
  }
  // Colour queries first, then gender; within a kind, the most populated first (so `--limit`
  // in the runner keeps the sturdiest queries), ties by text.
  const ordered = [...drafts.values()].sort(
    (a, b) =>
      (a.kind === b.kind ? 0 : a.kind === 'colour' ? -1 : 1) ||
      b.exact - a.exact ||
      `${a.label} ${a.articleType}`.localeCompare(`${b.label} ${b.articleType}`),
  );
  const byType = new Map<string, Labelled[]>();
  for (const p of labelled) {
    const list = byType.get(p.articleType);
    if (list) list.push(p);
    else byType.set(p.articleType, [p]);
  }
  const queries: EvalQuery[] = [];
  const qrels: Qrels = new Map();
  const seenText = new Set<string>();
  for (const d of ordered) {
    const text = `${d.label} ${d.articleType}`.toLowerCase();
    if (seenText.has(text)) continue;
    seenText.add(text);
    const id = `q${queries.length + 1}`;
    queries.push({ id, query: text });
    const judged = new Map<string, number>();
    for (const p of byType.get(d.articleType) ?? []) {
      const label = d.kind === 'colour' ? p.baseColour : p.gender;
      judged.set(p.id, label === d.label ? 3 : 1);
    }
    qrels.set(id, judged);
  }

  return writeConverted({
    out: opts.out,
    products,
    queries,
    qrels,
    sample: opts.queries !== undefined ? { queries: opts.queries, seed: opts.seed ?? 1 } : undefined,
    meta: {
      name: 'fashion-product-images-sample',
      source: csvPath,
      description: 'Kaggle Fashion Product Images (Small), 468-product sample with 60×80 thumbnails.',
      grades:
        'WEAK LABELS from attributes: queries "<baseColour> <articleType>" and "<gender> <articleType>"; grade 3 = same articleType and same colour/gender, 1 = same articleType only',
      weak_labels: true,
    },
    notes,
  });
}

export const fashionCommand: Command = {
  path: ['convert', 'fashion'],
  summary: 'Convert the fashion product sample (styles.csv + images/) into an eval dataset with weak labels.',
  options: {
    out: {
      type: 'string',
      value: 'DIR',
      help: 'output directory (products.jsonl, queries.tsv, qrels.tsv)',
      required: true,
    },
    source: {
      type: 'string',
      value: 'DIR',
      help: 'directory holding styles.csv and images/',
      exists: 'folder',
      default: '../shared/datasets/fashion-product-images-sample',
    },
    queries: { type: 'string', value: 'N', help: 'sample N queries', default: 'all' },
    seed: { type: 'string', value: 'S', help: 'seed of the query sample', default: '1' },
  },
  details:
    'Weak labels: "<colour> <articleType>" and "<gender> <articleType>" queries; grade 3 = both labels match, 1 = articleType only.',
  async run(values) {
    const summary = await convertFashion({
      out: requiredOpt(values, 'out'),
      source: stringOpt(values, 'source'),
      queries: intOpt(values, 'queries', 1),
      seed: intOpt(values, 'seed'),
    });
    console.log(formatSummary('fashion', summary));
  },
};
