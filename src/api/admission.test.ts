import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Admission, type AdmissionQueueSettings } from './admission.ts';

const QUEUE: AdmissionQueueSettings = { max: 4, timeout_ms: 100, quiet_ms: 1000 };

/** What `p` settled to by now, or 'pending'. */
const state = async <T>(p: Promise<T>): Promise<T | 'pending'> =>
  Promise.race([p, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);

describe('Admission', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('admits up to max_in_flight at once; the next waits and gets the slot of the first to leave, in order', async () => {
    const a = new Admission(2, QUEUE);
    expect(await a.enter()).toBe(true);
    expect(await a.enter()).toBe(true);
    const third = a.enter();
    const fourth = a.enter();
    expect(await state(third)).toBe('pending');
    expect(a.queued).toBe(2);
    a.leave();
    expect(await state(third)).toBe(true);
    expect(await state(fourth)).toBe('pending');
    expect(a.inFlight).toBe(2);
    a.leave();
    expect(await state(fourth)).toBe(true);
    a.leave();
    a.leave();
    expect(a.inFlight).toBe(0);
    expect(a.queued).toBe(0);
  });

  it('refuses at once past the queue bound, and after timeout_ms in the queue; a timed-out waiter holds no slot', async () => {
    const a = new Admission(1, { ...QUEUE, max: 1 });
    expect(await a.enter()).toBe(true);
    const waiting = a.enter();
    expect(await a.enter()).toBe(false); // the queue is full
    vi.advanceTimersByTime(99);
    expect(await state(waiting)).toBe('pending');
    vi.advanceTimersByTime(1);
    expect(await waiting).toBe(false);
    expect(a.queued).toBe(0);
    a.leave();
    expect(a.inFlight).toBe(0);
    expect(await a.enter()).toBe(true);
  });

  it('after a refusal nothing queues for quiet_ms (overload); then bursts wait again', async () => {
    const a = new Admission(1, QUEUE);
    expect(await a.enter()).toBe(true);
    const first = a.enter();
    vi.advanceTimersByTime(100);
    expect(await first).toBe(false);
    expect(a.overloaded).toBe(true);
    // Refused at once: no wait behind the request in flight.
    expect(await a.enter()).toBe(false);
    vi.advanceTimersByTime(999);
    expect(await a.enter()).toBe(false); // that refusal restarted the quiet period
    vi.advanceTimersByTime(1000);
    expect(a.overloaded).toBe(false);
    const burst = a.enter();
    vi.advanceTimersByTime(50);
    expect(await state(burst)).toBe('pending');
    a.leave();
    expect(await burst).toBe(true);
  });

  it('max_in_flight 0: no bound, nothing queued', async () => {
    const a = new Admission(0, QUEUE);
    const all = await Promise.all(Array.from({ length: 50 }, () => a.enter()));
    expect(all.every(Boolean)).toBe(true);
    expect(a.queued).toBe(0);
    for (let i = 0; i < 50; i++) a.leave();
    expect(a.inFlight).toBe(0);
  });
});
