import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, ROOT } from '../../src/config.ts';
import { tempDir } from '../../test/helpers/catalog.ts';
import { demoShop, type DemoShop } from '../../test/helpers/demo-service.ts';
import { driveService } from '../simulate/online.ts';
import { buildWorld, loadCatalogProducts } from '../simulate/world.ts';
import type { ExperimentReport } from './experiment.ts';
import { writeExperimentReport, writeShopReport } from './command.ts';
import type { ShopReport } from './shop.ts';

const KEY = 'report-e2e-admin-key-0123456789';
let shop: DemoShop;

beforeAll(async () => {
  shop = await demoShop('shelf-report-e2e-');
}, 120_000);

describe('an experiment end to end on the demo catalog', () => {
  it('simulated shoppers drive the service; the reports show both arms and the shop', async () => {
    const env = { SHELF__COUPONS__ADMIN_API_KEY: KEY, SHELF__EXPERIMENTS__CACHE_MS: '0' };
    const world = buildWorld(loadCatalogProducts(path.join(ROOT, 'data/demo/catalog.jsonl')), 80, 11);
    const summary = await shop.withService(env, async (s) => {
      const request = (p: string, init?: RequestInit) => Promise.resolve(s.app.request(p, init));
      const made = await s.app.request('/v1/admin/experiments', {
        method: 'POST',
        headers: { Authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          id: 'rank-off',
          surface: 'all',
          status: 'running',
          arms: [
            { name: 'control', weight: 50 },
            { name: 'fusion', weight: 50, overrides: { 'ranking.mode': 'off' } },
          ],
        }),
      });
      expect(made.status).toBe(201);
      const r = await driveService({ request, world, visits: 3, seed: 5 });
      await s.served.flush();
      return r;
    });
    expect(summary.requests).toBeGreaterThanOrEqual(240);
    expect(summary.by_arm.none).toBeUndefined();
    expect(summary.clicks).toBeGreaterThan(20);

    const out = tempDir('shelf-report-out-');
    const settings = loadConfig({ SHELF_DATA_DIR: shop.dataDir, SHELF_CATALOG: '' });
    const { report, files } = await writeExperimentReport({ settings, dataDir: shop.dataDir }, 'rank-off', out);
    const json = JSON.parse(readFileSync(files.json, 'utf8')) as ExperimentReport;
    expect(json).toEqual(JSON.parse(JSON.stringify(report)));
    const all = json.rows.filter((r) => r.surface === 'all');
    expect(all.map((r) => r.arm)).toEqual(['control', 'fusion']);
    expect(all.reduce((s, r) => s + r.shoppers, 0)).toBe(80);
    expect(all.reduce((s, r) => s + r.requests, 0)).toBe(summary.requests);
    for (const r of all) expect(r.shoppers).toBeGreaterThan(20);
    expect(json.rows.some((r) => r.surface === 'search')).toBe(true);
    expect(json.rows.some((r) => r.surface === 'similar')).toBe(true);
    const fusion = all.find((r) => r.arm === 'fusion')!;
    expect(fusion.lift!.ctr.p_value).toBeGreaterThanOrEqual(0);
    expect(fusion.metrics.ctr.ci[0]).toBeLessThanOrEqual(fusion.metrics.ctr.value);
    expect(json.srm.mismatch).toBe(false);
    // Purchases arrive both with the request_id and later from checkout, within the window.
    expect(json.attribution.by_request_id).toBeGreaterThan(0);
    expect(json.attribution.by_click_window).toBeGreaterThan(0);
    // 80 shoppers cannot show a 5% lift.
    expect(json.verdict.text).toMatch(
      /not enough data yet: about [\d,]+ more shoppers needed for a 5% lift|lifts|lowers/,
    );
    const html = readFileSync(files.html, 'utf8');
    expect(html).toContain('Experiment rank-off');
    expect(html).toContain('<svg');
    expect(html).toContain('conversion (shoppers who bought)');
    expect(html).not.toMatch(/<script/);

    const shopOut = await writeShopReport({ settings, dataDir: shop.dataDir }, out);
    const sj = JSON.parse(readFileSync(shopOut.files.json, 'utf8')) as ShopReport;
    expect(sj.search.searches).toBeGreaterThan(100);
    expect(sj.search.top_queries.length).toBeGreaterThan(5);
    expect(sj.ctr_by_position[0]!.ctr).toBeGreaterThan(sj.ctr_by_position[9]!.ctr);
    expect(sj.surfaces.map((x) => x.surface)).toEqual(['search', 'feed', 'similar']);
    expect(sj.attributed_revenue).toBeGreaterThan(0);
    expect(readFileSync(shopOut.files.html, 'utf8')).toContain('CTR by position');
  }, 300_000);
});
