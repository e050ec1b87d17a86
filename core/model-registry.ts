/**
 * The deployed versions of one kind of model (the ranker, the sequence model), hot reloaded: the
 * one in a followed folder, polled and swapped for a new version without a restart, and further
 * versions from other folders, loaded once at start-up, that a request (an experiment arm) picks
 * by version id.
 *
 * A new folder content is loaded, validated and swapped in atomically (a request holds the model
 * it picked; the previous one is released a few seconds later, after the requests in flight). A
 * version that is refused leaves the serving one in place, or nothing when there is none, and is
 * not tried again until the folder changes; a deploy in progress (files that do not match their
 * metadata yet) is retried at the next poll. What a folder holds, how it is loaded and what makes
 * it unusable is the kind's business (ModelKind); this is the part every kind shares.
 */

/** A loaded model: it names its version and releases its sessions when closed. */
export interface DeployedModel {
  readonly version: string;
  close(): Promise<void>;
}

/** Why a model cannot serve: the metric label, and whether it is a deploy in progress (retry at the next poll). */
export interface Refusal {
  reason: string;
  retry: boolean;
}

/** One kind of model: how a folder is read, and the words its log lines and status use. */
export interface ModelKind<M extends DeployedModel> {
  /** Prefix of the log lines, e.g. `ranker`. */
  name: string;
  /** Changes when a new version is deployed into `dir`; throws when the folder holds no model. */
  signature(dir: string): Promise<string>;
  /**
   * Loads and validates the folder's model (format, files, what it must match, e.g. the catalog);
   * throws when it must not serve, having released what it loaded (the message is logged).
   */
  load(dir: string): Promise<M>;
  /** How a load error counts. */
  refusal(err: unknown): Refusal;
  /** Shown in the "serving model …" log line after the version, e.g. `feature spec v1`. */
  describe(model: M): string;
  /** What serves while no model does, e.g. `falling back to the heuristic order`. */
  fallback: string;
  /** The status reason when no folder is configured. */
  unconfigured: string;
  /** The status reason while the followed folder holds no model. */
  missing(dir: string): string;
}

export interface RegistryOptions<M extends DeployedModel> {
  /** The followed folder, whose version serves by default; undefined: none configured. */
  dir: string | undefined;
  /** Folders of further versions, loaded once; a version found twice is served from the first. */
  extraDirs?: readonly string[] | undefined;
  /** Poll the followed folder this often; 0: load once. */
  refreshMs: number;
  log?: ((line: string) => void) | undefined;
  /** A version was swapped in (the followed one). */
  onLoaded?: ((model: M) => void) | undefined;
  /** A version was refused, followed or extra (the reason label). */
  onRefused?: ((reason: string) => void) | undefined;
  /** After a swap or a refusal of the followed folder's version: what `current` and `reason` say changed. */
  onChange?: (() => void) | undefined;
}

/** What /readyz or the console shows: the version serving by default, why none is, every version a request may name. */
export interface RegistryStatus {
  version?: string;
  reason?: string;
  versions: string[];
}

/** How long a swapped-out model stays open for the requests that picked it. */
const RELEASE_AFTER_MS = 5_000;

export class ModelRegistry<M extends DeployedModel> {
  private serving: M | undefined;
  private readonly extra = new Map<string, M>();
  private signature: string | undefined;
  private why: string | undefined;
  private reloading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly kind: ModelKind<M>,
    private readonly opts: RegistryOptions<M>,
  ) {}

  /** Loads the extra folders, then the followed one, and starts following it. */
  static async open<M extends DeployedModel>(kind: ModelKind<M>, opts: RegistryOptions<M>): Promise<ModelRegistry<M>> {
    const r = new ModelRegistry(kind, opts);
    await r.loadExtra();
    if (opts.dir === undefined) r.why = kind.unconfigured;
    else {
      await r.reload();
      if (opts.refreshMs > 0) {
        r.timer = setInterval(() => void r.reload(), opts.refreshMs);
        r.timer.unref();
      }
    }
    return r;
  }

  /** The followed folder's model, as loaded now. */
  get current(): M | undefined {
    return this.serving;
  }

  /** Why no model serves by default (none configured, none found, refused); undefined while one does. */
  get reason(): string | undefined {
    return this.why;
  }

  /** Every version a request may name: the followed folder's (as loaded now), then the extra folders'. */
  get versions(): string[] {
    return [...new Set([...(this.serving ? [this.serving.version] : []), ...this.extra.keys()])];
  }

  get status(): RegistryStatus {
    return {
      ...(this.serving ? { version: this.serving.version } : { reason: this.why ?? 'no model' }),
      versions: this.versions,
    };
  }

  /**
   * The model for a request asking for `version` (empty: the followed one). A version not deployed
   * (any more) gets the followed model, and `missing` names what was asked for.
   */
  pick(version: string | undefined): { model: M | undefined; missing?: string } {
    if (!version || this.serving?.version === version) return { model: this.serving };
    const m = this.extra.get(version);
    return m ? { model: m } : { model: this.serving, missing: version };
  }

  /** Looks at the followed folder now; loads a changed model. Safe to call concurrently. */
  reload(): Promise<void> {
    this.reloading ??= this.doReload().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => console.error(l)))(`${this.kind.name}: ${line}`);
  }

  private async loadExtra(): Promise<void> {
    for (const dir of this.opts.extraDirs ?? []) {
      try {
        const m = await this.kind.load(dir);
        if (this.extra.has(m.version)) {
          this.log(`${dir} holds version ${m.version} again; the first folder serves it`);
          await m.close();
          continue;
        }
        this.extra.set(m.version, m);
        this.log(`version ${m.version} from ${dir} available to requests that name it`);
      } catch (err) {
        this.opts.onRefused?.(this.kind.refusal(err).reason);
        this.log(`extra model folder ${dir}: ${(err as Error).message}; not available`);
      }
    }
  }

  private async doReload(): Promise<void> {
    const dir = this.opts.dir!;
    let sig: string;
    try {
      sig = await this.kind.signature(dir);
    } catch {
      if (!this.serving) this.why = this.kind.missing(dir);
      return;
    }
    if (sig === this.signature) return;
    try {
      const next = await this.kind.load(dir);
      const prev = this.serving;
      this.serving = next;
      this.signature = sig;
      this.why = undefined;
      this.opts.onLoaded?.(next);
      this.log(
        `serving model ${next.version} (${this.kind.describe(next)}) from ${dir}${prev ? `, replacing ${prev.version}` : ''}`,
      );
      this.opts.onChange?.();
      // Requests in flight hold their own reference; release the old sessions after they finish.
      if (prev) setTimeout(() => void prev.close(), RELEASE_AFTER_MS).unref();
    } catch (err) {
      const refusal = this.kind.refusal(err);
      if (refusal.retry) return; // a deploy in progress: retried at the next poll
      this.signature = sig;
      this.opts.onRefused?.(refusal.reason);
      const keep = this.serving ? `keeping model ${this.serving.version}` : this.kind.fallback;
      this.log(`${(err as Error).message}; ${keep}`);
      if (!this.serving) this.why = (err as Error).message;
      this.opts.onChange?.();
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reloading;
    await this.serving?.close();
    this.serving = undefined;
    for (const m of this.extra.values()) await m.close();
    this.extra.clear();
  }
}
