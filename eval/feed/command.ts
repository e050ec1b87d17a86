/** The `feed` entry of the eval command table (cli/eval.ts). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, intOpt, requiredOpt, stringOpt, type Command } from '../kit/command.ts';
import type { SequenceMode } from './sequence-phase.ts';

export const feedCommand: Command = {
  path: ['feed'],
  summary:
    'Leave-last-out accuracy of the feed routes (popularity, itemcf, uservector, and sequence with --sequence) and the fused feed on DIR/interactions.tsv: tune on validation items, report HR@10/NDCG@10 on test items (full and 100 sampled negatives) in OUTDIR/feed.json, feed.html, feed-users.tsv, and the chosen settings in OUTDIR/feed-config.json (SHELF_FEED_CONFIG).',
  options: {
    data: {
      type: 'string',
      value: 'DIR',
      help: 'sequential dataset directory (interactions.tsv, optional items.jsonl)',
      exists: 'folder',
      required: true,
    },
    out: { type: 'string', value: 'OUTDIR', help: 'where to write the results', required: true },
    seed: { type: 'string', value: 'S', help: 'seed of negatives and user samples', default: '1' },
    'tune-users': {
      type: 'string',
      value: 'N',
      help: 'validation users sampled for tuning the route knobs',
      default: '2000',
    },
    'fusion-users': {
      type: 'string',
      value: 'N',
      help: 'validation users sampled for choosing the fusion weights',
      default: '8000',
    },
    users: { type: 'string', value: 'N', help: 'evaluate a seeded sample of N test users', default: 'all' },
    'recall-k': {
      type: 'string',
      value: 'N',
      help: 'candidates per route (unlisted candidates rank last)',
      default: '1000',
    },
    repeats: {
      type: 'string',
      value: 'first|keep',
      help: 'drop re-interactions with an item (first) or keep them',
      default: 'first',
    },
    'item-vectors': {
      type: 'string',
      value: 'auto|text|cooc|none',
      help: 'item vectors from items.jsonl text (embedder) or trained on co-occurrence',
      default: 'auto',
    },
    embedder: {
      type: 'string',
      value: 'default|PATH',
      help: 'text embedder for --item-vectors text',
      default: 'default',
    },
    'cooc-backward-weight': {
      type: 'string',
      value: 'W',
      help: 'reducer weight of the backward co-occurrence pair, 0..1 (0 = forward only)',
      default: 'the serving default',
    },
    rounds: {
      type: 'string',
      value: 'N',
      help: 'randomization / bootstrap rounds of the paired tests',
      default: '10000',
    },
    sequence: {
      type: 'string',
      value: 'off|train|streams|MODEL_DIR',
      help: "the learned sequence route: train it inside each phase on what that phase may see (OUTDIR/sequence/<phase>/), or reuse a trained model in both phases (quick runs; it may have seen the targets); streams: only write each phase's training stream to OUTDIR/sequence/<phase>/data and print the trainer commands (train them elsewhere, then --sequence TEST_MODEL --sequence-valid VALID_MODEL)",
      default: 'off',
    },
    'sequence-valid': {
      type: 'string',
      value: 'MODEL_DIR',
      help: "with --sequence MODEL_DIR (then the test phase's model): the validation phase's model, trained on the validation phase's stream (no validation or test item), e.g. outside the evaluation",
      exists: 'folder',
    },
    'sequence-args': {
      type: 'string',
      value: 'ARGS',
      help: 'options for models/sequence/train.py, space separated (e.g. "--dropout 0.5 --max-len 50 --epochs 60")',
    },
    python: {
      type: 'string',
      value: 'PATH',
      help: 'Python with torch, onnx and numpy for the sequence trainer',
      default: '/usr/bin/python3',
    },
  },
  details: 'Protocol, tuning and metrics: eval/README.md ("feed").',
  async run(values) {
    const repeats = stringOpt(values, 'repeats') ?? 'first';
    if (repeats !== 'first' && repeats !== 'keep')
      throw new UsageError(`--repeats must be first or keep, got ${repeats}`);
    const itemVectors = stringOpt(values, 'item-vectors') ?? 'auto';
    if (!['auto', 'text', 'cooc', 'none'].includes(itemVectors))
      throw new UsageError(`--item-vectors must be auto, text, cooc or none, got ${itemVectors}`);
    const recallK = intOpt(values, 'recall-k', 10);
    if (recallK !== undefined && recallK > 2000)
      throw new UsageError('--recall-k must be at most 2000 (the feed config limit)');
    const seqRaw = stringOpt(values, 'sequence') ?? 'off';
    const validDir = stringOpt(values, 'sequence-valid');
    if (seqRaw === 'streams') {
      const { writePhaseStreams } = await import('./sequence-phase.ts');
      const out = requiredOpt(values, 'out');
      const data = requiredOpt(values, 'data');
      const seed = intOpt(values, 'seed') ?? 42;
      const streams = await writePhaseStreams(data, out, repeats);
      const py = stringOpt(values, 'python') ?? '/usr/bin/python3';
      const at = (phase: 'valid' | 'test') => streams.find((p) => p.phase === phase)!;
      for (const p of streams) console.log(`${p.phase} phase: ${p.rows} interactions → ${p.dataDir}`);
      // The test phase trains on every item it may see for the epochs the validation phase chose,
      // as `--sequence train` does: so it runs after the validation model, not beside it.
      console.log(
        [
          "train the validation phase's model (early stopping on its stream's last items):",
          `  ${py} models/sequence/train.py --data ${at('valid').dataDir} --out ${at('valid').modelDir} --holdout valid --seed ${seed} [trainer options]`,
          "then the test phase's, on every item, for the validation model's best epoch (metadata.json training.best_epoch):",
          `  ${py} models/sequence/train.py --data ${at('test').dataDir} --out ${at('test').modelDir} --seed ${seed} [trainer options] --holdout none --epochs BEST_EPOCH`,
          'then evaluate with them:',
          `  npm run eval -- feed --data ${data} --out ${out} --sequence ${at('test').modelDir} --sequence-valid ${at('valid').modelDir}`,
        ].join('\n'),
      );
      return;
    }
    const sequence: SequenceMode =
      seqRaw === 'off'
        ? { kind: 'off' }
        : seqRaw === 'train'
          ? { kind: 'train' }
          : { kind: 'reuse', dir: seqRaw, validDir };
    if (sequence.kind === 'reuse' && !existsSync(join(sequence.dir, 'metadata.json')))
      throw new UsageError(
        `--sequence must be off, train, streams or a model folder (with metadata.json), got ${seqRaw}`,
      );
    if (validDir !== undefined && sequence.kind !== 'reuse')
      throw new UsageError("--sequence-valid needs --sequence MODEL_DIR (the test phase's model)");
    if (validDir !== undefined && !existsSync(join(validDir, 'metadata.json')))
      throw new UsageError(`--sequence-valid must be a model folder (with metadata.json), got ${validDir}`);
    const seqArgs = stringOpt(values, 'sequence-args');
    if (seqArgs !== undefined && sequence.kind !== 'train')
      throw new UsageError('--sequence-args needs --sequence train');
    const sequenceArgs = seqArgs?.trim() ? seqArgs.trim().split(/\s+/) : [];
    const reserved = sequenceArgs.find((a) => ['--data', '--logs', '--out', '--holdout', '--seed'].includes(a));
    if (reserved)
      throw new UsageError(
        `--sequence-args must not set ${reserved}: the evaluation sets it per phase (--seed is its own)`,
      );
    const python = stringOpt(values, 'python');
    const { runFeedEval, formatFeedSummary } = await import('./feed-eval.ts');
    const seed = intOpt(values, 'seed');
    const tuneUsers = intOpt(values, 'tune-users', 1);
    const fusionUsers = intOpt(values, 'fusion-users', 1);
    const users = intOpt(values, 'users', 1);
    const rounds = intOpt(values, 'rounds', 1);
    const embedder = stringOpt(values, 'embedder');
    const bwRaw = stringOpt(values, 'cooc-backward-weight');
    const coocBackwardWeight = bwRaw !== undefined ? Number(bwRaw) : undefined;
    if (
      coocBackwardWeight !== undefined &&
      (bwRaw!.trim() === '' || !(coocBackwardWeight >= 0) || coocBackwardWeight > 1)
    )
      throw new UsageError(`--cooc-backward-weight must be a number in 0..1, got ${bwRaw}`);
    const { json, files } = await runFeedEval({
      data: requiredOpt(values, 'data'),
      out: requiredOpt(values, 'out'),
      repeats,
      itemVectors: itemVectors as 'auto' | 'text' | 'cooc' | 'none',
      ...(seed !== undefined && { seed }),
      ...(tuneUsers !== undefined && { tuneUsers }),
      ...(fusionUsers !== undefined && { fusionUsers }),
      ...(users !== undefined && { users }),
      ...(recallK !== undefined && { recallK }),
      ...(rounds !== undefined && { rounds }),
      ...(embedder !== undefined && { embedder }),
      ...(coocBackwardWeight !== undefined && { coocBackwardWeight }),
      sequence,
      sequenceArgs,
      ...(python !== undefined && { python }),
      log: (s) => console.log(s),
    });
    console.log(formatFeedSummary(json));
    console.log(
      `wrote ${files.json}\n      ${files.html}\n      ${files.tsv}\n      ${files.config} (the chosen settings; serve them with SHELF_FEED_CONFIG=${files.config})`,
    );
  },
};
