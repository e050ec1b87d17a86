/**
 * Converter: Home Depot Product Search Relevance (Kaggle 2016, development split in
 * ../shared/datasets/home-depot-search/train.csv) → eval dataset directory.
 *
 *   npm run eval -- convert home-depot --out .cache/eval/home-depot [--source DIR] [--queries N --seed S]
 *
 * Input columns: id, product_uid, product_title, search_term, relevance.
 * - Corpus: every distinct product_uid, title = product_title (titles only: the dataset has no
 *   descriptions or attributes). A uid seen with two titles keeps the first (reported as a note).
 *   The corpus always holds all products, also when queries are sampled, so distractors stay.
 * - Queries: every distinct search_term (whitespace collapsed, case kept), ids q1, q2, … in
 *   order of first appearance in the file. Ids do not change with sampling.
 * - Qrels: `relevance` is the mean of ≥ 3 human ratings on 1..3 (steps of 1/3, rounded to two
 *   decimals in the file, a few 0.25 steps). Our graded scale is 0..3 and nDCG uses gain
 *   2^grade − 1, so:
 *
 *       grade = clip(Math.round((relevance − 1) × 1.5), 0, 3)
 *
 *       relevance  1    1.25  1.33  1.5  1.67  1.75  2    2.25  2.33  2.5  2.67  2.75  3
 *       grade      0    0     0     1    1     1     2    2     2     2    3     3     3
 *
 *   (1.33 is stored as 1.33, not 4/3, so 0.33 × 1.5 = 0.495 rounds to 0.) Relevance 1 and 1.33
 *   are "not relevant" (grade 0) for recall@100 and MRR. Note that the dataset README suggests the
 *   linear gain `relevance − 1` (0..2); our nDCG uses the exponential gain of the mapped grade
 *   instead, so our nDCG numbers are not directly comparable with numbers computed that way.
 *   The TREC qrels format has 4 columns, so the raw relevance is not kept; the mapping above is
 *   the only transformation. A (query, product) pair listed twice gets the mean relevance.
 * - Sampling: `--queries N` picks N queries (seeded, `--seed`, default 1) among those with at
 *   least one product of grade > 0, because queries without one cannot be scored.
 */
import { join, resolve } from 'node:path';
import type { EvalQuery, Qrels } from '../search/datasets.ts';
import { intOpt, requiredOpt, stringOpt, type Command } from '../kit/command.ts';
import { SHARED_DATASETS_DIR, formatSummary, readCsv, writeConverted, type ConvertSummary } from './common.ts';

export const DEFAULT_HOME_DEPOT_SOURCE = join(SHARED_DATASETS_DIR, 'home-depot-search');

/** Mean human relevance 1..3 → graded relevance 0..3 (see the file header). */
export function relevanceToGrade(relevance: number): number {
  return Math.min(3, Math.max(0, Math.round((relevance - 1) * 1.5)));
}

export interface HomeDepotOptions {
  /** Directory holding train.csv. */
  source?: string;
  out: string;
  /** Sample this many queries (default: all). */
  queries?: number;
  seed?: number;
}

export async function convertHomeDepot(opts: HomeDepotOptions): Promise<ConvertSummary> {
  const source = resolve(opts.source ?? DEFAULT_HOME_DEPOT_SOURCE);
  const csvPath = join(source, 'train.csv');
  const table = await readCsv(csvPath, ['product_uid', 'product_title', 'search_term', 'relevance']);
  const notes: string[] = [];

  const titles = new Map<string, string>();
  let titleConflicts = 0;
  const queryIdByText = new Map<string, string>();
  const queries: EvalQuery[] = [];
  // query id → product id → relevance values (a pair may occur twice)
  const judgments = new Map<string, Map<string, number[]>>();

  for (const r of table.rows) {
    const where = `${csvPath} data row ${r.row}`;
    const uid = r.get('product_uid');
    const title = r.get('product_title').replace(/\s+/g, ' ').trim();
    const term = r.get('search_term').replace(/\s+/g, ' ').trim();
    const relText = r.get('relevance');
    if (!/^\d+$/.test(uid)) throw new Error(`${where}: product_uid ${JSON.stringify(uid)} is not a number`);
    const relevance = Number(relText);
    if (relText === '' || !Number.isFinite(relevance) || relevance < 1 || relevance > 3) {
      throw new Error(`${where}: relevance ${JSON.stringify(relText)} is not a number in 1..3`);
    }
    if (title === '') throw new Error(`${where}: empty product_title`);
    const known = titles.get(uid);
    if (known === undefined) titles.set(uid, title);
    else if (known !== title) titleConflicts++;
    if (term === '') {
      notes.push(`${where}: empty search_term skipped`);
      continue;
    }
    let qid = queryIdByText.get(term);
    if (qid === undefined) {
      qid = `q${queries.length + 1}`;
      queryIdByText.set(term, qid);
      queries.push({ id: qid, query: term });
    }
    let byProduct = judgments.get(qid);
    if (!byProduct) judgments.set(qid, (byProduct = new Map()));
    const values = byProduct.get(uid);
    if (values) values.push(relevance);
    else byProduct.set(uid, [relevance]);
  }
  if (titleConflicts > 0)
    notes.push(`${titleConflicts} rows repeat a product_uid with a different title; the first title was kept`);

  const qrels: Qrels = new Map();
  let duplicatePairs = 0;
  for (const [qid, byProduct] of judgments) {
    const graded = new Map<string, number>();
    for (const [uid, values] of byProduct) {
      if (values.length > 1) duplicatePairs++;
      graded.set(uid, relevanceToGrade(values.reduce((a, b) => a + b, 0) / values.length));
    }
    qrels.set(qid, graded);
  }
  if (duplicatePairs > 0)
    notes.push(`${duplicatePairs} (query, product) pairs occurred more than once; their mean relevance was used`);

  const products = [...titles].map(([id, title]) => ({ id, title }));
  return writeConverted({
    out: opts.out,
    products,
    queries,
    qrels,
    sample: opts.queries !== undefined ? { queries: opts.queries, seed: opts.seed ?? 1 } : undefined,
    meta: {
      name: 'home-depot-search',
      source: csvPath,
      description:
        'Home Depot Product Search Relevance (Kaggle 2016), development split. Human relevance judgments; product titles only.',
      grades:
        'grade = clip(round((mean human relevance − 1) × 1.5), 0, 3): relevance 1–1.33 → 0, 1.5–1.75 → 1, 2–2.5 → 2, 2.67–3 → 3',
      weak_labels: false,
    },
    notes,
  });
}

export const homeDepotCommand: Command = {
  path: ['convert', 'home-depot'],
  summary: 'Convert the Home Depot search relevance data (train.csv) into an eval dataset directory.',
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
      help: 'directory holding train.csv',
      exists: 'folder',
      default: '../shared/datasets/home-depot-search',
    },
    queries: {
      type: 'string',
      value: 'N',
      help: 'sample N queries with at least one relevant product',
      default: 'all',
    },
    seed: { type: 'string', value: 'S', help: 'seed of the query sample', default: '1' },
  },
  details: 'Grades: clip(round((relevance − 1) × 1.5), 0, 3). The corpus always holds every product.',
  async run(values) {
    const summary = await convertHomeDepot({
      out: requiredOpt(values, 'out'),
      source: stringOpt(values, 'source'),
      queries: intOpt(values, 'queries', 1),
      seed: intOpt(values, 'seed'),
    });
    console.log(formatSummary('home-depot', summary));
  },
};
