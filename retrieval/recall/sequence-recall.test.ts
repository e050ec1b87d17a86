import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import client from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/catalog.ts';
import { SequenceConfigSchema, SequenceRecall } from './sequence-recall.ts';

/** Two sequence models over the demo catalog (models/tiny/make_sequence_variants.py). */
const FIXTURES = new URL('../../test/fixtures/models/', import.meta.url).pathname;
const A = path.join(FIXTURES, 'sequence-a');
const B = path.join(FIXTURES, 'sequence-b');
const DEMO_IDS = new Set(
  readFileSync(new URL('../../data/demo/catalog.jsonl', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { id: string }).id),
);
const catalogHas = async (ids: readonly string[]) => new Set(ids.filter((id) => DEMO_IDS.has(id)));

const open: SequenceRecall[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!.close();
});

async function recall(input: Record<string, unknown>, has = catalogHas) {
  const log: string[] = [];
  const registry = new client.Registry();
  const s = await SequenceRecall.open(SequenceConfigSchema.parse({ refresh_ms: 0, ...input }), {
    catalogHas: has,
    registry,
    log: (l) => log.push(l),
  });
  open.push(s);
  return { s, log, registry };
}

const HISTORY = ['P0150', 'P0151', 'P0152'];
const ids = (hits: Array<{ id: string }>) => hits.map((h) => h.id);

describe('SequenceRecall with several deployed versions', () => {
  it('serves each version from its own item index, chosen per request', async () => {
    const { s, log } = await recall({ model_dir: A, extra_model_dirs: [B] });
    expect(s.status).toMatchObject({ active: true, model_version: 'sequence-fixture-a' });
    expect(s.versions).toEqual(['sequence-fixture-a', 'sequence-fixture-b']);
    expect(log.join('\n')).toMatch(/sequence: version sequence-fixture-b from .*sequence-b available/);

    const a = s.pick()!;
    const b = s.pick('sequence-fixture-b')!;
    expect(a.model_version).toBe('sequence-fixture-a');
    expect(b.model_version).toBe('sequence-fixture-b');
    expect(s.pick('sequence-fixture-a')!.model_version).toBe('sequence-fixture-a');
    const fromA = await a.source.recall(HISTORY, 10);
    const fromB = await b.source.recall(HISTORY, 10);
    expect(fromA).toHaveLength(10);
    expect(fromB).toHaveLength(10);
    for (const h of [...fromA, ...fromB]) expect(HISTORY).not.toContain(h.id);
    expect(ids(fromA)).not.toEqual(ids(fromB));
    // The default source is the followed version.
    expect(await s.recall(HISTORY, 10)).toEqual(fromA);

    const nearA = await a.source.neighbours('P0150', 5);
    const nearB = await b.source.neighbours('P0150', 5);
    expect(ids(nearA)).not.toContain('P0150');
    expect(ids(nearA)).not.toEqual(ids(nearB));
    expect(await s.neighbours('P0150', 5)).toEqual(nearA);
  });

  it('serves the default version from `model_version`, and the followed one (saying so) for a version not deployed', async () => {
    const { s } = await recall({ model_dir: A, extra_model_dirs: [B], model_version: 'sequence-fixture-b' });
    expect(s.pick()!.model_version).toBe('sequence-fixture-b');
    expect(await s.recall(HISTORY, 5)).toEqual(await s.pick('sequence-fixture-b')!.source.recall(HISTORY, 5));
    const gone = s.pick('sequence-v0')!;
    expect(gone).toMatchObject({
      model_version: 'sequence-fixture-a',
      reason: 'sequence model version sequence-v0 is not deployed; served by sequence-fixture-a',
    });
  });

  it('refuses an extra version whose items are not in the catalog; nothing serves without a model', async () => {
    // sequence-b renumbered: another shop's ids, files and metadata consistent.
    const foreign = path.join(tempDir('shelf-seq-foreign-'), 'model');
    cpSync(B, foreign, { recursive: true });
    const items = (JSON.parse(readFileSync(path.join(foreign, 'items.json'), 'utf8')) as string[]).map(
      (id) => `X${id}`,
    );
    const bytes = JSON.stringify(items) + '\n';
    writeFileSync(path.join(foreign, 'items.json'), bytes);
    const meta = JSON.parse(readFileSync(path.join(foreign, 'metadata.json'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    meta.version = 'sequence-foreign';
    meta.files['items.json'] = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(path.join(foreign, 'metadata.json'), JSON.stringify(meta));

    const { s, log, registry } = await recall({ model_dir: A, extra_model_dirs: [foreign] });
    expect(s.versions).toEqual(['sequence-fixture-a']);
    expect(log.join('\n')).toMatch(
      /extra model folder .*: model sequence-foreign: only 0\.0% of its items are in the catalog/,
    );
    expect(await registry.metrics()).toMatch(/shelf_sequence_model_refused_total\{reason="catalog_mismatch"\} 1/);

    const none = await recall({});
    expect(none.s.status).toEqual({ active: false, reason: 'no sequence model configured' });
    expect(none.s.pick()).toBeUndefined();
    expect(none.s.pick('sequence-fixture-a')).toBeUndefined();
    expect(await none.s.recall(HISTORY, 5)).toEqual([]);
  });
});
