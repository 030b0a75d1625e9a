// The dashboard's data rules without a browser: filters re-sum per-repo points, exports hold
// one row per series, repository and time, and a CSV cell can never run as a spreadsheet formula.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyFilter, exportRows, FilterError, languageNames, repoLabel, repoPredicate, tableOf, toCsv, toJson } from '../../webview/model';
import { validate } from '../../protocol/validate';
import { validateCard } from '../../protocol/webview';
import { REPOS, captureCard, languagesCard, sampleCard } from './fixtures/messages';

test('include/exclude re-sum every point from the kept repositories', () => {
  const keep = repoPredicate({ include: 'acme/', exclude: 'web$' })!;
  const card = applyFilter(sampleCard(), keep);
  assert.deepEqual(card.series[0].points.map((p) => p.value), [3, 5, 4, 6]);
  assert.ok(card.series.every((s) => s.points.every((p) => p.repos.every((r) => r.repo === REPOS.A))));
  // Missing repositories are filtered too: a filtered-out failure is not this view's problem.
  assert.deepEqual(applyFilter(captureCard(), repoPredicate({ include: '', exclude: 'legacy' })).missing, []);
  assert.equal(repoPredicate({ include: ' ', exclude: '' }), undefined, 'blank filter: nothing to do');
  assert.throws(() => repoPredicate({ include: '', exclude: '[' }), (e: unknown) => e instanceof FilterError && /^exclude: /.test(e.message));
});

test('languages re-sum per language from the kept repositories', () => {
  const none = applyFilter(languagesCard(), () => false);
  assert.deepEqual(none.languages!.map((p) => p.languages), [[], [], [], []]);
  const all = applyFilter(languagesCard(), () => true);
  assert.deepEqual(all.languages![3].languages, [
    { language: 'TypeScript', lines: 400, files: 3 },
    { language: 'JavaScript', lines: 120, files: 2 },
    { language: 'Markdown', lines: 25, files: 1 },
  ]);
  assert.deepEqual(languageNames(languagesCard(), 2), { shown: ['TypeScript', 'JavaScript'], other: true });
});

test('the table has one row per time and one column per series; a missing point is no data, not zero', () => {
  const t = tableOf(sampleCard());
  assert.deepEqual(t.columns, ['TODO', 'FIXME']);
  assert.deepEqual(t.rows.map((r) => r.values), [[3, 1], [7, 1], [11, 2], [7, 4]]);
  const gap = sampleCard();
  gap.series[1].points.splice(0, 1);
  assert.deepEqual(tableOf(gap).rows[0].values, [3, null]);
  const lt = tableOf(languagesCard());
  assert.deepEqual(lt.columns, ['TypeScript', 'JavaScript', 'Markdown']);
});

test('exports: one row per series, repository and time; CSV quoted and formula-safe', () => {
  const card = sampleCard();
  assert.equal(exportRows(card).length, 14);
  card.title = 'Sum, "quoted"';
  card.series[0].label = '=HYPERLINK("http://evil")';
  const csv = toCsv(card).split('\n');
  assert.equal(csv[0], 'insight,series,seriesId,repo,time,commit,value');
  assert.ok(csv[1].startsWith(`"Sum, ""quoted""","'=HYPERLINK(""http://evil"")",s-todo,${REPOS.A},`), csv[1]);
  const json = JSON.parse(toJson(card));
  assert.equal(json.rows.length, 14);
  assert.deepEqual(Object.keys(json.rows[0]), ['insight', 'series', 'seriesId', 'repo', 'time', 'commit', 'value']);
});

test('a repository without a remote is named by its folder when the host knows it', () => {
  const card = { ...sampleCard(), repoPaths: [{ repo: 'root:0123456789abcdef', path: '/home/ada/work/tools' }] };
  assert.equal(repoLabel(card, 'root:0123456789abcdef'), 'tools (root:0123456…)');
  assert.equal(repoLabel(card, 'root:ffff'), 'root:ffff');
  assert.equal(repoLabel(card, REPOS.A), REPOS.A);
  assert.equal(repoLabel({ ...card, repoPaths: [{ repo: 'root:1', path: 'C:\\\\src\\\\app' }] }, 'root:1'), 'app (root:1…)');
});

test('an external card (values from CI) carries its unit and decimals through the validator into the table', () => {
  const base = sampleCard();
  const card = validate(validateCard, {
    ...base,
    kind: 'external',
    unit: '%',
    decimals: 1,
    series: [{ ...base.series[0], points: base.series[0].points.map((p) => ({ ...p, value: p.value + 0.5, repos: p.repos.map((r) => ({ ...r, value: r.value + 0.5 })) })) }],
  }, 'test card');
  const t = tableOf(card);
  assert.match(t.caption, /, in %$/);
  assert.equal(t.columns[0], `${base.series[0].label} (%)`);
  assert.ok(t.rows.every((r) => r.values[0] === null || !Number.isInteger(r.values[0])));
  assert.throws(() => validate(validateCard, { ...card, decimals: 7 }, 'test card'), /at most 6 decimals/);
  // Any finite number is a point's value here (a command series may print a difference such as
  // -3; external values are kept non-negative by `record` and the org service); text is not.
  const withValue = (value: unknown) => ({ ...card, series: [{ ...card.series[0], points: [{ ...card.series[0].points[0], value }] }] });
  assert.equal(validate(validateCard, withValue(-1), 'test card').series[0].points[0].value, -1);
  assert.throws(() => validate(validateCard, withValue('1'), 'test card'), /number/);
});
