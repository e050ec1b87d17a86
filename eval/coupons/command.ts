import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { intOpt, requiredOpt, stringOpt, UsageError, type Command } from '../kit/command.ts';

/**
 * `npm run eval -- coupons --out OUTDIR`: coupon targeting on simulated shoppers with known
 * ground truth (eval/coupons/run.ts): offer by affinity vs to everyone vs to a random group of
 * the same size. Writes OUTDIR/coupons.json and OUTDIR/coupons.html.
 */
export const couponsCommand: Command = {
  path: ['coupons'],
  summary:
    'Simulated shoppers with hidden coupon sensitivity build a coupon history through the real reducer; on held-out clicks a coupon goes to shoppers chosen by affinity, to everyone, and to a random group of the same size. Writes OUTDIR/coupons.json and coupons.html.',
  options: {
    out: { type: 'string', value: 'OUTDIR', help: 'where to write coupons.json and coupons.html', required: true },
    users: { type: 'string', value: 'N', help: 'simulated shoppers', default: '2000' },
    history: {
      type: 'string',
      value: 'N',
      help: 'clicked products per shopper in the history period (30 days)',
      default: '20',
    },
    occasions: { type: 'string', value: 'N', help: 'held-out clicks per shopper', default: '3' },
    discount: { type: 'string', value: 'PCT', help: 'percent off of the held-out coupon', default: '15' },
    'min-value': {
      type: 'string',
      value: 'X',
      help: 'affinity threshold (expected value per click-through)',
      default: '0 (SHELF_COUPON_MIN_VALUE default)',
    },
    seed: { type: 'string', value: 'N', help: 'seed of the world, the history and the random arm', default: '7' },
    catalog: {
      type: 'string',
      value: 'FILE',
      help: 'catalog the simulated shop sells',
      exists: 'file',
      default: 'data/demo/catalog.jsonl',
    },
  },
  details:
    'All figures come from SIMULATED shoppers over a real catalog; see docs/BENCHMARKS.md ("Coupon targeting — simulated data").',
  async run(values) {
    const out = path.resolve(requiredOpt(values, 'out'));
    const discount = intOpt(values, 'discount', 1) ?? 15;
    if (discount >= 100) throw new UsageError(`--discount must be below 100, got ${discount}`);
    const minValueText = stringOpt(values, 'min-value');
    const minValue = minValueText !== undefined ? Number(minValueText) : undefined;
    if (minValue !== undefined && !Number.isFinite(minValue))
      throw new UsageError(`--min-value must be a number, got ${JSON.stringify(minValueText)}`);
    const { ROOT } = await import('../../src/config.ts');
    const { runCouponEval } = await import('./run.ts');
    const { renderCouponReport } = await import('./report.ts');
    const res = runCouponEval({
      catalog: path.resolve(stringOpt(values, 'catalog') ?? path.join(ROOT, 'data/demo/catalog.jsonl')),
      users: intOpt(values, 'users', 1) ?? 2000,
      historyVisits: intOpt(values, 'history', 1) ?? 20,
      occasions: intOpt(values, 'occasions', 1) ?? 3,
      discount,
      seed: intOpt(values, 'seed', 0) ?? 7,
      ...(minValue !== undefined && { coupons: { min_value: minValue } }),
    });
    await mkdir(out, { recursive: true });
    await writeFile(path.join(out, 'coupons.json'), JSON.stringify(res, null, 2) + '\n');
    await writeFile(
      path.join(out, 'coupons.html'),
      await renderCouponReport(res, { generatedAt: new Date().toISOString() }),
    );
    const line = (name: string, a: typeof res.affinity) =>
      `${name.padEnd(18)} offered ${String(a.offered).padStart(6)}  redemption ${a.redemption_rate.toFixed(4)}  incremental GMV ${a.incremental_gmv.toFixed(0).padStart(8)}  cost ${a.cost.toFixed(0).padStart(7)}  net ${a.net.toFixed(0).padStart(7)}`;
    console.log('SIMULATED shoppers (hidden coupon sensitivity); USD, expectations under the true probabilities');
    for (const k of ['affinity', 'affinity_with_pcvr', 'everyone', 'random', 'oracle'] as const)
      console.log(line(k, res[k]));
    console.log(`wrote ${path.join(out, 'coupons.json')} and coupons.html`);
  },
};
