import { parentPort, workerData } from 'node:worker_threads';
import { SqliteCouponLedger } from '../../coupons/embedded/sqlite-coupon-ledger.ts';
import type { ClaimResult } from '../../coupons/ledger.ts';
import type { StormRequest } from './coupons.ts';

/**
 * One worker thread of the embedded claim storm: its own connection, its share of the
 * requests. It says 'ready' once open and starts on 'go', so all threads start together
 * (loading TypeScript in a new thread takes far longer than the claims do).
 */
const { file, couponId, now, requests } = workerData as {
  file: string;
  couponId: string;
  now: number;
  requests: StormRequest[];
};
const ledger = new SqliteCouponLedger({ file });
parentPort!.once('message', async () => {
  const results: ClaimResult[] = [];
  for (const q of requests) {
    results.push(await ledger.claim({ coupon_id: couponId, subject: q.subject, idempotency_key: q.key, now }));
    // A claim takes microseconds: without a pause one thread's time slice could take the whole
    // stock before the others are scheduled, and the threads would not really race.
    await new Promise((r) => setTimeout(r, 0));
  }
  await ledger.close();
  parentPort!.postMessage(results);
});
parentPort!.postMessage('ready');
