import { serve } from '@hono/node-server';
import { indexCatalog } from '../indexer/index-catalog.ts';
import { terminalProgress } from '../indexer/progress.ts';
import { openSearcher } from '../retrieval/searcher.ts';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { loadImageEmbedder, loadTextEmbedder, parseEmbedderSpec } from './embedding/load.ts';

/**
 * `npm start`: bring the index up to date with the configured catalog (a no-op when nothing
 * changed), then serve. `--no-index` serves whatever the indexer last committed.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
  const imageEmbedder = await loadImageEmbedder(config.embedder);
  if (config.catalog && !process.argv.includes('--no-index')) {
    const s = await indexCatalog({
      catalogPath: config.catalog,
      dataDir: config.dataDir,
      embedder,
      progress: terminalProgress(),
      ...(imageEmbedder && { imageEmbedder }),
    });
    console.log(`index: ${s.indexed} indexed, ${s.unchanged} unchanged, ${s.skipped} skipped → ${s.generation}`);
  }
  const searcher = await openSearcher({ dataDir: config.dataDir, embedder, imageEmbedder, retrieval: config.retrieval });
  const app = createApp({ searcher, embedder, logRequests: config.logRequests });
  const timer = setInterval(() => {
    searcher.refresh().then(
      (switched) => switched && console.log(`serving index generation ${searcher.generation}`),
      (err) => console.error(`index refresh failed: ${(err as Error).message}`),
    );
  }, config.refreshMs);
  timer.unref();

  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
    console.log(`shelf listening on http://${config.host}:${info.port} (index ${searcher.generation ?? 'empty'}, embedder ${embedder.id})`);
  });
  const shutdown = () => {
    clearInterval(timer);
    server.close(async () => {
      await searcher.close();
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
