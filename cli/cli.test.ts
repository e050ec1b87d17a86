import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../src/config.ts';

/** Every entry point through tsx in a child process, as `npm run …` runs it. */
const run = (cli: string, args: string[]) =>
  spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'cli', cli), ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, SHELF_EMBEDDER: 'default', ELASTICSEARCH_URL: '', QDRANT_URL: '', KAFKA_BROKERS: '' },
    },
  );

const lines = (s: string) => s.trimEnd().split('\n');

describe('command-line entry points (commander, cli/run.ts)', () => {
  it('--help of each CLI lists its subcommands or options (exit 0)', () => {
    const expected: Array<[string, RegExp[]]> = [
      [
        'eval.ts',
        [
          /^ {2}search\s/m,
          /^ {2}tune-fusion\s/m,
          /^ {2}feed\s/m,
          /^ {2}ranking export\s/m,
          /^ {2}convert taobao\s/m,
          /^ {2}online\s/m,
        ],
      ],
      [
        'bench.ts',
        ['search', 'freshness', 'rank', 'rerank', 'backends', 'kafka'].map(
          (b) => new RegExp(`^ {2}${b} \\[options\\]`, 'm'),
        ),
      ],
      ['train.ts', [/^ {2}ranker \[options\]/m, /^ {2}text-embedder \[options\]/m]],
      ['report.ts', [/^ {2}experiment \[options\]/m, /^ {2}shop \[options\]/m]],
      ['indexer.ts', [/--catalog FILE/, /--verify/, /--follow/]],
      ['consumer.ts', [/--group NAME/]],
      ['serve.ts', [/--no-index/]],
    ];
    for (const [cli, patterns] of expected) {
      const res = run(cli, ['--help']);
      expect([cli, res.status]).toEqual([cli, 0]);
      for (const p of patterns) expect(res.stdout).toMatch(p);
    }
    const sub = run('bench.ts', ['rank', '--help']);
    expect(sub.stdout).toMatch(/--iterations N\s+timed rounds \(default: 1000\)/);
    // Each CLI is a cold tsx start: minutes on a loaded machine.
  }, 180_000);

  it('an unknown subcommand or option exits 2 with one line and a usage hint, no stack', () => {
    for (const [cli, args] of [
      ['eval.ts', ['nope']],
      ['eval.ts', ['search', '--bogus']],
      ['bench.ts', ['nope']],
      ['bench.ts', ['rank', '--iterations', 'x']],
      ['train.ts', ['nope']],
      ['report.ts', ['shop', '--from', 'yesterday-ish', '--out', '/tmp/x']],
      ['train.ts', ['text-embedder', '--weights-dtype', 'int8']],
      ['consumer.ts', ['--bogus']],
      ['serve.ts', ['--bogus']],
    ] as const) {
      const res = run(cli, [...args]);
      expect([cli, args, res.status]).toEqual([cli, args, 2]);
      const err = lines(res.stderr);
      expect(err).toHaveLength(2);
      expect(err[1]).toMatch(/^Usage: npm (run \w+|start) --.*--help for more\)$/);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    }
  }, 180_000);

  it('a missing input folder or file is a one-line error, exit 2, no stack trace', () => {
    const missing = path.join(ROOT, '.no-such-folder');
    for (const [cli, args, message] of [
      ['eval.ts', ['search', '--data', missing, '--out', '/tmp/x'], `eval: --data ${missing}: no such folder`],
      ['eval.ts', ['feed', '--data', missing, '--out', '/tmp/x'], `eval: --data ${missing}: no such folder`],
      ['eval.ts', ['convert', 'taobao', '--source', missing], `eval: --source ${missing}: no such folder`],
      ['train.ts', ['ranker', '--data', missing, '--out', '/tmp/x'], `train: --data ${missing}: no such file`],
      ['indexer.ts', ['--catalog', missing], `index: --catalog ${missing}: no such file`],
      ['indexer.ts', ['--changes', missing], `index: --changes ${missing}: no such file`],
      ['indexer.ts', ['--publish', missing], `index: --publish ${missing}: no such file`],
    ] as const) {
      const res = run(cli, [...args]);
      expect([cli, res.status]).toEqual([cli, 2]);
      expect(lines(res.stderr)[0]).toBe(message);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
