// The insights server over the real protocol: a separate process, real git repositories.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CancellationTokenSource, DidChangeWatchedFilesNotification, LogMessageNotification, DidChangeTextDocumentNotification, DidOpenTextDocumentNotification, LSPErrorCodes, ResponseError, WorkDoneProgress, type WorkDoneProgressBegin, type WorkDoneProgressEnd, type WorkDoneProgressReport } from 'vscode-languageserver-protocol/node';
import {
  CancelComputeRequest,
  ComputeInsightsRequest,
  DrillDownRequest,
  EditDefinitionsRequest,
  ExportInsightRequest,
  GetSeriesRequest,
  InsightsChangedNotification,
  InsightsErrorCodes,
  insightsErrorData,
  ListInsightsRequest,
  PartialResultNotification,
  SeriesQueryRequest,
  SettingsNotification,
  type InsightResult,
  type InsightSummary,
} from '../../protocol/lsp';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { startServer, type StartedServer } from './lspClient';

let ws: string;
let defsFile: string;
let defsUri: string;
let cacheFile: string;

const DEFS = {
  insights: [
    { id: 'todo', title: 'TODOs', queries: [{ query: 'TODO', label: 'todo' }], step: 'month', points: 3, end: '2026-03-01T00:00:00Z' },
    { id: 'todo-lines', title: 'TODO lines', queries: ['TODO'], count: 'lines', step: 'month', points: 3, end: '2026-03-01T00:00:00Z' },
  ],
};

before(() => {
  // A workspace folder holding two repositories of known history.
  ws = tempDir('ci-lsp-ws-');
  const alpha = TestRepo.init(join(ws, 'alpha'));
  alpha.commit('2026-01-05T10:00:00Z', { 'a.ts': 'TODO one\nTODO two\n' });
  alpha.commit('2026-02-10T10:00:00Z', { 'b.ts': 'const x = 1; // TODO\n' });
  const beta = TestRepo.init(join(ws, 'beta'));
  beta.commit('2026-01-20T10:00:00Z', { 'c.py': 'TODO TODO TODO\n' });
  mkdirSync(join(ws, '.vscode'));
  defsFile = join(ws, '.vscode', 'insights.json');
  defsUri = pathToFileURL(defsFile).href;
  writeFileSync(defsFile, JSON.stringify(DEFS, null, 2));
  cacheFile = join(tempDir('ci-lsp-cache-'), 'cache.sqlite');
});

after(() => rmSync(ws, { recursive: true, force: true }));

async function withServer(fn: (s: StartedServer) => Promise<void>, settings = {}, opts = {}): Promise<void> {
  const s = await startServer([ws], { cacheFile, ...settings }, opts);
  try {
    await fn(s);
  } catch (err) {
    if (s.stderr()) console.error('server stderr:\n' + s.stderr());
    throw err;
  } finally {
    await s.stop();
  }
}

test('lists the insights of the folder, computes them with progress and partial results, exact values', async () => {
  await withServer(async ({ conn }) => {
    const { insights } = await conn.sendRequest(ListInsightsRequest.type, {});
    assert.deepEqual(insights.map((i) => [i.key, i.title, i.state, i.source.uri]), [
      [`${ws.split('/').pop()}/todo`, 'TODOs', 'idle', defsUri],
      [`${ws.split('/').pop()}/todo-lines`, 'TODO lines', 'idle', defsUri],
    ]);
    const progress: (WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd)[] = [];
    conn.onProgress(WorkDoneProgress.type, 'tok-1', (v) => { progress.push(v); });
    const partials: { reposDone: number; reposTotal: number; result: InsightResult }[] = [];
    conn.onNotification(PartialResultNotification.type, (p) => { partials.push(p); });

    const { results } = await conn.sendRequest(ComputeInsightsRequest.type, { workDoneToken: 'tok-1' });
    const todo = results.find((r) => r.id === 'todo')!;
    assert.equal(todo.series.length, 1);
    // Points: 2026-01-01 (no commit yet), 2026-02-01 (alpha 2 + beta 3), 2026-03-01 (alpha 3 + beta 3).
    assert.deepEqual(todo.series[0]!.points.map((p) => [p.time, p.value]), [
      ['2026-01-01T00:00:00.000Z', 0],
      ['2026-02-01T00:00:00.000Z', 5],
      ['2026-03-01T00:00:00.000Z', 6],
    ]);
    assert.deepEqual(todo.series[0]!.points[2]!.repos.map((r) => r.value).sort(), [3, 3]);
    const lines = results.find((r) => r.id === 'todo-lines')!;
    assert.deepEqual(lines.series[0]!.points.map((p) => p.value), [0, 3, 4]);

    assert.equal(progress[0]!.kind, 'begin');
    assert.equal(progress.at(-1)!.kind, 'end');
    assert.ok(progress.some((p) => p.kind === 'report'), 'reports progress between begin and end');
    // Two repositories: after the first finishes, each insight streams a partial result.
    assert.ok(partials.length >= 2, `expected partial results, got ${partials.length}`);
    assert.ok(partials.every((p) => p.result.partial === true && p.reposDone < p.reposTotal));

    const after = (await conn.sendRequest(ListInsightsRequest.type, {})).insights.find((i) => i.id === 'todo')!;
    assert.equal(after.state, 'done');
    assert.deepEqual(after.latest, { time: '2026-03-01T00:00:00.000Z', value: 6 });
    assert.deepEqual(after.previous, { time: '2026-02-01T00:00:00.000Z', value: 5 });
    const stored = await conn.sendRequest(GetSeriesRequest.type, { key: after.key });
    assert.deepEqual(stored!.series, todo.series);

    // Drill-down behind the last point of alpha: its files and counts add up to the chart's value.
    const last = todo.series[0]!.points[2]!;
    const alphaPoint = last.repos.find((r) => todo.repos.find((x) => x.repo === r.repo)!.path.endsWith('/alpha'))!;
    const prevCommit = todo.series[0]!.points[1]!.repos.find((r) => r.repo === alphaPoint.repo)!.commit;
    const dd = await conn.sendRequest(DrillDownRequest.type, { key: after.key, seriesId: todo.series[0]!.id, repo: alphaPoint.repo, commit: alphaPoint.commit, previousCommit: prevCommit });
    assert.equal(dd.total, 3);
    assert.deepEqual(dd.files, [{ path: 'a.ts', count: 2 }, { path: 'b.ts', count: 1 }]);
    assert.deepEqual(await conn.sendRequest(SeriesQueryRequest.type, { key: after.key, seriesId: todo.series[0]!.id }), { query: 'TODO', literal: false, ignoreCase: false });
    assert.equal(await conn.sendRequest(SeriesQueryRequest.type, { key: after.key, seriesId: 'nope' }), null);

    const csv = (await conn.sendRequest(ExportInsightRequest.type, { key: after.key, format: 'csv' })).text;
    const rows = csv.trim().split('\n');
    assert.equal(rows[0], 'series_id,label,time,repo,commit,value');
    assert.equal(rows.length, 1 + 1 + 2 + 2, 'a row per time and repository; an empty row for the point no repo reaches');
    const json = JSON.parse((await conn.sendRequest(ExportInsightRequest.type, { key: after.key, format: 'json' })).text);
    assert.deepEqual(json.series, todo.series);
  });
});

test('cancellation from the client aborts the computation and answers RequestCancelled', async () => {
  await withServer(async ({ conn }) => {
    const source = new CancellationTokenSource();
    conn.onProgress(WorkDoneProgress.type, 'tok-c', (v) => {
      if (v.kind === 'begin') source.cancel();
    });
    await assert.rejects(
      conn.sendRequest(ComputeInsightsRequest.type, { workDoneToken: 'tok-c' }, source.token),
      (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled,
    );
    const { insights } = await conn.sendRequest(ListInsightsRequest.type, {});
    assert.ok(insights.every((i) => i.state === 'idle' && i.latest === undefined), 'a cancelled run stores nothing');
    // insights/cancel stops a run that another request started.
    const run = conn.sendRequest(ComputeInsightsRequest.type, { workDoneToken: 'tok-d' });
    const cancelled = new Promise<number>((resolve) => {
      conn.onProgress(WorkDoneProgress.type, 'tok-d', async (v) => {
        if (v.kind === 'begin') resolve((await conn.sendRequest(CancelComputeRequest.type, {})).cancelled);
      });
    });
    await assert.rejects(run, (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled);
    assert.equal(await cancelled, 1);
  });
});

test('broken definitions become diagnostics at the exact place; fixing the file reloads without restart', async () => {
  const good = readFileSync(defsFile, 'utf8');
  try {
    await withServer(async (s) => {
      const broken = '{\n  "insights": [\n    {"id": "bad", "title": "Bad", "queries": ["foo(bar"]},\n    {"id": "cap", "title": "Cap", "kind": "capture", "queries": ["TODO"]}\n  ]\n}\n';
      writeFileSync(defsFile, broken);
      await s.conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: defsUri, type: 2 }] });
      const d = await s.waitForDiagnostics(defsUri, (x) => x.diagnostics.length === 2);
      const [regex, capture] = d.diagnostics;
      assert.equal(regex!.code, 'DEF_BAD_REGEX');
      assert.match(String(regex!.message), /query 1: invalid regular expression "foo\(bar" at position 3/);
      assert.deepEqual(regex!.range, { start: { line: 2, character: 50 }, end: { line: 2, character: 51 } });
      assert.equal(broken.split('\n')[2]![50], '(');
      assert.equal(capture!.code, 'DEF_NO_CAPTURE_GROUP');
      assert.equal(capture!.range.start.line, 3);
      assert.equal((await s.conn.sendRequest(ListInsightsRequest.type, {})).insights.length, 0, 'insights with errors are not listed');

      // Unsaved edits in the editor are validated as the user types.
      await s.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: defsUri, languageId: 'jsonc', version: 1, text: broken } });
      await s.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: defsUri, version: 2 }, contentChanges: [{ text: '{"insights": [' }] });
      const syntax = await s.waitForDiagnostics(defsUri, (x) => x.diagnostics.some((g) => g.code === 'DEF_SYNTAX'));
      assert.ok(syntax.diagnostics.every((g) => g.code === 'DEF_SYNTAX'));
      await s.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: defsUri, version: 3 }, contentChanges: [{ text: good }] });
      await s.waitForDiagnostics(defsUri, (x) => x.diagnostics.length === 0);
      assert.deepEqual((await s.conn.sendRequest(ListInsightsRequest.type, {})).insights.map((i) => i.id), ['todo', 'todo-lines']);
    });
  } finally {
    writeFileSync(defsFile, good);
  }
});

test('with autoCompute, a changed definition is recomputed on its own and the client is told', async () => {
  const good = readFileSync(defsFile, 'utf8');
  try {
    await withServer(async (s) => {
      const done = (pred: (i: InsightSummary[]) => boolean) => new Promise<InsightSummary[]>((resolve) => {
        s.conn.onNotification(InsightsChangedNotification.type, ({ insights }) => { if (pred(insights)) resolve(insights); });
      });
      const first = await done((l) => l.length === 2 && l.every((i) => i.state === 'done'));
      assert.equal(first.find((i) => i.id === 'todo')!.latest!.value, 6);
      const changed = { insights: [{ ...DEFS.insights[0], queries: ['TODO two'] }, DEFS.insights[1]] };
      const next = done((l) => l.find((i) => i.id === 'todo')?.latest?.value === 1);
      writeFileSync(defsFile, JSON.stringify(changed));
      await s.conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: defsUri, type: 2 }] });
      const list = await next;
      assert.equal(list.find((i) => i.id === 'todo-lines')!.latest!.value, 4);
    }, { autoCompute: true }, { workDoneProgress: true });
  } finally {
    writeFileSync(defsFile, good);
  }
});

test('with autoCompute, an insight added on disk while the file is open in the editor is computed, whatever order the events come in', { timeout: 30_000 }, async () => {
  const good = readFileSync(defsFile, 'utf8');
  try {
    await withServer(async (s) => {
      const lists: InsightSummary[][] = [];
      const done = (pred: (i: InsightSummary[]) => boolean) => new Promise<InsightSummary[]>((resolve) => {
        s.conn.onNotification(InsightsChangedNotification.type, ({ insights }) => { lists.push(insights); if (pred(insights)) resolve(insights); });
      });
      await done((l) => l.length === 2 && l.every((i) => i.state === 'done'));
      // The editor holds the file (as after "New Insight", which opens it).
      await s.conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: defsUri, languageId: 'jsonc', version: 1, text: good } });
      // Another program adds an insight on disk. VS Code's file watcher reports it first, while
      // the editor still shows the old text (which wins over the disk): nothing new yet...
      const added = { insights: [...DEFS.insights, { ...DEFS.insights[0], id: 'fixme', title: 'FIXMEs', queries: ['TODO t'] }] };
      const text = JSON.stringify(added, null, 2);
      writeFileSync(defsFile, text);
      const computed = done((l) => l.find((i) => i.id === 'fixme')?.state === 'done');
      await s.conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: defsUri, type: 2 }] });
      // ...then the editor reloads the file's new text: it is saved text, so it computes.
      await s.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: defsUri, version: 2 }, contentChanges: [{ text }] });
      const list = await computed;
      assert.equal(list.find((i) => i.id === 'fixme')!.latest!.value, 1, '"TODO two" in alpha/a.ts');
      // Each computation the server starts by itself asks for a progress as it starts: the first
      // one and the one for 'fixme' did.
      const startedBefore = s.progressCreated.length;
      assert.ok(startedBefore >= 2, `automatic computations ask for progress: ${JSON.stringify(s.progressCreated)}`);

      // Unsaved typing still computes nothing: an edit that is not on disk stays "not computed".
      const typed = JSON.stringify({ insights: [...added.insights, { ...DEFS.insights[0], id: 'typing', title: 'Typing', queries: ['one'] }] });
      await s.conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: defsUri, version: 3 }, contentChanges: [{ text: typed }] });
      // The list request waits for that change to be handled: a computation started for it would
      // have asked for its progress before this answer (one stream, in order).
      const listed = (await s.conn.sendRequest(ListInsightsRequest.type, {})).insights;
      assert.equal(listed.find((i) => i.id === 'typing')?.state, 'idle');
      assert.deepEqual(s.progressCreated.slice(startedBefore), [], 'unsaved text started no computation');
      assert.ok(lists.every((l) => l.find((i) => i.id === 'typing')?.state !== 'computing'), 'unsaved text was not computed');
    }, { autoCompute: true }, { workDoneProgress: true });
  } finally {
    writeFileSync(defsFile, good);
  }
});

test('with autoCompute, a settings change during the first computation does not start a second one of the same insights', { timeout: 30_000 }, async () => {
  await withServer(async (s) => {
    const computed: string[] = [];
    s.conn.onNotification(LogMessageNotification.type, ({ message }) => { if (message.startsWith('computed ')) computed.push(message); });
    let sent = false;
    const done = new Promise<void>((resolve) => {
      s.conn.onNotification(InsightsChangedNotification.type, ({ insights }) => {
        // The first computation is under way: settings arrive (as when connecting to an org server).
        if (!sent && insights.some((i) => i.state === 'computing')) {
          sent = true;
          void s.conn.sendNotification(SettingsNotification.type, { cacheFile, autoCompute: true, trusted: true, insights: [] });
        }
        if (sent && insights.length === 2 && insights.every((i) => i.state === 'done')) resolve();
      });
    });
    await done;
    // The list request waits for the settings to be applied: a second computation started by
    // them would have asked for its progress before this answer (one stream, in order).
    const { insights } = await s.conn.sendRequest(ListInsightsRequest.type, {});
    assert.deepEqual(insights.map((i) => [i.id, i.state]), [['todo', 'done'], ['todo-lines', 'done']]);
    assert.equal(s.progressCreated.length, 1, `one computation, started once: ${JSON.stringify(s.progressCreated)}`);
    assert.equal(computed.length, 2, `each insight computed once:\n${computed.join('\n')}`);
  }, { autoCompute: true }, { workDoneProgress: true });
});

test('user-settings insights are listed and computed over the workspace folders', async () => {
  await withServer(async ({ conn }) => {
    await conn.sendNotification(SettingsNotification.type, {
      insights: [{ id: 'mine', title: 'Mine', queries: ['TODO one'], step: 'year', points: 1, end: '2026-06-01T00:00:00Z' }],
      autoCompute: false,
      trusted: true,
      cacheFile,
    });
    const { results } = await conn.sendRequest(ComputeInsightsRequest.type, { keys: ['settings/mine'] });
    assert.equal(results[0]!.series[0]!.points.at(-1)!.value, 1);
    await assert.rejects(conn.sendRequest(ComputeInsightsRequest.type, { keys: ['nope/x'] }), /unknown insight "nope\/x"/);
  });
});

test('in a restricted workspace nothing is computed and the reason is given', async () => {
  await withServer(async ({ conn }) => {
    assert.equal((await conn.sendRequest(ListInsightsRequest.type, {})).insights.length, 2, 'definitions are still read');
    await assert.rejects(conn.sendRequest(ComputeInsightsRequest.type, {}), (e: unknown) => e instanceof ResponseError && e.code === InsightsErrorCodes.untrusted && /restricted workspace/.test(e.message) && insightsErrorData(e)?.code === 'UNTRUSTED');
  }, { trusted: false });
});

test('settings not of the declared shape are ignored with a message: a string does not make a workspace trusted', async () => {
  await withServer(async ({ conn }) => {
    const logs: string[] = [];
    conn.onNotification(LogMessageNotification.type, ({ message }) => { logs.push(message); });
    await conn.sendNotification(SettingsNotification.type, { insights: [], autoCompute: true, trusted: 'yes' } as never);
    // A list request waits for the settings change queued before it (the trust check does not).
    await conn.sendRequest(ListInsightsRequest.type, {});
    await assert.rejects(conn.sendRequest(ComputeInsightsRequest.type, {}), (e: unknown) => insightsErrorData(e)?.code === 'UNTRUSTED');
    assert.ok(logs.some((m) => m === 'settings ignored: invalid settings at trusted: expected a boolean, got string'), logs.join('\n'));
  }, { trusted: false });
});

test('editDefinitions adds and removes insights, keeping comments', async () => {
  const folder = tempDir('ci-lsp-edit-');
  mkdirSync(join(folder, '.vscode'));
  const file = join(folder, '.vscode', 'insights.json');
  const s = await startServer([folder], { cacheFile });
  try {
    const folderUri = pathToFileURL(folder).href;
    const created = await s.conn.sendRequest(EditDefinitionsRequest.type, { folderUri, add: { id: 'n', title: 'New', kind: 'series', queries: [{ query: 'x' }] } });
    assert.equal(created.create, true);
    assert.deepEqual(JSON.parse(created.changes[0]!.content), { insights: [{ id: 'n', title: 'New', kind: 'series', queries: [{ query: 'x' }] }] });

    const text = '{\n  // keep me\n  "insights": [\n    {"id": "a", "title": "A", "queries": ["a"]}\n  ]\n}\n';
    writeFileSync(file, text);
    await s.conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: pathToFileURL(file).href, type: 1 }] });
    const apply = (t: string, changes: { offset: number; length: number; content: string }[]) =>
      [...changes].sort((x, y) => y.offset - x.offset).reduce((acc, c) => acc.slice(0, c.offset) + c.content + acc.slice(c.offset + c.length), t);
    const added = await s.conn.sendRequest(EditDefinitionsRequest.type, { folderUri, add: { id: 'b', title: 'B', kind: 'series', queries: [{ query: 'b' }] } });
    const withB = apply(text, added.changes);
    assert.match(withB, /\/\/ keep me/);
    writeFileSync(file, withB);
    await s.conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: pathToFileURL(file).href, type: 2 }] });
    assert.deepEqual((await s.conn.sendRequest(ListInsightsRequest.type, {})).insights.map((i) => i.id), ['a', 'b']);
    await assert.rejects(s.conn.sendRequest(EditDefinitionsRequest.type, { folderUri, add: { id: 'a', title: 'A2', kind: 'series', queries: [{ query: 'a' }] } }), /already exists/);

    const removed = await s.conn.sendRequest(EditDefinitionsRequest.type, { folderUri, remove: 'a' });
    const withoutA = apply(withB, removed.changes);
    assert.match(withoutA, /\/\/ keep me/);
    assert.deepEqual(JSON.parse(withoutA.replace(/\/\/.*\n/, '')).insights.map((i: { id: string }) => i.id), ['b']);

    // The client's text (an editor's, unsaved) is what the changes apply to, not the file on disk.
    const held = '{"insights": [{"id": "z", "title": "Z", "queries": ["z"]}, {"id": "a", "title": "A", "queries": ["a"]}]}';
    const onHeld = await s.conn.sendRequest(EditDefinitionsRequest.type, { folderUri, remove: 'z', text: held });
    assert.equal(onHeld.create, false);
    assert.deepEqual(JSON.parse(apply(held, onHeld.changes)).insights.map((i: { id: string }) => i.id), ['a']);
    await assert.rejects(s.conn.sendRequest(EditDefinitionsRequest.type, { folderUri, remove: 'b', text: held }), /no insight with id "b"/);
  } finally {
    await s.stop();
    rmSync(folder, { recursive: true, force: true });
  }
});
