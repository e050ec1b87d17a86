/**
 * `npm run train -- <model> [options]`: the existing training entry points behind one CLI.
 *
 *   ranker         models/ranker/train.py: ESMM CTR/CVR ranker from training JSON Lines
 *                  (`npm run eval -- ranking export` makes them from a service's logs)
 *   text-embedder  models/text_embedder/train.py: the n-gram text tower from a catalog, a judged set (--data)
 *                  or the service's own logs (--logs: served log ⋈ events by request_id, models/text_embedder/log-pairs.ts);
 *                  with --base MODEL_DIR it fine-tunes a transformers.js BERT (MiniLM) on the same queries instead
 *   sequence       models/sequence/train.py: the SASRec-style next-item model behind the feed's
 *                  `sequence` route, from interactions.tsv (--data) or a service's behaviour log (--logs)
 *
 * Options are checked here and forwarded to the Python script as given; what is left out keeps
 * the script's own default (shown in --help). The exit code is the script's.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ROOT } from '../src/config.ts';
import { action, collect, exit, int, mustExist, num, program, runCli } from './run.ts';

const prog = program({ tool: 'train', name: 'npm run train --' })
  .description('Train the models the service ships (Python, PyTorch; see models/*/README.md).')
  .usage('<model> [options]');

/**
 * Runs `python script` with the options the user set, as `--name value` (repeatable: once per value),
 * except those in `skip` (handled here), followed by `extra`.
 */
function forward(
  script: string,
  cmd: Command,
  skip: readonly string[] = [],
  extra: readonly string[] = [],
): Promise<number> {
  const args: string[] = [];
  for (const o of cmd.options) {
    const key = o.attributeName();
    if (key === 'python' || skip.includes(key) || cmd.getOptionValueSource(key) !== 'cli') continue;
    const v = cmd.getOptionValue(key) as unknown;
    if (o.negate) {
      if (v === false) args.push(o.long!);
    } else if (v === true) args.push(o.long!);
    else for (const x of Array.isArray(v) ? v : [v]) args.push(o.long!, String(x));
  }
  args.push(...extra);
  const python = cmd.getOptionValue('python') as string;
  return new Promise((resolve, reject) => {
    const child = spawn(python, [path.join(ROOT, script), ...args], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const pythonOption = () =>
  new Option('--python <PATH>', 'Python with torch, onnx and numpy (Debian: python3-torch …)').default(
    '/usr/bin/python3',
  );

prog
  .command('ranker')
  .description('ESMM ranker (CTR and CVR towers) from training JSON Lines → model.onnx + metadata.json')
  .usage('--data FILE --out DIR [options]')
  .addOption(
    mustExist(
      new Option('--data <FILE>', 'training JSON Lines (repeatable)').argParser(collect).makeOptionMandatory(),
      'file',
    ),
  )
  .requiredOption('--out <DIR>', 'model folder to write (model.onnx + metadata.json)')
  .option('--seed <N>', 'seed (train.py default: 7)', int(0))
  .option('--epochs <N>', 'at most this many epochs (default: 60)', int(1))
  .option('--val-share <X>', 'share of requests held out for validation (default: 0.15)', num(0))
  .option('--patience <N>', 'early-stopping patience in epochs (default: 5)', int(1))
  .option('--batch <N>', 'batch size (default: 256)', int(1))
  .option('--lr <X>', 'learning rate (default: 0.003)', num(0))
  .option('--hidden <SIZES>', 'tower layer sizes (default: 32,16)')
  .option('--version <V>', 'model version (default: ranker-<sha12 of the weights>)')
  .option('--metrics-out <FILE>', 'also write the evaluation JSON here')
  .option('--source <TEXT>', 'free text recorded in metadata (where the data came from)')
  .addOption(pythonOption())
  .action(action((_o: unknown, cmd: Command) => forward('models/ranker/train.py', cmd)));

prog
  .command('text-embedder')
  .description(
    "the n-gram text tower: from a catalog (self-supervised views), a judged set (--data) or the service's logs (--logs); seeded, CPU",
  )
  .usage('[--data DIR | --logs DATA_DIR] [--out DIR] [options]')
  .addOption(mustExist(new Option('--catalog <FILE>', 'catalog JSON Lines (default: data/demo/catalog.jsonl)'), 'file'))
  .addOption(
    mustExist(
      new Option(
        '--data <DIR>',
        'judged set in the eval format (products.jsonl, queries.tsv, qrels.tsv; grade >= 2 positive): contrastive training on its queries',
      ),
      'folder',
    ).conflicts('logs'),
  )
  .addOption(
    mustExist(
      new Option(
        '--logs <DATA_DIR>',
        "a service's data directory: its served log joined with its behaviour events by request_id (clicked, carted, purchased = positives; shown and skipped = hard negatives); products from --catalog",
      ),
      'folder',
    ),
  )
  .option('--out <DIR>', 'model folder to write (default: models/default/text-embedder)')
  .addOption(
    mustExist(
      new Option(
        '--base <MODEL_DIR>',
        'with --data/--logs: fine-tune this transformers.js BERT folder (e.g. all-MiniLM-L6-v2 from models/pretrained/) instead of the n-gram tower; --out gets the same layout',
      ),
      'folder',
    ),
  )
  .option('--max-length <N>', 'with --base: tokens per text while fine-tuning (default: 64)', int(8))
  .option('--eval-base', 'with --base: also measure the base model before fine-tuning (one more catalog embedding)')
  .option(
    '--no-catalog-metrics',
    "with --base: skip the card's catalog-wide ranking metrics (an embedding of every product; `npm run eval -- search` measures them); the threshold is still calibrated",
  )
  .option(
    '--no-quantize',
    'with --base: skip onnx/model_quantized.onnx (written when the --python interpreter has onnxruntime)',
  )
  .option('--dim <N>', 'embedding dimensions (default: 128)', int(1))
  .option('--buckets <N>', 'hash buckets (default: features.py DEFAULT_BUCKETS)', int(1))
  .option('--epochs <N>', '0 = derive from --steps (default: 0)', int(0))
  .option(
    '--steps <N>',
    'approximate optimiser steps when --epochs is 0 (default: 300; 600 with --data/--logs without --base)',
    int(1),
  )
  .option('--batch <N>', 'batch size (default: 256; 32 with --base)', int(1))
  .option('--lr <X>', 'learning rate (default: 0.002; 3e-5 with --base)', num(0))
  .option('--temperature <X>', 'InfoNCE temperature (default: 0.05)', num(0))
  .option('--anchor-decay <X>', 'decay of touched rows towards their random init (default: 5.0)', num(0))
  .option('--init-std <X>', 'init standard deviation (default: 0.1)', num(0))
  .option(
    '--holdout <X>',
    'catalog mode: share of products held out for the unseen-product metric (default: 0.2)',
    num(0),
  )
  .option(
    '--holdout-fraction <F>',
    'with --data/--logs: seeded share of queries left out of training, measured in the card (default: 0)',
    num(0),
  )
  .option(
    '--val-fraction <F>',
    'with --data/--logs: share of the other queries kept to calibrate the similarity threshold (default: 0.1)',
    num(0),
  )
  .option('--view-ratio <X>', 'with --data/--logs: catalog-view rows per query row (default: 1.0)', num(0))
  .option(
    '--hard-negative-rate <X>',
    'with --data/--logs: share of query rows given a hard negative (default: 1.0)',
    num(0),
  )
  .option('--hard-negative-depth <N>', 'with --data/--logs: BM25 results mined per query (default: 20)', int(0))
  .option('--hard-negatives <N>', 'with --data/--logs: hard negatives per query row that gets one (default: 1)', int(1))
  .option(
    '--query-augment <X>',
    'with --data/--logs: share of query rows whose text is varied: a word dropped, a typo, cut short (default: 0)',
    num(0),
  )
  .option('--source <TEXT>', 'free text recorded in the model card (where the data came from)')
  .option('--eval-queries-per-product <N>', 'evaluation queries per product (default: 4)', int(1))
  .option('--seed <N>', 'seed; with --holdout-fraction it also picks the held-out queries (default: 20240611)', int(0))
  .option('--threads <N>', 'torch threads (default: 1: fastest here, and deterministic)', int(1))
  .addOption(new Option('--weights-dtype <T>', 'stored weights (default: float16)').choices(['float16', 'float32']))
  .addOption(
    mustExist(new Option('--extra-eval <FILE>', 'another catalog to measure the model on, out of domain'), 'file'),
  )
  .option('--no-final-all', 'ship the model trained without the held-out products')
  .addOption(pythonOption())
  .action(
    action(async (o: { logs?: string; catalog?: string; data?: string; out?: string; base?: string }, cmd: Command) => {
      const script = 'models/text_embedder/train.py';
      if (o.base !== undefined && o.data === undefined && o.logs === undefined)
        throw new Error('--base fine-tunes on queries: give --data DIR or --logs DATA_DIR');
      if (o.logs === undefined) return forward(script, cmd);
      // The logs become a judged set (the ranker's request_id join), kept beside the model for the record.
      const { writeLogPairs } = await import('../models/text_embedder/log-pairs.ts');
      const out = path.resolve(o.out ?? path.join(ROOT, 'models/default/text-embedder'));
      const joined = path.join(out, 'training-data');
      const summary = await writeLogPairs(o.logs, o.catalog ?? path.join(ROOT, 'data/demo/catalog.jsonl'), joined);
      process.stderr.write(`logs ${o.logs}: ${JSON.stringify(summary)}\n`);
      if (summary.positives === 0)
        throw new Error(`${o.logs}: no search request with a click, cart or purchase to learn from`);
      const source =
        cmd.getOptionValueSource('source') === 'cli'
          ? []
          : [
              '--source',
              `--logs ${o.logs} (${summary.queries} queries, ${summary.positives} positives, ${summary.hard_negatives} shown-and-skipped)`,
            ];
      return forward(script, cmd, ['logs', 'catalog'], ['--data', joined, ...source]);
    }),
  );

prog
  .command('sequence')
  .description(
    'self-attentive next-item model (SASRec-style) → shopper_tower.onnx, item_tower.onnx, items.json, metadata.json, MODEL_CARD.md',
  )
  .usage('--data DIR | --logs DATA_DIR --out DIR [options]')
  .addOption(
    mustExist(
      new Option('--data <DIR>', 'sequential data set directory (interactions.tsv, as the feed eval reads it)'),
      'folder',
    ).conflicts('logs'),
  )
  .addOption(
    mustExist(
      new Option('--logs <DATA_DIR>', "a service's data directory (its events.sqlite behaviour log)"),
      'folder',
    ),
  )
  .requiredOption('--out <DIR>', 'model folder to write')
  .addOption(
    new Option(
      '--holdout <H>',
      'valid-test: last item test, one before validation; valid: last item validation only; none: every item, for exactly --epochs (chosen by an earlier run with a holdout)',
    ).choices(['valid-test', 'valid', 'none']),
  )
  .option('--max-len <N>', 'items of history the shopper tower reads (default: 50)', int(1))
  .option('--dim <N>', 'embedding dimensions (default: 64)', int(1))
  .option('--blocks <N>', 'self-attention blocks (default: 2)', int(1))
  .option('--heads <N>', 'attention heads (default: 1)', int(1))
  .option('--dropout <X>', 'dropout (default: 0.3)', num(0))
  .option('--event-types', 'condition on the event type of each input item')
  .option('--negatives <N>', 'sampled-softmax negatives per batch (default: 256)', int(1))
  .option('--batch <N>', 'batch size (default: 128)', int(1))
  .option('--lr <X>', 'learning rate (default: 0.001)', num(0))
  .option('--l2 <X>', 'L2 on the positive item embeddings (default: 0)', num(0))
  .option('--epochs <N>', 'at most this many epochs (default: 200)', int(1))
  .option('--patience <N>', 'validation evaluations without improvement before stopping (default: 3)', int(1))
  .option('--eval-every <N>', 'epochs between validation evaluations (default: 2)', int(1))
  .option('--eval-users <N>', 'validation users used for early stopping, 0 = all (default: 5000)', int(0))
  .option('--seed <N>', 'seed (default: 42)', int(0))
  .option('--threads <N>', 'torch threads (default: 1: deterministic, polite on a shared CPU)', int(1))
  .option('--version <V>', 'model version (default: sequence-<sha12 of the weights>)')
  .option('--source <TEXT>', 'free text recorded in the model card (where the data came from)')
  .option('--metrics-out <FILE>', 'also write the metrics JSON here')
  .option('--quiet', 'no per-epoch progress on stderr')
  .addOption(
    mustExist(
      new Option(
        '--catalog <FILE>',
        "catalog JSON Lines: its products' text embeddings fit text_projection.onnx, the vector a product with no interactions is served with",
      ),
      'file',
    ),
  )
  .option('--embedder <SPEC>', 'with --catalog: the text embedder the service indexes with (default: SHELF_EMBEDDER)')
  .option(
    '--projection-holdout <X>',
    'with --catalog: share of products held out to validate the projection (default: 0.2)',
    num(0),
  )
  .addOption(pythonOption())
  .action(
    action(async (o: { data?: string; logs?: string; catalog?: string; embedder?: string }, cmd: Command) => {
      if ((o.data === undefined) === (o.logs === undefined))
        throw new Error('give one of --data DIR or --logs DATA_DIR');
      const script = 'models/sequence/train.py';
      if (o.catalog === undefined) return forward(script, cmd, ['embedder']);
      // The text vectors, as the service's index stores them, in a temporary file for train.py.
      const [
        { mkdtemp, rm },
        { tmpdir },
        { loadConfig },
        { loadTextEmbedder, parseEmbedderSpec },
        { writeTextVectors },
      ] = await Promise.all([
        import('node:fs/promises'),
        import('node:os'),
        import('../src/config.ts'),
        import('../core/embedding/load.ts'),
        import('../models/sequence/text-vectors.ts'),
      ]);
      const config = loadConfig({ ...process.env, ...(o.embedder && { SHELF_EMBEDDER: o.embedder }) });
      const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
      const tmp = await mkdtemp(path.join(tmpdir(), 'shelf-seq-text-'));
      try {
        const file = path.join(tmp, 'text-vectors.jsonl');
        const t = await writeTextVectors(o.catalog, embedder, file);
        process.stderr.write(`text vectors: ${t.products} products, ${t.embedderId} (${t.dim}-d)\n`);
        return await forward(
          script,
          cmd,
          ['catalog', 'embedder'],
          ['--text-vectors', file, '--text-embedder-id', t.embedderId],
        );
      } finally {
        await embedder.close?.();
        await rm(tmp, { recursive: true, force: true });
      }
    }),
  );

runCli(prog, process.argv.slice(2)).then(exit);
