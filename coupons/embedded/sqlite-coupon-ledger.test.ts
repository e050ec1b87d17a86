import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { couponLedgerConformance } from '../../test/conformance/coupon-ledger-conformance.ts';
import { tempDir } from '../../test/helpers/catalog.ts';
import { coupon, expectStormOutcome, stormRequests, T0, type StormRequest } from '../../test/helpers/coupons.ts';
import type { ClaimResult } from '../ledger.ts';
import { SqliteCouponLedger } from './sqlite-coupon-ledger.ts';

couponLedgerConformance('SQLite', () => {
  const dir = tempDir('shelf-coupons-');
  const file = path.join(dir, 'coupons.sqlite');
  const open = async () => new SqliteCouponLedger({ file });
  return {
    open,
    connect: open,
    async reopen(ledger) {
      await ledger.close();
      return open();
    },
    async cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** A worker thread with its own connection and its share of the storm; `start` sends it off once every thread is ready. */
function claimThread(
  file: string,
  requests: StormRequest[],
): { ready: Promise<void>; start(): void; results: Promise<ClaimResult[]> } {
  const entry = new URL('../../test/helpers/coupon-claim-worker.ts', import.meta.url).href;
  const boot = `import { register } from 'tsx/esm/api'; register(); await import(${JSON.stringify(entry)});`;
  const worker = new Worker(boot, { eval: true, workerData: { file, couponId: 'summer10', now: T0, requests } });
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const results = new Promise<ClaimResult[]>((resolve, reject) => {
    worker.on('message', (m: 'ready' | ClaimResult[]) => (m === 'ready' ? ready() : resolve(m)));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`claim worker exited with ${code}`)));
  });
  results.catch(() => ready());
  return { ready: readyP, start: () => worker.postMessage('go'), results };
}

describe('SQLite coupon ledger across threads', () => {
  it('gives exactly the stock under 1,000 claims from four threads on one file', async () => {
    const dir = tempDir('shelf-coupons-threads-');
    const file = path.join(dir, 'coupons.sqlite');
    const main = new SqliteCouponLedger({ file });
    try {
      await main.define(coupon({ stock: 100 }));
      const requests = stormRequests(1000, 100);
      const threads = 4;
      // Thread t takes requests t, t+4, …, so retries of one key often race on different threads.
      const shares = Array.from({ length: threads }, (_, t) => requests.filter((_, i) => i % threads === t));
      const seen: number[] = [];
      let done = false;
      const watcher = (async () => {
        while (!done) {
          seen.push((await main.status(['summer10'])).get('summer10')!.claimed);
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      const workers = shares.map((share) => claimThread(file, share));
      await Promise.all(workers.map((w) => w.ready));
      for (const w of workers) w.start();
      const perThread = await Promise.all(workers.map((w) => w.results));
      done = true;
      await watcher;
      const results: ClaimResult[] = [];
      requests.forEach((_, i) => results.push(perThread[i % threads]![Math.floor(i / threads)]!));
      expectStormOutcome(requests, results, 100);
      // claimed is stored unclamped (stock_left is reported clamped): never above the stock.
      expect(Math.max(...seen)).toBeLessThanOrEqual(100);
      // The threads really raced: the stock went to more than one of them.
      expect(perThread.filter((r) => r.some((x) => x.status === 'claimed')).length).toBeGreaterThan(1);
      expect((await main.status(['summer10'])).get('summer10')).toMatchObject({ stock_left: 0, claimed: 100 });
    } finally {
      await main.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
