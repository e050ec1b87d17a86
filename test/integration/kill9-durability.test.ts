import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../behavior/embedded/sqlite-state-store.ts';
import type { StateStore } from '../../behavior/state-store.ts';
import { ROOT } from '../../src/config.ts';
import { behaviorConfig } from '../helpers/behavior-stream.ts';
import { demoShop, type DemoShop } from '../helpers/demo-service.ts';
import {
  dropRedisNamespace,
  dropTopics,
  KAFKA_BROKERS,
  openState,
  REDIS_URL,
  testNamespace,
} from './helpers/behavior-servers.ts';

/**
 * Kill -9 durability, end to end over HTTP: clients post events to a service while the consumer
 * (Kafka back end: its own process, `npm run consumer`) and the service itself are SIGKILLed and
 * restarted several times mid-ingestion. A client retries a batch until it is acknowledged (a 200
 * with accepted_ids), with the same event ids. Afterwards every acknowledged event has been
 * applied exactly once: the applied ids are exactly the acknowledged ones, and the state's
 * counters (per product, per shopper) add up to the number of acknowledged events.
 */
const PRODUCTS = ['P0001', 'P0002', 'P0003', 'P0004', 'P0005', 'P0150'];
const USERS = 20;
const BATCH = 25;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

/** Every process a test started, killed at the end whatever happened. */
const children = new Set<ChildProcess>();

/** Starts a CLI entry point and resolves once a line matching `ready` is printed. */
function start(script: string, args: string[], env: Record<string, string>, ready: RegExp) {
  // One process (node with tsx's loader), so a SIGKILL kills the service itself, not a wrapper.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], {
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines: string[] = [];
  const up = new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${lines.join('\n')}`)), 120_000);
    const onData = (d: Buffer) => {
      lines.push(d.toString());
      if (ready.test(d.toString())) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready: ${lines.join('\n')}`));
    });
  });
  return { child, up };
}

const kill9 = (c: ChildProcess | undefined) =>
  new Promise<void>((resolve) => {
    if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  env: Record<string, string>;
  /** Runs its own consumer process (Kafka) or the service's thread (embedded). */
  consumerProcess: boolean;
  serviceKills: number;
  consumerKills: number;
  events: number;
}

/** Ingests `run.events` events through the service while killing things; returns the acknowledged ids. */
async function ingestThroughKills(run: Run) {
  const port = await freePort();
  const env = { ...run.env, SHELF__SERVICE__PORT: String(port) };
  let service: ChildProcess | undefined;
  let consumer: ChildProcess | undefined;
  const startService = async () => {
    service = await start('cli/serve.ts', ['--no-index'], env, /shelf listening/).up;
  };
  const startConsumer = async () => {
    consumer = await start('cli/consumer.ts', ['--group', 'kill9'], env, /consuming /).up;
  };
  await startService();
  if (run.consumerProcess) await startConsumer();

  const runId = Math.random().toString(36).slice(2, 8);
  const acked = new Set<string>();
  let attempts = 0;
  let failures = 0;
  let next = 0;
  let chaosDone = false;
  // Clients keep posting (paced) until every kill has happened and at least run.events were sent.
  const client = async () => {
    for (;;) {
      const from = next;
      if (chaosDone && from >= run.events) return;
      next = from + BATCH;
      await sleep(150);
      const events = [];
      for (let i = from; i < next; i++)
        events.push({
          event_id: `k9-${runId}-${i}`,
          type: 'view',
          user_id: `k9-user-${i % USERS}`,
          product_id: PRODUCTS[i % PRODUCTS.length],
          ts: Date.now(),
        });
      // The same batch, with the same ids, until the service says it has them.
      for (;;) {
        attempts++;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ events }),
            signal: AbortSignal.timeout(15_000),
          });
          if (res.status === 200) {
            const body = (await res.json()) as { accepted_ids: string[]; rejected: unknown[] };
            expect(body.rejected).toEqual([]);
            for (const id of body.accepted_ids) acked.add(id);
            break;
          }
          await res.body?.cancel();
        } catch {
          // Connection refused or reset: the service is down; it comes back.
        }
        failures++;
        await sleep(200);
      }
    }
  };

  const chaos = async () => {
    let s = run.serviceKills;
    let c = run.consumerProcess ? run.consumerKills : 0;
    while (s > 0 || c > 0) {
      await sleep(1500 + Math.random() * 1500);
      if (c > 0 && (c >= s || s === 0)) {
        await kill9(consumer);
        c--;
        await startConsumer();
      } else {
        await kill9(service);
        s--;
        await startService();
      }
    }
    chaosDone = true;
    return { serviceKills: run.serviceKills - s, consumerKills: (run.consumerProcess ? run.consumerKills : 0) - c };
  };

  const [kills] = await Promise.all([chaos(), client(), client()]);
  return {
    acked,
    attempts,
    failures,
    kills,
    stop: async () => {
      // Whatever the consumer has not yet applied, it applies after the kills; then both go.
      await Promise.all([kill9(consumer), kill9(service)]);
    },
    port,
  };
}

async function waitApplied(state: StateStore, ids: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  while (Date.now() < deadline) {
    n = (await state.applied(ids)).size;
    if (n === ids.length) return n;
    await sleep(500);
  }
  return n;
}

/** What the state says about these events: applied ids, product counts and shopper counts. */
async function stateTotals(state: StateStore, ids: string[]) {
  const counts = await state.itemCounts(PRODUCTS);
  const users = await state.getUsers(Array.from({ length: USERS }, (_, i) => `u:k9-user-${i}`));
  return {
    applied: (await state.applied(ids)).size,
    productViews: [...counts.values()].reduce((a, b) => a + b, 0),
    userViews: [...users.values()].reduce((a, u) => a + u.counts.view, 0),
  };
}

describe('kill -9 durability over HTTP', () => {
  let shop: DemoShop;
  beforeAll(async () => {
    shop = await demoShop('shelf-kill9-');
  }, 300_000);
  afterAll(async () => {
    await Promise.all([...children].map((c) => kill9(c)));
  });

  describe('Kafka stream, Redis state: consumer and service SIGKILLed mid-ingestion', () => {
    const ns = testNamespace('kill9');
    afterAll(async () => {
      await dropTopics(ns);
      await dropRedisNamespace(ns);
    });

    it('applies every acknowledged event exactly once (Kafka, Redis)', async () => {
      const run = await ingestThroughKills({
        env: {
          SHELF_DATA_DIR: shop.dataDir,
          SHELF_CATALOG: '',
          SHELF_CONSUMER: 'off',
          KAFKA_BROKERS: KAFKA_BROKERS.join(','),
          REDIS_URL,
          SHELF_NAMESPACE: ns,
        },
        consumerProcess: true,
        serviceKills: 3,
        consumerKills: 3,
        events: 3000,
      });
      expect(run.kills).toEqual({ serviceKills: 3, consumerKills: 3 });
      const ids = [...run.acked];
      expect(ids.length).toBeGreaterThanOrEqual(3000);
      // A fresh consumer (the group's committed position) finishes what the killed ones left.
      const state = await openState(ns);
      try {
        await run.stop();
        const fin = start(
          'cli/consumer.ts',
          ['--group', 'kill9'],
          {
            SHELF_DATA_DIR: shop.dataDir,
            SHELF_CATALOG: '',
            KAFKA_BROKERS: KAFKA_BROKERS.join(','),
            REDIS_URL,
            SHELF_NAMESPACE: ns,
          },
          /consuming /,
        );
        await fin.up;
        expect(await waitApplied(state, ids, 180_000)).toBe(ids.length);
        await sleep(1000); // anything still in flight would show as a double count below
        const totals = await stateTotals(state, ids);
        console.log(
          `kill9 (kafka/redis): ${ids.length} acknowledged, ${run.attempts} POSTs (${run.failures} failed during kills), ` +
            `kills ${JSON.stringify(run.kills)}, state ${JSON.stringify(totals)}`,
        );
        expect(totals).toEqual({ applied: ids.length, productViews: ids.length, userViews: ids.length });
        await kill9(fin.child);
      } finally {
        await state.close();
      }
    }, 600_000);
  });

  it('applies every acknowledged event exactly once (embedded SQLite, service and its consumer thread SIGKILLed)', async () => {
    const dataDir = path.join(shop.dataDir);
    const run = await ingestThroughKills({
      env: { SHELF_DATA_DIR: dataDir, SHELF_CATALOG: '', SHELF_CONSUMER: 'thread' },
      consumerProcess: false,
      serviceKills: 3,
      consumerKills: 0,
      events: 2000,
    });
    expect(run.kills.serviceKills).toBe(3);
    const ids = [...run.acked];
    expect(ids.length).toBeGreaterThanOrEqual(2000);
    // A last service start lets its consumer thread finish the log, then it is killed too.
    await run.stop();
    const last = start(
      'cli/serve.ts',
      ['--no-index'],
      { SHELF_DATA_DIR: dataDir, SHELF_CATALOG: '', SHELF_CONSUMER: 'thread', SHELF__SERVICE__PORT: String(run.port) },
      /shelf listening/,
    );
    await last.up;
    const state = new SqliteStateStore({
      file: path.join(dataDir, 'behavior', 'state.sqlite'),
      trendingHalfLifeMs: behaviorConfig.trending_half_life_ms,
    });
    try {
      expect(await waitApplied(state, ids, 120_000)).toBe(ids.length);
      await sleep(1000);
      await kill9(last.child);
      const totals = await stateTotals(state, ids);
      console.log(
        `kill9 (embedded): ${ids.length} acknowledged, ${run.attempts} POSTs (${run.failures} failed during kills), state ${JSON.stringify(totals)}`,
      );
      expect(totals).toEqual({ applied: ids.length, productViews: ids.length, userViews: ids.length });
    } finally {
      await state.close();
    }
  }, 600_000);
});
