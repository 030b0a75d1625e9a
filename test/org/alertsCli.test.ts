// `code-insights org create-alert | list-alerts | preview-alert | delete-alert` on an org database
// (a PGlite folder, as `org serve` uses by default): rules made from flags through the service's
// validator, listed with their state and history, previewed on the stored points, deleted; bad
// flags exit 2 with the reason.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runAlertCommand } from '../../org/alerts/cli';
import { openDb } from '../../org/db';
import { migrate } from '../../org/migrate';
import { createOrg, ingest } from '../../org/store';
import { definition, pgliteTemplate, point, sha } from './helpers';

const WEEK = 7 * 24 * 3600 * 1000;
const T0 = Date.parse('2026-01-05T00:00:00.000Z');
const SERIES = 'a1e4700000000c11';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const [cmd, ...rest] = argv;
  const code = await runAlertCommand(cmd, rest, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe('org alert commands', () => {
  let dir: string;
  let data: string[];
  // The commands take DATABASE_URL over --data: this suite runs them on its PGlite folder.
  const savedUrl = process.env.DATABASE_URL;

  before(async () => {
    delete process.env.DATABASE_URL;
    dir = mkdtempSync(join(tmpdir(), 'ci-alerts-cli-'));
    cpSync(await pgliteTemplate(), dir, { recursive: true });
    data = ['--data', dir];
    const db = await openDb({ dataDir: dir });
    await migrate(db);
    const org = await createOrg(db, 'acme');
    const values = [5, 12, 13, 8, 15, 9];
    await ingest(db, org.id, [definition({ id: SERIES, label: 'Deprecated calls' })], values.map((v, i) => point({ series: SERIES, time: new Date(T0 + i * WEEK).toISOString(), commit: sha(i + 1), commitTime: new Date(T0 + i * WEEK).toISOString(), value: v })));
    await db.close();
  });
  after(() => {
    if (savedUrl !== undefined) process.env.DATABASE_URL = savedUrl;
    rmSync(dir, { recursive: true, force: true });
  });

  it('previews, creates, lists with state and history, and deletes a rule', async () => {
    const preview = await cli('preview-alert', '--org', 'acme', '--series', SERIES, '--kind', 'threshold', '--above', '10', ...data);
    assert.equal(preview.code, 0, preview.err);
    assert.match(preview.out, /^over 6 stored points the rule would have fired 2 times; it would be ok now\n/);
    const json = await cli('preview-alert', '--org', 'acme', '--series', SERIES, '--kind', 'threshold', '--above', '10', '--pending', '1w', '--format', 'json', ...data);
    assert.equal(JSON.parse(json.out).fired, 1);

    const made = await cli('create-alert', '--org', 'acme', '--series', SERIES, '--kind', 'target', '--target', '0', '--by', '2026-03-01', '--webhook', 'https://hooks.example.test/services/T0/B0/secret', '--format', 'slack', ...data);
    assert.equal(made.code, 0, made.err);
    assert.match(made.out, /^created alert rule (\d+): target 0 by 2026-03-01 \(down, fit of 8 points\) on Deprecated calls; now firing\n/);
    // already off track when created (off track from the second point: a fit needs two): one firing recorded, sent by `org serve` on this folder
    assert.match(made.err, /1 delivery recorded/);
    const id = /rule (\d+)/.exec(made.out)![1];

    const list = await cli('list-alerts', '--org', 'acme', ...data);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, new RegExp(`^${id}\\tfiring since 2026-01-12\\tDeprecated calls\\ttarget 0 by 2026-03-01.*\\t9 at 2026-02-09\\tslack → https://hooks.example.test/services/T0/B0/secret$`, 'm'));
    assert.match(list.out, new RegExp(`rule ${id}\\tfiring\\t9 at 2026-02-09\\tpending after 0 attempts`));
    const listed = JSON.parse((await cli('list-alerts', '--org', 'acme', '--format', 'json', ...data)).out);
    assert.equal(listed.rules[0].state, 'firing');
    assert.equal(listed.events[0].detail.missedByWeeks, null); // 5 → 9 over 6 weeks: rising, never reaches 0

    const del = await cli('delete-alert', '--org', 'acme', id, ...data);
    assert.equal(del.code, 0, del.err);
    assert.match((await cli('list-alerts', '--org', 'acme', ...data)).out, /no alert rules/);
    const again = await cli('delete-alert', '--org', 'acme', id, ...data);
    assert.equal(again.code, 1);
    assert.match(again.err, /NOT_FOUND: org acme has no alert rule/);
  });

  it('exits 2 with the reason for bad flags, 1 for an unknown org', async () => {
    const cases: [string[], RegExp][] = [
      [['create-alert', '--org', 'acme', '--series', SERIES, '--kind', 'threshold', '--above', '1', '--webhook', 'file:///etc/passwd'], /webhook must be an http:\/\/ or https:\/\/ URL/],
      [['create-alert', '--org', 'acme', '--series', SERIES, '--kind', 'threshold', '--webhook', 'https://x.test/'], /needs above/],
      [['create-alert', '--org', 'acme', '--series', SERIES, '--kind', 'ratchet', '--webhook', 'https://x.test/', '--pending', 'soon'], /--pending must be a duration/],
      [['create-alert', '--org', 'acme', '--series', SERIES, '--kind', 'target', '--webhook', 'https://x.test/'], /needs --target N and --by/],
      [['create-alert', '--org', 'acme', '--series', SERIES, '--kind', 'ratchet', '--webhook', 'https://x.test/', '--format', 'xml'], /json or slack/],
      [['preview-alert', '--org', 'acme', '--series', SERIES, '--kind', 'threshold', '--above', 'ten'], /--above must be a number/],
      [['delete-alert', '--org', 'acme'], /exactly one rule ID/],
      [['list-alerts'], /needs --org NAME/],
    ];
    for (const [argv, re] of cases) {
      const r = await cli(...argv, ...data);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
    }
    const unknown = await cli('list-alerts', '--org', 'nobody', ...data);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /NO_SUCH_ORG/);
  });
});
