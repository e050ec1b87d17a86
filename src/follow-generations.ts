import fs from 'node:fs';
import type { Searcher } from '../retrieval/recall/searcher.ts';

export interface FollowGenerationsOptions {
  searcher: Searcher;
  /** Poll period (`service.refreshMs`): the production aliases, and a folder that sends no events. */
  refreshMs: number;
  /** The embedded index's folder: watched for another process's commit. Undefined: poll only. */
  dataDir?: string | undefined;
  onSwitch?: (generation: string | undefined) => void;
  onError?: (err: Error) => void;
}

/**
 * Keeps a service on the newest committed index generation. Every `refreshMs` it asks the back
 * end; with the embedded index it also watches the folder, so a generation committed by another
 * process (`npm run index -- --follow` applying the catalog topic, a CLI run) is served at once
 * rather than up to a poll period later: the commit's rename of CURRENT is the signal. The poll
 * stays, for file systems without change events and for the production aliases.
 */
export function followGenerations(opts: FollowGenerationsOptions): { stop(): void } {
  let running = false;
  let again = false;
  const refresh = (): void => {
    // One refresh at a time; a signal during one runs another after it (the commit may be newer).
    if (running) {
      again = true;
      return;
    }
    running = true;
    opts.searcher
      .refresh()
      .then(
        (switched) => {
          if (switched) opts.onSwitch?.(opts.searcher.generation);
        },
        (err: Error) => opts.onError?.(err),
      )
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  };
  const timer = setInterval(refresh, opts.refreshMs);
  timer.unref();
  let watcher: fs.FSWatcher | undefined;
  if (opts.dataDir !== undefined) {
    try {
      watcher = fs.watch(opts.dataDir, { persistent: false }, (_event, file) => {
        if (file === 'CURRENT') refresh();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // No folder yet, or no change events here: the poll alone.
    }
  }
  return {
    stop() {
      clearInterval(timer);
      watcher?.close();
    },
  };
}
