import { serve, type ServerType } from '@hono/node-server';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../src/config.ts';
import type { Service } from '../../src/service.ts';
import { tempDir } from '../helpers/catalog.ts';
import { demoShop } from '../helpers/demo-service.ts';

/**
 * The schema-driven API fuzzer: schemathesis (from PyPI, pinned in scripts/fuzz/setup.sh, in a venv
 * under .cache/) generates requests from the service's own /openapi.json — every operation, valid
 * and invalid inputs, boundary values, and stateful sequences along the links it infers — against
 * the demo catalog served over HTTP. Zero 5xx, and every answer must match the document (status
 * code, content type, body schema). The service counts what it was sent on /metrics, which is
 * where the request count comes from.
 */
const ADMIN_KEY = 'fuzz-admin-key-0123456789abcdef';
const ST = path.join(ROOT, '.cache/fuzz-venv/bin/st');
const MIN_REQUESTS = 5000;
/** One schemathesis round's time budget (SHELF_FUZZ_SECONDS), and the most all rounds may take. */
const FUZZ_SECONDS = Number(process.env.SHELF_FUZZ_SECONDS ?? 150);
const MAX_SECONDS = Number(process.env.SHELF_FUZZ_MAX_SECONDS ?? 1200);

describe('schemathesis against /openapi.json (embedded demo shop)', () => {
  let server: ServerType;
  let url: string;
  let service: Service;
  let close: () => void;

  beforeAll(async () => {
    execFileSync('bash', [path.join(ROOT, 'scripts/fuzz/setup.sh')], { stdio: 'inherit' });
    const shop = await demoShop('shelf-fuzz-');
    // Held open for the whole file: withService closes the service when its callback returns.
    await new Promise<void>((ready) => {
      void shop.withService(
        { SHELF_ADMIN_API_KEY: ADMIN_KEY, SHELF_MAX_IN_FLIGHT: '0', SHELF__SERVICE__LIMITS__CLIENT__POINTS: '0' },
        async (s) => {
          service = s;
          server = serve({ fetch: s.app.fetch, hostname: '127.0.0.1', port: 0 });
          await new Promise<void>((r) => server.once('listening', () => r()));
          url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
          await new Promise<void>((done) => {
            close = done;
            ready();
          });
        },
      );
    });
  }, 300_000);
  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    close?.();
  });

  const requestCounts = async () => {
    const text = await (await service.app.request('/metrics')).text();
    let total = 0;
    const byStatus = new Map<string, number>();
    for (const m of text.matchAll(/^shelf_http_requests_total\{([^}]*)\} (\d+)/gm)) {
      const status = /status="(\d+)"/.exec(m[1]!)?.[1] ?? '?';
      byStatus.set(status, (byStatus.get(status) ?? 0) + Number(m[2]));
      total += Number(m[2]);
    }
    return { total, byStatus };
  };

  it(
    `answers at least ${MIN_REQUESTS} generated requests over every operation with no 5xx and as documented`,
    async () => {
      const before = await requestCounts();
      const started = Date.now();
      let sent = 0;
      let rounds = 0;
      // Rounds of FUZZ_SECONDS, each with its own seed, until the service has answered MIN_REQUESTS:
      // one round on an unloaded runner; a loaded machine takes more rounds rather than fewer requests.
      while (sent < MIN_REQUESTS) {
        expect(Date.now() - started, `only ${sent} requests within ${MAX_SECONDS} s`).toBeLessThan(MAX_SECONDS * 1000);
        const { code, out } = await schemathesis(20261203 + rounds++);
        if (code !== 0) console.log(out.slice(-20_000));
        // An error inside schemathesis itself (seen once: CPython 3.11's "AST constructor recursion
        // depth mismatch" under its worker threads) is not a finding about the API: the round's
        // requests still count and the next round goes on. A failed check is a finding.
        const internalOnly = code !== 0 && !/=+ FAILURES =+/.test(out) && /Runtime Error: \d+/.test(out);
        // The findings themselves go in the assertion's message: a CI log shows its own end, where
        // schemathesis's summary would otherwise push the FAILURES block out of sight.
        if (!internalOnly) expect(code, `schemathesis found a failure:\n${failuresOf(out)}`).toBe(0);
        // Every operation in the document was exercised.
        const selected = /Selected: (\d+)\/(\d+)/.exec(out);
        expect(Number(/Tested: (\d+)/.exec(out)?.[1])).toBe(Number(selected?.[2]));
        sent = (await requestCounts()).total - before.total;
      }
      const after = await requestCounts();
      const fivexx = [...after.byStatus].filter(([s]) => s.startsWith('5')).reduce((n, [, c]) => n + c, 0);
      const statuses = [...after.byStatus]
        .sort()
        .map(([s, n]) => `${s}: ${n - (before.byStatus.get(s) ?? 0)}`)
        .join(', ');
      console.log(
        `api fuzz: ${sent} requests in ${rounds} round(s), ${Math.round((Date.now() - started) / 1000)} s (by status ${statuses})`,
      );
      expect(fivexx).toBe(0);
      expect(sent).toBeGreaterThanOrEqual(MIN_REQUESTS);
    },
    (MAX_SECONDS + 300) * 1000,
  );

  async function schemathesis(seed: number): Promise<{ code: number | null; out: string }> {
    const args = [
      'run',
      `${url}/openapi.json`,
      '--header',
      `Authorization: Bearer ${ADMIN_KEY}`,
      '--phases',
      'examples,coverage,fuzzing,stateful',
      // Fuzzing and stateful testing repeat until the round's budget is spent.
      '--max-time',
      String(FUZZ_SECONDS),
      '--max-examples',
      '1000',
      '--workers',
      '4',
      '--seed',
      String(seed),
      '--checks',
      'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance',
      '--generation-database',
      'none',
      '--request-timeout',
      '20',
      '--no-color',
      '--output-truncate',
      'true',
    ];
    const out: string[] = [];
    const code = await new Promise<number | null>((resolve) => {
      // Its own working directory: schemathesis keeps a .schemathesis/ folder there.
      const child = spawn(ST, args, { cwd: tempDir('shelf-fuzz-st-'), stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
      child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
      child.on('exit', resolve);
    });
    return { code, out: out.join('') };
  }
});

/** schemathesis's FAILURES block (each finding, its request and `st replay`), at most 6,000 characters. */
function failuresOf(out: string): string {
  const start = out.search(/=+ FAILURES =+/);
  if (start < 0) return '(no FAILURES block: see the output above)';
  const end = out.slice(start + 1).search(/\n=+ (WARNINGS|SUMMARY) =+/);
  return out.slice(start, end < 0 ? start + 6000 : Math.min(start + 1 + end, start + 6000));
}
