import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/catalog.ts';
import { ROOT } from '../../src/config.ts';
import { filterKey } from '../../retrieval/index/stores.ts';
import { buildWorld, loadCatalogProducts } from './world.ts';
import { mulberry32 } from '../../core/rng.ts';
import { nextKinds, simulateSequences, writeSequences } from './sequences.ts';

const CATALOG = path.join(ROOT, 'data/demo/catalog.jsonl');

describe('simulated browsing sequences (the shipped sequence model is trained on them)', () => {
  it('is seeded: the same options give the same rows', () => {
    const a = simulateSequences({ catalog: CATALOG, users: 30, seed: 3 });
    expect(simulateSequences({ catalog: CATALOG, users: 30, seed: 3 })).toEqual(a);
    expect(simulateSequences({ catalog: CATALOG, users: 30, seed: 4 })).not.toEqual(a);
  });

  it('has a next-item structure: most steps stay in the kind or go on to its seeded next kind', () => {
    const rows = simulateSequences({ catalog: CATALOG, users: 200, seed: 11 });
    const products = loadCatalogProducts(CATALOG);
    const leaf = new Map(products.map((p) => [p.id, p.category ? filterKey(p.category) : '']));
    const next = nextKinds(buildWorld(products, 200, 11), mulberry32(12));
    let steps = 0;
    let same = 0;
    let onward = 0;
    for (let i = 1; i < rows.length; i++) {
      if (rows[i]![0] !== rows[i - 1]![0]) continue;
      const [a, b] = [leaf.get(rows[i - 1]![1])!, leaf.get(rows[i]![1])!];
      steps++;
      if (a === b) same++;
      else if (next.get(a) === b) onward++;
    }
    // 45% same kind and 35% next kind by construction, less where a kind runs out of unseen products.
    expect(same / steps).toBeGreaterThan(0.25);
    expect(onward / steps).toBeGreaterThan(0.2);
    // Every shopper browses without repeats, in time order.
    const byUser = new Map<string, Array<[string, string, number]>>();
    for (const r of rows) byUser.set(r[0], [...(byUser.get(r[0]) ?? []), r]);
    for (const list of byUser.values()) {
      expect(new Set(list.map((r) => r[1])).size).toBe(list.length);
      for (let i = 1; i < list.length; i++) expect(list[i]![2]).toBeGreaterThan(list[i - 1]![2]);
    }
  });

  it('writes interactions.tsv as the feed eval and the trainer read it', async () => {
    const out = tempDir('shelf-demo-seq-');
    const r = await writeSequences({ out, catalog: CATALOG, users: 10, seed: 1 });
    const lines = readFileSync(path.join(out, 'interactions.tsv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('user_id\titem_id\ttimestamp');
    expect(lines).toHaveLength(r.rows + 1);
    expect(lines[1]!.split('\t')).toHaveLength(3);
  });
});
