// Drill-down latency on a real repository: TODO at the newest commit against the commit of one
// week earlier (median of 5, after one warm-up).
//   node --import tsx test/webview/measureDrillDown.ts PATH [PATH...]
import { execFileSync } from 'node:child_process';
import { drillDown } from '../../server/engine/drillDown';

async function measure(path: string): Promise<void> {
  const gitDir = execFileSync('git', ['-C', path, 'rev-parse', '--absolute-git-dir'], { encoding: 'utf8' }).trim();
  const git = (args: string[]) => execFileSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8' }).trim();
  const head = git(['rev-parse', 'HEAD']);
  const headTime = Number(git(['show', '-s', '--format=%ct', head]));
  const prev = git(['rev-list', '-1', '--first-parent', `--before=${headTime - 7 * 86400}`, head]);
  const spec = { label: 'TODO', query: 'TODO', literal: false, ignoreCase: false, count: 'matches' as const, include: [], exclude: [], maxFileSize: 1 << 20 };
  const run = () => drillDown({ repoPath: path, repo: 'r', seriesId: 's', spec, commit: head, previousCommit: prev });
  const first = await run();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const files = git(['ls-tree', '-r', '--name-only', head]).split('\n').length;
  console.log(`${path}: ${files} files at HEAD, total ${first.total} in ${first.files.length} files, ${first.changes.length} changed, ${first.commits.length} commits in the week; median ${times[2].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[4].toFixed(0)})`);
}

(async () => {
  for (const p of process.argv.slice(2)) await measure(p);
})().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
