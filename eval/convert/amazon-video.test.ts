import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSequentialDataset } from '../feed/sequential-data.ts';
import { SYNTHETIC_START_MS, SYNTHETIC_STEP_MS, convertAmazonVideo, parseSasrecSequences } from './amazon-video.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-amazon-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('amazon-video converter', () => {
  it('gives each user synthetic increasing timestamps in file order', () => {
    const rows = parseSasrecSequences('1 10\n1 11\n2 10\n1 12\n');
    expect(rows.map((r) => [r.user, r.item, (r.ts - SYNTHETIC_START_MS) / SYNTHETIC_STEP_MS])).toEqual([
      ['1', '10', 0],
      ['1', '11', 1],
      ['2', '10', 0],
      ['1', '12', 2],
    ]);
    expect(rows.every((r) => r.type === 'purchase')).toBe(true);
  });

  it('rejects a line that is not "user item"', () => {
    expect(() => parseSasrecSequences('1 10\n1 10 3\n', 'Video.txt')).toThrow('Video.txt:2');
  });

  it('writes interactions.tsv without type column or catalog', async () => {
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'Video.txt'), '1 5\n1 6\n1 7\n2 5\n2 6\n');
    const summary = await convertAmazonVideo({ source: join(dir, 'src'), out: join(dir, 'out') });
    expect(summary).toMatchObject({ interactions: 5, users: 2, items: 3, evaluable_users: 1 });
    const ds = await readSequentialDataset(join(dir, 'out'));
    expect(ds.typed).toBe(false);
    expect(ds.items.size).toBe(0);
    expect(ds.interactions.filter((r) => r.user === '1').map((r) => r.ts)).toEqual(
      [0, 1, 2].map((i) => SYNTHETIC_START_MS + i * SYNTHETIC_STEP_MS),
    );
    expect(ds.meta?.notes.join(' ')).toContain('synthetic');
  });
});
