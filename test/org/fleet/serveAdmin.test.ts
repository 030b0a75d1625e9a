// The README's "try it on one machine" flow with the service running: `org serve` holds its PGlite
// folder, and the fleet's commands typed beside it (add-repos, create-insight, status,
// list-repos, remove-repos, retry-failed, update-insight, delete-insight) reach it through its admin socket instead of being
// refused. Their output and exit codes are the ones the same commands give on the folder
// directly once the service is stopped. Real processes: a running `org serve` and the CLI.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { BIN, ensureBuilt } from '../../cli/cliHarness';
import { pgliteTemplate } from '../helpers';
import { generateRepos, INSIGHT } from './fleetOrg';

const ROOT = join(__dirname, '..', '..', '..');

describe('fleet commands while `org serve` runs on PGlite', () => {
  let work: string;
  let dir: string;
  let child: ReturnType<typeof spawn>;
  let exited: Promise<number | null>;
  const env = { ...process.env, DATABASE_URL: '', CODE_INSIGHTS_FLEET_MAX_ATTEMPTS: '1', CODE_INSIGHTS_REFRESH_INTERVAL: '3600' };

  /** The built CLI as a user runs it, from the folder holding the repositories (relative paths). */
  function orgCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [BIN, 'org', ...args, '--data', dir], { cwd: work, env, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  before(async () => {
    ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'ci-fleet-serve-'));
    generateRepos(join(work, 'repos'), 2);
    dir = join(work, 'data');
    cpSync(await pgliteTemplate(), dir, { recursive: true });
    child = spawn(process.execPath, [BIN, 'org', 'serve', '--port', '0', '--data', dir], {
      cwd: ROOT, // not the CLI's folder: relative paths must be resolved where they are typed
      env: { ...env, CODE_INSIGHTS_MIRROR_DIR: join(work, 'mirrors') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    exited = new Promise((r) => child.on('exit', (c) => r(c)));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          if (JSON.parse(line).socket) resolve();
        } catch {
          /* not JSON */
        }
      });
      child.on('exit', (c) => reject(new Error(`service exited with ${c}: ${stderr}`)));
    });
  });
  after(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  let statusViaService = '';
  let listViaService = '';

  it('adds repositories, defines an insight, computes it in the service, shows status, removes and retries', async () => {
    assert.equal(orgCli(['create-org', 'acme']).status, 0);
    const added = orgCli(['add-repos', '--org', 'acme', 'repos/repo-0.git', './repos/repo-1.git', 'repos/nowhere.git']);
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.stdout, `added path:${join(work, 'repos', 'repo-0.git')}\nadded path:${join(work, 'repos', 'repo-1.git')}\nadded path:${join(work, 'repos', 'nowhere.git')}\n`);
    assert.match(added.stderr, /3 added, 0 already in org acme; 0 computation\(s\) queued/);

    writeFileSync(join(work, 'bad.json'), '{ "insights": [ { "id": "x", "title": "X", "queries": [] } ] }');
    const bad = orgCli(['create-insight', '--org', 'acme', '--config', 'bad.json']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, new RegExp(`${join(work, 'bad.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1:\\d+: error: `));
    assert.match(bad.stderr, /BAD_DEFINITIONS: the insights file has errors; nothing was created/);

    writeFileSync(join(work, 'insights.json'), JSON.stringify({ insights: [INSIGHT] }, null, 2));
    const made = orgCli(['create-insight', '--org', 'acme', '--config', 'insights.json']);
    assert.equal(made.status, 0, made.stderr);
    assert.equal(made.stdout, 'created insight debt (Debt markers)\n');
    assert.match(made.stderr, /3 computation\(s\) handed to the running `org serve`/);

    // The service computes what the CLI queued (woken by the socket, not by its idle timer).
    const deadline = Date.now() + 180_000;
    let s;
    for (;;) {
      const st = orgCli(['status', '--org', 'acme', '--format', 'json']);
      assert.equal(st.status, 0, st.stderr);
      s = JSON.parse(st.stdout).insights[0];
      if (s.done + s.failed === s.total) break;
      assert.ok(Date.now() < deadline, `timed out: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual([s.total, s.done, s.failed], [3, 2, 1]);
    assert.match(s.failures[0].error, /nowhere\.git/);

    const retried = orgCli(['retry-failed', '--org', 'acme']);
    assert.equal(retried.status, 0, retried.stderr);
    assert.match(retried.stderr, /1 failed computation\(s\) queued again/);

    const removed = orgCli(['remove-repos', '--org', 'acme', 'repos/nowhere.git', 'github.com/acme/never']);
    assert.equal(removed.status, 1);
    assert.equal(removed.stderr, '1 removed from org acme\nnot in org acme: github.com/acme/never\n');

    // Edit (a changed query: both repositories queued again, computed by the service) and delete.
    writeFileSync(join(work, 'insights2.json'), JSON.stringify({ insights: [{ ...INSIGHT, queries: [{ query: 'FIXME' }] }] }, null, 2));
    const upd = orgCli(['update-insight', '--org', 'acme', '--config', 'insights2.json', '--scope-all']);
    assert.equal(upd.status, 0, upd.stderr);
    assert.equal(upd.stdout, 'updated insight debt (Debt markers)\n');
    assert.match(upd.stderr, /2 computation\(s\) queued/);
    const noFile = orgCli(['update-insight', '--org', 'acme', '--config', 'missing.json']);
    assert.equal(noFile.status, 1);
    assert.match(noFile.stderr, /DEF_NOT_FOUND: cannot read --config missing\.json/);
    const del = orgCli(['delete-insight', '--org', 'acme', 'debt', 'nope']);
    assert.equal(del.status, 1);
    assert.equal(del.stdout, 'deleted insight debt\n');
    assert.match(del.stderr, /no insight nope in org acme\n1 deleted; the points they computed stay/);
    const none = orgCli(['status', '--org', 'acme']);
    assert.match(none.stdout, /no org-defined insights/);
    const remade = orgCli(['create-insight', '--org', 'acme', '--config', 'insights.json']);
    assert.equal(remade.status, 0, remade.stderr);
    for (;;) {
      const st = JSON.parse(orgCli(['status', '--org', 'acme', '--format', 'json']).stdout).insights[0];
      if (st.done === st.total) break;
      assert.ok(Date.now() < deadline, `timed out: ${JSON.stringify(st)}`);
      await new Promise((r) => setTimeout(r, 500));
    }

    const table = orgCli(['status', '--org', 'acme']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^org acme: 2 repositories\ndebt \(Debt markers\): 2\/2 done, 0 queued, 0 running, 0 failed; backfill started /);
    statusViaService = table.stdout;
    const list = orgCli(['list-repos', '--org', 'acme', '--format', 'json']);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout).repos.map((r: { identity: string }) => r.identity), [`path:${join(work, 'repos', 'repo-0.git')}`, `path:${join(work, 'repos', 'repo-1.git')}`]);
    listViaService = list.stdout;

    const noOrg = orgCli(['status', '--org', 'nobody']);
    assert.equal(noOrg.status, 1);
    assert.match(noOrg.stderr, /^code-insights org: NO_SUCH_ORG: org "nobody" does not exist/);
    const usage = orgCli(['add-repos', '--org', 'acme']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /add-repos needs at least one repository URL or path/);
  });

  it('gives the same output on the folder directly once the service is stopped', async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const table = orgCli(['status', '--org', 'acme']);
    assert.equal(table.status, 0, table.stderr);
    assert.equal(table.stdout, statusViaService);
    const list = orgCli(['list-repos', '--org', 'acme', '--format', 'json']);
    assert.equal(list.stdout, listViaService);
    const noOrg = orgCli(['status', '--org', 'nobody']);
    assert.equal(noOrg.status, 1);
    assert.match(noOrg.stderr, /^code-insights org: NO_SUCH_ORG: org "nobody" does not exist/);
  });
});
