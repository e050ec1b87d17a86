/**
 * Converter: amazon-beauty-sports (ICLRec's preprocessed Amazon Beauty and Sports & Outdoors
 * sequences) → one sequential dataset directory per domain for `npm run eval -- feed`.
 *
 *   npm run eval -- convert amazon-beauty-sports --out D [--source DIR]
 *     → D/beauty/interactions.tsv, D/sports/interactions.tsv (+ dataset.json each)
 *
 * Each file has one line per user, `user_id item_id item_id …`, items oldest first, no
 * timestamps and no item text (the folder's README). The serving reducer needs event times, so
 * as for Amazon Video the i-th item of every user gets 2018-01-01T00:00Z + i hours: only the
 * order within a user is real. Every interaction is a review, read as a purchase. Items keep the
 * files' integer ids (per domain: the two files number their items independently).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringOpt, type Command } from '../kit/command.ts';
import type { Interaction } from '../feed/sequential-data.ts';
import { SYNTHETIC_START_MS, SYNTHETIC_STEP_MS } from './amazon-video.ts';
import { SHARED_DATASETS_DIR } from './common.ts';
import { formatSequentialSummary, writeConvertedSequential, type SequentialSummary } from './sequential.ts';

export const DEFAULT_AMAZON_BEAUTY_SPORTS_SOURCE = join(SHARED_DATASETS_DIR, 'amazon-beauty-sports');

/** The two domains: output folder name → source file. */
export const DOMAINS = [
  { name: 'beauty', file: 'Beauty.txt', label: 'Amazon Beauty' },
  { name: 'sports', file: 'Sports_and_Outdoors.txt', label: 'Amazon Sports & Outdoors' },
] as const;

/** Parses a `user item item …` file (one line per user); timestamps synthetic, one hour apart. */
export function parseUserSequences(text: string, file: string): Interaction[] {
  const out: Interaction[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const [user, ...items] = line.split(/\s+/) as [string, ...string[]];
    if (items.length === 0)
      throw new Error(`${file}:${i + 1}: expected "user item item …", got ${JSON.stringify(line)}`);
    // One line per user is the format; a second line for the same user would restart its clock.
    if (seen.has(user)) throw new Error(`${file}:${i + 1}: user ${user} has a second line`);
    seen.add(user);
    items.forEach((item, n) =>
      out.push({ user, item, ts: SYNTHETIC_START_MS + n * SYNTHETIC_STEP_MS, type: 'purchase' }),
    );
  });
  return out;
}

export async function convertAmazonBeautySports(opts: {
  source?: string | undefined;
  out: string;
}): Promise<Array<{ domain: string; summary: SequentialSummary }>> {
  const source = resolve(opts.source ?? DEFAULT_AMAZON_BEAUTY_SPORTS_SOURCE);
  const results = [];
  for (const d of DOMAINS) {
    const path = join(source, d.file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${path}: ${(err as Error).message}`);
    }
    const summary = await writeConvertedSequential({
      out: join(opts.out, d.name),
      interactions: parseUserSequences(text, path),
      typed: false,
      meta: {
        name: `amazon-${d.name}`,
        source: path,
        description: `${d.label} review sequences as preprocessed by the ICLRec authors (5-core, integer ids, no item text).`,
        notes: [
          'timestamps are synthetic: the i-th item of every user is at 2018-01-01T00:00Z + i hours; only the order within a user is real',
          'every interaction is a review, read as a purchase',
        ],
      },
    });
    results.push({ domain: d.name, summary });
  }
  return results;
}

export const amazonBeautySportsCommand: Command = {
  path: ['convert', 'amazon-beauty-sports'],
  summary:
    "Convert ICLRec's Amazon Beauty and Sports & Outdoors sequences into one sequential dataset per domain for `feed` (OUT/beauty, OUT/sports; synthetic hourly timestamps).",
  options: {
    out: {
      type: 'string',
      value: 'DIR',
      help: 'output directory (one folder per domain: beauty/, sports/)',
      default: '.cache/eval/amazon-beauty-sports',
    },
    source: {
      type: 'string',
      value: 'DIR',
      help: 'directory holding Beauty.txt and Sports_and_Outdoors.txt',
      exists: 'folder',
      default: '../shared/datasets/amazon-beauty-sports',
    },
  },
  async run(values) {
    const results = await convertAmazonBeautySports({
      out: stringOpt(values, 'out') || '.cache/eval/amazon-beauty-sports',
      source: stringOpt(values, 'source'),
    });
    for (const r of results) console.log(formatSequentialSummary(`amazon-${r.domain}`, r.summary));
  },
};
