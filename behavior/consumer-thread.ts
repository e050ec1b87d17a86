import { Worker } from 'node:worker_threads';
import type { BehaviorConfig } from './config.ts';
import type { RunningConsumer } from './consumer.ts';
import type { ItemLookup } from './item-lookup.ts';
import type { BehaviorBackends } from './open-behavior.ts';
import type { RetentionConfig } from './retention-config.ts';
import type { FromWorker, ToWorker, WorkerInit } from './consumer-protocol.ts';

export interface ConsumerThreadOptions {
  dataDir: string;
  backends: BehaviorBackends;
  config: BehaviorConfig;
  retention?: RetentionConfig | undefined;
  /** Product embeddings come from the index the main thread serves. */
  items: ItemLookup;
  onApplied?: (info: { events: number; duplicates: number; deadLetters: number }) => void;
  onError?: (err: Error) => void;
}

export interface ConsumerThread extends RunningConsumer {
  /** Wakes the consumer after an embedded append, so it need not wait for its next poll. */
  wake(): void;
}

/**
 * Runs the behaviour consumer on its own thread, with its own connections to the stream and
 * the state store. Folding events into state is the service's heaviest steady work; on its own
 * core it neither slows request handling nor is slowed by it.
 */
export async function startConsumerThread(opts: ConsumerThreadOptions): Promise<ConsumerThread> {
  const init: WorkerInit = {
    dataDir: opts.dataDir,
    backends: opts.backends,
    config: opts.config,
    retention: opts.retention,
  };
  const entry = new URL('./consumer-worker.ts', import.meta.url).href;
  // The worker is TypeScript like the rest; tsx registers itself in the new thread first.
  const boot = `import { register } from 'tsx/esm/api'; register(); await import(${JSON.stringify(entry)});`;
  const worker = new Worker(boot, { eval: true, workerData: init });
  const stats = { applied: 0, duplicates: 0, deadLetters: 0, conflicts: 0 };
  const send = (m: ToWorker) => worker.postMessage(m);

  let stopped: (() => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready':
          worker.off('error', reject);
          worker.on('error', (err) => opts.onError?.(err));
          resolve();
          break;
        case 'failed':
          reject(new Error(m.message));
          break;
        case 'items':
          opts.items.get(m.ids).then(
            (items) => send({ type: 'items', id: m.id, items: [...items] }),
            (err: Error) => send({ type: 'items', id: m.id, error: err.message }),
          );
          break;
        case 'applied':
          stats.applied += m.events;
          stats.duplicates += m.duplicates;
          stats.deadLetters += m.deadLetters;
          stats.conflicts = m.conflicts;
          opts.onApplied?.(m);
          break;
        case 'error':
          opts.onError?.(new Error(m.message));
          break;
        case 'stopped':
          stopped?.();
          break;
      }
    });
  });
  try {
    await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return {
    stats,
    wake: () => send({ type: 'wake' }),
    async stop() {
      const done = new Promise<void>((resolve) => {
        stopped = resolve;
        worker.once('exit', () => resolve());
      });
      send({ type: 'stop' });
      await done;
      await worker.terminate();
    },
  };
}
