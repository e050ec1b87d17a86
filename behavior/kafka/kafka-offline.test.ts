import type { Message, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BatchingSender } from './batching-sender.ts';
import { parseCatalogChange } from './catalog-changes.ts';
import { KafkaEventLog } from './kafka-event-log.ts';

/** A producer whose sends resolve when the test says so, recording what each one carried. */
function fakeProducer() {
  const sends: Array<{ messages: Message[]; done: (err?: Error) => void }> = [];
  const producer = {
    send: ({ messages }: { messages: Message[] }) =>
      new Promise<void>((resolve, reject) => sends.push({ messages, done: (err) => (err ? reject(err) : resolve()) })),
  } as unknown as Producer;
  return { producer, sends };
}
const tick = () => new Promise((r) => setImmediate(r));
const values = (ms: Message[]) => ms.map((m) => m.value);

describe('BatchingSender', () => {
  it('keeps one request in flight and folds the appends that wait into the next, in order', async () => {
    const { producer, sends } = fakeProducer();
    const s = new BatchingSender(producer, 't');
    const settled: string[] = [];
    const a = s.send([{ value: 'a' }]).then(() => settled.push('a'));
    const b = s.send([{ value: 'b1' }, { value: 'b2' }]).then(() => settled.push('b'));
    const c = s.send([{ value: 'c' }]).then(() => settled.push('c'));
    await tick();
    expect(sends.map((x) => values(x.messages))).toEqual([['a']]);
    sends[0]!.done();
    await tick();
    expect(sends.map((x) => values(x.messages))).toEqual([['a'], ['b1', 'b2', 'c']]);
    expect(settled).toEqual(['a']);
    sends[1]!.done();
    await Promise.all([a, b, c]);
    expect(settled).toEqual(['a', 'b', 'c']);
  });

  it('fails exactly the appends whose request failed, and goes on with the next', async () => {
    const { producer, sends } = fakeProducer();
    const s = new BatchingSender(producer, 't');
    const a = s.send([{ value: 'a' }]);
    await tick();
    const b = s.send([{ value: 'b' }]);
    sends[0]!.done(new Error('broker down'));
    await expect(a).rejects.toThrow('broker down');
    await tick();
    sends[1]!.done();
    await expect(b).resolves.toBeUndefined();
  });

  it('splits a backlog larger than one request', async () => {
    const sent: Message[][] = [];
    const producer = {
      send: async ({ messages }: { messages: Message[] }) => void sent.push(messages),
    } as unknown as Producer;
    const s = new BatchingSender(producer, 't', 1000);
    const big = (i: number) => ({ value: 'y'.repeat(200) + i });
    await Promise.all([s.send([{ value: 'x' }]), ...[0, 1, 2, 3, 4].map((i) => s.send([big(i)]))]);
    // About 235 bytes each: four fit in a 1000-byte request, the fifth waits for the next; in order.
    expect(sent.map(values)).toEqual([['x'], [0, 1, 2, 3].map((i) => big(i).value), [big(4).value]]);
  });

  it('shares a request between the POSTs waiting for it: sizes are counted as sent, not at the worst case', async () => {
    // The ingestion benchmark's shape: 1,000-event batches of ~170-byte JSON (~200 kB each).
    const { producer, sends } = fakeProducer();
    const s = new BatchingSender(producer, 't');
    const batch = (b: number) =>
      Array.from({ length: 1000 }, (_, i) => ({ key: `u${i}`, value: JSON.stringify({ b, i, pad: 'p'.repeat(140) }) }));
    const first = s.send([{ value: 'click' }]);
    await tick();
    const waiting = [0, 1, 2].map((b) => s.send(batch(b)));
    sends[0]!.done();
    await first;
    await tick();
    // Two fit under the 512 kB limit; at 3 bytes per character each looked like 550 kB and went alone.
    expect(sends[1]!.messages).toHaveLength(2000);
    sends[1]!.done();
    await tick();
    expect(sends[2]!.messages).toHaveLength(1000);
    sends[2]!.done();
    await Promise.all(waiting);
  });
});

describe('parseCatalogChange', () => {
  const rec = (value: string) => ({ position: '0:7', key: 'p1', value });
  it('accepts upserts and deletes, and explains a bad record', () => {
    expect(parseCatalogChange(rec('{"op":"upsert","product":{"id":"p1","title":"Shoe"}}'))).toEqual({
      position: '0:7',
      change: { op: 'upsert', product: { id: 'p1', title: 'Shoe' } },
    });
    expect(parseCatalogChange(rec('{"op":"delete","product":{"id":42}}'))).toMatchObject({
      change: { op: 'delete', product: { id: 42 } },
    });
    expect(parseCatalogChange(rec('{"op":"rename","product":{"id":"p1"}}'))).toMatchObject({
      error: expect.stringMatching(/^op:/),
    });
    expect(parseCatalogChange(rec('{"op":"delete","product":{}}'))).toMatchObject({
      error: expect.stringMatching(/^product\.id:/),
    });
    expect(parseCatalogChange(rec('{oops'))).toMatchObject({ error: expect.stringMatching(/^not JSON/), raw: '{oops' });
  });
});

describe('unreachable brokers', () => {
  it('says which brokers did not answer and what to check', async () => {
    const err = await KafkaEventLog.open({ brokers: ['127.0.0.1:1'], namespace: 'x', retries: 1, log: () => {} }).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toMatch(
      /^Kafka brokers unreachable \(127\.0\.0\.1:1\): .*ECONNREFUSED.*KAFKA_BROKERS/,
    );
  });
});
