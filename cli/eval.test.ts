import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS, main, mainUsage, type CliIo } from './eval.ts';
import { UsageError, intOpt, type Command } from '../eval/kit/command.ts';

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out: (t: string) => {
      io.stdout += t + '\n';
    },
    err: (t: string) => {
      io.stderr += t + '\n';
    },
  };
  return io;
}

const seen: Array<Record<string, unknown>> = [];
const fake: Command[] = [
  {
    path: ['hello'],
    summary: 'Say hello.',
    options: {
      name: { type: 'string', value: 'NAME', help: 'who', required: true },
      times: { type: 'string', value: 'N', help: 'how often' },
    },
    async run(values) {
      intOpt(values, 'times', 1);
      if (values.name === 'boom') throw new Error('exploded');
      seen.push(values);
    },
  },
  { path: ['convert', 'a'], summary: 'Convert A.', options: {}, run: async () => undefined },
  { path: ['convert', 'b'], summary: 'Convert B.', options: {}, run: async () => undefined },
];

describe('eval CLI', () => {
  it('prints the command table on --help (exit 0) and with no args (exit 2)', async () => {
    const a = capture();
    expect(await main(['--help'], fake, a)).toBe(0);
    expect(a.stdout).toMatch(/hello\s+Say hello\./);
    expect(a.stdout).toMatch(/convert a\s+Convert A\./);
    const b = capture();
    expect(await main([], fake, b)).toBe(2);
    expect(b.stderr).toContain('Usage: npm run eval --');
  });

  it('exits 2 with usage on unknown commands, options, missing or bad values', async () => {
    for (const argv of [
      ['nope'],
      ['hello'],
      ['hello', '--name'],
      ['hello', '--name', 'x', '--bogus'],
      ['hello', '--name', 'x', '--times', 'two'],
      ['hello', 'stray'],
    ]) {
      const io = capture();
      expect([argv, await main(argv, fake, io)]).toEqual([argv, 2]);
      expect(io.stderr).toContain('Usage:');
    }
    const io = capture();
    await main(['hello', '--name', 'x', '--times', '0'], fake, io);
    expect(io.stderr).toContain('--times must be an integer ≥ 1');
  });

  it('handles command groups', async () => {
    const missing = capture();
    expect(await main(['convert'], fake, missing)).toBe(2);
    expect(missing.stderr).toMatch(/missing convert target[\s\S]*convert a[\s\S]*convert b/);
    const unknown = capture();
    expect(await main(['convert', 'c'], fake, unknown)).toBe(2);
    expect(unknown.stderr).toContain('unknown convert target: c');
    const help = capture();
    expect(await main(['convert', '--help'], fake, help)).toBe(0);
  });

  it('runs a command with parsed options; failures exit 1', async () => {
    seen.length = 0;
    expect(await main(['hello', '--name', 'ann', '--times', '3'], fake, capture())).toBe(0);
    expect(seen).toEqual([{ name: 'ann', times: '3' }]);
    const io = capture();
    expect(await main(['hello', '--name', 'boom'], fake, io)).toBe(1);
    expect(io.stderr).toContain('exploded');
  });

  it('shows per-command help', async () => {
    const io = capture();
    expect(await main(['hello', '--help'], fake, io)).toBe(0);
    expect(io.stdout).toMatch(/Usage: npm run eval -- hello --name NAME \[options\]/);
    expect(io.stdout).toMatch(/--times N\s+how often/);
  });

  it('registers search, feed and the converters', () => {
    expect(COMMANDS.map((c) => c.path.join(' '))).toEqual([
      'search',
      'tune-fusion',
      'feed',
      'ranking',
      'ranking export',
      'diversity',
      'coupons',
      'online',
      'demo-sequences',
      'convert home-depot',
      'convert fashion',
      'convert amazon-video',
      'convert amazon-beauty-sports',
      'convert taobao',
    ]);
    expect(mainUsage()).toContain('convert fashion');
    expect(mainUsage(COMMANDS, ['convert'])).toContain('convert amazon-video');
  });

  it('UsageError thrown by a command exits 2', async () => {
    const cmd: Command = {
      path: ['x'],
      summary: 'x',
      options: {},
      run: async () => {
        throw new UsageError('nope');
      },
    };
    const io = capture();
    expect(await main(['x'], [cmd], io)).toBe(2);
    expect(io.stderr).toMatch(/^nope/);
  });
});

describe('real commands', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shelf-eval-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('search requires --data and --out', async () => {
    const io = capture();
    expect(await main(['search', '--out', dir], COMMANDS, io)).toBe(2);
    expect(io.stderr).toContain('--data is required');
  });

  it('search rejects prefixes for the default embedder', async () => {
    const io = capture();
    expect(await main(['search', '--data', dir, '--out', dir, '--query-prefix', 'query: '], COMMANDS, io)).toBe(2);
  });

  it('convert home-depot runs end to end', async () => {
    await writeFile(
      join(dir, 'train.csv'),
      'id,product_uid,product_title,search_term,relevance\n1,100001,Angle,l bracket,3\n',
    );
    const io = capture();
    const code = await main(['convert', 'home-depot', '--source', dir, '--out', join(dir, 'out')], COMMANDS, io);
    expect([code, io.stderr]).toEqual([0, '']);
    expect(await readFile(join(dir, 'out', 'qrels.tsv'), 'utf8')).toBe('q1 0 100001 3\n');
  });
});
