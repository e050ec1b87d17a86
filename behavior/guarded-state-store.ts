import type { DependencyGuard } from '../core/dependency-guard.ts';
import { StateConflictError, type StateCommit, type StateStore } from './state-store.ts';

/**
 * A state store (Redis) whose every call runs within its server's budget and circuit breaker
 * (core/dependency-guard.ts): a slow or dead server fails the call with DependencyUnavailable
 * in time for the request to answer without it. A write conflict is the store's answer, not a
 * failure of the server, so it passes through as it is.
 */
export class GuardedStateStore implements StateStore {
  constructor(
    private readonly inner: StateStore,
    private readonly guard: DependencyGuard,
  ) {}

  get kind(): string {
    return this.inner.kind;
  }

  applied(eventIds: readonly string[]) {
    return this.guard.call(() => this.inner.applied(eventIds));
  }
  getUsers(subjects: readonly string[]) {
    return this.guard.call(() => this.inner.getUsers(subjects));
  }
  forget(subjects: readonly string[]): void {
    this.inner.forget?.(subjects);
  }
  commit(c: StateCommit) {
    return this.guard.call(
      () => this.inner.commit(c),
      (err) => err instanceof StateConflictError,
    );
  }
  trending(scope: string, k: number) {
    return this.guard.call(() => this.inner.trending(scope, k));
  }
  cooccurring(id: string, k: number) {
    return this.guard.call(() => this.inner.cooccurring(id, k));
  }
  itemCounts(ids: readonly string[]) {
    return this.guard.call(() => this.inner.itemCounts(ids));
  }
  deadLetters(limit: number) {
    return this.guard.call(() => this.inner.deadLetters(limit));
  }
  dependencies() {
    // /readyz checks the server itself, with its own deadline: never through the breaker.
    return this.inner.dependencies();
  }
  close() {
    return this.inner.close();
  }
}
