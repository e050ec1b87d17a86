import type { DependencyGuard } from '../core/dependency-guard.ts';
import type { BehaviorEvent } from './event.ts';
import type { ConsumeOptions, EventLog, StreamRecord, Subscription } from './event-log.ts';

/**
 * A behaviour stream (Kafka) whose appends run within the server's budget and circuit breaker
 * (core/dependency-guard.ts). An append that misses its budget rejects with DependencyUnavailable
 * and the caller answers 503: nothing is acknowledged that the broker has not acknowledged. The
 * producer may still deliver it later; a client's retry then carries the same event ids, which the
 * consumer applies once. Consuming is a long-running loop with its own retries: not guarded.
 */
export class GuardedEventLog implements EventLog {
  constructor(
    private readonly inner: EventLog,
    private readonly guard: DependencyGuard,
  ) {}

  get kind(): string {
    return this.inner.kind;
  }

  append(events: readonly BehaviorEvent[]): Promise<void> {
    return this.guard.call(() => this.inner.append(events));
  }
  appendRaw(records: ReadonlyArray<{ key?: string; value: string }>): Promise<void> {
    return this.guard.call(() => this.inner.appendRaw(records));
  }
  consume(opts: ConsumeOptions, handler: (batch: StreamRecord[]) => Promise<void>): Promise<Subscription> {
    return this.inner.consume(opts, handler);
  }
  onAppend(fn: () => void): () => void {
    return this.inner.onAppend?.(fn) ?? (() => {});
  }
  wake(): void {
    this.inner.wake?.();
  }
  dependencies() {
    return this.inner.dependencies();
  }
  close() {
    return this.inner.close();
  }
}
