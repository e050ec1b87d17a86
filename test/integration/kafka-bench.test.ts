import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKafkaBench } from '../../bench/kafka-bench.ts';
import { tempDir } from '../helpers/catalog.ts';
import { KAFKA_BROKERS, REDIS_URL } from './helpers/behavior-servers.ts';

/** `npm run bench -- kafka`, scaled down, against the real Kafka and Redis. */
describe('kafka bench over Kafka and Redis', () => {
  it('measures every event from append to applied and writes bench-kafka.json', async () => {
    const outDir = tempDir('shelf-bench-kafka-');
    const res = await runKafkaBench({
      brokers: KAFKA_BROKERS,
      redisUrl: REDIS_URL,
      outDir,
      rate: 100,
      seconds: 2,
      burst: 1000,
      users: 50,
      products: 100,
      dim: 8,
      quiet: true,
    });
    expect(res.steady.e2e.n).toBe(200);
    expect(res.steady.append_ack.n).toBe(200);
    expect(res.steady.e2e.p50_ms).toBeGreaterThan(0);
    expect(res.steady.e2e.p99_ms).toBeGreaterThanOrEqual(res.steady.e2e.p50_ms);
    expect(res.burst.applied_per_s).toBeGreaterThan(0);
    expect(res.consumer).toMatchObject({ applied: 200 + 200 + 1000, duplicates: 0, deadLetters: 0 });
    const written = JSON.parse(fs.readFileSync(path.join(outDir, 'bench-kafka.json'), 'utf8')) as typeof res;
    expect(written.steady.e2e).toEqual(res.steady.e2e);
  });
});
