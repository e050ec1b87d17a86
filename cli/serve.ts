import { serve } from '@hono/node-server';
import { terminalProgress } from '../indexer/progress.ts';
import { loadConfig } from '../src/config.ts';
import { loadImageEmbedder, loadTextEmbedder, parseEmbedderSpec } from '../core/embedding/load.ts';
import { openService } from '../src/service.ts';

/**
 * `npm start`: bring the index up to date with the configured catalog (a no-op when nothing
 * changed), then serve. `--no-index` serves whatever the indexer last committed.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
  const imageEmbedder = await loadImageEmbedder(config.embedder);
  const service = await openService(config, {
    embedder,
    imageEmbedder,
    catalog: process.argv.includes('--no-index') ? undefined : config.service.catalog,
    progress: terminalProgress(),
    log: (line) => console.log(line),
  });
  const { searcher } = service;
  const timer = setInterval(() => {
    searcher.refresh().then(
      (switched) => switched && console.log(`serving index generation ${searcher.generation}`),
      (err) => console.error(`index refresh failed: ${(err as Error).message}`),
    );
  }, config.service.refreshMs);
  timer.unref();

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
    clearInterval(timer);
    server.close(async () => {
      await service.close();
      await embedder.close?.();
      process.exit(0);
    });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err) => {
  console.error(`shelf failed to start: ${(err as Error).message}`);
  process.exit(1);
});
