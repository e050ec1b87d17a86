import { parentPort, workerData } from 'node:worker_threads';
import { startConsumer, type RunningConsumer } from './consumer.ts';
import type { FromWorker, ToWorker, WorkerInit } from './consumer-protocol.ts';
import type { ItemLookup } from './item-lookup.ts';
import { openBehavior, type Behavior } from './open-behavior.ts';
import type { ItemInfo } from './user-state.ts';

/** The consumer thread: its own stream and state connections; product lookups go to the main thread. */
const port = parentPort!;
const init = workerData as WorkerInit;
const send = (m: FromWorker) => port.postMessage(m);

let nextId = 0;
const pending = new Map<number, { resolve: (m: Map<string, ItemInfo>) => void; reject: (e: Error) => void }>();
const items: ItemLookup = {
  get: (ids) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      send({ type: 'items', id, ids: [...ids] });
    }),
};

let behavior: Behavior | undefined;
let consumer: RunningConsumer | undefined;

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'wake':
      behavior?.log.wake?.();
      break;
    case 'items': {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (!p) break;
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(new Map(m.items ?? []));
      break;
    }
    case 'stop':
      void (async () => {
        await consumer?.stop();
        await behavior?.close();
        send({ type: 'stopped' });
        port.close();
      })();
      break;
  }
});

try {
  behavior = await openBehavior({ ...init, writer: true });
  consumer = await startConsumer({
    log: behavior.log,
    state: behavior.state,
    items,
    config: init.config,
    onApplied: (r) =>
      send({
        type: 'applied',
        events: r.events.length,
        duplicates: r.duplicates,
        deadLetters: r.deadLetters,
        conflicts: consumer?.stats.conflicts ?? 0,
      }),
    onError: (err) => send({ type: 'error', message: err.message }),
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'failed', message: (err as Error).message });
}
