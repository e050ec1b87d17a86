/**
 * Admission: at most `maxInFlight` requests served at once, and a short wait queue in front of
 * them that is open only while the service is not refusing anyone:
 *
 * - A burst on a service that keeps up (the few requests one page sends at once: results,
 *   suggestions, a side-by-side) waits up to `timeout_ms` for a slot and is served in turn,
 *   instead of the second request being refused.
 * - Once a request has been refused (the queue full, or a wait ran out), the service is overloaded,
 *   not bursty: for the next `quiet_ms` nothing queues, so the admitted requests are not slowed by
 *   waiting behind others (their latency stays close to the unloaded one) and the rest are
 *   refused at once. This is the idea of CoDel and of Facebook's adaptive queue time-outs (a
 *   standing queue only adds delay), with refusals as the signal.
 *
 * Slots pass straight from a leaving request to the first waiter, in arrival order.
 */

export interface AdmissionQueueSettings {
  /** Requests that may wait for a slot; past this, refused at once. 0: no queue. */
  max: number;
  /** How long a request may wait for a slot, ms. */
  timeout_ms: number;
  /** After a refusal, how long nothing queues, ms. */
  quiet_ms: number;
}

interface Waiter {
  admit: () => void;
  timer: NodeJS.Timeout;
}

export class Admission {
  private inFlightNow = 0;
  private readonly waiters: Waiter[] = [];
  /** When a request was last refused; epoch ms. */
  private lastRefusal = -Infinity;

  constructor(
    /** 0: no bound (and no queue). */
    private readonly maxInFlight: number,
    private readonly queue: AdmissionQueueSettings,
    private readonly now: () => number = Date.now,
  ) {}

  get inFlight(): number {
    return this.inFlightNow;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Whether a request was refused in the last `quiet_ms` (the queue is closed meanwhile). */
  get overloaded(): boolean {
    return this.now() - this.lastRefusal < this.queue.quiet_ms;
  }

  /**
   * Takes a slot: at once, after a wait in the queue, or not at all (false: refuse the request).
   * Every `true` must be matched by one `leave()`.
   */
  async enter(): Promise<boolean> {
    if (this.maxInFlight === 0 || (this.inFlightNow < this.maxInFlight && this.waiters.length === 0)) {
      this.inFlightNow++;
      return true;
    }
    if (this.waiters.length >= this.queue.max || this.queue.timeout_ms <= 0 || this.overloaded) return this.refused();
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        // The slot is handed over by leave(): inFlightNow already counts it.
        admit: () => {
          clearTimeout(waiter.timer);
          resolve(true);
        },
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(this.refused());
        }, this.queue.timeout_ms),
      };
      this.waiters.push(waiter);
    });
  }

  /** Gives the slot back: to the first waiter if any. */
  leave(): void {
    const next = this.maxInFlight === 0 ? undefined : this.waiters.shift();
    if (next) next.admit();
    else this.inFlightNow--;
  }

  private refused(): false {
    this.lastRefusal = this.now();
    return false;
  }
}
