// Runs every test file under test/ (or the folders/files given) with Node's test runner,
// TypeScript loaded through tsx. Node's runner prints the closing pass/fail counts.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
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
// Files named *.serial.test.ts run alone, after all the others have finished: they disturb
// what other files share (pgRestart restarts the PostgreSQL cluster every org test uses).
const serial = files.filter((f) => f.endsWith('.serial.test.ts'));
const parallel = files.filter((f) => !f.endsWith('.serial.test.ts'));
function run(list, concurrency) {
  if (list.length === 0) return 0;
  const res = spawnSync(
    process.execPath,
    [
      '--enable-experimental-regexp-engine-on-excessive-backtracks',
      '--import', 'tsx',
      '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec',
      ...flags,
      ...list.map((f) => relative(process.cwd(), f)),
    ],
    { stdio: 'inherit' },
  );
  return res.status ?? 1;
}
const first = run(parallel, 2);
const second = run(serial, 1);
process.exit(first || second);
