import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../src/config.ts';

// Only the variables a test names: the calling shell's settings must not leak in.
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'cli/config.ts'), ...args],
    {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ...env },
    },
  );

describe('npm run config', () => {
  it('print shows every setting with its source, secrets masked', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shelf-config-cli-'));
    const file = path.join(dir, 'shelf.yaml');
    writeFileSync(file, 'ranking:\n  a: 2\ncoupons:\n  admin_api_key: the-admin-key-0123456789\n');
    const r = run(['print'], {
      SHELF_CONFIG: file,
      SHELF__DIVERSITY__FEED__LAMBDA: '0.6',
      PORT: '9000',
      REDIS_URL: 'redis://shop:hunter2@127.0.0.1:6379',
      QDRANT_API_KEY: 'qdrant-secret',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const line = (p: string) => r.stdout.split('\n').find((l) => l.startsWith(`${p} = `));
    expect(line('diversity.feed.lambda')).toMatch(/= 0\.6\s+# SHELF__DIVERSITY__FEED__LAMBDA$/);
    expect(line('service.port')).toMatch(/= 9000\s+# PORT$/);
    expect(line('ranking.a')).toMatch(new RegExp(`= 2\\s+# ${file.replace(/[.]/g, '\\.')}$`));
    expect(line('ranking.b')).toMatch(/= 1\s+# default$/);
    expect(line('coupons.admin_api_key')).toMatch(/= \*\*\*\*\s+#/);
    expect(line('backends.redisUrl')).toMatch(/redis:\/\/shop:\*\*\*\*@127\.0\.0\.1:6379/);
    expect(line('backends.qdrantApiKey')).toMatch(/= \*\*\*\*/);
    expect(r.stdout).not.toMatch(/hunter2|the-admin-key|qdrant-secret/);

    const j = run(['print', '--json'], { SHELF_ADMIN_API_KEY: 'the-admin-key-0123456789', SHELF_RANK: 'off' });
    expect(j.status).toBe(0);
    const out = JSON.parse(j.stdout);
    expect(out.settings.ranking.mode).toBe('off');
    expect(out.settings.coupons.admin_api_key).toBe('****');
    expect(out.sources['ranking.mode']).toBe('SHELF_RANK');
    expect(out.sources['ranking.a']).toBe('default');
  });

  it('check validates; bad settings exit 1 naming the path, an unreadable file exits 2 in one line', () => {
    expect(run(['check']).stdout).toMatch(/^configuration ok/);
    const bad = run(['check'], { SHELF__DIVERSITY__FEED__LAMBDA: '2' });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe(
      'invalid configuration: diversity.feed.lambda from SHELF__DIVERSITY__FEED__LAMBDA: must be at most 1',
    );
    const missing = run(['print'], { SHELF_CONFIG: '/nonexistent/shelf.yaml' });
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/SHELF_CONFIG: cannot read \/nonexistent\/shelf\.yaml/);
    expect(run(['nonsense']).status).toBe(2);
  });
});

describe('npm run config -- shopper-token', () => {
  const SECRET = 'cli-shopper-token-secret-0123456789ab';
  it('mints a token the service verifies, for the user and the lifetime asked', async () => {
    const { verifyShopperToken } = await import('../src/trust/shopper-token.ts');
    const before = Date.now();
    const r = run(['shopper-token', '--user', 'alice', '--session', 's-1', '--ttl', '15m'], {
      SHELF_SHOPPER_TOKEN_SECRET: SECRET,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const claims = await verifyShopperToken(SECRET, r.stdout.trim());
    expect(claims).toMatchObject({ user_id: 'alice', session_id: 's-1' });
    expect(claims.expires_at).toBeGreaterThan(before + 14 * 60_000);
    expect(claims.expires_at).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
    await expect(verifyShopperToken('another-secret-0123456789abcdefghij', r.stdout.trim())).rejects.toThrow(
      /not signed by this shop/,
    );
  });

  it('refuses without a secret (exit 1) or without a shopper or with a bad --ttl (exit 2)', () => {
    expect(run(['shopper-token', '--user', 'alice']).status).toBe(1);
    expect(run(['shopper-token'], { SHELF_SHOPPER_TOKEN_SECRET: SECRET }).status).toBe(2);
    const bad = run(['shopper-token', '--user', 'a', '--ttl', 'soon'], { SHELF_SHOPPER_TOKEN_SECRET: SECRET });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--ttl: expected a duration/);
  });
});
