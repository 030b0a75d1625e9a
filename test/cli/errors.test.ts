// Black-box: bad input gets an actionable message on stderr and a non-zero exit, never a stack
// trace or a hang; a catastrophic regex finishes with the exact count or a per-series error; the
// csv and table formats carry the same numbers as json.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { GIT_ENV, TestRepo } from '../helpers/gitRepo';
import { BIN, ensureBuilt, runCli, runJson, hasStackTrace, gitGrepCount, revListBefore } from './cliHarness';

const END = '2026-01-22T00:00:00Z';
const WINDOW = ['--step', 'week', '--points', '4', '--end', END, '--no-cache'];
const ALL_A_LINES = 3;

let repo: TestRepo;

before(() => {
  ensureBuilt();
  repo = TestRepo.init();
  const evil = [...Array.from({ length: 200 }, () => 'a'.repeat(3000) + 'b'), ...Array.from({ length: ALL_A_LINES }, () => 'a'.repeat(40))].join('\n') + '\n';
  repo.commit('2026-01-05T10:00:00Z', { 'a.txt': 'TODO one\nTODO, "two"\n' });
  repo.commit('2026-01-12T10:00:00Z', { 'b.txt': 'TODO three TODO\n' });
  repo.commit('2026-01-19T10:00:00Z', { 'evil.txt': evil });
});

test('invalid regex: non-zero exit, the message names the query and the position, no stack trace', async () => {
  for (const [bad, pos] of [['a(b', 1], ['x[', 1], ['ok|+', 3]] as [string, number][]) {
    const r = await runCli(['series', repo.dir, '-q', 'TODO', '-q', bad, ...WINDOW, '--format', 'json']);
    assert.notEqual(r.code, 0, `${bad}: stdout ${r.stdout}`);
    assert.ok(r.stderr.includes(`"${bad}"`) || r.stderr.includes(bad), `names the query ${bad}: ${r.stderr}`);
    assert.ok(!r.stderr.includes('"TODO"'), `blames the bad query only: ${r.stderr}`);
    const posMentioned = new RegExp(`(position|column|offset|character|col\\.?)\\s*${pos}\\b|(position|column|character)\\s*${pos + 1}\\b`, 'i').test(r.stderr)
      || r.stderr.split('\n').some((l) => /^\s*\^/.test(l));
    assert.ok(posMentioned, `says where in ${bad} the problem is: ${r.stderr}`);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
    assert.equal(r.stdout.trim(), '', 'no partial output');
  }
});

test('the catastrophic regex (a+)+$ over long lines of a...ab finishes with the exact count (or a clear per-series error)', async () => {
  const r = await runCli(['series', repo.dir, '-q', '(a+)+$', ...WINDOW, '--format', 'json'], { timeoutMs: 60_000 });
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout).series[0] as { error?: string; points: { value: number }[] };
  if (s.error) {
    assert.match(s.error, /\S{10,}/, 'a per-series error says what happened');
  } else {
    // only the lines made of a's alone match, once each; JavaScript and PCRE agree on that.
    assert.equal(s.points.at(-1)!.value, ALL_A_LINES);
    assert.equal(s.points.at(-1)!.value, gitGrepCount(repo.dir, 'HEAD', '^a+$'));
  }
  process.stderr.write(`# (a+)+$ over 200 lines of 3000 a's + b: ${r.ms} ms\n`);
});

test('bad options: non-zero exit naming the option, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['series', repo.dir, '-q', 'TODO', '--step', 'fortnight'], /step/],
    [['series', repo.dir, '-q', 'TODO', '--count', 'words'], /count/],
    [['series', repo.dir, '-q', 'TODO', '--end', 'not-a-date'], /end/],
    [['series', repo.dir, '-q', 'TODO', '--points', '-3'], /points/],
    [['series', repo.dir, '-q', 'TODO', '--format', 'xml'], /format/],
    [['series', repo.dir], /query|-q/],
    [['series', repo.dir, '-q', 'TODO', '--bogus'], /bogus/],
    [['series', '/nonexistent/path/xyz', '-q', 'TODO'], /nonexistent|not found|no such|does not exist/i],
  ];
  for (const [args, mentions] of cases) {
    const r = await runCli([...args, '--no-cache']);
    assert.notEqual(r.code, 0, `${args.join(' ')} must fail; stdout: ${r.stdout.slice(0, 200)}`);
    assert.match(r.stderr, mentions, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(!hasStackTrace(r.stderr), r.stderr);
  }
});

/** RFC 4180-ish: quoted cells with doubled quotes, commas inside quotes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; }
    else if (c !== '\r') cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

test('--format csv: a header, then rows whose time and value equal the json points', async () => {
  const args = ['series', repo.dir, '-q', 'TODO', '--label', 'to do, "now"', '-q', 'three', ...WINDOW];
  const json = await runJson(args);
  const r = await runCli([...args, '--format', 'csv']);
  assert.equal(r.code, 0, r.stderr);
  const [header, ...rows] = parseCsv(r.stdout);
  const col = (name: string) => header.indexOf(name);
  assert.ok(col('time') >= 0 && col('value') >= 0, `header has time and value: ${header.join(',')}`);
  const labelCol = col('label') >= 0 ? col('label') : col('series');
  assert.ok(labelCol >= 0, `header names the series: ${header.join(',')}`);
  for (const s of json.series) {
    const mine = rows.filter((row) => row[labelCol] === s.label || row[labelCol] === s.id);
    assert.ok(mine.length > 0, `rows for ${s.label} (a label with a comma and quotes survives quoting)`);
    for (const p of s.points) {
      const at = mine.filter((row) => row[col('time')] === p.time);
      assert.equal(at.length, 1, `one row for ${s.label} at ${p.time} (one repo)`);
      assert.equal(Number(at[0][col('value')]), p.value, `${s.label} at ${p.time}`);
    }
  }
  assert.ok(rows.every((row) => row.length === header.length), 'every row has every column');
});

test('--format table: every label, every point\'s date and the latest values are shown', async () => {
  const args = ['series', repo.dir, '-q', 'TODO', '--label', 'To do', '-q', 'three', ...WINDOW];
  const json = await runJson(args);
  const r = await runCli([...args, '--format', 'table']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.trimStart().startsWith('{'), 'not json');
  for (const s of json.series) {
    assert.ok(r.stdout.includes(s.label), `label ${s.label}`);
    const labelLine = r.stdout.split('\n').find((l) => l.includes(s.label))!;
    assert.ok(new RegExp(`\\b${s.points.at(-1)!.value}\\b`).test(labelLine), `latest value of ${s.label} on its line: ${labelLine}`);
  }
  for (const p of json.series[0].points) assert.ok(r.stdout.includes(p.time.slice(0, 10)), `date ${p.time.slice(0, 10)} in the table`);
  // sanity that the numbers are real: the latest TODO count is git's
  assert.equal(json.series[0].points.at(-1)!.value, gitGrepCount(repo.dir, revListBefore(repo.dir, END)!, 'TODO'));
});

test('a catastrophic regex V8 cannot run linearly (lookaround in nested repetition) is stopped with a per-series error; the other series of the run stay exact', async () => {
  const bad = '(a+)+(?=\\n|$)$';
  const r = await runCli(['series', repo.dir, '-q', bad, '-q', 'TODO', ...WINDOW, '--format', 'json'], { timeoutMs: 60_000 });
  assert.ok(!hasStackTrace(r.stderr), r.stderr);
  const out = JSON.parse(r.stdout) as { series: { query: string; error?: string; points: { time: string; value: number }[] }[] };
  const [evil, todo] = out.series;
  if (evil.error) {
    assert.ok(evil.error.includes(bad) || r.stderr.includes(bad), `the error names the query: ${evil.error}`);
    assert.ok(r.stderr.includes(bad), `and stderr says so: ${r.stderr}`);
  } else {
    assert.equal(evil.points.at(-1)!.value, ALL_A_LINES, 'or the exact count');
  }
  assert.equal(todo.error, undefined);
  for (const p of todo.points) {
    const c = revListBefore(repo.dir, p.time);
    assert.equal(p.value, c ? gitGrepCount(repo.dir, c, 'TODO') : 0, `TODO at ${p.time}`);
  }
  process.stderr.write(`# ${bad}: ${r.ms} ms, exit ${r.code}, ${evil.error ? 'per-series error' : 'counted'}\n`);
});

test('a reader that closes the pipe early (code-insights ... | head) ends the run quietly, exit 0, no stack trace', async () => {
  for (const format of ['json', 'csv', 'table']) {
    const child = spawn(process.execPath, [BIN, 'series', repo.dir, '-q', 'TODO', ...WINDOW, '--format', format], { env: { ...GIT_ENV, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before anything is written: every write fails with EPIPE
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, `${format}: ${stderr}`);
    assert.ok(!hasStackTrace(stderr) && !/EPIPE/.test(stderr), `${format}: ${stderr}`);
  }
});
