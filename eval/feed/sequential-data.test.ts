import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatInteractions,
  parseCatalog,
  parseInteractions,
  readSequentialDataset,
  writeSequentialDataset,
} from './sequential-data.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-seq-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sequential dataset files', () => {
  it('reads interactions with or without header and type, defaulting to purchase', () => {
    const plain = parseInteractions('u1\ti1\t10\nu1\ti2\t20\n');
    expect(plain.typed).toBe(false);
    expect(plain.interactions).toEqual([
      { user: 'u1', item: 'i1', ts: 10, type: 'purchase' },
      { user: 'u1', item: 'i2', ts: 20, type: 'purchase' },
    ]);
    const typed = parseInteractions('user_id\titem_id\ttimestamp\ttype\nu\ti\t5\tview\r\n');
    expect(typed.typed).toBe(true);
    expect(typed.interactions).toEqual([{ user: 'u', item: 'i', ts: 5, type: 'view' }]);
  });

  it('names file and line of a malformed row', () => {
    expect(() => parseInteractions('u\ti\t1\nu\ti\n', 'x.tsv')).toThrow('x.tsv:2: expected 3 or 4');
    expect(() => parseInteractions('u\ti\t1.5\n', 'x.tsv')).toThrow('x.tsv:1: timestamp');
    expect(() => parseInteractions('u\ti\t1\tfav\n', 'x.tsv')).toThrow('unknown type "fav"');
    expect(() => parseCatalog('{"title":"x"}\n', 'c.jsonl')).toThrow('c.jsonl:1: needs a string "id"');
  });

  it('round-trips through the directory', async () => {
    const interactions = [
      { user: 'a', item: 'x', ts: 1, type: 'view' as const },
      { user: 'a', item: 'y', ts: 2, type: 'purchase' as const },
    ];
    await writeSequentialDataset(dir, {
      interactions,
      typed: true,
      items: [{ id: 'x', category: 'c' }],
      meta: { name: 'n', source: 's', description: 'd', notes: [] },
    });
    const ds = await readSequentialDataset(dir);
    expect(ds.interactions).toEqual(interactions);
    expect(ds.typed).toBe(true);
    expect(ds.items.get('x')).toEqual({ id: 'x', category: 'c' });
    expect(ds.meta?.name).toBe('n');
    expect(formatInteractions(interactions, false).split('\n')[1]).toBe('a\tx\t1');
  });

  it('works without items.jsonl and rejects an empty file', async () => {
    await writeFile(join(dir, 'interactions.tsv'), 'u\ti\t1\n');
    expect((await readSequentialDataset(dir)).items.size).toBe(0);
    await writeFile(join(dir, 'interactions.tsv'), 'user_id\titem_id\ttimestamp\n');
    await expect(readSequentialDataset(dir)).rejects.toThrow('no interactions');
  });
});
