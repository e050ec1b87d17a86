import { openIndexBackend } from '../retrieval/index/open-backend.ts';
import { openSearcher } from '../retrieval/recall/searcher.ts';
import { indexLocation, loadConfig } from '../src/config.ts';
import { requireDependencies } from '../core/dependencies.ts';
import { startConsumer } from '../behavior/consumer.ts';
import { indexItems } from '../behavior/index-items.ts';
import { openBehavior } from '../behavior/open-behavior.ts';
import { startRetention } from '../behavior/retention.ts';
import { action, exit, program, runCli } from './run.ts';

/**
 * `npm run consumer`: the behaviour consumer as its own process, for deployments that run the
 * service with SHELF_CONSUMER=off (several service replicas, one consumer group). A new
 * `--group` with an empty state store (another SHELF_NAMESPACE or data dir) replays the stream
 * from the start and rebuilds the state.
 */
async function main(values: { group: string }): Promise<void> {
  const config = loadConfig();
  const backend = openIndexBackend(indexLocation(config));
  const behavior = await openBehavior({
    dataDir: config.service.dataDir,
    backends: config.backends,
    config: config.behavior,
    retention: config.retention,
    writer: true,
  });
  for (const s of await requireDependencies([...backend.dependencies(), ...behavior.dependencies()]))
    console.log(`${s.name}: ${s.detail}`);
  const searcher = await openSearcher({ backend, embedder: undefined, retrieval: config.retrieval });
  const refresh = setInterval(
    () => void searcher.refresh().catch((err: Error) => console.error(`index refresh failed: ${err.message}`)),
    config.service.refreshMs,
  );
  const consumer = await startConsumer({
    log: behavior.log,
    state: behavior.state,
    items: indexItems(searcher),
    config: config.behavior,
    group: values.group,
    onError: (err) => console.error(`batch failed, retrying: ${err.message}`),
  });
  console.log(`consuming ${behavior.log.kind} → ${behavior.state.kind} as group ${values.group}`);
  // The embedded stores' windows (settings `retention`); a service on the same files prunes them
  // too, which is harmless: a chunk deletes what is past the window, whoever runs it.
  const retention = startRetention({
    log: behavior.log,
    served: behavior.served,
    state: behavior.state,
    config: config.retention,
    onPruned: (store, rows) => console.log(`retention: pruned ${rows} ${store} row(s)`),
    onError: (store, err) => console.error(`retention: pruning ${store} failed: ${err.message}`),
  });
  const report = setInterval(() => {
    const s = consumer.stats;
    console.log(
      `applied ${s.applied}, duplicates ${s.duplicates}, dead letters ${s.deadLetters}, conflicts ${s.conflicts}`,
    );
  }, 10_000);
  const shutdown = async () => {
    clearInterval(report);
    clearInterval(refresh);
    await retention.stop();
    // Finish and commit the batch in hand, so nothing is redelivered needlessly.
    await consumer.stop();
    await searcher.close();
    await behavior.close();
    await backend.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

const prog = program({ tool: 'consumer', name: 'npm run consumer --' })
  .description('The behaviour consumer as its own process (run the service with SHELF_CONSUMER=off).')
  .option('--group <NAME>', 'consumer group; a new group with an empty state store rebuilds the state', 'shelf-state')
  .action(action((o: { group: string }) => main(o)));

// Runs until SIGINT/SIGTERM: only a failure to start ends the process here.
void runCli(prog, process.argv.slice(2)).then((code) => code !== 0 && exit(code));
