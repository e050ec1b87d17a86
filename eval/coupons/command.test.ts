import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/catalog.ts';
import { main, type CliIo } from '../../cli/eval.ts';

describe('npm run eval -- coupons', () => {
  it('writes coupons.json with the three arms, and targeting by affinity beats a random group of the same size', async () => {
    const out = tempDir('shelf-eval-coupons-');
    const lines: string[] = [];
    const io: CliIo = { out: (t) => lines.push(t), err: (t) => lines.push(t) };
    const code = await main(['coupons', '--out', out, '--users', '400', '--seed', '7'], undefined, io);
    expect(code, lines.join('\n')).toBe(0);
    const r = JSON.parse(readFileSync(path.join(out, 'coupons.json'), 'utf8')) as Record<string, any>;
    for (const arm of ['affinity', 'everyone', 'random']) {
      expect(r[arm]).toMatchObject({
        redemption_rate: expect.any(Number),
        incremental_gmv: expect.any(Number),
        cost: expect.any(Number),
        offered: expect.any(Number),
        net: expect.any(Number),
      });
      expect(r[arm].net).toBeCloseTo(r[arm].incremental_gmv - r[arm].cost, 1);
    }
    expect(r.note).toMatch(/SIMULATED/);
    expect(r.everyone.offered).toBe(1200);
    expect(r.random.offered).toBe(r.affinity.offered);
    expect(r.affinity.offered).toBeGreaterThan(0);
    expect(r.affinity.offered).toBeLessThan(r.everyone.offered);
    expect(r.affinity.net).toBeGreaterThan(r.random.net);
    expect(r.affinity.redemption_rate).toBeGreaterThan(r.random.redemption_rate);
    const html = readFileSync(path.join(out, 'coupons.html'), 'utf8');
    expect(html).toContain('simulated data');
    expect(html).toMatch(/data-verdict="(good|bad|wait)"/);
    expect(html).toContain('<svg');
  });

  it('is deterministic for a seed', async () => {
    const { runCouponEval } = await import('./run.ts');
    const { ROOT } = await import('../../src/config.ts');
    const opts = {
      catalog: path.join(ROOT, 'data/demo/catalog.jsonl'),
      users: 100,
      historyVisits: 10,
      occasions: 2,
      discount: 15,
      seed: 3,
    };
    expect(runCouponEval(opts)).toEqual(runCouponEval(opts));
  });
});
