// Runs the real `code-insights` command line as a child process and computes what git itself
// says the answers are (rev-list for the commit of a point, git grep for the counts), so the CLI
// is tested from the outside against an independent oracle.
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GIT_ENV } from '../helpers/gitRepo';

export const ROOT = join(__dirname, '..', '..');

/**
 * The bin this test process runs: a private snapshot of bin/ and dist/ (under test/cli/, so
 * node_modules still resolve), because other work in the same checkout may rebuild dist/ while
 * tests run, and a half-written dist/cli.js would fail a test for no fault of the CLI.
 */
export let BIN = join(ROOT, 'bin', 'code-insights.js');

/**
 * Builds dist/ once for the whole run (test files run in parallel processes, so the build runs
 * under a lock and is skipped when dist/cli.js is newer than every source it bundles), then
 * snapshots bin/ and dist/ and checks the snapshot runs.
 */
export function ensureBuilt(): void {
  const snap = join(__dirname, `.run-${process.pid}`);
  for (let attempt = 1; ; attempt++) {
    execFileSync('flock', [join(tmpdir(), 'code-insights-cli-test-build.lock'), process.execPath, join(__dirname, 'ensureBuilt.mjs'), ...(attempt > 1 ? ['--force'] : [])], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    rmSync(snap, { recursive: true, force: true });
    mkdirSync(join(snap, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'bin'), join(snap, 'bin'), { recursive: true });
    for (const f of readdirSync(join(ROOT, 'dist'))) if (!f.endsWith('.map')) cpSync(join(ROOT, 'dist', f), join(snap, 'dist', f));
    try {
      for (const f of readdirSync(join(snap, 'dist'))) if (f.endsWith('.js')) execFileSync(process.execPath, ['--check', join(snap, 'dist', f)], { stdio: 'ignore' });
      execFileSync(process.execPath, [join(snap, 'bin', 'code-insights.js'), '--help'], { stdio: 'ignore' });
      break;
    } catch (e) {
      if (attempt >= 3) throw new Error(`the built CLI does not run: ${(e as Error).message}`);
    }
  }
  BIN = join(snap, 'bin', 'code-insights.js');
  process.on('exit', () => rmSync(snap, { recursive: true, force: true }));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs `node bin/code-insights.js ARGS`; never throws on a non-zero exit. */
export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? { ...GIT_ENV, NO_COLOR: '1' },
      timeout: opts.timeoutMs ?? 30_000,
      maxBuffer: 64 << 20,
      encoding: 'utf8',
    }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
      if (e && e.killed) return reject(new Error(`code-insights ${args.join(' ')} timed out after ${opts.timeoutMs ?? 30_000} ms\n${stderr}`));
      if (e && typeof e.code !== 'number' && e.code !== undefined) return reject(e);
      resolve({ code: e ? Number(e.code) : 0, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin?.end();
  });
}

export interface RepoPointJson { repo: string; commit: string; commitTime?: string; value: number }
export interface PointJson { time: string; value: number; repos: RepoPointJson[] }
export interface SeriesJson { id: string; label: string; query: string; capture?: string; error?: string; points: PointJson[] }
export interface SeriesOutput {
  series: SeriesJson[];
  repos?: { repo: string; path: string; warning?: string; error?: string }[];
  stats?: { blobsRead: number; [k: string]: number };
}

/** Runs a series/capture command with --format json and parses it; fails loudly on a bad exit. */
export async function runJson(args: string[], opts: RunOptions = {}): Promise<SeriesOutput & { stderr: string }> {
  const r = await runCli([...args, '--format', 'json'], opts);
  if (r.code !== 0) throw new Error(`code-insights ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr}`);
  let parsed: SeriesOutput;
  try {
    parsed = JSON.parse(r.stdout) as SeriesOutput;
  } catch {
    throw new Error(`stdout is not JSON:\n${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr}`);
  }
  return { ...parsed, stderr: r.stderr };
}

/** The stack-trace fingerprint: a line starting "    at ". */
export function hasStackTrace(s: string): boolean {
  return /^\s{4}at /m.test(s);
}

export function gitRaw(dir: string, args: string[]): Buffer {
  return execFileSync('git', args, { cwd: dir, env: { ...GIT_ENV, LC_ALL: 'C' }, maxBuffer: 256 << 20 });
}

/** What the spec defines as the commit of time T: `git rev-list -1 --first-parent --before=T REV`. */
export function revListBefore(dir: string, time: string, rev = 'HEAD'): string | undefined {
  const out = gitRaw(dir, ['rev-list', '-1', '--first-parent', `--before=${time}`, rev]).toString().trim();
  return out || undefined;
}

export interface TreeFile { path: string; mode: string; oid: string; size: number }

/** Every entry of a commit's tree (recursive), with mode and size. */
const lsTreeMemo = new Map<string, TreeFile[]>();
export function lsTree(dir: string, commit: string): TreeFile[] {
  const key = `${dir}\0${commit}`;
  if (!/^[0-9a-f]{40}$/.test(commit)) return listTree(dir, commit); // a ref may move
  if (!lsTreeMemo.has(key)) lsTreeMemo.set(key, listTree(dir, commit));
  return lsTreeMemo.get(key)!;
}

function listTree(dir: string, commit: string): TreeFile[] {
  return gitRaw(dir, ['ls-tree', '-r', '-z', '-l', commit]).toString('latin1').split('\0').filter(Boolean).map((rec) => {
    const tab = rec.indexOf('\t');
    const [mode, , oid, size] = rec.slice(0, tab).split(/ +/);
    return { path: Buffer.from(rec.slice(tab + 1), 'latin1').toString('utf8'), mode, oid, size: Number(size) };
  });
}

export type CountMode = 'matches' | 'lines' | 'files';

export interface GrepOptions {
  count?: CountMode;
  /** git grep's own fixed-string mode (-F). */
  literal?: boolean;
  ignoreCase?: boolean;
  /** Default 1 MiB as in the spec; 0 = no limit. */
  maxFileSize?: number;
  /** Which paths are in scope (the test states the expected effect of its globs). */
  pathFilter?: (path: string) => boolean;
}

/**
 * The count git grep gives at a commit, over the files the spec says are counted: regular files
 * only (mode 100644/100755: no symlinks, no submodules), at most maxFileSize bytes, binary files
 * skipped by git grep's own -I (NUL in the first 8000 bytes). Patterns are PCRE (-P), which agrees
 * with JavaScript for the simple patterns the tests use.
 *   matches: lines of `git grep -o`, lines: sum of `git grep -c`, files: lines of `git grep -l`.
 */
export function gitGrepCount(dir: string, commit: string, pattern: string, o: GrepOptions = {}): number {
  const limit = o.maxFileSize ?? 1 << 20;
  const paths = lsTree(dir, commit)
    .filter((f) => f.mode === '100644' || f.mode === '100755')
    .filter((f) => limit === 0 || f.size <= limit)
    .filter((f) => !o.pathFilter || o.pathFilter(f.path))
    .map((f) => `:(literal)${f.path}`);
  if (paths.length === 0) return 0;
  const count = o.count ?? 'matches';
  const args = ['grep', '-I', '--no-color', o.literal ? '-F' : '-P'];
  if (o.ignoreCase) args.push('-i');
  args.push(count === 'matches' ? '-o' : count === 'lines' ? '-c' : '-l');
  args.push('-e', pattern, commit, '--', ...paths);
  let out: string;
  try {
    out = gitRaw(dir, args).toString('latin1');
  } catch (e) {
    const err = e as { status?: number; stderr?: Buffer };
    if (err.status === 1) return 0; // no match
    throw new Error(`git ${args.join(' ')} failed: ${err.stderr?.toString()}`);
  }
  const lines = out.split('\n').filter(Boolean);
  if (count === 'lines') return lines.reduce((s, l) => s + Number(l.slice(l.lastIndexOf(':') + 1)), 0);
  return lines.length;
}

/** The matched texts of `git grep -o -h` at a commit (for capture groups), same file rules. */
export function gitGrepMatches(dir: string, commit: string, pattern: string, maxFileSize = 1 << 20): string[] {
  const paths = lsTree(dir, commit)
    .filter((f) => (f.mode === '100644' || f.mode === '100755') && (maxFileSize === 0 || f.size <= maxFileSize))
    .map((f) => `:(literal)${f.path}`);
  if (paths.length === 0) return [];
  try {
    return gitRaw(dir, ['grep', '-I', '--no-color', '-P', '-o', '-h', '-e', pattern, commit, '--', ...paths]).toString('utf8').split('\n').filter(Boolean);
  } catch (e) {
    if ((e as { status?: number }).status === 1) return [];
    throw e;
  }
}

/** Asserts-friendly summary of where the CLI and git disagree, point by point. */
export function describePoints(points: PointJson[]): string {
  return points.map((p) => `${p.time}=${p.value}[${p.repos.map((r) => `${r.commit.slice(0, 8)}:${r.value}`).join(',')}]`).join(' ');
}
