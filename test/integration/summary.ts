/**
 * `tsx test/integration/summary.ts [--partial] REPORT.json SERVER...`: after the integration suite, how
 * many tests ran against each real server, from vitest's JSON report. Exits 1 when a server
 * that was started had no passing test: a suite that silently skipped is a failure too.
 *
 * A test counts for a server when the server's name is in its describe/test titles (the
 * conformance suites name it, e.g. "Redis at redis://…"), otherwise when its file mentions it.
 */
import fs from 'node:fs';
import path from 'node:path';

interface Assertion {
  ancestorTitles: string[];
  title: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo' | 'disabled';
}
interface Report {
  testResults: Array<{ name: string; assertionResults: Assertion[] }>;
}

const args = process.argv.slice(2);
/** --partial: the run was filtered, so a server without tests is not an error. */
const partial = args[0] === '--partial';
const [reportFile, ...servers] = partial ? args.slice(1) : args;
if (!reportFile || servers.length === 0) {
  console.error('usage: tsx test/integration/summary.ts [--partial] REPORT.json SERVER...');
  process.exit(2);
}
if (!fs.existsSync(reportFile)) {
  console.error(`integration summary: no report at ${reportFile} (vitest did not get as far as writing it)`);
  process.exit(1);
}
const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;

const mentions = (text: string, server: string) => text.toLowerCase().includes(server.toLowerCase());
type Tally = { passed: number; failed: number; skipped: number; files: Map<string, number> };
const tally = new Map<string, Tally>(servers.map((s) => [s, { passed: 0, failed: 0, skipped: 0, files: new Map() }]));
const unattributed: string[] = [];
let total = 0;

for (const file of report.testResults) {
  const rel = path.relative(process.cwd(), file.name);
  const source = fs.existsSync(file.name) ? fs.readFileSync(file.name, 'utf8') : '';
  for (const a of file.assertionResults) {
    total++;
    const title = [...a.ancestorTitles, a.title].join(' > ');
    let hit = servers.filter((s) => mentions(title, s));
    if (hit.length === 0) hit = servers.filter((s) => mentions(source, s));
    if (hit.length === 0) unattributed.push(`${rel} > ${title}`);
    for (const s of hit) {
      const t = tally.get(s)!;
      if (a.status === 'passed') t.passed++;
      else if (a.status === 'failed') t.failed++;
      else t.skipped++;
      t.files.set(rel, (t.files.get(rel) ?? 0) + 1);
    }
  }
}

console.log(`\nintegration summary: ${total} tests in ${report.testResults.length} files`);
let missing = false;
for (const [server, t] of tally) {
  const files = [...t.files].map(([f, n]) => `${path.basename(f)} ${n}`).join(', ');
  console.log(
    `  ${server.padEnd(14)} ${String(t.passed).padStart(3)} passed, ${t.failed} failed, ${t.skipped} skipped  (${files || 'no test file'})`,
  );
  if (t.passed === 0) missing = true;
}
for (const u of unattributed) console.log(`  (no server)    ${u}`);
if (missing && !partial) {
  console.error('integration summary: a server was started but no test passed against it');
  process.exit(1);
}
