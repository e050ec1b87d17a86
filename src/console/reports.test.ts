import { mkdirSync, writeFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/catalog.ts';
import { indexRunOf, readIndexRuns, recordIndexRun } from '../../indexer/run-log.ts';
import { listReportFiles, readReportFile } from './reports.ts';

describe("the console's offline report files", () => {
  it('lists the HTML files under the folder, newest first, and reads only those', async () => {
    const dir = tempDir('shelf-console-files-');
    mkdirSync(path.join(dir, 'search', 'deep', 'deeper', 'deepest'), { recursive: true });
    writeFileSync(path.join(dir, 'feed.html'), '<h1>feed</h1>');
    writeFileSync(path.join(dir, 'search', 'search.html'), '<h1>search</h1>');
    writeFileSync(path.join(dir, 'search', 'search.json'), '{}');
    writeFileSync(path.join(dir, 'search', 'deep', 'deeper', 'deepest', 'too-deep.html'), 'x');
    utimesSync(path.join(dir, 'feed.html'), new Date(1_000_000), new Date(1_000_000));
    const files = await listReportFiles(dir);
    expect(files.map((f) => f.name)).toEqual(['search/search.html', 'feed.html']);
    expect(await readReportFile(dir, 'search/search.html')).toBe('<h1>search</h1>');
    expect(await readReportFile(dir, 'search/search.json')).toBeUndefined();
    expect(await readReportFile(dir, '../feed.html')).toBeUndefined();
    expect(await readReportFile(dir, path.join(dir, 'feed.html'))).toBeUndefined();
    expect(await listReportFiles(path.join(dir, 'missing'))).toEqual([]);
  });
});

describe("the indexer's run log", () => {
  it('keeps the newest runs, newest first, and skips a line a crash cut', () => {
    const dir = tempDir('shelf-index-runs-');
    const summary = {
      indexed: 3,
      unchanged: 1,
      skipped: 0,
      deleted: 0,
      embedded: 3,
      errors: [],
      imageFailures: [],
      generation: 'gen-000001',
      writeFailures: [],
      took_ms: 12.4,
    };
    for (let i = 0; i < 120; i++) recordIndexRun(dir, indexRunOf('catalog', '/data/shop/catalog.jsonl', summary, i));
    writeFileSync(path.join(dir, 'index-runs.jsonl'), '{"at": 999, "kind', { flag: 'a' });
    const runs = readIndexRuns(dir, 5);
    expect(runs.map((r) => r.at)).toEqual([119, 118, 117, 116, 115]);
    expect(runs[0]).toMatchObject({ kind: 'catalog', source: 'catalog.jsonl', generation: 'gen-000001', took_ms: 12 });
    expect(readIndexRuns(dir, 1000).length).toBeLessThanOrEqual(100);
    expect(readIndexRuns(tempDir('shelf-index-runs-none-'))).toEqual([]);
  });
});
