import type { Surface } from '../../core/candidate.ts';
import type { Assignment, ExperimentResolver } from '../../pipeline/pipeline.ts';
import type { ExperimentConfig } from '../../pipeline/experiments/config.ts';
import { assignArm, servingOn, type Experiment } from '../../pipeline/experiments/experiment.ts';
import type { ExperimentStore } from '../../pipeline/experiments/store.ts';
import type { Settings } from '../settings/schema.ts';
import { armSettings, requestOverrides, type DeployedModels } from './arm-settings.ts';

/**
 * The service's view of its experiments: definitions read from the shared store at most once per
 * `cache_ms` for all requests (a change made through this instance is read at once), and the
 * resolver the pipeline asks for a request's arm. A store that fails never fails a request: the
 * last definitions read keep serving (none before the first read), and `onError` is told.
 */
export class Experiments {
  private cached: { at: number; list: Experiment[] } | undefined;
  private reading: Promise<Experiment[]> | undefined;
  /** Per experiment, arm and surface: the pipeline overrides (arm definitions never change once made). */
  private readonly overrides = new Map<string, Assignment['overrides']>();

  constructor(
    readonly store: ExperimentStore,
    private readonly settings: Settings,
    private readonly config: Pick<ExperimentConfig, 'cache_ms'>,
    private readonly opts: {
      now?: () => number;
      onError?: (err: Error) => void;
      /** The model versions loaded now (an arm may only pick one of them). */
      deployed?: () => DeployedModels;
    } = {},
  ) {}

  /**
   * Validates an arm's overrides as an experiment is made: the settings tree's rules, and model
   * versions this instance has loaded. Throws SettingsOverrideError naming the path.
   */
  validateArm(overrides: Readonly<Record<string, unknown>>): void {
    armSettings(this.settings, overrides, this.opts.deployed?.());
  }

  now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Forget the cached definitions: the next request reads the store. */
  invalidate(): void {
    this.cached = undefined;
  }

  async list(): Promise<Experiment[]> {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.config.cache_ms) return this.cached.list;
    this.reading ??= this.store
      .list()
      .then((list) => {
        this.cached = { at: this.now(), list };
        return list;
      })
      .catch((err: Error) => {
        this.opts.onError?.(err);
        return this.cached?.list ?? [];
      })
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  readonly resolve: ExperimentResolver = async (surface: Surface, subject: string) => {
    const e = servingOn(await this.list(), surface, this.now());
    if (!e) return undefined;
    const arm = assignArm(e, subject);
    const key = `${e.id}\u0000${arm.name}\u0000${surface}`;
    let o = this.overrides.get(key);
    if (!o) {
      const paths = Object.keys(arm.overrides);
      try {
        o = paths.length === 0 ? {} : requestOverrides(armSettings(this.settings, arm.overrides), paths, surface);
      } catch (err) {
        // Valid when made, no longer against the settings this instance started with: defaults, said once.
        this.opts.onError?.(new Error(`experiment ${e.id} arm ${arm.name}: ${(err as Error).message}`));
        return undefined;
      }
      this.overrides.set(key, o);
    }
    return { id: e.id, arm: arm.name, overrides: o };
  };
}
