import fs from 'node:fs';
import path from 'node:path';
import { experimentStoreConformance } from '../../../test/conformance/experiment-store-conformance.ts';
import { tempDir } from '../../../test/helpers/catalog.ts';
import { SqliteExperimentStore } from './sqlite-experiment-store.ts';

experimentStoreConformance('SQLite', () => {
  const dir = tempDir('shelf-experiments-');
  const file = path.join(dir, 'experiments.sqlite');
  const open = async () => new SqliteExperimentStore({ file });
  return {
    open,
    connect: open,
    async reopen(store) {
      await store.close();
      return open();
    },
    async cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
