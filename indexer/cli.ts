import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { loadImageEmbedder, loadTextEmbedder, parseEmbedderSpec } from '../src/embedding/load.ts';
import { applyChangeFile, indexCatalog, StrictModeError, type IndexSummary } from './index-catalog.ts';
import { terminalProgress } from './progress.ts';

const USAGE = `usage: npm run index -- --catalog FILE [--data DIR] [--delete-missing] [--strict] [--embedder default|MODEL_DIR]
       npm run index -- --changes FILE [--data DIR] [--strict]

  --catalog FILE     catalog as JSON Lines (.jsonl/.ndjson) or CSV (.csv)
  --changes FILE     JSON Lines of {"op":"upsert"|"delete","product":{...}}
  --data DIR         index folder (default: SHELF_DATA_DIR or ./.data)
  --delete-missing   remove indexed products that are absent from the catalog
  --strict           fail (exit 1) on any bad row instead of skipping it
  --embedder SPEC    "default" or a transformers.js model folder (default: SHELF_EMBEDDER)
  --image-model DIR  CLIP model folder: also index product images (default: SHELF_IMAGE_MODEL)
  --json             print the summary as JSON`;

function printSummary(s: IndexSummary, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(s));
    return;
  }
  for (const e of s.errors.slice(0, 50)) console.error(`line ${e.line}${e.id ? ` (id ${e.id})` : ''}: ${e.reason}`);
  for (const f of s.imageFailures.slice(0, 20)) console.error(`product ${f.id}: ${f.reason} (indexed without its image)`);
  if (s.errors.length > 50) console.error(`... and ${s.errors.length - 50} more bad rows`);
  console.log(
    `indexed ${s.indexed}, unchanged ${s.unchanged}, skipped ${s.skipped}, deleted ${s.deleted} ` +
      `(embedded ${s.embedded}) in ${(s.took_ms / 1000).toFixed(1)} s → ${s.generation ?? 'no index'}`,
  );
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        catalog: { type: 'string' },
        changes: { type: 'string' },
        data: { type: 'string' },
        'delete-missing': { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        embedder: { type: 'string' },
        'image-model': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (!args.catalog === !args.changes) {
    console.error(`give exactly one of --catalog or --changes\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig({
    ...process.env,
    ...(args.data && { SHELF_DATA_DIR: args.data }),
    ...(args.embedder && { SHELF_EMBEDDER: args.embedder }),
    ...(args['image-model'] && { SHELF_IMAGE_MODEL: args['image-model'] }),
  });
  const embedder = await loadTextEmbedder(parseEmbedderSpec(config.embedder.model, config.embedder));
  const imageEmbedder = await loadImageEmbedder(config.embedder);
  const progress = terminalProgress();
  try {
    const summary = args.catalog
      ? await indexCatalog({
          catalogPath: args.catalog,
          dataDir: config.dataDir,
          embedder,
          deleteMissing: args['delete-missing'],
          strict: args.strict,
          progress,
          ...(imageEmbedder && { imageEmbedder }),
        })
      : await applyChangeFile({
          changesPath: args.changes!,
          dataDir: config.dataDir,
          embedder,
          strict: args.strict,
          progress,
          ...(imageEmbedder && { imageEmbedder }),
        });
    printSummary(summary, args.json);
    return 0;
  } catch (err) {
    if (err instanceof StrictModeError) {
      for (const e of err.errors.slice(0, 50)) console.error(`line ${e.line}${e.id ? ` (id ${e.id})` : ''}: ${e.reason}`);
      console.error(`--strict: ${err.errors.length} bad row(s), nothing indexed`);
      return 1;
    }
    throw err;
  } finally {
    await embedder.close?.();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`index failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
