import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoShop, type DemoShop } from '../../test/helpers/demo-service.ts';
import { tempDir } from '../../test/helpers/catalog.ts';
import { consoleReports } from '../../eval/report/console-reports.ts';
import { loadConfig } from '../config.ts';
import type { Service } from '../service.ts';

/**
 * The console in a real browser: Debian's Chromium (`/usr/bin/chromium`, or SHELF_CHROMIUM)
 * driven by playwright-core against the service on the demo catalog, over HTTP. It signs in, runs
 * a search (and a side-by-side), opens a shopper's feed, creates, watches and stops an experiment,
 * opens the shop report and an offline report, and checks the catalog. A Chromium that cannot
 * start fails this file: it never skips (.ci/run installs it).
 * `SHELF_CONSOLE_SCREENSHOT=docs/console.png` also writes the README's screenshot.
 */

const CHROMIUM = process.env.SHELF_CHROMIUM ?? '/usr/bin/chromium';
const KEY = 'console-browser-test-admin-key';
const SHOPPER = 'console-alice';

let shop: DemoShop;
let service: Service;
let server: ServerType;
let base: string;
let browser: Browser;
let page: Page;
let release: () => void;
let closed: Promise<void>;

beforeAll(async () => {
  shop = await demoShop('shelf-console-');
  const reportsDir = path.join(tempDir('shelf-console-reports-'), 'reports');
  mkdirSync(path.join(reportsDir, 'search'), { recursive: true });
  writeFileSync(
    path.join(reportsDir, 'search', 'search.html'),
    '<!doctype html><html><body><h1>Offline search report</h1><p>nDCG@10 0.61</p></body></html>',
  );
  const env = {
    SHELF_ADMIN_API_KEY: KEY,
    SHELF__CONSOLE__REPORTS_DIR: reportsDir,
    // Search ranked by the model, so the side-by-side "ranking.mode off" column differs from A.
    SHELF_RANK_SEARCH: 'model',
  };
  const config = loadConfig({ SHELF_DATA_DIR: shop.dataDir, SHELF_CATALOG: '', SHELF_CONSUMER: 'inline', ...env });
  // The service stays open until afterAll releases it.
  let opened!: () => void;
  const ready = new Promise<void>((r) => (opened = r));
  closed = shop.withService(
    env,
    (s) => {
      service = s;
      opened();
      return new Promise<void>((r) => (release = r));
    },
    { reports: consoleReports(config) },
  );
  await ready;
  server = serve({ fetch: service.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  release?.();
  await closed;
});

const api = (p: string, init: { method?: string; body?: unknown; admin?: boolean } = {}) =>
  fetch(`${base}${p}`, {
    method: init.method ?? 'GET',
    headers: {
      'content-type': 'application/json',
      ...(init.admin && { authorization: `Bearer ${KEY}` }),
    },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });

describe('the console in Chromium', () => {
  // In a test, not a hook: a Chromium that cannot start is a failed test here (and every step
  // after it fails on the missing page), never a skipped file.
  it('starts Chromium', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    expect(browser.version()).toMatch(/^\d+\./);
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(15_000);
    // What the page itself reports goes to the test's output: a failing step says why.
    page.on('pageerror', (err) => console.error(`[console page] ${err.message}`));
    page.on('console', (m) => m.type() === 'error' && console.error(`[console page] ${m.text()}`));
  });

  it('asks for the admin key, refuses a wrong one, and keeps the right one for the session only', async () => {
    const res = await page.goto(`${base}/console`);
    expect(res!.status()).toBe(200);
    expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByLabel('Admin key').fill('not-the-key-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not the admin key');
    await page.getByLabel('Admin key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Search playground' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('shelf.console.adminKey'))).toBe(KEY);
    expect(page.url()).not.toContain(KEY);
    // The API behind it still wants the key: the page holds no data of its own.
    expect((await api('/v1/admin/index')).status).toBe(401);
  });

  it('runs a search and shows results with their provenance, and two settings side by side', async () => {
    await page.goto(`${base}/console#/search`);
    await page.getByLabel('Query').fill('running shoes');
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.getByTestId('results').first().locator('li');
    await results.first().waitFor();
    expect(await results.count()).toBe(10);
    expect(await results.first().textContent()).toMatch(/BM25 #\d+|vector #\d+/);

    await page.getByLabel('Side by side').check();
    await page.locator('textarea[name="overrides-b"]').fill('{"ranking.mode": "off", "diversity.search.lambda": 1}');
    await page.getByRole('button', { name: 'Search' }).click();
    const b = page.getByTestId('column-b').getByTestId('results').locator('li');
    await b.first().waitFor();
    expect(await b.count()).toBe(10);
    expect(await page.getByTestId('column-b').textContent()).toContain('ranking off');
    expect(await page.getByTestId('column-a').textContent()).not.toContain('ranking off');
    if (process.env.SHELF_CONSOLE_SCREENSHOT) {
      // The README's picture: smaller than the test's window, so the file stays small.
      await page.setViewportSize({ width: 1120, height: 700 });
      await page.screenshot({ path: process.env.SHELF_CONSOLE_SCREENSHOT });
      await page.setViewportSize({ width: 1280, height: 860 });
    }

    // An invalid override is the API's 400, shown with the setting path.
    await page.locator('textarea[name="overrides-b"]').fill('{"diversity.search.lambda": 7}');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('diversity.search.lambda');
  });

  it("opens a shopper's state and feed, as the feed sees them", async () => {
    const found = (await (await api('/v1/search?q=running+shoes&size=3')).json()) as { items: Array<{ id: string }> };
    const clicked = found.items[0]!.id;
    const ts = Date.now() - 60_000;
    const sent = await api('/v1/events', {
      method: 'POST',
      body: {
        events: [
          { event_id: 'console-e1', type: 'view', user_id: SHOPPER, product_id: clicked, ts },
          { event_id: 'console-e2', type: 'click', user_id: SHOPPER, product_id: clicked, ts: ts + 1000 },
        ],
      },
    });
    expect(sent.status).toBe(200);
    await page.getByRole('link', { name: 'Shopper' }).click();
    await page.getByLabel('Id', { exact: true }).fill(SHOPPER);
    await page.getByRole('button', { name: 'Open' }).click();
    const feed = page.getByTestId('feed').locator('li');
    await feed.first().waitFor();
    expect(await feed.count()).toBeGreaterThan(0);
    expect(await page.getByTestId('recent').textContent()).toContain(clicked);
    // Routes per item: the feed's provenance.
    expect(await page.getByTestId('feed').textContent()).toMatch(
      /(uservector|itemcf|similar|trending|category|catalog) #\d+/,
    );
  });

  it('creates an experiment, shows its live per-arm metrics, and stops it', async () => {
    await page.getByRole('link', { name: 'Experiments' }).click();
    const form = page.getByTestId('create-experiment');
    // The model versions an arm may pick are listed beside the form.
    await expect
      .poll(() => form.getByTestId('deployed-versions').textContent())
      .toContain(service.ranker.status.model_version!);
    await form.getByLabel('Id', { exact: true }).fill('console-ab');
    await form.getByLabel('Status').selectOption('running');
    await form.getByRole('button', { name: 'Create' }).click();
    const row = page.getByTestId('experiments').locator('tr[data-id="console-ab"]');
    await expect.poll(() => row.locator('.state').textContent()).toBe('running (serving)');

    // Traffic from a few shoppers, as the shop would send it.
    for (let i = 0; i < 6; i++) {
      const r = await api(`/v1/search?q=headphones&user_id=console-s${i}`);
      expect(((await r.json()) as { experiment?: { id: string } }).experiment?.id).toBe('console-ab');
    }
    await row.getByRole('button', { name: 'Metrics' }).click();
    const metrics = page.getByTestId('arm-metrics');
    await metrics.waitFor();
    const text = await metrics.textContent();
    expect(text).toContain('control');
    expect(text).toMatch(/not enough data/i);
    const requests = await metrics.locator('tbody tr td.num').first().textContent();
    expect(Number(requests)).toBeGreaterThan(0);

    await row.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => row.locator('.state').textContent()).toBe('stopped');
    const after = (await (await api('/v1/search?q=headphones&user_id=console-s0')).json()) as { experiment?: unknown };
    expect(after.experiment).toBeUndefined();
  });

  it('opens the shop report and an offline report file', async () => {
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByRole('button', { name: 'Open shop report' }).click();
    const frame = page.frameLocator('iframe.report');
    await expect.poll(() => frame.locator('h1').first().textContent(), { timeout: 30_000 }).toContain('Shop report');
    expect(await page.locator('iframe.report').getAttribute('sandbox')).toBe('');

    await page.getByTestId('report-files').getByRole('button', { name: 'search/search.html' }).click();
    await expect.poll(() => frame.locator('h1').textContent()).toBe('Offline search report');
  });

  it('shows the index generation, counts, indexer runs and a drift check', async () => {
    await page.getByRole('link', { name: 'Catalog' }).click();
    const status = page.getByTestId('index-status');
    await expect.poll(() => status.textContent()).toContain('327');
    expect(await page.getByTestId('index-runs').textContent()).toContain('catalog.jsonl');
    // The deployed model versions an experiment arm may pick (core/model-registry.ts).
    expect(await page.getByTestId('models-ranking').textContent()).toContain(service.ranker.status.model_version!);
    // The shipped sequence model (models/sequence/default) serves the demo catalog.
    expect(await page.getByTestId('models-sequence').textContent()).toContain(service.sequence.status.model_version!);
    await page.getByRole('button', { name: 'Check drift' }).click();
    await expect.poll(() => page.getByTestId('drift').textContent()).toContain('consistent: 327 products');
  });

  it('signs out: the key leaves the session and the login form is back', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin key').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('shelf.console.adminKey'))).toBeNull();
  });
});
