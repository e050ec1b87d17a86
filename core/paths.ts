import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, so defaults (the shipped models, the demo catalog) work from any working directory. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
