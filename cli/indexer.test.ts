import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../src/config.ts';
import { EmbeddedBackend } from '../retrieval/index/embedded/embedded-backend.ts';
import { injectDrift } from '../test/helpers/backends.ts';
import { SAMPLE_PRODUCTS, tempDir, writeJsonl } from '../test/helpers/catalog.ts';

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'cli/indexer.ts'), ...args],
    {
      encoding: 'utf8',
      // Embedded unless a test names servers, whatever the calling shell exports.
      env: { ...process.env, SHELF_EMBEDDER: 'default', ELASTICSEARCH_URL: '', QDRANT_URL: '', ...env },
    },
  );

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

  it('--verify reports drift and repairs it (exit 0), --check-only only reports (exit 1)', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    expect(run(['--catalog', writeJsonl(path.join(dir, 'c.jsonl'), SAMPLE_PRODUCTS), '--data', data]).status).toBe(0);
    expect(run(['--verify', '--data', data]).stdout).toMatch(
      /text 8, vectors 8 \(missing 0, extra 0, mismatched 0\)\nconsistent/,
    );
    await injectDrift(new EmbeddedBackend(data), (w) => w.vectors.delete(['p4']));

    const check = run(['--verify', '--check-only', '--data', data]);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(/vectors 7 \(missing 1, extra 0, mismatched 0\)/);
    const fix = run(['--verify', '--data', data]);
    expect(fix.status).toBe(0);
    expect(fix.stdout).toMatch(/repaired 1; now text 8, vectors 8 \(missing 0, extra 0, mismatched 0\): consistent/);
    // Four CLI runs one after another: each starts tsx and the indexer, several seconds on a busy machine.
  }, 180_000);

  it('fails fast, naming each unreachable server, when ELASTICSEARCH_URL and QDRANT_URL do not answer', () => {
    const res = run(['--verify'], { ELASTICSEARCH_URL: 'http://127.0.0.1:1', QDRANT_URL: 'http://127.0.0.1:1' });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/unreachable: elasticsearch \(.+\); qdrant \(.+\)/);
    const half = run(['--verify'], { ELASTICSEARCH_URL: 'http://127.0.0.1:1', QDRANT_URL: '' });
    expect(half.status).toBe(1);
    expect(half.stderr).toMatch(/ELASTICSEARCH_URL is set but QDRANT_URL is not/);
  });

  it('rejects bad arguments with usage and exit 2', () => {
    const res = run(['--bogus']);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/usage: npm run index/);
    expect(run([]).status).toBe(2);
  });
});
