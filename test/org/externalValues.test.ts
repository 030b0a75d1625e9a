// Values from CI (issue 15 §3): `code-insights record` (the real CLI, as child processes) on a
// real git repository queues a decimal value with its unit, `push` sends it to the real org
// service (PGlite, and PostgreSQL with DATABASE_URL), and the service gives it back as recorded.
// Old clients' integer series are stored and read exactly as before; bad values are refused with
// a 400 naming the field; two concurrent `record` processes on one cache both land.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InsightsCache } from '../../server/store/cache';
import { externalValues } from '../../server/store/externalValues';
import { outboxCounts } from '../../server/sync/outbox';
import { runPush } from '../../server/sync/cli';
import { externalSeriesId } from '../../server/engine/seriesId';
import { ensureBuilt, hasStackTrace, runCli } from '../cli/cliHarness';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { backends, definition, get, makeOrg, openTestDb, point, post, sha, startApp, type TestDb, type TestOrg } from './helpers';

const INSIGHTS = {
  insights: [
    { id: 'coverage', title: 'Line coverage', kind: 'external', unit: '%', decimals: 1, goal: { min: 80 } },
    { id: 'build-time', title: 'Build time', kind: 'external', unit: 's', decimals: 2 },
    { id: 'todo', title: 'TODOs', queries: ['TODO'] },
  ],
};
const coverage = { id: 'coverage', unit: '%', decimals: 1 };
const COVERAGE_ID = externalSeriesId(coverage);

function externalDefinition(over: Record<string, unknown> = {}) {
  return definition({ id: COVERAGE_ID, label: 'Line coverage', query: 'coverage', kind: 'external', include: [], maxFileSize: 0, unit: '%', decimals: 1, ...over });
}

async function outboxOf(file: string): Promise<{ pending: number; values: number[] }> {
  const { cache } = await InsightsCache.open(file);
  try {
    return { pending: outboxCounts(cache.db).pending, values: externalValues(cache.db).map((v) => v.value).sort((a, b) => a - b) };
  } finally {
    cache.close();
  }
}

/** A repository with an external insight file and two commits in one week (2026-11-03, -04). */
function repoWithInsights(): { repo: TestRepo; older: string; newer: string } {
  const repo = TestRepo.init();
  mkdirSync(join(repo.dir, '.vscode'), { recursive: true });
  writeFileSync(join(repo.dir, '.vscode', 'insights.json'), JSON.stringify(INSIGHTS));
  const older = repo.commit('2026-11-03T10:00:00Z', { 'a.txt': 'one\n' });
  const newer = repo.commit('2026-11-04T10:00:00Z', { 'a.txt': 'two\n' });
  repo.git(['remote', 'add', 'origin', 'https://github.com/acme/web.git']);
  return { repo, older, newer };
}

before(() => ensureBuilt());

describe('code-insights record: errors write nothing', () => {
  const { repo } = repoWithInsights();
  const cache = join(tempDir('ci-record-'), 'cache.sqlite');
  const cases: [string, string[], RegExp][] = [
    ['an unknown series', ['--series', 'coverag', '--value', '1'], /no insight "coverag"; its external insights are: coverage, build-time/],
    ['a computed insight', ['--series', 'todo', '--value', '1'], /computed from the history/],
    ['a value that is not a number', ['--series', 'coverage', '--value', 'NaN'], /--value must be a finite decimal number/],
    ['an infinite value', ['--series', 'coverage', '--value', 'Infinity'], /--value must be a finite decimal number/],
    ['a negative value', ['--series', 'coverage', '--value', '-3'], /must not be negative/],
    ['too many decimals', ['--series', 'coverage', '--value', '84.75'], /has 2 decimals; the insight allows 1/],
    ['a value too large', ['--series', 'coverage', '--value', '10000000000000'], /must be at most 1000000000000/],
    ['an unknown commit', ['--series', 'coverage', '--value', '1', '--commit', 'deadbeef'], /--commit "deadbeef" names no commit/],
    ['a bad time', ['--series', 'coverage', '--value', '1', '--time', 'yesterday'], /--time "yesterday" is not a date/],
  ];
  for (const [what, args, message] of cases) {
    it(`refuses ${what}`, async () => {
      const r = await runCli(['record', ...args, '--cache', cache], { cwd: repo.dir });
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, message);
      assert.ok(!hasStackTrace(r.stderr), r.stderr);
      assert.ok(!existsSync(cache), 'nothing may be written on a mistake');
    });
  }
  it('refuses a folder outside any repository', async () => {
    const r = await runCli(['record', '--series', 'coverage', '--value', '1', '--cache', cache], { cwd: tempDir('ci-norepo-') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not inside a git working tree/);
    assert.ok(!existsSync(cache));
  });
});

for (const backend of backends()) {
  describe(`values from CI (${backend})`, () => {
    let t: TestDb;
    let srv: Awaited<ReturnType<typeof startApp>>;
    let org: TestOrg;

    before(async () => {
      t = await openTestDb(backend);
      srv = await startApp(t.db);
      org = await makeOrg(t.db);
    });
    after(async () => {
      await srv?.close();
      await t?.cleanup();
    });

    it('record → push → GET series: the decimal value and its unit; a newer commit wins its bucket', async () => {
      const { repo, older, newer } = repoWithInsights();
      const dir = tempDir('ci-record-');
      const cache = join(dir, 'cache.sqlite');
      // The newer commit first, then the older one in the same week: the newer stays.
      let r = await runCli(['record', '--series', 'coverage', '--value', '84.7', '--cache', cache], { cwd: repo.dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /recorded coverage = 84\.7 % for github\.com\/acme\/web at [0-9a-f]{12}, point of 2026-11-09 \(weekly buckets\); queued/);
      r = await runCli(['record', '--series', 'coverage', '--value', '91.2', '--commit', older, '--cache', cache], { cwd: repo.dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /not queued: a newer commit already holds that bucket/);
      r = await runCli(['record', '--series', 'build-time', '--value', '312.25', '--cache', cache], { cwd: repo.dir });
      assert.equal(r.code, 0, r.stderr);

      const out: string[] = [];
      const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
      assert.equal(await runPush(['--server', srv.base, '--token', org.write, '--cache', cache], io), 0, out.join(''));
      const s = await get(srv.base, `/api/v1/series/${COVERAGE_ID}`, org.read);
      assert.equal(s.status, 200);
      assert.deepEqual(s.json, { id: COVERAGE_ID, label: 'Line coverage', unit: '%', decimals: 1, points: [{ time: '2026-11-09T00:00:00.000Z', value: 84.7, repos: 1 }] });
      const build = await get(srv.base, `/api/v1/series/${externalSeriesId({ id: 'build-time', unit: 's', decimals: 2 })}`, org.read);
      assert.equal(build.json.points[0].value, 312.25);
      assert.equal(build.json.unit, 's');
      const list = await get(srv.base, '/api/v1/series', org.read);
      const summary = list.json.series.find((x: { id: string }) => x.id === COVERAGE_ID);
      assert.equal(summary.kind, 'external');
      assert.equal(summary.unit, '%');
      assert.equal(summary.decimals, 1);

      // The older commit pushed by another machine later changes nothing; a newer one replaces it.
      const late = await post(srv.base, org.write, { definitions: [externalDefinition()], points: [point({ series: COVERAGE_ID, repo: 'github.com/acme/web', time: '2026-11-09T00:00:00.000Z', commit: older, commitTime: '2026-11-03T10:00:00.000Z', value: 99.9 })] });
      assert.equal(late.status, 200);
      assert.equal(late.json.unchanged, 1);
      const fresh = await post(srv.base, org.write, { definitions: [externalDefinition()], points: [point({ series: COVERAGE_ID, repo: 'github.com/acme/web', time: '2026-11-09T00:00:00.000Z', commit: sha(7), commitTime: '2026-11-05T10:00:00.000Z', value: 85.1 })] });
      assert.equal(fresh.json.updated, 1);
      assert.equal((await get(srv.base, `/api/v1/series/${COVERAGE_ID}`, org.read)).json.points[0].value, 85.1);
      assert.ok(newer);
      rmSync(dir, { recursive: true, force: true });
    });

    it('an old-style client (no unit, no decimals) is stored and read exactly as before', async () => {
      const res = await post(srv.base, org.write, { definitions: [definition()], points: [point({ value: 41 }), point({ repo: 'github.com/acme/web', value: 1 })] });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const s = await get(srv.base, '/api/v1/series/a1b2c3d4e5f60718', org.read);
      assert.deepEqual(s.json, { id: 'a1b2c3d4e5f60718', label: 'TODO comments', points: [{ time: '2026-11-02T00:00:00.000Z', value: 42, repos: 2 }] });
      const summary = (await get(srv.base, '/api/v1/series', org.read)).json.series.find((x: { id: string }) => x.id === 'a1b2c3d4e5f60718');
      assert.ok(!('unit' in summary) && !('decimals' in summary), JSON.stringify(summary));
      // A count is still a non-negative integer for such a series.
      const bad = await post(srv.base, org.write, { definitions: [definition()], points: [point({ value: 1.5 })] });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error.message, /points\[0\]\.value must be a non-negative integer, got 1\.5/);
    });

    it('refuses bad decimal values and units with a 400 naming the field', async () => {
      const cases: [unknown, unknown, RegExp][] = [
        [externalDefinition(), 'NaN', /points\[0\]\.value must be a number, got a string/],
        [externalDefinition(), null, /points\[0\]\.value must be a number, got null/],
        [externalDefinition(), 1e13, /points\[0\]\.value must be at most 1000000000000/],
        [externalDefinition(), 84.75, /points\[0\]\.value has more than 1 decimal/],
        [externalDefinition(), -1, /points\[0\]\.value must not be negative/],
        [externalDefinition({ unit: '<b>%</b>' }), 1, /definitions\[0\]\.unit must be short text/],
        [externalDefinition({ unit: 'x'.repeat(17) }), 1, /definitions\[0\]\.unit is 17 characters; the limit is 16/],
        [externalDefinition({ decimals: 7 }), 1, /definitions\[0\]\.decimals must be a whole number from 0 to 6, got 7/],
        [externalDefinition({ decimals: undefined }), 1, /definitions\[0\]: missing field "decimals"/],
        [definition({ unit: '%' }), 1, /definitions\[0\]\.unit applies to external series only/],
      ];
      for (const [def, value, message] of cases) {
        const res = await post(srv.base, org.write, { definitions: [def], points: [point({ series: (def as { id: string }).id, value: value as number })] });
        assert.equal(res.status, 400, `${JSON.stringify(value)}: ${JSON.stringify(res.json)}`);
        assert.equal(res.json.error.code, 'INVALID_BODY');
        assert.match(res.json.error.message, message);
      }
    });

    it('a series keeps the unit and decimals it was stored with', async () => {
      const id = 'e'.repeat(32);
      assert.equal((await post(srv.base, org.write, { definitions: [externalDefinition({ id })], points: [point({ series: id, value: 2.5 })] })).status, 200);
      const res = await post(srv.base, org.write, { definitions: [externalDefinition({ id, decimals: 2 })], points: [point({ series: id, commit: sha(9), commitTime: '2026-11-01T13:00:00.000Z', value: 3.25 })] });
      assert.equal(res.status, 400);
      assert.match(res.json.error.message, /is stored with unit "%" and 1 decimals/);
      assert.equal((await get(srv.base, `/api/v1/series/${id}`, org.read)).json.points[0].value, 2.5);
    });
  });
}

describe('concurrent record processes on one cache', () => {
  it('both values land, in the values and in the outbox', async () => {
    const { repo, older } = repoWithInsights();
    const dir = tempDir('ci-record-');
    const cache = join(dir, 'cache.sqlite');
    // Seed the file so both processes load the same version and must merge on save.
    assert.equal((await runCli(['record', '--series', 'build-time', '--value', '1', '--commit', older, '--cache', cache], { cwd: repo.dir })).code, 0);
    const runs = await Promise.all([
      runCli(['record', '--series', 'coverage', '--value', '70.5', '--cache', cache], { cwd: repo.dir }),
      runCli(['record', '--series', 'build-time', '--value', '99.99', '--cache', cache], { cwd: repo.dir }),
      runCli(['record', '--series', 'coverage', '--value', '60', '--commit', older, '--time', '2026-10-20', '--cache', cache], { cwd: repo.dir }),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const o = await outboxOf(cache);
    assert.deepEqual(o.values, [1, 60, 70.5, 99.99]);
    // build-time's HEAD value replaced the older commit's point of the same week in the outbox.
    assert.equal(o.pending, 3);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('goals and run on an external series', () => {
  it('check judges the value recorded for HEAD; run shows the series with its unit', async () => {
    const { repo } = repoWithInsights();
    const cache = join(tempDir('ci-record-'), 'cache.sqlite');
    let c = await runCli(['check', '--base', 'HEAD~1', '--cache', cache], { cwd: repo.dir });
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout + c.stderr, /nothing to check|no goal/);
    assert.equal((await runCli(['record', '--series', 'coverage', '--value', '75.5', '--cache', cache], { cwd: repo.dir })).code, 0);
    c = await runCli(['check', '--base', 'HEAD~1', '--cache', cache, '--format', 'json'], { cwd: repo.dir });
    assert.equal(c.code, 1, c.stderr);
    const j = JSON.parse(c.stdout);
    assert.equal(j.series[0].insightId, 'coverage');
    assert.equal(j.series[0].head, 75.5);
    assert.equal(j.series[0].verdict, 'broken');
    assert.equal((await runCli(['record', '--series', 'coverage', '--value', '80.5', '--cache', cache], { cwd: repo.dir })).code, 0);
    c = await runCli(['check', '--base', 'HEAD~1', '--cache', cache], { cwd: repo.dir });
    assert.equal(c.code, 0, c.stdout + c.stderr);

    const run = await runCli(['run', '--cache', cache, '--end', '2026-11-20T00:00:00Z', '--format', 'json'], { cwd: repo.dir });
    assert.equal(run.code, 0, run.stderr);
    const cov = JSON.parse(run.stdout).insights.find((x: { id: string }) => x.id === 'coverage');
    assert.deepEqual(cov.series[0].points.map((p: { time: string; value: number }) => [p.time, p.value]), [['2026-11-09T00:00:00.000Z', 80.5]]);
    const table = await runCli(['run', '--cache', cache, '--end', '2026-11-20T00:00:00Z'], { cwd: repo.dir });
    assert.match(table.stdout, /Line coverage \(%\)/);
  });
});
