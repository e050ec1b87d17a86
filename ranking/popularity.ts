/**
 * Item popularity (undecayed interaction counts, a ranker feature) kept in memory for requests
 * that must not wait on the state store: an anonymous search reads only this, so a Redis outage
 * never reaches it. Counts move slowly, so one up to `ttlMs` old ranks as well as a fresh one; ids
 * missing or stale are read in the background, one batch at a time, for the requests after it.
 */
export class PopularityMemory {
  private readonly counts = new Map<string, { n: number; at: number }>();
  private readonly wanted = new Set<string>();
  private reading: Promise<void> | undefined;
  /** After a failed read, no other is tried before this time: a store that is down is not hammered. */
  private pausedUntil = 0;

  constructor(
    private readonly read: (ids: readonly string[]) => Promise<Map<string, number>>,
    private readonly opts: { ttlMs?: number; max?: number; now?: () => number } = {},
  ) {}

  private get ttl(): number {
    return this.opts.ttlMs ?? 10_000;
  }
  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Counts from memory (0 for unknown ids) at once; what is missing or stale is fetched behind. */
  peek(ids: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    const t = this.now();
    for (const id of ids) {
      const c = this.counts.get(id);
      if (c) out.set(id, c.n);
      if (!c || t - c.at >= this.ttl) this.wanted.add(id);
    }
    if (this.wanted.size > 0 && t >= this.pausedUntil)
      this.reading ??= this.fill().finally(() => (this.reading = undefined));
    return out;
  }

  /** Fresh counts from the store (a request that waits on it anyway), remembered for peek(). */
  async fresh(ids: readonly string[]): Promise<Map<string, number>> {
    const got = await this.read(ids);
    this.remember(ids, got);
    return got;
  }

  /** Resolves once the background read in flight (if any) has finished: for tests. */
  async settled(): Promise<void> {
    while (this.reading) await this.reading;
  }

  private async fill(): Promise<void> {
    const ids = [...this.wanted];
    this.wanted.clear();
    try {
      this.remember(ids, await this.read(ids));
    } catch {
      // The store is down: memory stays as it is, and a peek after one ttl asks again.
      for (const id of ids) this.wanted.add(id);
      this.pausedUntil = this.now() + this.ttl;
    }
  }

  private remember(ids: readonly string[], got: Map<string, number>): void {
    const at = this.now();
    for (const id of ids) {
      this.counts.delete(id);
      this.counts.set(id, { n: got.get(id) ?? 0, at });
    }
    const max = this.opts.max ?? 100_000;
    for (const id of this.counts.keys()) {
      if (this.counts.size <= max) break;
      this.counts.delete(id);
    }
  }
}
