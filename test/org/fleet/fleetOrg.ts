// A generated org for the fleet tests: bare repositories with a few weeks of history, built with
// one `git fast-import` each (hundreds of repositories in seconds), served by a real
// `git daemon` on a free loopback port.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { GIT_ENV } from '../../helpers/gitRepo';

/** Commits per generated repository, one every 9 days from 2026-01-05. */
export const COMMITS = 5;
export const FIRST = Date.parse('2026-01-05T10:00:00Z');

/** The insight every fleet test computes (fixed end, so the CLI oracle sees the same buckets). */
export const INSIGHT = { id: 'debt', title: 'Debt markers', queries: [{ query: 'TODO' }, { query: 'FIXME', label: 'fixme' }], step: 'week', points: 10, end: '2026-03-09' };
export const SERIES_ARGS = ['-q', 'TODO', '-q', 'FIXME', '--step', 'week', '--points', '10', '--end', '2026-03-09'];

function content(repo: number, commit: number): string {
  const lines: string[] = [];
  for (let j = 0; j < ((repo + commit) % 4) + 1; j++) lines.push(`// TODO item ${j}`);
  for (let j = 0; j < commit % 3; j++) lines.push(`// FIXME ${j}`);
  lines.push(`export const v${repo} = ${commit};`);
  return `${lines.join('\n')}\n`;
}

function commitBlock(ref: string, seconds: number, message: string, files: Record<string, string>, from?: string): string {
  let s = `commit ${ref}\ncommitter Test <test@example.com> ${seconds} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`;
  if (from) s += `from ${from}\n`;
  for (const [path, text] of Object.entries(files)) s += `M 644 inline ${path}\ndata ${Buffer.byteLength(text)}\n${text}\n`;
  return s;
}

/** Creates `base/repo-<i>.git` for i in [0, n). */
export function generateRepos(base: string, n: number): string[] {
  mkdirSync(base, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `repo-${i}.git`;
    const dir = join(base, name);
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', dir], { env: GIT_ENV });
    let stream = '';
    for (let k = 0; k < COMMITS; k++) {
      const t = Math.floor((FIRST + k * 9 * 86400_000 + i * 60_000) / 1000);
      stream += commitBlock('refs/heads/main', t, `commit ${k}`, { 'src/main.ts': content(i, k), [`docs/notes-${k % 2}.md`]: `TODO write notes ${k}\n` });
    }
    execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, env: GIT_ENV, input: stream });
    names.push(name);
  }
  return names;
}

/** Adds one commit at `when` with extra TODOs to a generated repository. */
export function addCommit(dir: string, when: Date, todos: number): void {
  const text = `${Array.from({ length: todos }, (_, j) => `// TODO added ${j}`).join('\n')}\n`;
  const head = execFileSync('git', ['rev-parse', 'refs/heads/main'], { cwd: dir, env: GIT_ENV, encoding: 'utf8' }).trim();
  const stream = commitBlock('refs/heads/main', Math.floor(when.getTime() / 1000), 'more debt', { 'src/added.ts': text }, head);
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, env: GIT_ENV, input: stream });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** `git daemon` serving every repository under `base` at git://127.0.0.1:PORT/NAME. */
export async function startGitDaemon(base: string): Promise<{ url: (name: string) => string; stop(): Promise<void> }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn('git', ['daemon', '--export-all', '--reuseaddr', '--informative-errors', `--base-path=${base}`, '--listen=127.0.0.1', `--port=${port}`, base], {
      env: GIT_ENV,
      stdio: 'ignore',
    });
    let exited = false;
    child.once('exit', () => (exited = true));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await accepts(port))) await new Promise((r) => setTimeout(r, 25));
    if (!exited && (await accepts(port))) {
      return {
        url: (name) => `git://127.0.0.1:${port}/${name}`,
        stop: () =>
          new Promise<void>((resolve) => {
            if (exited) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 3) throw new Error('git daemon did not start');
  }
}
