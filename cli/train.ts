/**
 * `npm run train -- <model> [options]`: the existing training entry points behind one CLI.
 *
 *   ranker         models/ranker/train.py: ESMM CTR/CVR ranker from training JSON Lines
 *                  (`npm run eval -- ranking export` makes them from a service's logs)
 *   text-embedder  models/text_embedder/train.py: the default n-gram text embedder from a catalog
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

/** Runs `python script` with the options the user set, as `--name value` (repeatable: once per value). */
function forward(script: string, cmd: Command): Promise<number> {
  const args: string[] = [];
  for (const o of cmd.options) {
    const key = o.attributeName();
    if (key === 'python' || cmd.getOptionValueSource(key) !== 'cli') continue;
    const v = cmd.getOptionValue(key) as unknown;
    if (o.negate) {
      if (v === false) args.push(o.long!);
    } else if (v === true) args.push(o.long!);
    else for (const x of Array.isArray(v) ? v : [v]) args.push(o.long!, String(x));
  }
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
  .description('the default n-gram text embedder from a catalog (seeded, CPU, about a minute)')
  .addOption(mustExist(new Option('--catalog <FILE>', 'catalog JSON Lines (default: data/demo/catalog.jsonl)'), 'file'))
  .option('--out <DIR>', 'model folder to write (default: models/default/text-embedder)')
  .option('--dim <N>', 'embedding dimensions (default: 128)', int(1))
  .option('--buckets <N>', 'hash buckets (default: features.py DEFAULT_BUCKETS)', int(1))
  .option('--epochs <N>', '0 = derive from --steps (default: 0)', int(0))
  .option('--steps <N>', 'approximate optimiser steps when --epochs is 0 (default: 300)', int(1))
  .option('--batch <N>', 'batch size (default: 256)', int(1))
  .option('--lr <X>', 'learning rate (default: 0.002)', num(0))
  .option('--temperature <X>', 'InfoNCE temperature (default: 0.05)', num(0))
  .option('--anchor-decay <X>', 'decay of touched rows towards their random init (default: 5.0)', num(0))
  .option('--init-std <X>', 'init standard deviation (default: 0.1)', num(0))
  .option('--holdout <X>', 'share of products held out for the unseen-product metric (default: 0.2)', num(0))
  .option('--eval-queries-per-product <N>', 'evaluation queries per product (default: 4)', int(1))
  .option('--seed <N>', 'seed (default: 20240611)', int(0))
  .option('--threads <N>', 'torch threads (default: 1: fastest here, and deterministic)', int(1))
  .addOption(new Option('--weights-dtype <T>', 'stored weights (default: float16)').choices(['float16', 'float32']))
  .addOption(
    mustExist(new Option('--extra-eval <FILE>', 'another catalog to measure the model on, out of domain'), 'file'),
  )
  .option('--no-final-all', 'ship the model trained without the held-out products')
  .addOption(pythonOption())
  .action(action((_o: unknown, cmd: Command) => forward('models/text_embedder/train.py', cmd)));

runCli(prog, process.argv.slice(2)).then(exit);
