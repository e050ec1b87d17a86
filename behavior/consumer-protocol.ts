import type { BehaviorConfig } from './config.ts';
import type { BehaviorBackends } from './open-behavior.ts';
import type { RetentionConfig } from './retention-config.ts';
import type { ItemInfo } from './user-state.ts';

/** Messages between the service and its consumer thread. */
export interface WorkerInit {
  dataDir: string;
  backends: BehaviorBackends;
  config: BehaviorConfig;
  /** The consumer's Redis commits set applied-marker TTLs and the dead-letter cap from it. */
  retention?: RetentionConfig | undefined;
}

export type ToWorker =
  | { type: 'wake' }
  | { type: 'stop' }
  | { type: 'items'; id: number; items?: Array<[string, ItemInfo]>; error?: string };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'items'; id: number; ids: string[] }
  | { type: 'applied'; events: number; duplicates: number; deadLetters: number; conflicts: number }
  | { type: 'error'; message: string }
  | { type: 'stopped' };
