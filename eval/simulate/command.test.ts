import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/catalog.ts';
import { main, type CliIo } from '../../cli/eval.ts';
import { ROOT } from '../../src/config.ts';
import { DEFAULT_TAOBAO } from './run.ts';
import { existsSync } from 'node:fs';

const hasTorch = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch, onnx, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('npm run eval -- ranking', () => {
  it.skipIf(!hasTorch || !existsSync(DEFAULT_TAOBAO))(
    'writes ranking.json and reproduces the shipped default model byte for byte',
    async () => {
      const out = tempDir('shelf-eval-ranking-');
      const lines: string[] = [];
      const io: CliIo = { out: (t) => lines.push(t), err: (t) => lines.push(t) };
      // The command that made models/ranker/default (without --model-out): same seed, same bytes.
      const code = await main(['ranking', '--out', out], undefined, io);
      expect(code, lines.join('\n')).toBe(0);
      const r = JSON.parse(readFileSync(path.join(out, 'ranking.json'), 'utf8')) as Record<string, any>;
      for (const k of ['ctr', 'cvr', 'ctcvr']) {
        expect(r.multitask.auc).toHaveProperty(k);
        expect(r.multitask.logloss).toHaveProperty(k);
      }
      expect(r.ctr_only.auc).toHaveProperty('ctr');
      expect(r.cvr_clicked_only.auc).toHaveProperty('cvr');
      expect(r.note).toMatch(/SIMULATED/);
      for (const s of ['search', 'feed'])
        expect(r.simulator.ndcg10_purchases[s]).toMatchObject({
          fusion: expect.any(Number),
          model: expect.any(Number),
        });
      const made = JSON.parse(readFileSync(path.join(out, 'model', 'metadata.json'), 'utf8'));
      expect(made.version).toBe(r.model_version);
      const shipped = JSON.parse(readFileSync(path.join(ROOT, 'models/ranker/default/metadata.json'), 'utf8'));
      expect(made.model_sha256).toBe(shipped.model_sha256);
      expect(made.data).toEqual(shipped.data);
      // and on this data the ranked orders beat fusion order
      for (const s of ['search', 'feed'])
        expect(r.simulator.ndcg10_purchases[s].model).toBeGreaterThan(r.simulator.ndcg10_purchases[s].fusion);
    },
    240_000,
  );
});
