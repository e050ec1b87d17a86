import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/catalog.ts';
import { main, type CliIo } from '../../cli/eval.ts';
import type { DiversityReport } from './diversity.ts';
import { DEFAULT_TAOBAO } from './run.ts';

describe('npm run eval -- diversity', () => {
  it.skipIf(!existsSync(DEFAULT_TAOBAO))(
    'writes diversity.json and diversity.html; lower λ shows more varied pages',
    async () => {
      const out = tempDir('shelf-eval-diversity-');
      const lines: string[] = [];
      const io: CliIo = { out: (t) => lines.push(t), err: (t) => lines.push(t) };
      const code = await main(
        [
          'diversity',
          '--out',
          out,
          '--users',
          '8',
          '--visits',
          '2',
          '--per-visit',
          '3',
          '--eval-requests',
          '3',
          '--lambdas',
          '1,0.7,0.3',
        ],
        undefined,
        io,
      );
      expect(code, lines.join('\n')).toBe(0);
      const r = JSON.parse(readFileSync(path.join(out, 'diversity.json'), 'utf8')) as DiversityReport;
      expect(r.note).toMatch(/SIMULATED/);
      expect(r.ranking.mode).toBe('model');
      for (const s of ['search', 'feed'] as const) {
        const sr = r.surfaces[s];
        expect(sr.requests).toBeGreaterThan(0);
        expect(sr.rows.map((row) => row.label)).toEqual(['λ=1', 'λ=0.7', 'λ=0.3', `default (λ=${sr.settings.lambda})`]);
        for (const row of sr.rows) {
          for (const k of ['ndcg10', 'ild10', 'coverage10', 'new10'] as const) {
            expect(row[k]).toBeGreaterThanOrEqual(0);
            expect(row[k]).toBeLessThanOrEqual(1);
          }
        }
        const [l1, , l03] = sr.rows;
        expect(l1!.new10).toBe(0); // λ = 1 is the ranked page
        expect(l1!.ndcg10_vs_ranked.mean_diff).toBe(0);
        expect(l03!.ild10).toBeGreaterThan(l1!.ild10);
        expect(l03!.coverage10).toBeGreaterThanOrEqual(l1!.coverage10);
      }
      const html = readFileSync(path.join(out, 'diversity.html'), 'utf8');
      expect(html).toContain('<svg');
      expect(html).toContain('ILD@10');
    },
    120_000,
  );

  it('refuses λ outside [0, 1]', async () => {
    const lines: string[] = [];
    const code = await main(['diversity', '--out', tempDir(), '--lambdas', '1,1.5'], undefined, {
      out: (t) => lines.push(t),
      err: (t) => lines.push(t),
    });
    expect(code).toBe(2);
    expect(lines.join('\n')).toMatch(/--lambdas must be numbers in \[0, 1\]/);
  });
});
