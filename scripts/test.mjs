// Runs every test file under test/ (or the folders/files given) with Node's test runner,
// TypeScript loaded through tsx, in phases from fast to slow so a broken unit shows in seconds:
//   1. unit and integration (Node, real git and PostgreSQL), two files at a time;
//   2. *.serial.test.ts, alone: they disturb what other files share (pgRestart restarts the
//      PostgreSQL cluster every org test uses);
//   3. *.browser.test.ts: headless Chromium;
//   4. *.e2e.test.ts (test/e2e/): real VS Code (code-server) in Chromium, minutes.
// A failing phase stops the run (the slower phases are reported as not run) unless --keep-going
// is given. Other arguments starting with "-" go to `node --test` (e.g. --test-name-pattern=...).
// Benchmarks are not tests: they live in bench/ and run only through `npm run bench`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const keepGoing = args.includes('--keep-going');
const roots = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-') && a !== '--keep-going');
function collect(p, out) {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const name of readdirSync(p).sort()) {
      if (name === 'node_modules' || name === 'fixtures') continue;
      collect(join(p, name), out);
    }
  } else if (/\.test\.ts$/.test(p)) out.push(p);
  return out;
}
const files = (roots.length ? roots : ['test']).flatMap((r) => collect(r, []));
if (files.length === 0) {
  console.error('test: no test files found');
  process.exit(1);
}

const kind = (f) =>
  f.endsWith('.e2e.test.ts') ? 'e2e' : f.endsWith('.browser.test.ts') ? 'browser' : f.endsWith('.serial.test.ts') ? 'serial' : 'fast';
const phases = [
  { name: 'unit and integration', kind: 'fast', concurrency: 2 },
  { name: 'serial (alone)', kind: 'serial', concurrency: 1 },
  { name: 'browser (Chromium)', kind: 'browser', concurrency: 2 },
  { name: 'VS Code end-to-end', kind: 'e2e', concurrency: 2 },
].map((p) => ({ ...p, files: files.filter((f) => kind(f) === p.kind) })).filter((p) => p.files.length > 0);

const counter = fileURLToPath(new URL('./testCounts.mjs', import.meta.url));
const countsDir = mkdtempSync(join(tmpdir(), 'code-insights-test-counts-'));

function run(phase, i) {
  const countsFile = join(countsDir, `${i}.json`);
  console.log(`\n=== ${phase.name}: ${phase.files.length} file(s) ===`);
  const t0 = performance.now();
  const res = spawnSync(
    process.execPath,
    [
      '--enable-experimental-regexp-engine-on-excessive-backtracks',
      '--import', 'tsx',
      '--test', `--test-concurrency=${phase.concurrency}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout',
      `--test-reporter=${counter}`, `--test-reporter-destination=${countsFile}`,
      ...flags,
      ...phase.files.map((f) => relative(process.cwd(), f)),
    ],
    { stdio: 'inherit' },
  );
  let counts = { pass: 0, fail: 0, skip: 0 };
  try {
    counts = JSON.parse(readFileSync(countsFile, 'utf8'));
  } catch {
    /* the runner died before its reporter finished: the exit status says it failed */
  }
  return { ...counts, status: res.status ?? 1, seconds: (performance.now() - t0) / 1000 };
}

const results = [];
let failed = false;
for (const [i, phase] of phases.entries()) {
  if (failed && !keepGoing) {
    results.push({ phase, notRun: true });
    continue;
  }
  const r = run(phase, i);
  results.push({ phase, ...r });
  if (r.status !== 0) failed = true;
}
rmSync(countsDir, { recursive: true, force: true });

console.log('\n=== summary ===');
for (const r of results) {
  const label = r.phase.name.padEnd(22);
  if (r.notRun) console.log(`${label} not run: an earlier phase failed (--keep-going runs every phase)`);
  else console.log(`${label} ${r.status === 0 ? 'passed' : 'FAILED'}: ${r.pass} passed, ${r.fail} failed, ${r.skip} skipped, ${r.phase.files.length} file(s), ${r.seconds.toFixed(1)} s`);
}
process.exit(failed ? 1 : 0);
