import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readDataset } from '../search/datasets.ts';
import { convertHomeDepot, relevanceToGrade } from './home-depot.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-eval-convert-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const qrelsOf = (ds: Awaited<ReturnType<typeof readDataset>>) =>
  Object.fromEntries([...ds.qrels].map(([q, m]) => [q, Object.fromEntries(m)]));

describe('home-depot converter', () => {
  it('maps mean relevance 1..3 to grades 0..3 with round((r − 1) × 1.5)', () => {
    const table: Array<[number, number]> = [
      [1, 0],
      [1.25, 0],
      [1.33, 0],
      [1.5, 1],
      [1.67, 1],
      [1.75, 1],
      [2, 2],
      [2.25, 2],
      [2.33, 2],
      [2.5, 2],
      [2.67, 3],
      [2.75, 3],
      [3, 3],
    ];
    for (const [rel, grade] of table) expect([rel, relevanceToGrade(rel)]).toEqual([rel, grade]);
    expect(relevanceToGrade(0)).toBe(0);
    expect(relevanceToGrade(4)).toBe(3);
  });

  const csv = [
    'id,product_uid,product_title,search_term,relevance',
    '1,100001,Simpson Strong-Tie 12-Gauge Angle,l bracket,2.5',
    '2,100002,"BEHR Premium, Textured DeckOver",deck over,3',
    '3,100003,Some Faucet,deck over,1',
    '4,100001,Simpson Strong-Tie 12-Gauge Angle,angle  bracket,1.33',
    '5,100004,Other Title,l bracket,2.67',
    '6,100004,Other Title Variant,rain shower,1.67',
    '',
  ].join('\n');

  it('builds corpus, queries and qrels', async () => {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'train.csv'), csv);
    const out = join(dir, 'out');
    const summary = await convertHomeDepot({ source: src, out });
    expect(summary).toMatchObject({ products: 4, queries: 4, qrels: 6, evaluable_queries: 3 });
    expect(summary.notes.join('\n')).toMatch(/1 rows repeat a product_uid with a different title/);

    const ds = await readDataset(out);
    expect(ds.products.map((p) => [p.id, p.title])).toEqual([
      ['100001', 'Simpson Strong-Tie 12-Gauge Angle'],
      ['100002', 'BEHR Premium, Textured DeckOver'],
      ['100003', 'Some Faucet'],
      ['100004', 'Other Title'],
    ]);
    expect(ds.queries).toEqual([
      { id: 'q1', query: 'l bracket' },
      { id: 'q2', query: 'deck over' },
      { id: 'q3', query: 'angle bracket' },
      { id: 'q4', query: 'rain shower' },
    ]);
    expect(qrelsOf(ds)).toEqual({
      q1: { '100001': 2, '100004': 3 },
      q2: { '100002': 3, '100003': 0 },
      q3: { '100001': 0 },
      q4: { '100004': 1 },
    });
    expect(ds.meta?.name).toBe('home-depot-search');
    expect(ds.meta?.weak_labels).toBe(false);
    expect(ds.warnings).toEqual([]);
  });

  it('samples queries with a relevant product, keeps ids and every product', async () => {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'train.csv'), csv);
    const a = await convertHomeDepot({ source: src, out: join(dir, 'a'), queries: 2, seed: 9 });
    const b = await convertHomeDepot({ source: src, out: join(dir, 'b'), queries: 2, seed: 9 });
    expect(a).toMatchObject({ products: 4, queries: 2, evaluable_queries: 2 });
    const dsA = await readDataset(join(dir, 'a'));
    const dsB = await readDataset(join(dir, 'b'));
    expect(dsA.queries).toEqual(dsB.queries);
    for (const q of dsA.queries) expect(['q1', 'q2', 'q4']).toContain(q.id);
    expect(dsA.products).toHaveLength(4);
    expect(b.notes.join('\n')).toMatch(/sampled 2 of 4 queries \(seed 9\)/);
  });

  it('reports the row of a bad relevance and missing columns', async () => {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(
      join(src, 'train.csv'),
      'id,product_uid,product_title,search_term,relevance\n1,100001,A,a,3\n2,100002,B,b,high\n',
    );
    await expect(convertHomeDepot({ source: src, out: join(dir, 'o') })).rejects.toThrow(
      /train\.csv data row 2: relevance "high"/,
    );
    await writeFile(join(src, 'train.csv'), 'id,product_uid,search_term\n1,100001,a\n');
    await expect(convertHomeDepot({ source: src, out: join(dir, 'o') })).rejects.toThrow(
      /missing column\(s\) product_title, relevance/,
    );
  });
});
