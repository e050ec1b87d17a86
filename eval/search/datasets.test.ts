import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DatasetFormatError,
  countQrels,
  readDataset,
  readProducts,
  readQrels,
  readQueries,
  writeDataset,
  writeQrels,
  writeQueries,
  type Qrels,
} from './datasets.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-eval-ds-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('queries.tsv', () => {
  it('reads id<TAB>query, skipping blank lines, CRLF and a header', async () => {
    const path = await file('q.tsv', 'query_id\tquery\r\nq1\tdeck over\r\n\r\nq2\t  l bracket \r\n');
    expect(await readQueries(path)).toEqual([
      { id: 'q1', query: 'deck over' },
      { id: 'q2', query: 'l bracket' },
    ]);
  });

  it('names file and line of a line without a tab', async () => {
    const path = await file('q.tsv', 'q1\tok\nq2 no tab here\n');
    await expect(readQueries(path)).rejects.toThrow(/q\.tsv:2: .*no tab/);
    await expect(readQueries(path)).rejects.toBeInstanceOf(DatasetFormatError);
  });

  it('rejects duplicate ids and empty text', async () => {
    await expect(readQueries(await file('a.tsv', 'q1\ta\nq1\tb\n'))).rejects.toThrow(
      /a\.tsv:2: duplicate query id "q1"/,
    );
    await expect(readQueries(await file('b.tsv', 'q1\t \n'))).rejects.toThrow(/b\.tsv:1: query q1 has empty text/);
  });

  it('round-trips, flattening tabs and newlines in query text', async () => {
    const path = join(dir, 'out.tsv');
    await writeQueries(path, [
      { id: 'q1', query: 'red\tshoes' },
      { id: 'q2', query: 'blue\nshirt ' },
    ]);
    expect(await readFile(path, 'utf8')).toBe('q1\tred shoes\nq2\tblue shirt\n');
    expect(await readQueries(path)).toEqual([
      { id: 'q1', query: 'red shoes' },
      { id: 'q2', query: 'blue shirt' },
    ]);
  });

  it('refuses to write an id with whitespace', async () => {
    await expect(writeQueries(join(dir, 'x.tsv'), [{ id: 'q 1', query: 'a' }])).rejects.toThrow(/whitespace/);
  });
});

describe('qrels.tsv', () => {
  it('reads TREC qrels with spaces or tabs', async () => {
    const path = await file('qrels.tsv', 'q1 0 p1 3\nq1\t0\tp2\t0\n\nq2 0 p1 1\n');
    const qrels = await readQrels(path);
    expect([...qrels.keys()]).toEqual(['q1', 'q2']);
    expect([...qrels.get('q1')!]).toEqual([
      ['p1', 3],
      ['p2', 0],
    ]);
    expect(countQrels(qrels)).toBe(3);
  });

  it.each([
    ['q1 0 p1\n', /:1: expected 4 fields .* found 3/],
    ['q1 0 p1 2.5\n', /:1: grade "2.5" is not an integer/],
    ['q1 0 p1 high\n', /:1: grade "high" is not an integer/],
    ['q1 0 p1 4\n', /:1: grade 4 is outside 0..3/],
    ['q1 0 p1 -1\n', /:1: grade -1 is outside 0..3/],
    ['q1 0 p1 1\nq1 0 p1 2\n', /:2: query q1 judges product p1 twice with different grades \(1, 2\)/],
  ])('rejects %j', async (text, error) => {
    await expect(readQrels(await file('bad.tsv', text))).rejects.toThrow(error);
  });

  it('accepts an exact duplicate line', async () => {
    const qrels = await readQrels(await file('dup.tsv', 'q1 0 p1 2\nq1 0 p1 2\n'));
    expect(qrels.get('q1')?.get('p1')).toBe(2);
  });

  it('round-trips', async () => {
    const qrels: Qrels = new Map([
      [
        'q1',
        new Map([
          ['p1', 3],
          ['p2', 1],
        ]),
      ],
      ['q2', new Map([['p3', 0]])],
    ]);
    const path = join(dir, 'qrels.tsv');
    await writeQrels(path, qrels);
    expect(await readFile(path, 'utf8')).toBe('q1 0 p1 3\nq1 0 p2 1\nq2 0 p3 0\n');
    expect(await readQrels(path)).toEqual(qrels);
  });

  it('refuses to write bad grades or ids', async () => {
    await expect(writeQrels(join(dir, 'a'), new Map([['q1', new Map([['p1', 5]])]]))).rejects.toThrow(/outside 0..3/);
    await expect(writeQrels(join(dir, 'b'), new Map([['q1', new Map([['p 1', 1]])]]))).rejects.toThrow(/whitespace/);
  });
});

describe('products.jsonl', () => {
  it('validates with the catalog schema', async () => {
    const path = await file(
      'p.jsonl',
      '{"id": 7, "title": "Drill", "category": " Tools / Power "}\n\n{"id":"8","title":"Saw","stock":0}\n',
    );
    const products = await readProducts(path);
    expect(products).toEqual([
      { id: '7', title: 'Drill', category: 'Tools/Power', in_stock: true },
      { id: '8', title: 'Saw', stock: 0, in_stock: false },
    ]);
  });

  it('names file and line of bad JSON, a schema error or a duplicate id', async () => {
    await expect(readProducts(await file('a.jsonl', '{"id":"1","title":"a"}\n{oops\n'))).rejects.toThrow(
      /a\.jsonl:2: not valid JSON/,
    );
    await expect(readProducts(await file('b.jsonl', '{"id":"1"}\n'))).rejects.toThrow(/b\.jsonl:1: title/);
    await expect(
      readProducts(await file('c.jsonl', '{"id":"1","title":"a"}\n{"id":"1","title":"b"}\n')),
    ).rejects.toThrow(/c\.jsonl:2: duplicate product id "1"/);
  });
});

describe('dataset directory', () => {
  it('writes and reads back all files, with warnings for loose ends', async () => {
    await writeDataset(dir, {
      products: [
        { id: 'p1', title: 'Red shoe' },
        { id: 'p2', title: 'Blue shirt' },
      ],
      queries: [
        { id: 'q1', query: 'red shoe' },
        { id: 'q2', query: 'unjudged' },
      ],
      qrels: new Map([
        [
          'q1',
          new Map([
            ['p1', 3],
            ['p9', 1],
          ]),
        ],
        ['q7', new Map([['p2', 2]])],
      ]),
      meta: { name: 'tiny', grades: 'by hand' },
    });
    const ds = await readDataset(dir);
    expect(ds.products.map((p) => p.id)).toEqual(['p1', 'p2']);
    expect(ds.queries).toHaveLength(2);
    expect(ds.qrels.get('q1')?.get('p1')).toBe(3);
    expect(ds.meta?.name).toBe('tiny');
    expect(ds.productsPath).toBe(join(dir, 'products.jsonl'));
    expect(ds.warnings.join('\n')).toMatch(/1 query ids in qrels are not in queries.tsv.*q7/);
    expect(ds.warnings.join('\n')).toMatch(/1 qrels point at products missing/);
    expect(ds.warnings.join('\n')).toMatch(/1 queries have no qrels/);
  });

  it('says which file is missing', async () => {
    await expect(readDataset(dir)).rejects.toThrow(/catalog not found: .*products\.jsonl/);
  });
});
