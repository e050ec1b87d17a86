import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ServedEntry } from '../../behavior/served-log.ts';
import { openBehavior } from '../../behavior/open-behavior.ts';
import { createGuards } from '../../core/dependency-guard.ts';
import { openCouponLedger } from '../../coupons/open-ledger.ts';
import { openExperimentStore } from '../../pipeline/experiments/open-store.ts';
import { readSqliteLog, readWholeLog } from '../../ranking/training-data.ts';
import type { Settings } from '../../src/settings/schema.ts';
import { parseLines, type LoggedEvent } from './attribution.ts';
import { experimentHtml } from './experiment-html.ts';
import { experimentReport, type ExperimentReport } from './experiment.ts';
import { shopHtml } from './shop-html.ts';
import { shopReport, type ShopReport } from './shop.ts';

/**
 * `npm run report -- experiment|shop`: read the shop's logs where the service writes them (the
 * embedded data dir, or Kafka when the settings name brokers and no --data is given), build the
 * report data, write `<name>.json` and `<name>.html`.
 */

export interface ReportInputs {
  served: ServedEntry[];
  events: LoggedEvent[];
}

/** Where the logs and stores are: a data dir (embedded), or the configured servers. */
export interface ReportSource {
  settings: Settings;
  /** Overrides settings.service.dataDir, and reads the embedded files even when servers are configured. */
  dataDir?: string | undefined;
}

const embedded = (s: ReportSource) => s.dataDir !== undefined || !s.settings.backends.kafkaBrokers;
const dataDirOf = (s: ReportSource) => s.dataDir ?? s.settings.service.dataDir;

export async function readLogs(src: ReportSource): Promise<ReportInputs> {
  if (embedded(src)) {
    const dir = path.join(dataDirOf(src), 'behavior');
    const read = (f: string) => (existsSync(path.join(dir, f)) ? readSqliteLog(path.join(dir, f)) : []);
    return { served: parseLines(read('served.sqlite')), events: parseLines(read('events.sqlite')) };
  }
  const b = await openBehavior({
    dataDir: dataDirOf(src),
    backends: src.settings.backends,
    config: src.settings.behavior,
  });
  try {
    const [served, events] = await Promise.all([readWholeLog(b.served), readWholeLog(b.log)]);
    return { served: parseLines(served), events: parseLines(events) };
  } finally {
    await b.close();
  }
}

const storeOpts = (src: ReportSource) => ({
  dataDir: dataDirOf(src),
  redisUrl: src.dataDir !== undefined ? undefined : src.settings.backends.redisUrl,
  namespace: src.settings.backends.namespace,
  // A few reads, as the service makes them: a frozen Redis fails the report within its budget, never hangs it.
  guards: createGuards(src.settings.backends.budgets),
});

async function writeReport(out: string, name: string, json: unknown, html: string) {
  await mkdir(out, { recursive: true });
  const files = { json: path.join(out, `${name}.json`), html: path.join(out, `${name}.html`) };
  await writeFile(files.json, JSON.stringify(json, null, 2) + '\n');
  await writeFile(files.html, html);
  return files;
}

export class ReportInputError extends Error {}

export async function buildExperimentReport(
  src: ReportSource,
  id: string,
  opts: { windowMs?: number | undefined } = {},
): Promise<ExperimentReport> {
  const store = await openExperimentStore(storeOpts(src));
  let e;
  try {
    e = await store.get(id);
  } finally {
    await store.close();
  }
  if (!e) throw new ReportInputError(`no experiment "${id}" in the ${store.kind} experiment store`);
  const { served, events } = await readLogs(src);
  return experimentReport(e, served, events, {
    windowMs: opts.windowMs ?? src.settings.experiments.attribution_window_ms,
  });
}

export async function writeExperimentReport(
  src: ReportSource,
  id: string,
  out: string,
  opts: { windowMs?: number } = {},
) {
  const r = await buildExperimentReport(src, id, opts);
  return { report: r, files: await writeReport(out, 'experiment', r, await experimentHtml(r)) };
}

export async function buildShopReport(
  src: ReportSource,
  opts: { from?: number | undefined; to?: number | undefined; windowMs?: number | undefined } = {},
): Promise<ShopReport> {
  const { served, events } = await readLogs(src);
  const ledger = await openCouponLedger(storeOpts(src));
  let budgets: ShopReport['coupons']['budgets'];
  try {
    const coupons = await ledger.list();
    const status = await ledger.status(coupons.map((c) => c.id));
    budgets = coupons.map((c) => {
      const s = status.get(c.id);
      return { id: c.id, budget: c.budget ?? null, budget_left: s?.budget_left ?? null, spent: s?.spent ?? 0 };
    });
  } finally {
    await ledger.close();
  }
  return shopReport(served, events, {
    windowMs: opts.windowMs ?? src.settings.experiments.attribution_window_ms,
    from: opts.from,
    to: opts.to,
    budgets,
  });
}

export async function writeShopReport(
  src: ReportSource,
  out: string,
  opts: { from?: number | undefined; to?: number | undefined; windowMs?: number | undefined } = {},
) {
  const r = await buildShopReport(src, opts);
  return { report: r, files: await writeReport(out, 'shop', r, await shopHtml(r)) };
}
