/**
 * Retries for writes to the index stores. A server that blips (a restart, a full queue, a
 * timeout) costs a short wait instead of a failed run; a store that stays down fails after a
 * few attempts so the caller can abort or report it.
 */
export interface RetryPolicy {
  /** Tries in total, the first included. */
  attempts: number;
  /** Wait before the second try; doubled before each further one. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250 };

export async function retry<T>(fn: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= policy.attempts) throw err;
      const delay = policy.baseDelayMs * 2 ** (attempt - 1);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
