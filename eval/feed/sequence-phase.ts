/**
 * The `sequence` route inside the feed evaluation: a SASRec-style model (models/sequence/train.py)
 * trained inside each phase on exactly what that phase may see, so that its figures carry no
 * leakage. The validation phase's model is trained on the validation phase's stream (no
 * validation or test item: phaseEvents), the test phase's on the test phase's (validation items
 * added, never a test item). The validation phase's trainer holds out each shopper's last item of
 * its stream for early stopping (`--holdout valid`), as SASRec does with its validation item; the
 * test phase then learns from every item it may see, validation items included, for exactly the
 * epochs validation chose (`--holdout none --epochs N`): holding the validation items out again
 * would throw away each shopper's most recent transition, the one closest to the test target.
 *
 * Each phase's training file and model folder are kept under OUTDIR/sequence/<phase>/ (the model
 * card names data, hyper-parameters and training time), so a run can be audited afterwards.
 * `reuse` serves one already-trained model in both phases instead: quick for trying the plumbing,
 * but such a model has usually seen the targets, and the report says so; with a second model for
 * the validation phase it serves models trained per phase elsewhere.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ROOT } from '../../src/config.ts';
import type { SequenceSource } from '../../retrieval/recall/feed-routes.ts';
import { SequenceConfigSchema, SequenceRecall } from '../../retrieval/recall/sequence-recall.ts';
import { readSequentialDataset, writeSequentialDataset, type Interaction } from './sequential-data.ts';
import { leaveLastOut, phaseEvents, type Phase } from './protocol.ts';

/**
 * `reuse` with `validDir`: models trained per phase outside the evaluation (e.g. side by side, or
 * the test phase's model already trained for the model card): `validDir` serves the validation
 * phase and must not have seen a validation target, `dir` the test phase.
 */
export type SequenceMode =
  { kind: 'off' } | { kind: 'train' } | { kind: 'reuse'; dir: string; validDir?: string | undefined };

export interface SequenceTraining {
  /** The trainer's options (forwarded as given), e.g. ['--dropout', '0.5', '--max-len', '50']. */
  args: readonly string[];
  python: string;
  seed: number;
  /**
   * Train on the whole stream for exactly this many epochs (`--holdout none`), no early stopping:
   * the test phase, with the validation phase's best epoch. Absent: early stopping on the stream's
   * last items (`--holdout valid`).
   */
  epochs?: number | undefined;
  log?: (s: string) => void;
}

/** What feed.json records of one phase's model. */
export interface SequencePhaseRecord {
  mode: 'phase-trained' | 'reused';
  model_dir: string;
  version: string;
  /** Interactions in the file the model was trained on (the phase's stream). */
  training_rows?: number;
  training_file?: string;
  /** Wall time of the trainer process, start to model on disk. */
  training_ms?: number;
  /** The trainer's own report: best epoch, its early-stopping figures. */
  best_epoch?: number;
  /** Set when the phase trained on every item for a fixed epoch count (the validation phase's best). */
  epochs_fixed?: number;
  trainer_seconds?: number;
  early_stopping?: unknown;
  hyper_parameters?: unknown;
}

export interface PhaseSequence {
  source: SequenceSource;
  record: SequencePhaseRecord;
  close(): Promise<void>;
}

/** Runs train.py; rejects with the tail of its stderr when it fails. */
function runTrainer(python: string, args: readonly string[], log: (s: string) => void): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(python, [join(ROOT, 'models/sequence/train.py'), ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-4000);
      for (const line of chunk.split('\n')) if (line.trim() !== '') log(`    ${line.trim()}`);
    });
    child.on('error', fail);
    child.on('close', (code, signal) =>
      code === 0
        ? ok()
        : fail(
            new Error(
              `models/sequence/train.py exited with ${code ?? signal}: ${tail.trim().split('\n').slice(-3).join(' | ')}`,
            ),
          ),
    );
  });
}

/** Serves a model folder the way the feed does (no catalog check: the eval has no catalog). */
async function open(dir: string): Promise<SequenceRecall> {
  const recall = await SequenceRecall.open(
    SequenceConfigSchema.parse({ model_dir: dir, refresh_ms: 0, min_catalog_coverage: 0, cache_size: 0 }),
    { log: () => {} },
  );
  if (!recall.status.active) throw new Error(`sequence model in ${dir} not served: ${recall.status.reason}`);
  return recall;
}

/** Where a phase's stream and model live: OUTDIR/sequence/<phase>/{data,model}. */
export function phasePaths(phase: Phase, out: string): { dataDir: string; modelDir: string } {
  const base = resolve(join(out, 'sequence', phase));
  return { dataDir: join(base, 'data'), modelDir: join(base, 'model') };
}

/**
 * Writes the phase's training stream (`events`: phaseEvents of the split) as a sequential data set
 * in OUTDIR/sequence/<phase>/data, the trainer's `--data`. `--sequence streams` stops here, so the
 * two models can be trained outside the evaluation (side by side, or on another machine) and
 * served with `--sequence TEST_MODEL --sequence-valid VALID_MODEL`.
 */
export async function writePhaseStream(
  phase: Phase,
  events: readonly Interaction[],
  out: string,
): Promise<{ dataDir: string; modelDir: string }> {
  const { dataDir, modelDir } = phasePaths(phase, out);
  await mkdir(dataDir, { recursive: true });
  await writeSequentialDataset(dataDir, {
    interactions: events,
    typed: false,
    meta: {
      name: `feed-eval-${phase}-phase`,
      source: 'npm run eval -- feed',
      description: `the ${phase} phase's training stream: ${phase === 'valid' ? 'no validation or test item' : 'validation items added, no test item'}`,
      notes: [],
      counts: {
        interactions: events.length,
        users: new Set(events.map((r) => r.user)).size,
        items: new Set(events.map((r) => r.item)).size,
      },
    },
  });
  return { dataDir, modelDir };
}

/**
 * Both phases' training streams of the data set in `data` (leave-last-out with `repeats`), written
 * as `--sequence train` writes them, without evaluating: `--sequence streams`.
 */
export async function writePhaseStreams(
  data: string,
  out: string,
  repeats: 'first' | 'keep',
): Promise<Array<{ phase: Phase; rows: number; dataDir: string; modelDir: string }>> {
  const ds = await readSequentialDataset(data);
  const split = leaveLastOut(ds.interactions, repeats);
  const written = [];
  for (const phase of ['valid', 'test'] as const) {
    const events = phaseEvents(split, phase);
    written.push({ phase, rows: events.length, ...(await writePhaseStream(phase, events, out)) });
  }
  return written;
}

/**
 * The phase's sequence model, trained on `events` (the phase's stream) into OUTDIR/sequence/<phase>,
 * or the reused one.
 */
export async function phaseSequence(
  mode: Exclude<SequenceMode, { kind: 'off' }>,
  phase: Phase,
  events: readonly Interaction[],
  out: string,
  training: SequenceTraining,
): Promise<PhaseSequence> {
  const log = training.log ?? (() => {});
  if (mode.kind === 'reuse') {
    const dir = phase === 'valid' && mode.validDir !== undefined ? mode.validDir : mode.dir;
    const recall = await open(dir);
    return {
      source: recall,
      record: { mode: 'reused', model_dir: resolve(dir), version: recall.model!.version },
      close: () => recall.close(),
    };
  }
  const { dataDir, modelDir } = await writePhaseStream(phase, events, out);
  const args = [
    '--data',
    dataDir,
    '--out',
    modelDir,
    '--seed',
    String(training.seed),
    '--source',
    `feed eval ${phase} phase`,
    '--quiet',
    ...training.args,
    // After the caller's options: argparse keeps the last, and these define the phase.
    ...(training.epochs !== undefined
      ? ['--holdout', 'none', '--epochs', String(training.epochs)]
      : ['--holdout', 'valid']),
  ];
  log(`  sequence (${phase} phase): training on ${events.length} interactions…`);
  const t0 = Date.now();
  // --quiet silences the per-epoch lines; keep them when the caller logs.
  await runTrainer(training.python, training.log ? args.filter((a) => a !== '--quiet') : args, log);
  const trainingMs = Date.now() - t0;
  const meta = JSON.parse(await readFile(join(modelDir, 'metadata.json'), 'utf8')) as {
    version: string;
    training: { best_epoch?: number; seconds?: number; [k: string]: unknown };
    architecture: unknown;
    metrics: { valid?: unknown };
  };
  log(
    `  sequence (${phase} phase): ${meta.version}, best epoch ${meta.training.best_epoch}, ${(trainingMs / 1000).toFixed(0)} s`,
  );
  const recall = await open(modelDir);
  const { history: _history, ...hyper } = meta.training;
  return {
    source: recall,
    record: {
      mode: 'phase-trained',
      model_dir: modelDir,
      version: meta.version,
      training_rows: events.length,
      training_file: join(dataDir, 'interactions.tsv'),
      training_ms: trainingMs,
      ...(meta.training.best_epoch !== undefined && { best_epoch: meta.training.best_epoch }),
      ...(training.epochs !== undefined && { epochs_fixed: training.epochs }),
      ...(meta.training.seconds !== undefined && { trainer_seconds: meta.training.seconds }),
      early_stopping: meta.metrics.valid,
      hyper_parameters: { architecture: meta.architecture, ...hyper },
    },
    close: () => recall.close(),
  };
}
