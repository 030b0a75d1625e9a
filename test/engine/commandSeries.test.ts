// Command series against the commands themselves: every point equals what the same command
// prints in a checkout of the point's commit (git archive | tar, not our copying); a JSON object
// gives one series per name; a timeout kills the whole process group and the run goes on; garbage
// output and a failing command are missing points with their reason; credentials never reach the
// command; the cache answers a rerun without running anything; inputs-only copies only the inputs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { runInsights } from '../../server/runs/runInsights';
import type { ComputeRequest, SeriesSpec } from '../../server/engine/api';
import { seriesId } from '../../server/engine/seriesId';
import { commandEnv, parseCommandOutput } from '../../server/engine/commandRunner';

const END = new Date('2026-02-09T00:00:00Z');
const WINDOW = { step: 'week' as const, points: 6, end: END };

function command(cmd: string, o: { inputs?: string[]; checkout?: boolean; timeoutMs?: number; label?: string } = {}): SeriesSpec {
  const inputs = o.inputs ?? [];
  return {
    label: o.label ?? cmd, query: cmd, literal: false, ignoreCase: false, count: 'matches', include: [], exclude: [], maxFileSize: 0,
    command: { inputs, checkout: inputs.length === 0 || !!o.checkout, timeoutMs: o.timeoutMs ?? 20_000 },
  };
}

const lock = (n: number) => JSON.stringify({ packages: Object.fromEntries([['', {}], ...Array.from({ length: n }, (_, i) => [`node_modules/p${i}`, {}])]) });

let repo: TestRepo;
before(() => {
  repo = TestRepo.init();
  writeFileSync(join(repo.dir, 'run.sh'), '#!/bin/sh\necho 7\n', { mode: 0o755 });
  repo.commit('2026-01-05T10:00:00Z', { 'package-lock.json': lock(2), 'src/a.js': 'let a = 1;\n', 'link': { symlink: 'src/a.js' } });
  repo.commit('2026-01-12T10:00:00Z', { 'src/b.js': 'let b = 2;\nlet c = 3;\n' });
  repo.commit('2026-01-19T10:00:00Z', { 'package-lock.json': lock(5), 'docs/x.md': 'doc\n' });
  repo.commit('2026-02-02T10:00:00Z', { 'src/a.js': null, 'src/d.js': 'x\n'.repeat(40) });
});

/** What `sh -c cmd` prints in a checkout of `commit` made by git archive. */
function oracle(commit: string, cmd: string): string {
  const dir = tempDir('ci-cmd-oracle-');
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', repo.dir, commit, dir]);
  return execFileSync('sh', ['-c', cmd], { cwd: dir, encoding: 'utf8' }).trim();
}

async function run(series: SeriesSpec[], cacheFile: string | null = null, extra: Partial<ComputeRequest> = {}) {
  return runInsights({ paths: [repo.dir], series, ...WINDOW, ...extra }, { cacheFile });
}

test('every point is what the command prints in a checkout of the point\'s commit', async () => {
  const cmd = 'cat src/*.js | wc -c';
  const r = await run([command(cmd)]);
  const [s] = r.series;
  assert.equal(s.error, undefined);
  assert.equal(s.id, seriesId(command(cmd)));
  // The first bucket (2026-01-05 00:00) has no commit yet: no point rather than a 0.
  assert.deepEqual(s.points.map((p) => p.time), ['2026-01-12', '2026-01-19', '2026-01-26', '2026-02-02', '2026-02-09'].map((d) => `${d}T00:00:00.000Z`));
  for (const p of s.points) {
    const commit = repo.revListBefore(new Date(p.time))!;
    assert.equal(p.repos[0].commit, commit);
    assert.equal(p.value, Number(oracle(commit, cmd)), p.time);
  }
  assert.deepEqual(new Set(s.points.map((p) => p.value)).size > 1, true, 'the values differ over time');
});

test('a JSON object of named numbers gives one series per name, each equal to the command\'s output', async () => {
  const cmd = `node -e 'const l = require("./package-lock.json"); console.log(JSON.stringify({ deps: Object.keys(l.packages).length - 1, files: require("fs").readdirSync("src").length }))'`;
  const spec = command(cmd);
  const r = await run([spec]);
  assert.deepEqual(r.series.map((s) => [s.label, s.capture, s.id]), [['deps', 'deps', seriesId(spec, 'deps')], ['files', 'files', seriesId(spec, 'files')]]);
  for (const s of r.series) {
    for (const p of s.points) {
      const expected = JSON.parse(oracle(p.repos[0].commit, cmd)) as Record<string, number>;
      assert.equal(p.value, expected[s.capture!], `${s.label} at ${p.time}`);
    }
  }
  assert.deepEqual(r.series[0].points.map((p) => p.value), [2, 2, 5, 5, 5]);
});

test('a timeout kills the whole process group; the run goes on and says why', { timeout: 60_000 }, async () => {
  const dir = tempDir('ci-cmd-timeout-');
  const pids = join(dir, 'pids');
  // A background child that would outlive the shell if only the shell were killed.
  const slow = command(`sleep 100 & echo $! >> ${pids}; wait`, { timeoutMs: 300 });
  const r = await run([slow, command('echo 3')]);
  assert.match(r.series[0].error ?? '', /timed out after 0\.3 s/);
  assert.deepEqual(r.series[0].points, []);
  assert.ok(r.series[1].points.every((p) => p.value === 3), 'the other command still ran');
  assert.match(r.repos[0].warning ?? '', /gave no value at 4 of 4 sampled commits .*timed out/);
  for (const pid of readFileSync(pids, 'utf8').trim().split('\n').map(Number)) {
    // Killed by the timeout: gone once its parent (init) reaps it.
    let alive = true;
    for (let i = 0; i < 200 && alive; i++) {
      try {
        process.kill(pid, 0);
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (/\) Z /.test(stat)) alive = false;
        else await new Promise((res) => setTimeout(res, 25));
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, `sleep ${pid} still runs`);
  }
});

test('garbage output, a failing command and a failure at some commits only are missing points with the reason', async () => {
  const r = await run([command('echo hello world'), command('echo oops >&2; exit 3'), command('test -f docs/x.md && echo 1 || echo "no docs yet"'), command('echo \'{"a": "x"}\'')]);
  assert.match(r.series[0].error!, /printed "hello world", which is neither a number nor a JSON object of numbers/);
  assert.match(r.series[1].error!, /exited with code 3: oops/);
  assert.equal(r.series[2].error, undefined);
  assert.deepEqual(r.series[2].points.map((p) => p.time.slice(0, 10)), ['2026-01-26', '2026-02-02', '2026-02-09']);
  assert.match(r.series[3].error!, /printed "\\"x\\"" for "a"; every value of the JSON object must be a finite number/);
  assert.match(r.repos[0].warning!, /"test -f docs\/x.md.*" gave no value at 2 of 4 sampled commits/);
});

test('the environment is scrubbed of tokens, keys and passwords; HOME is a folder of its own', async () => {
  const planted = {
    GITHUB_TOKEN: 'ghp_secret', CODE_INSIGHTS_ORG_TOKEN: 'tok', npm_config__authToken: 'npm', AWS_SECRET_ACCESS_KEY: 'aws',
    DATABASE_URL: 'postgres://user:pw@db.example/x', MY_PASSWORD: 'pw', KEEP_ME: 'kept',
  };
  const saved = { ...process.env };
  Object.assign(process.env, planted);
  try {
    const home = process.env.HOME ?? '';
    const cmd = `printf '{"gh":%d,"ci":%d,"npm":%d,"aws":%d,"db":%d,"pw":%d,"keep":%d,"realHome":%d,"path":%d}' ${'${#GITHUB_TOKEN}'} ${'${#CODE_INSIGHTS_ORG_TOKEN}'} ${'${#npm_config__authToken}'} ${'${#AWS_SECRET_ACCESS_KEY}'} ${'${#DATABASE_URL}'} ${'${#MY_PASSWORD}'} ${'${#KEEP_ME}'} $(test "$HOME" = '${home}' && echo 1 || echo 0) $(command -v git >/dev/null && echo 1 || echo 0)`;
    const r = await run([command(cmd)], null, { points: 1 });
    const latest = Object.fromEntries(r.series.map((s) => [s.label, s.points.at(-1)!.value]));
    assert.deepEqual(latest, { gh: 0, ci: 0, npm: 0, aws: 0, db: 0, pw: 0, keep: 4, realHome: 0, path: 1 });
  } finally {
    for (const k of Object.keys(planted)) if (!(k in saved)) delete process.env[k];
  }
  const env = commandEnv('/h', { PATH: '/bin', GH_TOKEN: 'x', SSH_AUTH_SOCK: 's', GIT_DIR: '/r', LANG: 'C', PWD: '/p', KEYBOARD: 'us' });
  assert.deepEqual(env, { PATH: '/bin', LANG: 'C', PWD: '/p', KEYBOARD: 'us', HOME: '/h', USERPROFILE: '/h' });
});

test('cached per tree, or per inputs: a rerun runs no command; an unchanged input runs none either', async () => {
  const dir = tempDir('ci-cmd-cache-');
  const cache = join(dir, 'cache.sqlite');
  const log = join(dir, 'runs.log');
  const whole = command(`echo tree >> ${log}; find . -type f | wc -l`);
  const inputs = command(`echo lock >> ${log}; wc -c < package-lock.json`, { inputs: ['package-lock.json'] });
  const runs = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  const first = await run([whole, inputs], cache);
  // Four distinct trees; two distinct package-lock.json contents.
  assert.deepEqual(runs().sort(), ['lock', 'lock', 'tree', 'tree', 'tree', 'tree']);
  assert.equal(first.stats.commandsRun, 6);
  const again = await run([whole, inputs], cache);
  assert.equal(runs().length, 6, 'the rerun ran nothing');
  assert.deepEqual(again.series, first.series);
  // Other buckets over the same commits: not the run memo's request, so the cache answers.
  const daily = await run([whole, inputs], cache, { step: 'day', points: 40 });
  assert.equal(runs().length, 6, 'other buckets over the same commits ran nothing');
  assert.equal(daily.stats.commandsRun ?? 0, 0);
  // A new commit that leaves package-lock.json alone runs the whole-tree command only.
  repo.commit('2026-02-05T10:00:00Z', { 'src/e.js': 'e\n' });
  try {
    await run([whole, inputs], cache);
    assert.deepEqual(runs().slice(6), ['tree']);
  } finally {
    repo.git(['reset', '-q', '--hard', 'HEAD~1']);
  }
});

test('inputs-only copies just the inputs; --checkout copies the tree; modes and symlinks are kept', async () => {
  const count = `printf '{"files":%d,"links":%d,"exec":%d}' $(find . -type f | wc -l) $(find . -type l | wc -l) $(test -x run.sh && echo 1 || echo 0)`;
  const only = await run([command(count, { inputs: ['package-lock.json', 'src/**'] })]);
  // Keyed by the inputs, which change at every sampled commit here: each value is its own commit's.
  const tree = await run([command(count, { inputs: ['package-lock.json', 'src/**'], checkout: true })]);
  const at = (r: typeof only, name: string) => r.series.find((s) => s.label === name)!.points.map((p) => p.value);
  assert.deepEqual(at(only, 'files'), [2, 3, 3, 3, 3]); // package-lock.json and src/*.js
  assert.deepEqual(at(only, 'links'), [0, 0, 0, 0, 0]);
  for (const p of tree.series[0].points) {
    const expected = JSON.parse(oracle(p.repos[0].commit, count)) as Record<string, number>;
    assert.equal(p.value, expected.files, p.time);
  }
  assert.deepEqual(at(tree, 'links'), [1, 1, 1, 1, 1]);
  assert.deepEqual(at(tree, 'exec'), [1, 1, 1, 1, 1]);
});

test('no more than two commands run at once, across repositories', async () => {
  const dir = tempDir('ci-cmd-slots-');
  const log = join(dir, 'log');
  const other = TestRepo.init();
  for (let i = 0; i < 4; i++) other.commit(`2026-01-${String(5 + 7 * i).padStart(2, '0')}T10:00:00Z`, { 'f.txt': `${i}\n` });
  writeFileSync(log, '');
  const r = await runInsights({ paths: [repo.dir, other.dir], series: [command(`echo + >> ${log}; sleep 0.2; echo - >> ${log}; echo 1`)], ...WINDOW }, { cacheFile: null });
  assert.equal(r.series[0].error, undefined);
  let now = 0;
  let most = 0;
  for (const c of readFileSync(log, 'utf8').trim().split('\n')) {
    now += c === '+' ? 1 : -1;
    most = Math.max(most, now);
  }
  assert.equal(now, 0);
  assert.ok(most >= 1 && most <= 2, `at most two at once, saw ${most}`);
});

test('output parsing: numbers, JSON numbers and objects; everything else is a reason', () => {
  assert.deepEqual(parseCommandOutput(' 42\n'), { value: 42 });
  assert.deepEqual(parseCommandOutput('-1.5e3'), { value: -1500 });
  assert.deepEqual(parseCommandOutput('{"a": 1, "b": 2.5}'), { named: { a: 1, b: 2.5 } });
  assert.match((parseCommandOutput('') as { error: string }).error, /printed nothing/);
  assert.match((parseCommandOutput('[1,2]') as { error: string }).error, /neither a number nor a JSON object/);
  assert.match((parseCommandOutput('{}') as { error: string }).error, /empty JSON object/);
  assert.match((parseCommandOutput('NaN') as { error: string }).error, /neither/);
  assert.match((parseCommandOutput('{"a": null}') as { error: string }).error, /for "a"/);
});
