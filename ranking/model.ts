import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SPEC_VERSION } from './features.ts';

/**
 * A trained ranker: models/ranker/train.py writes model.onnx (input `features` float32 [N, F];
 * outputs `p_ctr`, `p_cvr` float32 [N]) and metadata.json (version, feature spec version and
 * names, model_sha256, metrics, data summary) into one folder.
 */
export interface RankModelMetadata {
  version: string;
  feature_spec_version: string;
  feature_names: string[];
  model_sha256: string;
  metrics?: Record<string, unknown>;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The folder holds a model this build must not use (another feature spec, a broken file). */
export class ModelRefusedError extends Error {
  constructor(
    message: string,
    readonly reason: 'feature_spec_mismatch' | 'invalid_model' | 'incomplete',
  ) {
    super(message);
  }
}

export class RankModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly metadata: RankModelMetadata,
  ) {}

  get version(): string {
    return this.metadata.version;
  }

  static async load(dir: string): Promise<RankModel> {
    const metaPath = join(dir, 'metadata.json');
    let meta: RankModelMetadata;
    try {
      meta = JSON.parse(await readFile(metaPath, 'utf8')) as RankModelMetadata;
    } catch (err) {
      throw new ModelRefusedError(`${metaPath}: ${(err as Error).message}`, 'invalid_model');
    }
    if (meta.feature_spec_version !== FEATURE_SPEC_VERSION) {
      throw new ModelRefusedError(
        `model ${String(meta.version)} in ${dir} was trained on feature spec ${String(meta.feature_spec_version)}, this build computes ${FEATURE_SPEC_VERSION}: refused`,
        'feature_spec_mismatch',
      );
    }
    if (!Array.isArray(meta.feature_names) || meta.feature_names.join('\n') !== FEATURE_NAMES.join('\n')) {
      throw new ModelRefusedError(
        `model ${meta.version} in ${dir} lists other feature names than ${FEATURE_SPEC_VERSION}: refused`,
        'feature_spec_mismatch',
      );
    }
    if (typeof meta.version !== 'string' || meta.version === '')
      throw new ModelRefusedError(`${metaPath}: no version`, 'invalid_model');
    const bytes = await readFile(join(dir, 'model.onnx'));
    const sha = createHash('sha256').update(bytes).digest('hex');
    // A deploy writes model.onnx first, then metadata.json: between the two they disagree.
    if (meta.model_sha256 !== sha)
      throw new ModelRefusedError(
        `${dir}: model.onnx does not match metadata.json (deploy in progress?)`,
        'incomplete',
      );
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new ModelRefusedError(`${dir}/model.onnx: ${(err as Error).message}`, 'invalid_model');
    }
    if (
      !session.inputNames.includes('features') ||
      !session.outputNames.includes('p_ctr') ||
      !session.outputNames.includes('p_cvr')
    ) {
      throw new ModelRefusedError(
        `${dir}/model.onnx: expected input "features" and outputs "p_ctr", "p_cvr"`,
        'invalid_model',
      );
    }
    return new RankModel(session, meta);
  }

  /** Scores every row in one session run. `rows` are feature vectors in FEATURE_NAMES order. */
  async predict(rows: ReadonlyArray<ArrayLike<number>>): Promise<{ pCtr: Float32Array; pCvr: Float32Array }> {
    const n = rows.length;
    const x = new Float32Array(n * FEATURE_COUNT);
    for (let i = 0; i < n; i++) x.set(rows[i]!, i * FEATURE_COUNT);
    return this.predictMatrix(x, n);
  }

  /** Scores `n` rows laid out one after another in `x` (n × FEATURE_COUNT), in one session run. */
  async predictMatrix(x: Float32Array, n: number): Promise<{ pCtr: Float32Array; pCvr: Float32Array }> {
    if (n === 0) return { pCtr: new Float32Array(0), pCvr: new Float32Array(0) };
    const out = await this.session.run({ features: new ort.Tensor('float32', x, [n, FEATURE_COUNT]) });
    return { pCtr: out.p_ctr!.data as Float32Array, pCvr: out.p_cvr!.data as Float32Array };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
