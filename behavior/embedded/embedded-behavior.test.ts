import fs from 'node:fs';
import path from 'node:path';
import { eventLogConformance, stateStoreConformance } from '../../test/conformance/behavior.ts';
import { tempDir } from '../../test/helpers/catalog.ts';
import { defaultBehaviorConfig } from '../config.ts';
import { SqliteEventLog } from './sqlite-event-log.ts';
import { SqliteStateStore } from './sqlite-state-store.ts';

const halfLife = defaultBehaviorConfig().trending_half_life_ms;

for (const cacheUsers of [0, 1000]) {
  stateStoreConformance(`SQLite${cacheUsers ? ' (consumer connection, cached users)' : ''}`, () => {
    const dir = tempDir('shelf-state-');
    const file = path.join(dir, 'state.sqlite');
    const open = async () => new SqliteStateStore({ file, trendingHalfLifeMs: halfLife, cacheUsers });
    return {
      open,
      async reopen(store) {
        await store.close();
        return open();
      },
      async cleanup() {
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

eventLogConformance('SQLite', () => {
  const dir = tempDir('shelf-log-');
  const file = path.join(dir, 'events.sqlite');
  const open = async () => new SqliteEventLog({ file, pollMs: 20, retryMs: 20 });
  return {
    open,
    async reopen(log) {
      await log.close();
      return open();
    },
    async cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
