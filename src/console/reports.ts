import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * The reports the console shows. The experiment and shop reports are computed by the report code
 * (eval/report/), a floor above the service: the entry point that starts the service hands them in
 * as these functions (cli/serve.ts, from eval/report/console-reports.ts), so the console shows
 * exactly what `npm run report` writes. Offline report files are read from the configured folder
 * (`console.reports_dir`).
 */
export interface RenderedReport {
  /** The report's JSON (experiment.json / shop.json). */
  report: Record<string, unknown>;
  /** The same report as the self-contained HTML page `npm run report` writes. */
  html: string;
}

export interface ConsoleReports {
  /** Throws ReportNotFoundError when no experiment has this id. */
  experiment(id: string): Promise<RenderedReport>;
  shop(opts: { from?: number | undefined; to?: number | undefined }): Promise<RenderedReport>;
}

export class ReportNotFoundError extends Error {}

export interface ReportFile {
  /** Relative to the reports folder, `/`-separated. */
  name: string;
  bytes: number;
  modified: number;
}

/** Folders this deep below the reports folder are listed (an eval's --out folder, and one below). */
const MAX_DEPTH = 3;
const MAX_FILES = 500;

/** The HTML files under `dir`, newest first; none when the folder does not exist. */
export async function listReportFiles(dir: string): Promise<ReportFile[]> {
  const out: ReportFile[] = [];
  const walk = async (rel: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.length >= MAX_FILES) return;
      const name = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory() && depth < MAX_DEPTH && !e.name.startsWith('.')) await walk(name, depth + 1);
      else if (e.isFile() && e.name.endsWith('.html')) {
        const s = await stat(path.join(dir, name));
        out.push({ name, bytes: s.size, modified: Math.round(s.mtimeMs) });
      }
    }
  };
  await walk('', 1);
  return out.sort((a, b) => b.modified - a.modified || a.name.localeCompare(b.name));
}

/**
 * One listed report file's HTML; undefined when `name` is not one of them (a name that leaves the
 * folder, `..` or absolute, is never read: only names the listing gives are).
 */
export async function readReportFile(dir: string, name: string): Promise<string | undefined> {
  const listed = await listReportFiles(dir);
  if (!listed.some((f) => f.name === name)) return undefined;
  return readFile(path.join(dir, name), 'utf8');
}
