// Command series through the insights server, as VS Code computes them: the server process runs
// the command of a definitions file at each sampled commit (real git, real /bin/sh), names the
// series a JSON object prints, caches the values, and refuses what does not apply (drill-down,
// find in files) or a restricted workspace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ComputeInsightsRequest, DrillDownRequest, insightsErrorData, ListInsightsRequest, SeriesQueryRequest } from '../../protocol/lsp';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { startServer } from './lspClient';

let ws: string;
let cacheFile: string;
// The size command also appends a line here (outside the tree) each time it runs.
let runs: string;

const END = '2026-04-01T00:00:00Z';
const defs = () => ({
  insights: [
    // One number: what the file holds at the commit (its only input).
    { id: 'size', title: 'Size', kind: 'command', command: `echo ran >> '${runs}'; cat size.txt`, inputs: ['size.txt'], step: 'month', points: 3, end: END },
    // Named numbers: one series each; the command reads two files of the tree.
    {
      id: 'pair',
      title: 'Pair',
      kind: 'command',
      command: `printf '{"lines": %s, "files": %s}' "$(cat *.txt | wc -l)" "$(ls *.txt | wc -l)"`,
      step: 'month',
      points: 3,
      end: END,
    },
  ],
});

before(() => {
  ws = tempDir('ci-lsp-cmd-ws-');
  const repo = TestRepo.init(join(ws, 'app'));
  repo.commit('2026-01-10T10:00:00Z', { 'size.txt': '3\n' });
  repo.commit('2026-02-10T10:00:00Z', { 'size.txt': '7\n', 'b.txt': 'x\ny\n' });
  repo.commit('2026-03-10T10:00:00Z', { 'size.txt': '-2.5\n' });
  mkdirSync(join(ws, '.vscode'));
  const state = tempDir('ci-lsp-cmd-cache-');
  cacheFile = join(state, 'cache.sqlite');
  runs = join(state, 'runs.txt');
  writeFileSync(join(ws, '.vscode', 'insights.json'), JSON.stringify(defs(), null, 2));
});

after(() => rmSync(ws, { recursive: true, force: true }));

test('a trusted workspace computes command insights: the printed number per sampled commit, a series per printed name, no drill-down', async () => {
  const s = await startServer([ws], { cacheFile });
  try {
    const { results } = await s.conn.sendRequest(ComputeInsightsRequest.type, {});
    const size = results.find((r) => r.id === 'size')!;
    assert.equal(size.error, undefined, JSON.stringify(size));
    assert.equal(size.series.length, 1);
    // Buckets 2026-02-01, 03-01, 04-01: the commits of 01-10, 02-10, 03-10.
    assert.deepEqual(size.series[0]!.points.map((p) => [p.time, p.value]), [
      ['2026-02-01T00:00:00.000Z', 3],
      ['2026-03-01T00:00:00.000Z', 7],
      ['2026-04-01T00:00:00.000Z', -2.5],
    ]);
    const pair = results.find((r) => r.id === 'pair')!;
    const byName = new Map(pair.series.map((x) => [x.capture, x.points.map((p) => p.value)]));
    assert.deepEqual([...byName.keys()].sort(), ['files', 'lines']);
    assert.deepEqual(byName.get('files'), [1, 2, 2]);
    assert.deepEqual(byName.get('lines'), [1, 3, 3]);

    const listed = (await s.conn.sendRequest(ListInsightsRequest.type, {})).insights.find((i) => i.id === 'size')!;
    assert.deepEqual(listed.latest, { time: '2026-04-01T00:00:00.000Z', value: -2.5 });
    // No text to find in the editor, no files behind the number: both said, neither a crash.
    assert.equal(await s.conn.sendRequest(SeriesQueryRequest.type, { key: listed.key, seriesId: size.series[0]!.id }), null);
    const point = size.series[0]!.points[2]!.repos[0]!;
    await assert.rejects(
      s.conn.sendRequest(DrillDownRequest.type, { key: listed.key, seriesId: size.series[0]!.id, repo: point.repo, commit: point.commit }),
      (e: unknown) => insightsErrorData(e)?.code === 'NO_DRILL_DOWN' && /command series has no files/.test((e as Error).message),
    );
  } catch (err) {
    console.error('server stderr:\n' + s.stderr());
    throw err;
  } finally {
    await s.stop();
  }
  // Three runs of the size command: one per distinct content of its input.
  assert.equal(readFileSync(runs, 'utf8'), 'ran\nran\nran\n');
  // A second server process on the same cache answers from it without running the command.
  const again = await startServer([ws], { cacheFile });
  try {
    const { results } = await again.conn.sendRequest(ComputeInsightsRequest.type, {});
    assert.deepEqual(results.find((r) => r.id === 'size')!.series[0]!.points.map((p) => p.value), [3, 7, -2.5]);
    assert.equal(readFileSync(runs, 'utf8'), 'ran\nran\nran\n', 'no command ran on the second server');
  } finally {
    await again.stop();
  }
});

test('a restricted workspace lists command insights but runs no command', async () => {
  const marker = join(tempDir('ci-lsp-cmd-marker-'), 'ran');
  const defs = { insights: [{ id: 'touch', title: 'Touch', kind: 'command', command: `touch ${marker}; echo 1`, step: 'month', points: 2, end: END }] };
  const folder = tempDir('ci-lsp-cmd-untrusted-');
  TestRepo.init(join(folder, 'app')).commit('2026-01-10T10:00:00Z', { 'a.txt': 'a\n' });
  mkdirSync(join(folder, '.vscode'));
  writeFileSync(join(folder, '.vscode', 'insights.json'), JSON.stringify(defs));
  const s = await startServer([folder], { cacheFile: join(folder, 'cache.sqlite'), trusted: false, autoCompute: true });
  try {
    const { insights } = await s.conn.sendRequest(ListInsightsRequest.type, {});
    assert.deepEqual(insights.map((i) => i.id), ['touch']);
    await assert.rejects(s.conn.sendRequest(ComputeInsightsRequest.type, {}), (e: unknown) => insightsErrorData(e)?.code === 'UNTRUSTED');
    assert.equal(existsSync(marker), false, 'the command never ran');
  } finally {
    await s.stop();
    rmSync(folder, { recursive: true, force: true });
  }
});
