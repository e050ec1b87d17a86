import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/catalog.ts';
import { FEATURE_COUNT } from '../../ranking/features.ts';
import { DEFAULT_TAOBAO, runRankingLoop } from './run.ts';

const PY = '/usr/bin/python3';
const hasTorch = (() => {
  try {
    execFileSync(PY, ['-c', 'import torch, onnx, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('ranking loop: serve → log → train → deploy → serve', () => {
  it.skipIf(!hasTorch || !existsSync(DEFAULT_TAOBAO))(
    'simulated shoppers produce training data, the trained model is picked up live and beats fusion order',
    async () => {
      const workDir = tempDir('shelf-rank-loop-');
      const res = await runRankingLoop({ workDir, users: 60, maxVisits: 3, perVisit: 5, evalRequests: 4, seed: 7 });

      // log: impressions joined with clicks and purchases by request_id, features as served
      const s = res.training.summary;
      expect(s.impressions).toBeGreaterThan(1000);
      expect(s.clicks).toBeGreaterThan(50);
      expect(s.purchases).toBeGreaterThan(10);
      expect(s.by_surface.search!.impressions).toBeGreaterThan(0);
      expect(s.by_surface.feed!.impressions).toBeGreaterThan(0);
      expect(s.unmatched_events).toBe(0);
      const row = JSON.parse(readFileSync(path.join(workDir, 'training.jsonl'), 'utf8').split('\n')[0]!) as {
        features: number[];
        served_by: string;
      };
      expect(row.features).toHaveLength(FEATURE_COUNT);
      expect(row.served_by).toBe('heuristic');

      // train: ESMM and both baselines evaluated on held-out requests
      const m = res.training.metrics as Record<
        string,
        { auc: Record<string, number>; logloss: Record<string, number> }
      >;
      for (const k of ['ctr', 'cvr', 'ctcvr'] as const) {
        expect(m.multitask!.auc[k]).toBeGreaterThan(0.5);
        expect(m.multitask!.logloss[k]).toBeGreaterThan(0);
      }
      expect(m.ctr_only!.auc.ctr).toBeGreaterThan(0.5);
      expect(m.cvr_clicked_only!.auc.cvr).toBeGreaterThan(0);
      const meta = JSON.parse(readFileSync(path.join(workDir, 'serving-model', 'metadata.json'), 'utf8')) as {
        version: string;
        feature_spec_version: string;
      };
      expect(meta.version).toBe(res.training.model_version);

      // deploy + serve: picked up without a restart, named in debug, with pCTR/pCVR per item
      expect(res.deployed.version).toBe(res.training.model_version);
      expect(res.served_after_deploy).toEqual({ model_version: res.training.model_version, has_scores: true });

      // the model orders by purchases better than fusion on both surfaces
      for (const surface of ['search', 'feed'] as const) {
        const n = res.ndcg10[surface];
        expect(n.requests).toBeGreaterThan(20);
        expect(n.expected.model, `${surface}: ${JSON.stringify(n)}`).toBeGreaterThan(n.expected.fusion);
      }

      // seeded end to end (world, shoppers, request ids, event time, split, torch): same model again
      const again = await runRankingLoop({
        workDir: tempDir('shelf-rank-loop-'),
        users: 60,
        maxVisits: 3,
        perVisit: 5,
        evalRequests: 1,
        seed: 7,
      });
      expect(again.training.model_version).toBe(res.training.model_version);
      expect(again.training.summary).toEqual(res.training.summary);
    },
    // Two simulations and two training runs: about 40 s quiet, over 120 s on a loaded 2-core runner.
    300_000,
  );
});
