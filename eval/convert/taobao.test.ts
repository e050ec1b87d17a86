import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSequentialDataset } from '../feed/sequential-data.ts';
import { convertTaobao, parseTaobao } from './taobao.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-taobao-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CSV = [
  '7,100,c1,pv,1511544070',
  '7,101,c2,buy,1511544000',
  '8,100,c9,cart,1511540000',
  '7,102,c1,fav,1511544070',
  '',
].join('\n');

describe('taobao converter', () => {
  it('maps behaviour types, sorts each user by time and keeps the first category', () => {
    const { interactions, items } = parseTaobao(CSV);
    expect(interactions).toEqual([
      { user: '7', item: '101', ts: 1511544000000, type: 'purchase' },
      { user: '7', item: '100', ts: 1511544070000, type: 'view' },
      { user: '7', item: '102', ts: 1511544070000, type: 'click' },
      { user: '8', item: '100', ts: 1511540000000, type: 'add_to_cart' },
    ]);
    expect(items).toEqual([
      { id: '100', category: 'c1' },
      { id: '101', category: 'c2' },
      { id: '102', category: 'c1' },
    ]);
  });

  it('rejects unknown behaviour types and bad rows with file:line', () => {
    expect(() => parseTaobao('1,2,3,like,100\n', 'u.csv')).toThrow('u.csv:1: unknown behavior_type "like"');
    expect(() => parseTaobao('1,2,3,pv,100\n1,2,3\n', 'u.csv')).toThrow('u.csv:2: expected 5');
  });

  it('writes typed interactions and an items.jsonl with categories', async () => {
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'UserBehavior.csv'), CSV);
    const summary = await convertTaobao({ source: join(dir, 'src'), out: join(dir, 'out') });
    expect(summary).toMatchObject({ interactions: 4, users: 2, items: 3, evaluable_users: 1 });
    const ds = await readSequentialDataset(join(dir, 'out'));
    expect(ds.typed).toBe(true);
    expect(ds.interactions.map((r) => r.type)).toEqual(['purchase', 'view', 'click', 'add_to_cart']);
    expect(ds.items.get('101')?.category).toBe('c2');
  });
});
