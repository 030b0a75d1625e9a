// Summarises a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time, and self
// time grouped by source file. Usage: node bench/profileSummary.mjs FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profileSummary.mjs FILE.cpuprofile [TOP]');
  process.exit(2);
}
const top = Number(topArg) || 25;
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map(); // node id -> µs
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const fnKey = (n) => {
  const cf = n.callFrame;
  const url = cf.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules|server)\//, '$1/');
  return `${cf.functionName || '(anonymous)'}  ${url}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
};
const fileKey = (n) => n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/') || `(${n.callFrame.functionName || 'native'})`;
const sum = (keyOf) => {
  const m = new Map();
  for (const [id, us] of self) {
    const k = keyOf(byId.get(id));
    m.set(k, (m.get(k) ?? 0) + us);
  }
  return [...m].sort((a, b) => b[1] - a[1]);
};
const pct = (us) => `${(us / 1000).toFixed(0).padStart(6)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%`;
console.log(`profile ${file}: ${(total / 1000).toFixed(0)} ms sampled (wall ${((prof.endTime - prof.startTime) / 1000).toFixed(0)} ms)`);
console.log(`\ntop ${top} functions by self time:`);
for (const [k, us] of sum(fnKey).slice(0, top)) console.log(`${pct(us)}  ${k}`);
// Inclusive time of the project's own functions (dist/ and server/): where the time goes below them.
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
for (const [id, us] of self) {
  const seen = new Set();
  for (let n = id; n !== undefined; n = parent.get(n)) {
    const node = byId.get(n);
    if (!/\/(dist|server)\//.test(node.callFrame.url)) continue;
    const k = fnKey(node);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}
console.log(`\ntop ${top} own functions by inclusive time:`);
for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
console.log('\nself time by file:');
for (const [k, us] of sum(fileKey).slice(0, 12)) console.log(`${pct(us)}  ${k}`);
