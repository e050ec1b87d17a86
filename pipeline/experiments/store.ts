import type { Dependency } from '../../core/dependencies.ts';
import type { Experiment, ExperimentStatus } from './experiment.ts';

/**
 * Where experiment definitions live, shared by every service instance: SQLite next to the other
 * embedded data, Redis in production. Definitions are small and few, so every read returns all
 * of them; the service decides how often it reads (pipeline/experiments/cached.ts).
 */
export interface ExperimentStore {
  readonly kind: string;
  /** Adds a definition; `exists` (and nothing written) when the id is taken. */
  create(e: Experiment): Promise<'created' | 'exists'>;
  get(id: string): Promise<Experiment | undefined>;
  /** Every definition, by id. */
  list(): Promise<Experiment[]>;
  /**
   * Moves an experiment to `status` (recording `stopped_at` when it stops); undefined when there
   * is no such experiment. The caller checks that the move is allowed.
   */
  setStatus(id: string, status: ExperimentStatus, at: number): Promise<Experiment | undefined>;
  dependencies(): Dependency[];
  close(): Promise<void>;
}

/** The experiment with its status moved, as every store records it. Pure. */
export function withStatus(e: Experiment, status: ExperimentStatus, at: number): Experiment {
  const { stopped_at: _, ...rest } = e;
  return { ...rest, status, ...(status === 'stopped' && { stopped_at: e.stopped_at ?? at }) };
}
