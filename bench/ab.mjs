// Interleaved A/B timing of whole commands: N rounds, each command once per round in the given
// order, then the median and minimum wall time of each. Interleaving spreads the machine's own
// drift (it changes by tens of percent within minutes here) over every command alike.
//   node bench/ab.mjs 15 'node -e 0' 'node old/bin/code-insights.js ARGS' 'node bin/code-insights.js ARGS'
// Each command runs under `sh -c`; a command that fails stops the run with its stderr.
import { spawnSync } from 'node:child_process';

const [rounds, ...commands] = process.argv.slice(2);
if (!Number.isInteger(Number(rounds)) || Number(rounds) < 1 || commands.length === 0) {
  process.stderr.write("usage: node bench/ab.mjs ROUNDS 'command' ['command' ...]\n");
  process.exit(2);
}
const times = commands.map(() => []);
for (let r = 0; r < Number(rounds); r++) {
  commands.forEach((c, i) => {
    const t = process.hrtime.bigint();
    const x = spawnSync('sh', ['-c', c], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (x.status !== 0) {
      process.stderr.write(`failed (${x.status}): ${c}\n${x.stderr}`);
      process.exit(1);
    }
    times[i].push(Number(process.hrtime.bigint() - t) / 1e6);
  });
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
commands.forEach((c, i) => {
  process.stdout.write(`median ${median(times[i]).toFixed(0).padStart(6)} ms  min ${Math.min(...times[i]).toFixed(0).padStart(6)} ms  ${c}\n`);
});
