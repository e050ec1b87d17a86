import path from 'node:path';
import type { TextEmbedder } from '../../core/embedding/embedder.ts';
import { loadTextEmbedder, parseEmbedderSpec } from '../../core/embedding/load.ts';
import { ROOT, loadConfig } from '../../src/config.ts';
import { openService, type Service, type ServiceOptions } from '../../src/service.ts';
import { tempDir } from './catalog.ts';

/**
 * The demo catalog indexed once with the shipped text model, then opened as a whole service as
 * often as a test file likes, each time with its own settings (the inline consumer, so events are
 * state when the call returns). For tests over HTTP of what the service serves by default.
 */
export interface DemoShop {
  dataDir: string;
  embedder: TextEmbedder;
  /**
   * Opens the service on the indexed demo catalog with `env` on top, runs `fn`, closes it.
   * `opts`: service options beyond the embedder (e.g. the console's reports).
   */
  withService<T>(
    env: Record<string, string>,
    fn: (s: Service) => Promise<T>,
    opts?: Omit<ServiceOptions, 'embedder'>,
  ): Promise<T>;
}

export async function demoShop(prefix: string): Promise<DemoShop> {
  const embedder = await loadTextEmbedder(parseEmbedderSpec('default'));
  const dataDir = path.join(tempDir(prefix), 'data');
  const base = { SHELF_DATA_DIR: dataDir, SHELF_CATALOG: '', SHELF_CONSUMER: 'inline' };
  const s = await openService(loadConfig(base), {
    embedder,
    catalog: path.join(ROOT, 'data/demo/catalog.jsonl'),
    log: () => {},
  });
  await s.close();
  return {
    dataDir,
    embedder,
    async withService(env, fn, opts = {}) {
      const service = await openService(loadConfig({ ...base, ...env }), { embedder, log: () => {}, ...opts });
      try {
        return await fn(service);
      } finally {
        await service.close();
      }
    },
  };
}
