/**
 * Converter: amazon-video-sasrec (SASRec's preprocessed Amazon "Video Games" sequences) →
 * sequential dataset directory for `npm run eval -- feed`.
 *
 *   npm run eval -- convert amazon-video [--out .cache/eval/amazon-video] [--source DIR]
 *
 * Video.txt is `user item` per line, each user's lines in time order, with no timestamps. The
 * serving reducer needs event times (half-lives, the co-occurrence gap), so each user's i-th
 * interaction gets the synthetic time 2018-01-01T00:00Z + i hours. Only the order within a user
 * is real: every user starts at the same instant, and the gap of one hour is a choice (it makes
 * the short-term user vector, half-life 30 min, lean on the last one or two items). No type
 * column: every interaction is a review, which the eval reads as a purchase. No items.jsonl:
 * the ids are remapped and carry no text.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringOpt, type Command } from '../kit/command.ts';
import type { Interaction } from '../feed/sequential-data.ts';
import { SHARED_DATASETS_DIR } from './common.ts';
import { formatSequentialSummary, writeConvertedSequential, type SequentialSummary } from './sequential.ts';

export const DEFAULT_AMAZON_VIDEO_SOURCE = join(SHARED_DATASETS_DIR, 'amazon-video-sasrec');
export const SYNTHETIC_START_MS = Date.UTC(2018, 0, 1);
export const SYNTHETIC_STEP_MS = 3_600_000;

/** Parses Video.txt; timestamps are synthetic (see the file comment). */
export function parseSasrecSequences(text: string, file = 'Video.txt'): Interaction[] {
  const next = new Map<string, number>();
  const out: Interaction[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new Error(`${file}:${i + 1}: expected "user item", got ${JSON.stringify(line)}`);
    const [user, item] = parts as [string, string];
    const n = next.get(user) ?? 0;
    next.set(user, n + 1);
    out.push({ user, item, ts: SYNTHETIC_START_MS + n * SYNTHETIC_STEP_MS, type: 'purchase' });
  });
  return out;
}

export async function convertAmazonVideo(opts: {
  source?: string | undefined;
  out: string;
}): Promise<SequentialSummary> {
  const path = join(resolve(opts.source ?? DEFAULT_AMAZON_VIDEO_SOURCE), 'Video.txt');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  const interactions = parseSasrecSequences(text, path);
  return writeConvertedSequential({
    out: opts.out,
    interactions,
    typed: false,
    meta: {
      name: 'amazon-video-sasrec',
      source: path,
      description:
        'Amazon "Video Games" review sequences as preprocessed by SASRec (5-core, ids remapped, no item text).',
      notes: [
        'timestamps are synthetic: the i-th interaction of every user is at 2018-01-01T00:00Z + i hours; only the order within a user is real',
        'every interaction is a review, read as a purchase',
      ],
    },
  });
}

export const amazonVideoCommand: Command = {
  path: ['convert', 'amazon-video'],
  summary:
    "Convert SASRec's Amazon Video Games sequences (Video.txt) into a sequential dataset for `feed` (synthetic hourly timestamps).",
  options: {
    out: {
      type: 'string',
      value: 'DIR',
      help: 'output directory (interactions.tsv, dataset.json)',
      default: '.cache/eval/amazon-video',
    },
    source: {
      type: 'string',
      value: 'DIR',
      help: 'directory holding Video.txt',
      exists: 'folder',
      default: '../shared/datasets/amazon-video-sasrec',
    },
  },
  async run(values) {
    const summary = await convertAmazonVideo({
      out: stringOpt(values, 'out') || '.cache/eval/amazon-video',
      source: stringOpt(values, 'source'),
    });
    console.log(formatSequentialSummary('amazon-video', summary));
  },
};
