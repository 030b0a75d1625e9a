// One PGlite folder, one process: a second opener is refused with a message that says what to
// do, and an administrator still creates orgs and tokens while `org serve` runs on the folder
// (through the service's admin socket), which the running service sees at once. PGlite only:
// PostgreSQL takes any number of processes. Real child processes, as an operator runs them.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { openDb } from '../../org/db';
import { LOCK_FILE } from '../../org/dataDirLock';
import { definition, get, pgliteTemplate, point, post } from './helpers';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'org', 'main.ts');
const env = { ...process.env, DATABASE_URL: '' };

function orgCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('a PGlite folder has one opener; admin commands go through the running service', () => {
  let dir: string;
  let child: ReturnType<typeof spawn>;
  let base: string;
  let exited: Promise<number | null>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ci-org-admin-'));
    cpSync(await pgliteTemplate(), dir, { recursive: true });
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--data', dir], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    exited = new Promise((r) => child.on('exit', (c) => r(c)));
    base = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          const j = JSON.parse(line);
          if (j.msg === 'listening') resolve(`http://127.0.0.1:${j.port}`);
        } catch {
          /* not JSON */
        }
      });
      child.on('exit', (c) => reject(new Error(`service exited with ${c}: ${stderr}`)));
    });
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second opener of the folder, saying what to do', async () => {
    const second = orgCli(['serve', '--port', '0', '--data', dir]);
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, /DATA_DIR_IN_USE: the PGlite folder .* is in use by process \d+/);
    assert.match(second.stderr, /stop it first|PostgreSQL/);
    await assert.rejects(openDb({ dataDir: dir }), /is in use by process/);
  });

  it('creates an org and a token through the running service, which accepts the token at once', async () => {
    const o = orgCli(['create-org', 'late', '--data', dir]);
    assert.equal(o.status, 0, o.stderr);
    assert.match(o.stdout, /created org late \(through the running service\)/);
    const w = orgCli(['create-token', '--org', 'late', '--scope', 'write', '--data', dir]);
    assert.equal(w.status, 0, w.stderr);
    const token = w.stdout.trim();
    assert.match(token, /^cit_/);
    const r = await post(base, token, { definitions: [definition()], points: [point()] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const dup = orgCli(['create-org', 'late', '--data', dir]);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /ORG_EXISTS/);
    assert.equal((await get(base, '/healthz')).status, 200);
  });

  it('frees the folder when the service stops, for direct admin commands', async () => {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(!existsSync(join(dir, LOCK_FILE)));
    const o = orgCli(['create-org', 'after', '--data', dir]);
    assert.equal(o.status, 0, o.stderr);
    assert.match(o.stdout, /^created org after\n$/);
  });
});
