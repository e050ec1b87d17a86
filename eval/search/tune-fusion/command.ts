/** `npm run eval -- tune-fusion`: the options and the glue to `runTuneFusion`. */
import { ENGINE_OPTIONS, UsageError, intOpt, requiredOpt, stringOpt, type Command } from '../../kit/command.ts';
import { RRF_KS, VECTOR_WEIGHTS } from './grid.ts';
import { formatFusionSummary } from './report.ts';
import { runTuneFusion } from './run.ts';

// ---------------------------------------------------------------------------------- command

export const tuneFusionCommand: Command = {
  path: ['tune-fusion'],
  summary:
    'Choose the RRF vector weight and k for a catalog: run every judged query once per route (bm25, vector), fuse offline over a grid, pick on a seeded tune half, report on the test half. Writes OUTDIR/fusion.json and OUTDIR/route-lists.jsonl.',
  options: {
    data: ENGINE_OPTIONS.data,
    out: {
      type: 'string',
      value: 'OUTDIR',
      help: 'where to write fusion.json (and route-lists.jsonl)',
      required: true,
    },
    embedder: ENGINE_OPTIONS.embedder,
    'index-dir': ENGINE_OPTIONS['index-dir'],
    seed: { type: 'string', value: 'N', help: 'seed of the tune/test split (hash of seed and query id)', default: '1' },
    limit: { type: 'string', value: 'N', help: 'use only the first N judged queries' },
    lists: {
      type: 'string',
      value: 'FILE',
      help: 'route-lists.jsonl of an earlier run: skip indexing and searching (--embedder/--index-dir are ignored)',
      exists: 'file',
    },
  },
  details: [
    `Grid: vector weight ${VECTOR_WEIGHTS.join(', ')} (bm25 weight 1) × rrf k ${RRF_KS.join(', ')}; chosen by mean nDCG@10 on the tune half.`,
    'Test half: nDCG@10, recall@100, MRR@10 of bm25, vector, hybrid at the default (w=1, k=60) and at the chosen setting;',
    'paired randomization test and bootstrap CI of tuned hybrid against each. See eval/README.md.',
  ].join('\n'),
  async run(values) {
    const seed = intOpt(values, 'seed', 0) ?? 1;
    const limit = intOpt(values, 'limit', 1);
    const lists = stringOpt(values, 'lists');
    const indexDir = stringOpt(values, 'index-dir');
    const embedderArg = stringOpt(values, 'embedder') ?? 'default';
    if (lists !== undefined && lists === '') throw new UsageError('--lists needs a file');
    const { parseEmbedderSpec } = await import('../../../core/embedding/load.ts');
    const { analysis, files } = await runTuneFusion({
      data: requiredOpt(values, 'data'),
      out: requiredOpt(values, 'out'),
      embedder: parseEmbedderSpec(embedderArg),
      seed,
      ...(indexDir !== undefined && { indexDir }),
      ...(limit !== undefined && { limit }),
      ...(lists !== undefined && { lists }),
    });
    console.log(formatFusionSummary(analysis));
    console.log(`wrote ${files.json}${files.lists ? `\n      ${files.lists}` : ''}`);
  },
};
