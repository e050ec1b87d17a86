import { serve } from '@hono/node-server';
import { terminalProgress } from '../indexer/progress.ts';
import { loadConfig } from '../src/config.ts';
import { loadImageEmbedder, loadTextEmbedder, parseEmbedderSpec } from '../core/embedding/load.ts';
import { openService } from '../src/service.ts';
import { followGenerations } from '../src/follow-generations.ts';
import { consoleReports } from '../eval/report/console-reports.ts';
import { action, exit, program, runCli } from './run.ts';

/**
 * `npm start`: bring the index up to date with the configured catalog (a no-op when nothing
 * changed), then serve. `--no-index` serves whatever the indexer last committed.
 */
async function main(opts: { index: boolean }): Promise<void> {
  const config = loadConfig();
  const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
  const imageEmbedder = await loadImageEmbedder(config.embedder);
  const service = await openService(config, {
    embedder,
    imageEmbedder,
    catalog: opts.index ? config.service.catalog : undefined,
    progress: terminalProgress(),
    // The console's experiment and shop reports: the report code, over this service's logs.
    reports: consoleReports(config),
    log: (line) => console.log(line),
  });
  const { searcher } = service;
  const generations = followGenerations({
    searcher,
    refreshMs: config.service.refreshMs,
    dataDir: service.backend.kind === 'embedded' ? config.service.dataDir : undefined,
    onSwitch: (generation) => console.log(`serving index generation ${generation}`),
    onError: (err) => console.error(`index refresh failed: ${err.message}`),
  });

  const server = serve(
    { fetch: service.app.fetch, hostname: config.service.host, port: config.service.port },
    (info) => {
      console.log(
        `shelf listening on http://${config.service.host}:${info.port} (index ${searcher.generation ?? 'empty'}, embedder ${embedder.id}, ` +
          `stream ${service.behavior.log.kind}, state ${service.behavior.state.kind})`,
      );
    },
  );
  const shutdown = () => {
    generations.stop();
    server.close(async () => {
      await service.close();
      await embedder.close?.();
      process.exit(0);
    });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

const prog = program({ tool: 'shelf', name: 'npm start --' })
  .description('Bring the index up to date with the configured catalog (SHELF_CATALOG), then serve.')
  .option('--no-index', 'serve whatever the indexer last committed (npm run serve)')
  .action(action((o: { index: boolean }) => main(o)));

// Runs until SIGINT/SIGTERM: only a failure to start ends the process here.
void runCli(prog, process.argv.slice(2)).then((code) => code !== 0 && exit(code));
