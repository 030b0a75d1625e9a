// The checks `npm test` runs before any test: the type check (tsc --noEmit, strict) and the lint
// (eslint.config.mjs: bug-finding rules and the folder boundaries), side by side on the two
// cores they need. Exits non-zero when either fails, after both have printed their findings.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
/** The file a package's command runs (its package.json "bin"), run with this Node. */
function bin(pkg, command) {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin: b } = require(manifest);
  return join(dirname(manifest), typeof b === 'string' ? b : b[command]);
}
const checks = [
  // Incremental: a rerun re-checks only what changed since (the state is kept under node_modules).
  { name: 'type check', bin: bin('typescript', 'tsc'), args: ['-p', 'tsconfig.json', '--noEmit', '--incremental', '--tsBuildInfoFile', 'node_modules/.cache/code-insights/tsbuildinfo'] },
  { name: 'lint', bin: bin('eslint', 'eslint'), args: ['.', '--max-warnings', '0'] },
];

function run({ name, bin, args }) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const out = [];
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    child.on('error', (e) => resolve({ name, code: 1, text: String(e), seconds: 0 }));
    child.on('close', (code) => resolve({ name, code: code ?? 1, text: Buffer.concat(out).toString(), seconds: (performance.now() - t0) / 1000 }));
  });
}

// Printed whole, one check after the other, so their findings do not interleave.
const results = await Promise.all(checks.map(run));
for (const r of results) {
  if (r.text.trim()) process.stdout.write(`\n--- ${r.name} ---\n${r.text.trimEnd()}\n`);
}
for (const r of results) {
  console.log(`check: ${r.name} ${r.code === 0 ? 'passed' : 'FAILED'} (${r.seconds.toFixed(1)} s)`);
}
if (results.some((r) => r.code !== 0)) {
  console.error('check: fix the findings above before the tests run (npm run typecheck, npm run lint)');
  process.exit(1);
}
