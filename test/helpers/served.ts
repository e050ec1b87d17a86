import path from 'node:path';
import type { ServedEntry } from '../../behavior/served-log.ts';
import { readSqliteLog } from '../../ranking/training-data.ts';
import type { Service } from '../../src/service.ts';

/** The embedded served-log entry of one response (flushed first), for tests over a service in `dataDir`. */
export async function servedEntry(s: Service, dataDir: string, requestId: string): Promise<ServedEntry> {
  await s.served.flush();
  for (const raw of readSqliteLog(path.join(dataDir, 'behavior', 'served.sqlite'))) {
    const e = JSON.parse(raw) as ServedEntry;
    if (e.request_id === requestId) return e;
  }
  throw new Error(`no served entry for ${requestId}`);
}
