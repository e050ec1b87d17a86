/**
 * The whole `feed` command on a small synthetic sequential dataset with clear item-to-item
 * transitions (users walk along chains of items), so recall from co-occurrence must beat
 * popularity. Built in the test: deterministic, no files outside a temp dir.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/eval.ts';
import { mulberry32 } from '../../core/rng.ts';
import { writeSequentialDataset, type Interaction } from './sequential-data.ts';
import { loadConfig } from '../../src/config.ts';
import type { FeedJson } from './feed-json.ts';

let dir: string;

/** 6 chains of 12 items; each user walks 5–7 steps forward along one chain from a random start. */
function chainData(users: number, seed: number): Interaction[] {
  const rng = mulberry32(seed);
  const rows: Interaction[] = [];
  for (let u = 0; u < users; u++) {
    const chain = Math.floor(rng() * 6);
    const steps = 5 + Math.floor(rng() * 3);
    const start = Math.floor(rng() * (12 - steps));
    for (let j = 0; j < steps; j++)
      rows.push({ user: `u${u}`, item: `c${chain}-${start + j}`, ts: 1_600_000_000_000 + j * 3_600_000, type: 'view' });
  }
  return rows;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-feed-eval-'));
  await writeSequentialDataset(join(dir, 'data'), {
    interactions: chainData(240, 11),
    typed: true,
    meta: { name: 'chains', source: 'synthetic', description: 'users walking along item chains', notes: [] },
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run eval -- feed', () => {
  it('writes feed.json in which the fused feed beats popularity, with significance', async () => {
    const out: string[] = [];
    const code = await main(
      [
        'feed',
        '--data',
        join(dir, 'data'),
        '--out',
        join(dir, 'out'),
        '--tune-users',
        '80',
        '--rounds',
        '500',
        '--recall-k',
        '60',
      ],
      undefined,
      { out: (t) => out.push(t), err: (t) => out.push(t) },
    );
    expect(code, out.join('\n')).toBe(0);
    const json = JSON.parse(await readFile(join(dir, 'out', 'feed.json'), 'utf8')) as FeedJson;
    expect(json.users).toBe(240);
    for (const protocol of ['full', 'sampled100'] as const) {
      expect(Object.keys(json[protocol]).sort()).toEqual(['feed', 'itemcf', 'popularity', 'uservector']);
      for (const m of Object.values(json[protocol])) {
        expect(m['hr@10']).toBeGreaterThanOrEqual(m['ndcg@10']);
        expect(m['hr@10']).toBeLessThanOrEqual(1);
      }
      expect(json[protocol].feed!['ndcg@10']).toBeGreaterThan(json[protocol].popularity!['ndcg@10'] + 0.1);
      expect(json.beats[protocol].popularity).toBe(true);
      expect(json.significance[protocol].feed_vs_popularity!['ndcg@10']!.p_value).toBeLessThan(0.05);
    }
    expect(json.chosen.weights.itemcf).toBe(1);
    // the gate was tuned (off is always a candidate) and the chosen settings load as the service's
    const gate = json.validation.tuning.gate;
    expect(gate.some((r) => r.setting.itemcf_confident_score === 0)).toBe(true);
    expect(gate.length).toBeGreaterThan(1);
    const served = loadConfig({ SHELF_FEED_CONFIG: join(dir, 'out', 'feed-config.json') }).feed;
    for (const r of ['itemcf', 'trending', 'uservector'] as const)
      expect(served.weights[r]).toBe(json.chosen.weights[r]);
    // routes the evaluation does not measure keep the service's weights instead of being switched off
    expect(json.chosen.weights.similar).toBe(0);
    expect(served.weights.similar).toBe(loadConfig({}).feed.weights.similar);
    expect(served.itemcf_confident_score).toBe(json.chosen.itemcf_confident_score);
    expect(served.rrf_k).toBe(json.chosen.rrf_k);
    expect(json.item_vectors.source).toBe('cooc');
    expect(json.replay.valid.dead_letters).toBe(0);
    // validation replays histories only; test replays histories + validation items
    expect(json.replay.test.events - json.replay.valid.events).toBe(240);
    const html = await readFile(join(dir, 'out', 'feed.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('Feed accuracy');
  });

  it('exits 2 on bad options', async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => err.push(t) };
    expect(await main(['feed', '--data', dir, '--out', dir, '--repeats', 'twice'], undefined, io)).toBe(2);
    expect(await main(['feed', '--data', dir], undefined, io)).toBe(2);
    expect(err.join('\n')).toContain('--out is required');
  });
});
