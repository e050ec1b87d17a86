import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/eval.ts';
import { readSequentialDataset } from '../feed/sequential-data.ts';
import { leaveLastOut } from '../feed/protocol.ts';
import { parseUserSequences } from './amazon-beauty-sports.ts';
import { SYNTHETIC_START_MS, SYNTHETIC_STEP_MS } from './amazon-video.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-beauty-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('amazon-beauty-sports converter', () => {
  it('turns one line per user into time-ordered interactions', () => {
    const rows = parseUserSequences('1 10 11 12\n2 11 10\n', 'Beauty.txt');
    expect(rows.map((r) => [r.user, r.item, (r.ts - SYNTHETIC_START_MS) / SYNTHETIC_STEP_MS])).toEqual([
      ['1', '10', 0],
      ['1', '11', 1],
      ['1', '12', 2],
      ['2', '11', 0],
      ['2', '10', 1],
    ]);
  });

  it('rejects a user without items and a user on two lines', () => {
    expect(() => parseUserSequences('1 10 11\n2\n', 'Beauty.txt')).toThrow('Beauty.txt:2');
    expect(() => parseUserSequences('1 10 11\n1 12\n', 'Beauty.txt')).toThrow('second line');
  });

  it('writes one dataset per domain from a slice of the files, as the feed eval reads it', async () => {
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'Beauty.txt'), '1 1 2 3 4\n2 2 3 5\n3 4 1\n');
    await writeFile(join(dir, 'src', 'Sports_and_Outdoors.txt'), '1 7 8 9\n2 9 8 7 6 5\n');
    const out: string[] = [];
    const code = await main(
      ['convert', 'amazon-beauty-sports', '--source', join(dir, 'src'), '--out', join(dir, 'out')],
      undefined,
      { out: (t) => out.push(t), err: (t) => out.push(t) },
    );
    expect(code, out.join('\n')).toBe(0);
    const beauty = await readSequentialDataset(join(dir, 'out', 'beauty'));
    expect(beauty.meta?.counts).toEqual({ interactions: 9, users: 3, items: 5 });
    expect(beauty.meta?.name).toBe('amazon-beauty');
    const split = leaveLastOut(beauty.interactions);
    // users 1 and 2 are evaluable; their last item is the test target, the one before validation
    expect(split.users.map((u) => [u.user, u.valid.item, u.test.item])).toEqual([
      ['1', '3', '4'],
      ['2', '3', '5'],
    ]);
    const sports = await readSequentialDataset(join(dir, 'out', 'sports'));
    expect(sports.interactions.filter((r) => r.user === '2').map((r) => r.item)).toEqual(['9', '8', '7', '6', '5']);
    expect(sports.typed).toBe(false);
  });
});
