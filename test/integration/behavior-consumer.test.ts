import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsumer } from '../../behavior/consumer.ts';
import type { BehaviorEvent } from '../../behavior/event.ts';
import type { KafkaEventLog } from '../../behavior/kafka/kafka-event-log.ts';
import type { RedisStateStore } from '../../behavior/redis/redis-state-store.ts';
import {
  behaviorConfig,
  items,
  roundDeep,
  shoppingStream,
  snapshot,
  subjectsOf,
  waitFor,
  withoutVersions,
} from '../helpers/behavior-stream.ts';
import {
  dropRedisNamespace,
  dropTopics,
  KAFKA_BROKERS,
  openLog,
  openState,
  REDIS_URL,
  testNamespace,
} from './helpers/behavior-servers.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers/consumer-process.ts');
const ENGAGEMENTS = new Set(['view', 'click', 'add_to_cart', 'purchase']);

/**
 * behavior/consumer.ts over real Kafka and Redis: a stream with duplicates and bad records,
 * consumed once straight through and once by a consumer killed (SIGKILL) between a state
 * commit and its offset commit, then restarted. Both must end in the same state.
 */
describe('behaviour consumer over Kafka and Redis, end to end', () => {
  const logNs = testNamespace('e2e-log');
  const stateNs = { straight: testNamespace('e2e-a'), killed: testNamespace('e2e-b') };
  // Partition-safe: each shopper's state depends only on its own events, whatever order the
  // partitions interleave in, so two runs are comparable shopper by shopper.
  const events = shoppingStream({ seed: 11, events: 400, subjects: 30, partitionSafe: true });
  const duplicates = events.filter((_, i) => i % 13 === 0);
  const bad = ['{"event_id": "half', JSON.stringify({ event_id: 'nope', type: 'click', user_id: 'u1', ts: 1 })];
  let log: KafkaEventLog;
  const stores: RedisStateStore[] = [];

  beforeAll(async () => {
    log = await openLog(logNs);
    await log.append(events.slice(0, 200));
    await log.appendRaw([{ key: 'u:u1', value: bad[0]! }]);
    await log.append(events.slice(200));
    // A producer that retried after a lost ack: the same events again, later in the stream.
    await log.append(duplicates);
    await log.appendRaw([{ key: 'u:u1', value: bad[1]! }]);
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await log?.close();
    await dropTopics(logNs);
    for (const ns of Object.values(stateNs)) await dropRedisNamespace(ns);
  });

  const open = async (ns: string) => {
    const s = await openState(ns);
    stores.push(s);
    return s;
  };
  const complete = async (s: RedisStateStore) =>
    (await s.applied(events.map((e) => e.event_id))).size === events.length &&
    (await s.deadLetters(10)).length === bad.length;

  it('applies each event exactly once, dead-letters the bad records, and survives a kill mid-stream', async () => {
    // Straight through, in this process.
    const a = await open(stateNs.straight);
    const straight = await startConsumer({
      log,
      state: a,
      items,
      config: behaviorConfig,
      group: `${stateNs.straight}-g`,
    });
    await waitFor(
      () => straight.stats.applied + straight.stats.deadLetters >= events.length + bad.length,
      'the straight run',
      60_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    await straight.stop();
    expect(straight.stats).toMatchObject({
      applied: events.length,
      duplicates: duplicates.length,
      deadLetters: bad.length,
    });

    // A consumer process that dies right after its 5th state commit, before the offset commit.
    const group = `${stateNs.killed}-g`;
    const crashed = await runChild({
      GROUP: group,
      STATE_NS: stateNs.killed,
      LOG_NS: logNs,
      MAX_BATCH: '20',
      CRASH_AFTER_BATCHES: '5',
    });
    expect(crashed.signal).toBe('SIGKILL');
    const last = crashed.progress.at(-1)!;
    expect(last.batches).toBe(5);
    expect(last.applied).toBeGreaterThan(0);
    expect(last.applied).toBeLessThan(events.length);

    // Restarted: the group resumes from the last committed offsets, so the batch whose offsets
    // were never committed comes again, and its already-applied events must change nothing.
    const b = await open(stateNs.killed);
    const restarted = await startConsumer({ log, state: b, items, config: behaviorConfig, group });
    const deadline = Date.now() + 90_000;
    while (!(await complete(b))) {
      if (Date.now() > deadline) throw new Error('the restarted consumer did not finish the stream within 90 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    await restarted.stop();
    // The re-appended copies, and the events of the batch the crash left uncommitted.
    expect(restarted.stats.duplicates).toBeGreaterThan(duplicates.length);

    const subjects = subjectsOf(events);
    const [sa, sb] = [await snapshot(a, subjects), await snapshot(b, subjects)];
    expect(Object.keys(sa.users)).toHaveLength(subjects.length);
    // Undecayed counts are integers: exactly one per unique engagement, duplicates ignored.
    const engagements = events.filter((e: BehaviorEvent) => ENGAGEMENTS.has(e.type)).length;
    expect(Object.values(sa.counts).reduce((x, y) => x + y, 0)).toBe(engagements);
    expect(sb.counts).toEqual(sa.counts);
    expect(withoutVersions(sb.users)).toEqual(withoutVersions(sa.users));
    // Shared sums (trending, co-occurrence) add the same terms in a partition interleaving that
    // differs between runs, so they agree to rounding.
    expect(roundDeep(sb.trending)).toEqual(roundDeep(sa.trending));
    expect(roundDeep(sb.cooc)).toEqual(roundDeep(sa.cooc));
    const dead = (s: typeof sa) => s.dead.map((d) => [d.position, d.raw, d.reason.replace(/:.*/, '')]).sort();
    expect(dead(sb)).toEqual(dead(sa));
    expect(sa.dead.map((d) => d.raw).sort()).toEqual([...bad].sort());
  }, 240_000);
});

interface Progress {
  batches: number;
  applied: number;
  duplicates: number;
  deadLetters: number;
}

/** Runs helpers/consumer-process.ts until it exits (here: kills itself). */
function runChild(
  env: Record<string, string>,
): Promise<{ signal: NodeJS.Signals | null; code: number | null; progress: Progress[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, KAFKA_BROKERS: KAFKA_BROKERS.join(','), REDIS_URL, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const progress: Progress[] = [];
    let stderr = '';
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const msg = JSON.parse(line) as Partial<Progress>;
        if (msg.batches !== undefined) progress.push(msg as Progress);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, progress, stderr });
    });
  });
}
