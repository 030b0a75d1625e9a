// `code-insights org serve` on a PGlite folder, as an operator runs it (a child process): alert
// commands run while it holds the folder go through its admin socket, and the service itself
// evaluates pushes and sends the webhook (its in-process sender) to a receiver in this test.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { runAlertCommand } from '../../org/alerts/cli';
import { definition, pgliteTemplate, point, post, sha } from './helpers';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'org', 'main.ts');
const env = { ...process.env, DATABASE_URL: '', CODE_INSIGHTS_ALERT_ALLOW_PRIVATE: '1', CODE_INSIGHTS_ORG_PUBLIC_URL: 'https://insights.example.test' };
const SERIES = 'a1e4700000000d01';

function orgCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const [cmd, ...rest] = argv;
  const code = await runAlertCommand(cmd, rest, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe('alerts with org serve on PGlite (a child process)', () => {
  let dir: string;
  let child: ReturnType<typeof spawn>;
  let base: string;
  let receiver: Server;
  let hook: string;
  const got: any[] = [];
  const savedUrl = process.env.DATABASE_URL;

  before(async () => {
    delete process.env.DATABASE_URL;
    receiver = createServer((req, res) => {
      let s = '';
      req.on('data', (d) => (s += d));
      req.on('end', () => {
        got.push(JSON.parse(s));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    dir = mkdtempSync(join(tmpdir(), 'ci-alerts-serve-'));
    cpSync(await pgliteTemplate(), dir, { recursive: true });
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--data', dir], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
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
    if (child?.exitCode === null) {
      const exited = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise((r) => receiver?.close(r));
    if (savedUrl !== undefined) process.env.DATABASE_URL = savedUrl;
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates and lists rules through the running service, which fires them on a push', async () => {
    assert.equal(orgCli(['create-org', 'acme', '--data', dir]).status, 0);
    const write = orgCli(['create-token', '--org', 'acme', '--scope', 'write', '--data', dir]).stdout.trim();
    const def = definition({ id: SERIES, label: 'Deprecated calls' });
    const at = (i: number) => new Date(Date.parse('2026-01-05T00:00:00.000Z') + i * 7 * 86400_000).toISOString();
    const push = async (i: number, value: number) => {
      const r = await post(base, write, { definitions: [def], points: [point({ series: SERIES, time: at(i), commit: sha(i + 1), commitTime: at(i), value })] });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    };
    await push(0, 3);

    const made = await cli('create-alert', '--org', 'acme', '--series', SERIES, '--kind', 'threshold', '--above', '5', '--webhook', hook, '--data', dir);
    assert.equal(made.code, 0, made.err);
    assert.match(made.out, /^created alert rule 1: above 5 on Deprecated calls; now ok\n$/);
    const bad = await cli('create-alert', '--org', 'acme', '--series', SERIES, '--kind', 'threshold', '--webhook', hook, '--data', dir);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /needs above/);

    await push(1, 9);
    const deadline = Date.now() + 60_000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, 1);
    assert.deepEqual([got[0].status, got[0].value, got[0].series, got[0].links.page], ['firing', 9, { id: SERIES, label: 'Deprecated calls' }, 'https://insights.example.test/#alert-1']);
    const list = await cli('list-alerts', '--org', 'acme', '--data', dir);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^1\tfiring since 2026-01-12\tDeprecated calls\tabove 5\t9 at 2026-01-12\tjson → http:\/\/127\.0\.0\.1:\d+\/hook$/m);
    assert.match(list.out, /rule 1\tfiring\t9 at 2026-01-12\tdelivered after 1 attempt$/m);
  });
});
