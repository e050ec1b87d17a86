import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  SamplingBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  timeout,
  wrap,
  type IPolicy,
} from 'cockatiel';
import { z } from 'zod';

/**
 * Dependency budgets: every call the service makes to Redis, Kafka, Elasticsearch or Qdrant goes
 * through one DependencyGuard per server, a cockatiel timeout inside a circuit breaker. A call
 * that does not answer within its budget is abandoned (the caller answers degraded or 503 at
 * once); once a server keeps failing the breaker opens and calls fail without waiting at all,
 * until a trial call after `half_open_after_ms` finds it back.
 */

export const DEPENDENCY_NAMES = ['redis', 'kafka', 'elasticsearch', 'qdrant'] as const;
export type DependencyName = (typeof DEPENDENCY_NAMES)[number];

/** The budget and breaker of one server (settings `backends.budgets.<name>`). */
export const dependencyBudgetSchema = (timeoutMs: number) =>
  z
    .object({
      /** The longest one call may take before it is abandoned and counted as a failure. */
      timeout_ms: z.number().int().min(1).max(120_000).default(timeoutMs),
      /**
       * `consecutive`: open after `consecutive_failures` failures in a row. `sampling`: open when
       * at least `failure_ratio` of the calls in the last `sampling_ms` failed (and they were at
       * least `min_rps` a second, so a few calls on a quiet instance do not trip it).
       */
      breaker: z.enum(['consecutive', 'sampling']).default('consecutive'),
      consecutive_failures: z.number().int().min(1).default(5),
      failure_ratio: z.number().gt(0).max(1).default(0.5),
      sampling_ms: z.number().int().min(100).default(10_000),
      min_rps: z.number().min(0).default(5),
      /** How long an open breaker refuses calls before one trial call may test the server again. */
      half_open_after_ms: z.number().int().min(10).default(5_000),
    })
    .strict();
export type DependencyBudget = z.output<ReturnType<typeof dependencyBudgetSchema>>;

/**
 * Defaults: Redis answers a shopper's state in a millisecond or two, so 250 ms is already an
 * outage; Kafka acknowledges only once every in-sync replica has the batch (2 s); the search
 * engines get 1 s, since a search that waits longer has lost its shopper anyway.
 */
export const DependencyBudgetsSchema = z
  .object({
    redis: dependencyBudgetSchema(250).prefault({}),
    kafka: dependencyBudgetSchema(2_000).prefault({}),
    elasticsearch: dependencyBudgetSchema(1_000).prefault({}),
    qdrant: dependencyBudgetSchema(1_000).prefault({}),
  })
  .strict();
export type DependencyBudgets = z.output<typeof DependencyBudgetsSchema>;

export type FailureKind = 'timeout' | 'error' | 'open';
export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * A dependency call that did not answer: it timed out, failed, or was not even tried because the
 * breaker is open. `retryAfterMs` is when trying again makes sense (the `Retry-After` header). The
 * message names the server and what happened, never its address or its error text (that is the
 * `cause`, for the log): it may reach clients in `degraded` and 503 bodies.
 */
export class DependencyUnavailable extends Error {
  constructor(
    readonly dependency: DependencyName,
    readonly kind: FailureKind,
    readonly retryAfterMs: number,
    options?: { cause?: unknown },
  ) {
    super(
      kind === 'timeout'
        ? `${dependency} did not answer within its budget`
        : kind === 'open'
          ? `${dependency} is failing: its circuit breaker is open`
          : `${dependency} answered with an error`,
      options,
    );
    this.name = 'DependencyUnavailable';
  }

  /** Whole seconds, at least 1, for the `Retry-After` header. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.retryAfterMs / 1000));
  }
}

/** The first DependencyUnavailable in an error or its causes (stores wrap errors in their own). */
export function unavailableIn(err: unknown): DependencyUnavailable | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++)
    if (e instanceof DependencyUnavailable) return e;
  return undefined;
}

/** Where the metrics hear about a guard (core/metrics.ts `watchGuards`). */
export interface GuardHooks {
  onFailure?(dependency: DependencyName, kind: FailureKind): void;
  onStateChange?(dependency: DependencyName, state: BreakerState): void;
}

export class DependencyGuard {
  private readonly policy: IPolicy;
  private readonly breaker: ReturnType<typeof circuitBreaker>;
  private openedAt = 0;

  constructor(
    readonly name: DependencyName,
    readonly budget: DependencyBudget,
    private readonly hooks: GuardHooks = {},
  ) {
    this.breaker = circuitBreaker(handleAll, {
      halfOpenAfter: budget.half_open_after_ms,
      breaker:
        budget.breaker === 'consecutive'
          ? new ConsecutiveBreaker(budget.consecutive_failures)
          : new SamplingBreaker({
              threshold: budget.failure_ratio,
              duration: budget.sampling_ms,
              minimumRps: budget.min_rps,
            }),
    });
    this.breaker.onBreak(() => (this.openedAt = Date.now()));
    this.breaker.onStateChange(() => this.hooks.onStateChange?.(this.name, this.state));
    // Aggressive: the caller gets its answer at the deadline even when the client ignores the
    // abort signal (ioredis, kafkajs); the late reply is dropped.
    this.policy = wrap(this.breaker, timeout(budget.timeout_ms, TimeoutStrategy.Aggressive));
  }

  get state(): BreakerState {
    const s = this.breaker.state;
    return s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half_open' : 'open';
  }

  /** When a call may be tried again: the rest of the open period, else the budget itself. */
  retryAfterMs(): number {
    if (this.state !== 'open') return this.budget.timeout_ms;
    return Math.max(this.budget.timeout_ms, this.openedAt + this.budget.half_open_after_ms - Date.now());
  }

  /**
   * Runs `fn` within the budget. Resolves with its answer, or rejects with DependencyUnavailable
   * (timeout, failure, open breaker). Errors `isAnswer` accepts are answers, not failures (a
   * write conflict, a missing document): rethrown as they are, never counted against the breaker.
   */
  async call<T>(fn: (signal: AbortSignal) => Promise<T>, isAnswer?: (err: unknown) => boolean): Promise<T> {
    let answer: { err: unknown } | undefined;
    let value: T;
    try {
      value = await this.policy.execute(async ({ signal }) => {
        try {
          return await fn(signal);
        } catch (err) {
          if (!isAnswer?.(err)) throw err;
          answer = { err };
          return undefined as T;
        }
      });
    } catch (err) {
      const kind: FailureKind =
        err instanceof TaskCancelledError ? 'timeout' : err instanceof BrokenCircuitError ? 'open' : 'error';
      this.hooks.onFailure?.(this.name, kind);
      throw new DependencyUnavailable(this.name, kind, this.retryAfterMs(), { cause: err });
    }
    if (answer) throw answer.err;
    return value;
  }
}

/** One guard per server, from the settings; the same guard for every client of that server. */
export type DependencyGuards = Record<DependencyName, DependencyGuard>;

export function createGuards(budgets: DependencyBudgets, hooks: GuardHooks = {}): DependencyGuards {
  return {
    redis: new DependencyGuard('redis', budgets.redis, hooks),
    kafka: new DependencyGuard('kafka', budgets.kafka, hooks),
    elasticsearch: new DependencyGuard('elasticsearch', budgets.elasticsearch, hooks),
    qdrant: new DependencyGuard('qdrant', budgets.qdrant, hooks),
  };
}

/** The names of `T`'s methods (optional ones too) that answer with a promise. */
export type AsyncMethodOf<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof T];

/**
 * `inner` with the named methods run through `guard` (budget and breaker); every other member is
 * `inner`'s own, bound to it. For stores whose every remote call should keep one budget, so a
 * method is guarded by naming it rather than by writing out a wrapper for it.
 */
export function guardMethods<T extends object>(
  inner: T,
  guard: DependencyGuard,
  methods: readonly AsyncMethodOf<T>[],
): T {
  const names = new Set<PropertyKey>(methods);
  return new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => Promise<unknown>;
      if (!names.has(prop)) return fn.bind(target);
      return (...args: unknown[]) => guard.call(() => fn.apply(target, args));
    },
  });
}

/**
 * Which of `T`'s async methods a guarded store runs within the budget (`true`: the calls a
 * request waits on) and which it passes through as they are (`false`: writes with their own
 * retries, close). Every async method, optional ones too, must be named: a method added to `T` is
 * a type error where its store is guarded until someone decides, so none is left unguarded by
 * oversight.
 */
export type GuardPlan<T> = Record<AsyncMethodOf<T>, boolean>;

/** guardMethods() with the methods a complete plan marks `true`. */
export function guardByPlan<T extends object>(inner: T, guard: DependencyGuard, plan: GuardPlan<T>): T {
  return guardMethods(
    inner,
    guard,
    (Object.keys(plan) as Array<AsyncMethodOf<T>>).filter((m) => plan[m]),
  );
}
