import fs from 'node:fs';
import path from 'node:path';
import { backendConformance } from '../../../test/conformance/backends.ts';
import { tempDir } from '../../../test/helpers/catalog.ts';
import { EmbeddedBackend } from './embedded-backend.ts';

/** The IndexBackend conformance suite on the embedded folder (the production run is in test/integration). */
backendConformance('embedded', () => {
  const dir = path.join(tempDir(), 'index');
  return {
    open: async () => new EmbeddedBackend(dir),
    reopen: async (b) => {
      await b.close();
      return new EmbeddedBackend(dir);
    },
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});
