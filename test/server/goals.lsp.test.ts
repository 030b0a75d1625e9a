// Goals in the insights server, over the real protocol (a separate process, a real repository):
// computed insights carry each series' goal and verdict at the latest point; the request behind
// "Check Goals" gives the same result as `code-insights check` and puts a diagnostic on each
// line that added matches to a broken series.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CheckGoalsRequest, ComputeInsightsRequest, GetSeriesRequest, insightsErrorData, WorkingTreeGoalsRequest } from '../../protocol/lsp';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { startServer } from './lspClient';

let repo: TestRepo;
let cacheFile: string;

const DEFS = {
  insights: [
    { id: 'old', title: 'Old logger', queries: [{ query: 'oldLogger\\(', goal: { ratchet: true, max: 2 } }] },
    { id: 'free', title: 'No goal', queries: ['FIXME'] },
  ],
};

before(() => {
  repo = TestRepo.init();
  mkdirSync(join(repo.dir, '.vscode'));
  writeFileSync(join(repo.dir, '.vscode', 'insights.json'), JSON.stringify(DEFS));
  repo.commit('2026-01-05T10:00:00Z', { 'src/a.js': 'oldLogger("a");\n' });
  repo.git(['checkout', '-q', '-b', 'topic']);
  repo.commit('2026-01-06T10:00:00Z', { 'src/a.js': 'oldLogger("a");\nok();\noldLogger("b"); oldLogger("c");\n' });
  cacheFile = join(tempDir('ci-goals-lsp-'), 'cache.sqlite');
});

after(() => rmSync(repo.dir, { recursive: true, force: true }));

test('computed series carry their goal and verdict; Check Goals reports the broken ratchet and marks its lines', async () => {
  const s = await startServer([repo.dir], { cacheFile });
  try {
    const { results } = await s.conn.sendRequest(ComputeInsightsRequest.type, { keys: [`${repo.dir.split('/').pop()}/old`, `${repo.dir.split('/').pop()}/free`] });
    const [old, free] = results;
    assert.equal(old!.goals?.length, 1);
    assert.equal(old!.goals![0]!.seriesId, old!.series[0]!.id);
    assert.deepEqual(old!.goals![0]!.goal, { ratchet: true, max: 2 });
    assert.equal(old!.goals![0]!.verdict, 'broken', 'the latest value 3 is above the max 2');
    assert.deepEqual(old!.goals![0]!.reasons, ['3 is above the maximum 2']);
    assert.equal(free!.goals, undefined);

    const { results: [result], failed, text } = await s.conn.sendRequest(CheckGoalsRequest.type, {});
    assert.equal(failed, true);
    assert.equal(result!.failed, true);
    assert.deepEqual(result!.series.map((x) => [x.label, x.base, x.head, x.verdict]), [['oldLogger\\(', 1, 3, 'broken']]);
    assert.match(text, /src\/a\.js:3\s+\+2/);
    const uri = pathToFileURL(join(repo.dir, 'src', 'a.js')).href;
    const d = await s.waitForDiagnostics(uri, (x) => x.diagnostics.length > 0);
    assert.deepEqual(d.diagnostics.map((x) => [x.range.start.line, x.code, x.source]), [[2, 'GOAL_BROKEN', 'code-insights goals']]);
    assert.match(String(d.diagnostics[0]!.message), /this line adds 2; .*rose from 1 to 3/);
    // The stored result (the dashboard's card) now carries the check's verdict too: a ratchet needs a base.
    const stored = await s.conn.sendRequest(GetSeriesRequest.type, { key: old!.key });
    assert.deepEqual(stored!.goals![0]!.reasons, ['3 is above the maximum 2', 'Check Goals: rose from 1 to 3 (ratchet: it may not rise above the base)']);

    // Fixed: the check passes and the diagnostics are cleared.
    repo.commit('2026-01-07T10:00:00Z', { 'src/a.js': 'oldLogger("a");\n' });
    const fixed = await s.conn.sendRequest(CheckGoalsRequest.type, {});
    assert.equal(fixed.failed, false);
    const after = await s.conn.sendRequest(GetSeriesRequest.type, { key: old!.key });
    assert.deepEqual(after!.goals![0]!.reasons, ['3 is above the maximum 2'], 'a check that passes takes its reasons away (the card keeps its own until recomputed)');
    await s.waitForDiagnostics(uri, (x) => x.diagnostics.length === 0);

    const bad = await s.conn.sendRequest(CheckGoalsRequest.type, { base: 'no-such-rev' }).then(() => undefined, (e: unknown) => e);
    assert.equal(insightsErrorData(bad)?.code, 'BAD_OPTION');
  } finally {
    await s.stop();
  }
});

test('as you type: lines that add ratchet matches beyond the base are marked; a moved line is not; no ratchet, no marks', async () => {
  const s = await startServer([repo.dir], { cacheFile });
  try {
    const uri = pathToFileURL(join(repo.dir, 'src', 'a.js')).href;
    // HEAD (topic) is back to one oldLogger, as at the base (main).
    const moved = await s.conn.sendRequest(WorkingTreeGoalsRequest.type, { uri, text: '// moved down\noldLogger("a");\n' });
    assert.deepEqual(moved, { marks: [], active: true });
    const typed = await s.conn.sendRequest(WorkingTreeGoalsRequest.type, { uri, text: 'start();\noldLogger("a");\nx(); oldLogger("new")\n' });
    assert.deepEqual(typed.marks.map((m) => m.line), [2]);
    assert.match(typed.marks[0]!.message, /Old logger \/ oldLogger\\\(: this line adds 1; ratchet: src\/a\.js has 2 now, 1 at the base/);
    const newFile = await s.conn.sendRequest(WorkingTreeGoalsRequest.type, { uri: pathToFileURL(join(repo.dir, 'src', 'new.js')).href, text: 'oldLogger(1);\n' });
    assert.deepEqual(newFile.marks.map((m) => m.line), [0], 'a file that is not at the base adds every match');
  } finally {
    await s.stop();
  }
  const other = TestRepo.init();
  mkdirSync(join(other.dir, '.vscode'));
  writeFileSync(join(other.dir, '.vscode', 'insights.json'), JSON.stringify({ insights: [{ id: 'm', title: 'M', queries: [{ query: 'x', goal: { max: 0 } }] }] }));
  other.commit('2026-01-05T10:00:00Z', { 'a.txt': 'x\n' });
  const s2 = await startServer([other.dir], { cacheFile });
  try {
    const r = await s2.conn.sendRequest(WorkingTreeGoalsRequest.type, { uri: pathToFileURL(join(other.dir, 'a.txt')).href, text: 'x\nx\n' });
    assert.deepEqual(r, { marks: [], active: false }, 'only ratchets mark lines as you type');
  } finally {
    await s2.stop();
    rmSync(other.dir, { recursive: true, force: true });
  }
});

