import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../src/config.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../test/helpers/catalog.ts';

const run = (args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'indexer/cli.ts'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, SHELF_EMBEDDER: 'default' },
  });

describe('npm run index', () => {
  it('indexes, reports bad rows by line, is a no-op on rerun, and --strict fails with exit 1', () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const catalog = writeJsonl(path.join(dir, 'c.jsonl'), [...SAMPLE_PRODUCTS, { id: 'x' }]);
    const first = run(['--catalog', catalog, '--data', data]);
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/line 9 \(id x\): title/);
    expect(first.stdout).toMatch(/indexed 8, unchanged 0, skipped 1, deleted 0/);
    // Not a terminal: progress comes as plain lines, ending at 100%.
    expect(first.stderr).toMatch(/^embed: 8\/8 \(100%\)$/m);

    const again = run(['--catalog', catalog, '--data', data, '--json']);
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ indexed: 0, unchanged: 8, skipped: 1 });

    const strict = run(['--catalog', catalog, '--data', path.join(dir, 'strict'), '--strict']);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/--strict: 1 bad row/);
  });

  it('rejects bad arguments with usage and exit 2', () => {
    const res = run(['--bogus']);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/usage: npm run index/);
    expect(run([]).status).toBe(2);
  });
});
