import { Option } from 'commander';
import path from 'node:path';
import { openIndexBackend } from '../retrieval/index/open-backend.ts';
import type { CatalogChange } from '../behavior/kafka/catalog-changes.ts';
import { readRows } from '../core/catalog/read.ts';
import { indexLocation, loadConfig, type Config } from '../src/config.ts';
import { requireDependencies } from '../core/dependencies.ts';
import { loadImageEmbedder, loadTextEmbedder, parseEmbedderSpec } from '../core/embedding/load.ts';
import type { TextEmbedder } from '../core/embedding/embedder.ts';
import { applyChangeFile, indexCatalog, StrictModeError, type IndexSummary } from '../indexer/index-catalog.ts';
import { followCatalogChanges, type FollowOptions } from '../indexer/follow-catalog.ts';
import { terminalProgress } from '../indexer/progress.ts';
import { indexRunOf, recordIndexRun } from '../indexer/run-log.ts';
import { verifyIndex, type DriftReport, type StoreDrift, type VerifyReport } from '../indexer/verify.ts';
import { action, exit, mustExist, program, runCli, UsageError } from './run.ts';

const MODES = `  npm run index -- --catalog FILE [--data DIR] [--delete-missing] [--strict] [--embedder default|MODEL_DIR] [--extra-model DIR ...]
  npm run index -- --changes FILE [--data DIR] [--strict]
  npm run index -- --verify [--data DIR] [--check-only]
  npm run index -- --publish FILE      (KAFKA_BROKERS: put a change file on the catalog topic)
  npm run index -- --follow [--group G] (KAFKA_BROKERS: apply the catalog topic as it arrives)`;

const NOTES = `
The index goes to Elasticsearch + Qdrant when ELASTICSEARCH_URL and QDRANT_URL are set, else to
the embedded folder (--data). The embedding cache is always in --data.
A write that still fails after its retries is printed and makes the run exit 1; --verify repairs.`;

interface IndexArgs {
  catalog?: string;
  changes?: string;
  data?: string;
  deleteMissing: boolean;
  strict: boolean;
  embedder?: string;
  model?: string;
  extraModel?: string[];
  imageModel?: string;
  verify: boolean;
  checkOnly: boolean;
  publish?: string;
  follow: boolean;
  group?: string;
  json: boolean;
}

const prog = program({ tool: 'index', name: 'npm run index --', usageTitle: 'usage:' })
  .usage('--catalog FILE | --changes FILE | --verify | --publish FILE | --follow  [options]')
  .description('Index a catalog into the text and vector stores, or check and repair them.')
  .addOption(mustExist(new Option('--catalog <FILE>', 'catalog as JSON Lines (.jsonl/.ndjson) or CSV (.csv)'), 'file'))
  .addOption(
    mustExist(new Option('--changes <FILE>', 'JSON Lines of {"op":"upsert"|"delete","product":{...}}'), 'file'),
  )
  .option('--data <DIR>', 'index folder (default: SHELF_DATA_DIR or ./.data)')
  .option('--delete-missing', 'remove indexed products that are absent from the catalog', false)
  .option('--strict', 'fail (exit 1) on any bad row instead of skipping it', false)
  .option('--embedder <SPEC>', '"default" or a text model folder (default: SHELF_EMBEDDER)')
  .option('--model <SPEC>', 'the same as --embedder')
  .option(
    '--extra-model <DIR>',
    'one more text model to embed the catalog with into the same generation, for an experiment (repeatable; default: SHELF__EMBEDDER__EXTRA_MODELS)',
    (dir: string, all: string[] = []) => [...all, dir],
  )
  .option('--image-model <DIR>', 'CLIP model folder: also index product images (default: SHELF_IMAGE_MODEL)')
  .option(
    '--verify',
    'compare ids and content hashes of the vector and BM25 stores and repair drift (exit 0: consistent or repaired; 1: drift left)',
    false,
  )
  .option('--check-only', 'with --verify: report, do not repair', false)
  .addOption(
    mustExist(
      new Option('--publish <FILE>', 'send each line of a change file to the <namespace>.catalog Kafka topic'),
      'file',
    ),
  )
  .option('--follow', 'consume the catalog topic and apply each batch, committing offsets after the write', false)
  .option('--group <NAME>', 'consumer group for --follow (default shelf-indexer)')
  .option('--json', 'print the summary as JSON', false)
  .addHelpText('after', `\nOne of:\n${MODES}\n${NOTES}`)
  .action(action((args: IndexArgs) => main(args)));

function printSummary(s: IndexSummary, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(s));
    return;
  }
  for (const e of s.errors.slice(0, 50)) console.error(`line ${e.line}${e.id ? ` (id ${e.id})` : ''}: ${e.reason}`);
  for (const f of s.imageFailures.slice(0, 20))
    console.error(`product ${f.id}: ${f.reason} (indexed without its image)`);
  if (s.errors.length > 50) console.error(`... and ${s.errors.length - 50} more bad rows`);
  for (const f of s.writeFailures.slice(0, 20)) {
    console.error(
      `write failed: ${f.op} of ${f.ids.length} product(s) in the ${f.store} store (${f.ids.slice(0, 3).join(', ')}${f.ids.length > 3 ? ', ...' : ''}): ${f.reason}`,
    );
  }
  if (s.writeFailures.length > 0)
    console.error('the stores may disagree: rerun, or run `npm run index -- --verify` to repair');
  console.log(
    `indexed ${s.indexed}, unchanged ${s.unchanged}, skipped ${s.skipped}, deleted ${s.deleted} ` +
      `(embedded ${s.embedded}) in ${(s.took_ms / 1000).toFixed(1)} s → ${s.generation ?? 'no index'}`,
  );
}

function describeDrift(name: string, d: StoreDrift): string {
  return `${name} ${d.count} (missing ${d.missing.length}, extra ${d.extra.length}, mismatched ${d.mismatched.length})`;
}

function describeReport(r: DriftReport): string {
  return [
    `text ${r.text.count}`,
    describeDrift('vectors', r.vectors),
    ...(r.images ? [describeDrift('images', r.images)] : []),
    ...Object.entries(r.extra ?? {}).map(([id, d]) => describeDrift(`vectors of ${id}`, d)),
  ].join(', ');
}

function printVerify(r: VerifyReport, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(`verify ${r.before.generation ?? 'no index'}: ${describeReport(r.before)}`);
  if (r.before.consistent) {
    console.log('consistent');
    return;
  }
  for (const f of r.failures.slice(0, 20))
    console.error(`repair failed: ${f.op} of ${f.ids.length} in the ${f.store} store: ${f.reason}`);
  if (r.after === r.before) console.log('drift found (not repaired: --check-only)');
  else
    console.log(
      `repaired ${r.repaired}; now ${describeReport(r.after)}: ${r.after.consistent ? 'consistent' : 'STILL INCONSISTENT'}`,
    );
}

/** `--publish`: a change file onto the catalog topic, one record per valid line, in order. */
async function publishChanges(file: string, config: Config): Promise<number> {
  if (!config.backends.kafkaBrokers) throw new Error('--publish needs KAFKA_BROKERS');
  const { KafkaCatalogChanges } = await import('../behavior/kafka/catalog-changes.ts');
  const topic = await KafkaCatalogChanges.open({
    brokers: config.backends.kafkaBrokers,
    namespace: config.backends.namespace,
  });
  try {
    const lines: CatalogChange[] = [];
    let bad = 0;
    for await (const { line, raw } of readRows(file, 'jsonl')) {
      const ok = typeof raw === 'object' && raw !== null && !(raw instanceof Error) && 'op' in raw && 'product' in raw;
      if (ok) lines.push(raw as CatalogChange);
      else {
        bad++;
        console.error(`line ${line}: ${raw instanceof Error ? raw.message : 'expected {"op", "product"}'}`);
      }
    }
    for (let i = 0; i < lines.length; i += 1000) await topic.publish(lines.slice(i, i + 1000));
    console.log(`published ${lines.length} change(s) to ${topic.topic}${bad ? `, ${bad} bad line(s) skipped` : ''}`);
    return bad > 0 ? 1 : 0;
  } finally {
    await topic.close();
  }
}

/** `--follow`: runs until SIGINT/SIGTERM, then finishes and commits the batch in hand. */
async function follow(
  config: Config,
  target: Omit<FollowOptions, 'topic' | 'imageBase'>,
  group: string | undefined,
): Promise<void> {
  if (!config.backends.kafkaBrokers) throw new Error('--follow needs KAFKA_BROKERS');
  const { KafkaCatalogChanges } = await import('../behavior/kafka/catalog-changes.ts');
  const topic = await KafkaCatalogChanges.open({
    brokers: config.backends.kafkaBrokers,
    namespace: config.backends.namespace,
  });
  const sub = await followCatalogChanges({
    ...target,
    topic,
    imageBase: config.service.catalog ? path.dirname(config.service.catalog) : process.cwd(),
    ...(group && { group }),
    onBatch: (s, bad) => {
      console.log(`applied: ${s.indexed} indexed, ${s.unchanged} unchanged, ${s.deleted} deleted → ${s.generation}`);
      for (const b of bad) console.error(`skipped ${b.position}: ${b.reason}`);
    },
    onError: (err) => console.error(`catalog batch failed, retrying: ${err.message}`),
  });
  console.log(`following ${topic.topic}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sub.stop();
  await topic.close();
}

async function main(args: IndexArgs): Promise<number> {
  if (
    [args.catalog, args.changes, args.verify || undefined, args.publish, args.follow || undefined].filter(Boolean)
      .length !== 1
  ) {
    throw new UsageError('give exactly one of --catalog, --changes, --verify, --publish or --follow');
  }
  const config = loadConfig({
    ...process.env,
    ...(args.data && { SHELF_DATA_DIR: args.data }),
    ...((args.embedder ?? args.model) && { SHELF_EMBEDDER: args.embedder ?? args.model }),
    ...(args.extraModel && { SHELF__EMBEDDER__EXTRA_MODELS: args.extraModel.join(',') }),
    ...(args.imageModel && { SHELF_IMAGE_MODEL: args.imageModel }),
  });
  if (args.publish) return publishChanges(args.publish, config);
  const backend = openIndexBackend(indexLocation(config));
  try {
    // Unreachable servers fail here, with their names, before any embedding work.
    await requireDependencies(backend.dependencies());
  } catch (err) {
    await backend.close();
    throw err;
  }
  const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
  const extraEmbedders: TextEmbedder[] = [];
  for (const dir of config.embedder.extra_models)
    extraEmbedders.push(await loadTextEmbedder(parseEmbedderSpec(dir, config.embedder)));
  const imageEmbedder = await loadImageEmbedder(config.embedder);
  const progress = terminalProgress();
  try {
    if (args.verify) {
      const report = await verifyIndex({
        dataDir: config.service.dataDir,
        backend,
        embedder,
        extraEmbedders,
        imageEmbedder,
        imageBase: config.service.catalog ? path.dirname(config.service.catalog) : undefined,
        repair: !args.checkOnly,
        progress,
      });
      printVerify(report, args.json);
      return report.after.consistent ? 0 : 1;
    }
    if (args.follow) {
      await follow(
        config,
        { dataDir: config.service.dataDir, backend, embedder, extraEmbedders, ...(imageEmbedder && { imageEmbedder }) },
        args.group,
      );
      return 0;
    }
    const summary = args.catalog
      ? await indexCatalog({
          catalogPath: args.catalog,
          dataDir: config.service.dataDir,
          backend,
          embedder,
          extraEmbedders,
          deleteMissing: args.deleteMissing,
          strict: args.strict,
          progress,
          ...(imageEmbedder && { imageEmbedder }),
        })
      : await applyChangeFile({
          changesPath: args.changes!,
          dataDir: config.service.dataDir,
          backend,
          embedder,
          extraEmbedders,
          strict: args.strict,
          progress,
          ...(imageEmbedder && { imageEmbedder }),
        });
    recordIndexRun(
      config.service.dataDir,
      indexRunOf(args.catalog ? 'catalog' : 'changes', args.catalog ?? args.changes!, summary),
    );
    printSummary(summary, args.json);
    return summary.writeFailures.length > 0 ? 1 : 0;
  } catch (err) {
    if (err instanceof StrictModeError) {
      for (const e of err.errors.slice(0, 50))
        console.error(`line ${e.line}${e.id ? ` (id ${e.id})` : ''}: ${e.reason}`);
      console.error(`--strict: ${err.errors.length} bad row(s), nothing indexed`);
      return 1;
    }
    throw err;
  } finally {
    await embedder.close?.();
    for (const e of extraEmbedders) await e.close?.();
    await backend.close();
  }
}

runCli(prog, process.argv.slice(2)).then(exit);
