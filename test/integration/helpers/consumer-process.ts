/**
 * The behaviour consumer as its own process, so a test can kill it with SIGKILL like a crashed
 * pod. Prints one JSON line per applied batch. Environment: KAFKA_BROKERS, REDIS_URL, LOG_NS,
 * STATE_NS, GROUP, MAX_BATCH (records per batch), CRASH_AFTER_BATCHES (kill itself with SIGKILL
 * right after that many batches' state commits, before their stream positions are committed).
 */
import { startConsumer } from '../../../behavior/consumer.ts';
import type { EventLog } from '../../../behavior/event-log.ts';
import { behaviorConfig, items } from '../../helpers/behavior-stream.ts';
import { openLog, openState } from './behavior-servers.ts';

const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const log = await openLog(env('LOG_NS'));
const state = await openState(env('STATE_NS'));
const maxBatch = Number(process.env.MAX_BATCH ?? 500);
const crashAfter = Number(process.env.CRASH_AFTER_BATCHES ?? Infinity);
// startConsumer takes the log's default batch size; small batches give the crash a middle to land in.
const small: EventLog = Object.assign(Object.create(log) as EventLog, {
  consume: (opts: Parameters<EventLog['consume']>[0], handler: Parameters<EventLog['consume']>[1]) =>
    log.consume({ ...opts, maxBatch }, handler),
});
// Counted here: onApplied can run before startConsumer has returned its stats.
const seen = { batches: 0, applied: 0, duplicates: 0, deadLetters: 0 };
const consumer = await startConsumer({
  log: small,
  state,
  items,
  config: behaviorConfig,
  group: env('GROUP'),
  onApplied: (info) => {
    seen.batches++;
    seen.applied += info.events.length;
    seen.duplicates += info.duplicates;
    seen.deadLetters += info.deadLetters;
    console.log(JSON.stringify(seen));
    if (seen.batches >= crashAfter) process.kill(process.pid, 'SIGKILL');
  },
  onError: (err) => console.error(`consumer error: ${err.message}`),
});
console.log(JSON.stringify({ started: true }));
process.on('SIGTERM', () => {
  void consumer
    .stop()
    .then(() => Promise.all([log.close(), state.close()]))
    .then(() => process.exit(0));
});
