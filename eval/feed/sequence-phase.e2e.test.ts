/**
 * `npm run eval -- feed --sequence train`: the learned sequence route trained inside each phase on
 * what that phase may see. Checked on the files the trainer was actually given and on the item
 * table of the model it wrote: the validation phase's model never saw a validation or test item,
 * the test phase's saw the validation items and no test item.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/eval.ts';
import { mulberry32 } from '../../core/rng.ts';
import { parseInteractions, writeSequentialDataset, type Interaction } from './sequential-data.ts';
import type { FeedJson } from './feed-json.ts';

let hasTorch = true;
try {
  execFileSync('/usr/bin/python3', ['-c', 'import torch, onnx, numpy'], { stdio: 'ignore' });
} catch {
  hasTorch = false;
}

const T0 = 1_600_000_000_000;
const HOUR = 3_600_000;

/** Users walking along 4 chains of 10 items, plus one user whose last two items nobody else has. */
function data(): Interaction[] {
  const rng = mulberry32(5);
  const rows: Interaction[] = [];
  for (let u = 0; u < 120; u++) {
    const chain = Math.floor(rng() * 4);
    const steps = 5 + Math.floor(rng() * 3);
    const start = Math.floor(rng() * (10 - steps));
    for (let j = 0; j < steps; j++)
      rows.push({ user: `u${u}`, item: `c${chain}-${start + j}`, ts: T0 + j * HOUR, type: 'view' });
  }
  ['c0-0', 'c0-1', 'c0-2', 'VALID-ONLY', 'TEST-ONLY'].forEach((item, j) =>
    rows.push({ user: 'x', item, ts: T0 + j * HOUR, type: 'view' }),
  );
  return rows;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-feed-seq-'));
  await writeSequentialDataset(join(dir, 'data'), {
    interactions: data(),
    typed: false,
    meta: { name: 'chains', source: 'synthetic', description: 'chains', notes: [] },
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasTorch)('npm run eval -- feed --sequence train', () => {
  it('trains the model inside each phase on what the phase may see and scores its route', async () => {
    const out: string[] = [];
    const code = await main(
      [
        'feed',
        '--data',
        join(dir, 'data'),
        '--out',
        join(dir, 'out'),
        '--tune-users',
        '60',
        '--rounds',
        '200',
        '--recall-k',
        '40',
        '--sequence',
        'train',
        '--sequence-args',
        '--dim 16 --max-len 10 --blocks 1 --epochs 20 --eval-every 4 --lr 0.005 --negatives 16 --batch 32 --dropout 0.2',
      ],
      undefined,
      { out: (t) => out.push(t), err: (t) => out.push(t) },
    );
    expect(code, out.join('\n')).toBe(0);
    const json = JSON.parse(await readFile(join(dir, 'out', 'feed.json'), 'utf8')) as FeedJson;
    expect(Object.keys(json.full)).toContain('sequence');
    expect(json.significance.full.feed_vs_sequence).toBeDefined();
    const seq = json.sequence!;
    for (const phase of ['valid', 'test'] as const) {
      expect(seq[phase]!.mode).toBe('phase-trained');
      expect(seq[phase]!.training_ms).toBeGreaterThan(0);
      expect(seq[phase]!.training_rows).toBe(json.replay[phase].events);
    }
    expect(seq.valid!.version).not.toBe(seq.test!.version);
    // Validation early-stops; the test phase learns from every item it may see (validation items
    // as targets too) for exactly the epochs validation chose.
    expect(seq.valid!.epochs_fixed).toBeUndefined();
    expect(seq.test!.epochs_fixed).toBe(seq.valid!.best_epoch);
    const testMeta = JSON.parse(await readFile(join(seq.test!.model_dir, 'metadata.json'), 'utf8')) as {
      training: { best_epoch: number; epochs: number; split: string; history: unknown[] };
      metrics: Record<string, unknown>;
    };
    expect(testMeta.training).toMatchObject({ best_epoch: seq.valid!.best_epoch, epochs: seq.valid!.best_epoch });
    expect(testMeta.training.split).toContain('every item');
    expect(testMeta.training.history).toEqual([]);
    expect(testMeta.metrics).toEqual({});

    // What each phase's trainer was given: no user's own target, ever.
    const all = data();
    const byUser = new Map<string, string[]>();
    for (const r of all) byUser.set(r.user, [...(byUser.get(r.user) ?? []), r.item]);
    const given = async (phase: 'valid' | 'test') => {
      const rows = parseInteractions(await readFile(seq[phase]!.training_file!, 'utf8')).interactions;
      const m = new Map<string, Set<string>>();
      for (const r of rows) m.set(r.user, (m.get(r.user) ?? new Set()).add(r.item));
      return { rows, m };
    };
    const v = await given('valid');
    const t = await given('test');
    expect(t.rows.length - v.rows.length).toBe(byUser.size);
    for (const [user, items] of byUser) {
      const [validItem, testItem] = items.slice(-2);
      expect(v.m.get(user)!.has(validItem!)).toBe(false);
      expect(v.m.get(user)!.has(testItem!)).toBe(false);
      expect(t.m.get(user)!.has(validItem!)).toBe(true);
      expect(t.m.get(user)!.has(testItem!)).toBe(false);
    }
    // And the models' item tables: the validation-phase model never saw the validation item.
    const table = async (phase: 'valid' | 'test') =>
      JSON.parse(await readFile(join(seq[phase]!.model_dir, 'items.json'), 'utf8')) as string[];
    expect(await table('valid')).not.toContain('VALID-ONLY');
    expect(await table('valid')).not.toContain('TEST-ONLY');
    expect(await table('test')).toContain('VALID-ONLY');
    expect(await table('test')).not.toContain('TEST-ONLY');

    // The chains are learnable: the route finds the next step far above chance.
    expect(json.sampled100.sequence!['hr@10']).toBeGreaterThan(0.5);
    const html = await readFile(join(dir, 'out', 'feed.html'), 'utf8');
    expect(html).toContain('Sequence model per phase');

    // `--sequence streams` writes the same two streams alone (to train them elsewhere) and evaluates nothing.
    const printed: string[] = [];
    expect(
      await main(
        ['feed', '--data', join(dir, 'data'), '--out', join(dir, 'streams'), '--sequence', 'streams'],
        undefined,
        {
          out: (s: string) => printed.push(s),
          err: () => {},
        },
      ),
    ).toBe(0);
    for (const phase of ['valid', 'test'])
      expect(await readFile(join(dir, 'streams', 'sequence', phase, 'data', 'interactions.tsv'), 'utf8')).toBe(
        await readFile(join(dir, 'out', 'sequence', phase, 'data', 'interactions.tsv'), 'utf8'),
      );
    expect(existsSync(join(dir, 'streams', 'feed.json'))).toBe(false);

    // A quick run may reuse a trained model in both phases; feed.json says so.
    const reuse = await main(
      [
        'feed',
        '--data',
        join(dir, 'data'),
        '--out',
        join(dir, 'reuse'),
        '--tune-users',
        '60',
        '--rounds',
        '100',
      ].concat(['--recall-k', '40', '--sequence', seq.test!.model_dir]),
      undefined,
      { out: () => {}, err: () => {} },
    );
    expect(reuse).toBe(0);
    const reused = JSON.parse(await readFile(join(dir, 'reuse', 'feed.json'), 'utf8')) as FeedJson;
    expect(reused.sequence!.valid).toMatchObject({ mode: 'reused', version: seq.test!.version });
    expect(reused.sequence!.valid!.training_ms).toBeUndefined();

    // Models trained per phase elsewhere: the validation phase serves its own.
    const perPhase = await main(
      [
        'feed',
        '--data',
        join(dir, 'data'),
        '--out',
        join(dir, 'per-phase'),
        '--tune-users',
        '60',
        '--rounds',
        '100',
      ].concat(['--recall-k', '40', '--sequence', seq.test!.model_dir, '--sequence-valid', seq.valid!.model_dir]),
      undefined,
      { out: () => {}, err: () => {} },
    );
    expect(perPhase).toBe(0);
    const split = JSON.parse(await readFile(join(dir, 'per-phase', 'feed.json'), 'utf8')) as FeedJson;
    expect(split.sequence!.valid).toMatchObject({ mode: 'reused', version: seq.valid!.version });
    expect(split.sequence!.test).toMatchObject({ mode: 'reused', version: seq.test!.version });
    expect(await readFile(join(dir, 'per-phase', 'feed.html'), 'utf8')).toContain('one model per phase');
  }, 300_000);

  it('refuses trainer options the evaluation sets itself', async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (s: string) => err.push(s) };
    const args = ['feed', '--data', join(dir, 'data'), '--out', join(dir, 'o2'), '--sequence', 'train'];
    expect(await main([...args, '--sequence-args', '--out /tmp/x'], undefined, io)).toBe(2);
    expect(err.join('\n')).toContain('--out');
    // A validation-phase model only goes with a test-phase model given as a folder.
    expect(await main([...args, '--sequence-valid', dir], undefined, io)).toBe(2);
    expect(err.join('\n')).toContain('--sequence-valid needs --sequence MODEL_DIR');
  });
});
