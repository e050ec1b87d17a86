import { describe, expect, it } from 'vitest';
import type { ServedEntry } from '../behavior/served-log.ts';
import { FEATURE_COUNT, FEATURE_SPEC_VERSION } from './features.ts';
import { joinTraining } from './training-data.ts';

const x = (v: number) => new Array<number>(FEATURE_COUNT).fill(v);
const entry = (rid: string, ids: string[], extra: Partial<ServedEntry> = {}): string =>
  JSON.stringify({
    request_id: rid,
    surface: 'search',
    ts: 1,
    subject: 'u:a',
    ranking: { mode: 'model', model_version: 'm1', feature_spec: FEATURE_SPEC_VERSION },
    items: ids.map((id, i) => ({ id, position: i, score: 1, fusion_position: i + 1, features: x(i) })),
    ...extra,
  } satisfies ServedEntry);
const ev = (type: string, rid: string, pid: string) =>
  JSON.stringify({ event_id: `${type}${rid}${pid}`, type, user_id: 'a', request_id: rid, product_id: pid, ts: 2 });

describe('training data: served log ⋈ events by request_id', () => {
  it('labels impressions with clicks and purchases and keeps the logged vectors', () => {
    const { rows, summary } = joinTraining(
      [entry('r1', ['a', 'b', 'c'])],
      [ev('impression', 'r1', 'a'), ev('impression', 'r1', 'b'), ev('click', 'r1', 'b'), ev('purchase', 'r1', 'b')],
    );
    // c was shown but no impression came for it (below the fold): not an example
    expect(rows.map((r) => [r.features[0], r.click, r.purchase, r.position, r.served_by])).toEqual([
      [0, 0, 0, 0, 'm1'],
      [1, 1, 1, 1, 'm1'],
    ]);
    expect(summary).toMatchObject({
      requests: 1,
      impressions: 2,
      clicks: 1,
      purchases: 1,
      skipped_requests: 0,
      unmatched_events: 0,
    });
  });

  it('a purchase implies a click; a request without impression events counts every shown item', () => {
    const { rows } = joinTraining([entry('r2', ['a', 'b'])], [ev('purchase', 'r2', 'a')]);
    expect(rows.map((r) => [r.click, r.purchase])).toEqual([
      [1, 1],
      [0, 0],
    ]);
  });

  it('skips responses without features or with another spec, and counts events of unknown requests', () => {
    const noFeatures = JSON.stringify({
      request_id: 'r3',
      surface: 'feed',
      ts: 1,
      items: [{ id: 'a', position: 0, score: 1 }],
    });
    const otherSpec = entry('r4', ['a'], { ranking: { mode: 'model', feature_spec: 'rank-features-v0' } });
    const { rows, summary } = joinTraining(
      [noFeatures, otherSpec, 'not json'],
      [ev('click', 'r3', 'a'), ev('click', 'zz', 'a')],
    );
    expect(rows).toEqual([]);
    expect(summary.skipped_requests).toBe(2);
    expect(summary.unmatched_events).toBe(1);
  });
});

describe('training data from the behaviour streams', () => {
  it('reads whole logs through the stream interface (what Kafka deployments use) and via the CLI from a data dir', async () => {
    const { SqliteEventLog } = await import('../behavior/embedded/sqlite-event-log.ts');
    const { tempDir } = await import('../test/helpers/catalog.ts');
    const { exportTrainingDataFrom, readWholeLog } = await import('./training-data.ts');
    const { main } = await import('../cli/eval.ts');
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const dataDir = tempDir();
    const served = new SqliteEventLog({ file: path.join(dataDir, 'behavior', 'served.sqlite'), pollMs: 10 });
    const events = new SqliteEventLog({ file: path.join(dataDir, 'behavior', 'events.sqlite'), pollMs: 10 });
    try {
      await served.appendRaw([{ value: entry('r1', ['a', 'b']) }, { value: entry('r2', ['c']) }]);
      await events.appendRaw([{ value: ev('click', 'r1', 'b') }, { value: ev('purchase', 'r2', 'c') }]);
      expect(await readWholeLog(served, { idleMs: 100 })).toHaveLength(2);
      const out = path.join(dataDir, 'train.jsonl');
      const s = await exportTrainingDataFrom({ served, events }, out, { idleMs: 100 });
      expect(s).toMatchObject({ requests: 2, impressions: 3, clicks: 2, purchases: 1 });
      expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(3);
    } finally {
      await served.close();
      await events.close();
    }
    const cliOut = path.join(dataDir, 'cli.jsonl');
    const lines: string[] = [];
    const code = await main(['ranking', 'export', '--data', dataDir, '--out', cliOut], undefined, {
      out: (t) => lines.push(t),
      err: (t) => lines.push(t),
    });
    expect(code, lines.join('\n')).toBe(0);
    expect(
      readFileSync(cliOut, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).click),
    ).toEqual([0, 1, 1]);
  });
});
