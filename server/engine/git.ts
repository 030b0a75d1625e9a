// Runs git so that a repository's own configuration cannot make it execute programs:
// no external diff or textconv, no fsmonitor, no pager, no credential prompts, no optional
// index writes. Every engine call to git goes through here.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InsightsError, AbortedError } from './errors';

const SAFE_CONFIG = [
  '-c', 'core.fsmonitor=false',
  '-c', 'core.untrackedCache=false',
  '-c', 'diff.external=',
  '-c', 'core.pager=cat',
  '-c', 'log.showSignature=false',
  '-c', 'gc.auto=0',
  '-c', 'maintenance.auto=false',
  // A partial clone would otherwise fetch a missing blob from its remote, running ssh or a
  // configured transport; with no transport allowed, the object is reported missing instead.
  '-c', 'protocol.allow=never',
];

/** Environment for git children: inherited, minus anything that redirects git elsewhere. */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('GIT_') && k !== 'GIT_EXEC_PATH' && k !== 'GIT_CONFIG_NOSYSTEM' && k !== 'GIT_CONFIG_GLOBAL') delete env[k];
  }
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_OPTIONAL_LOCKS = '0';
  env.GIT_NO_LAZY_FETCH = '1';
  env.GIT_PAGER = 'cat';
  env.GIT_ASKPASS = 'echo';
  env.SSH_ASKPASS = 'echo';
  env.LC_ALL = 'C';
  return env;
}

/**
 * The common git dir: a linked worktree's git dir names it in `commondir` (objects, refs and
 * `shallow` live there); any other git dir is its own.
 */
export function commonGitDir(gitDir: string): string {
  const dir = resolve(gitDir);
  try {
    return resolve(dir, readFileSync(join(dir, 'commondir'), 'utf8').trim());
  } catch {
    return dir; // no commondir: not a linked worktree
  }
}

/**
 * Does git replace objects in this repository (`git replace`: refs under refs/replace/; or the
 * deprecated info/grafts file, which replaces commits' parents)? Then an object id no longer
 * names one content: git shows the replacement wherever the id is read (rev-list, diff-tree,
 * cat-file, git grep), while the same id in another repository, or in a temporary one
 * borrowing these objects, is the original. Read from the files when refs are files; a
 * reftable repository is asked (git 2.45+).
 */
export async function hasReplacements(gitDir: string, signal?: AbortSignal): Promise<boolean> {
  const common = commonGitDir(gitDir);
  if (existsSync(join(common, 'info', 'grafts'))) return true;
  if (existsSync(join(common, 'reftable'))) {
    const r = await runGitRaw(gitDir, ['for-each-ref', '--count=1', '--format=x', 'refs/replace/'], { signal });
    return r.code !== 0 || r.stdout.length > 0; // if git cannot say, assume so: only the cache is skipped
  }
  const anyFile = (dir: string): boolean => {
    try {
      return readdirSync(dir, { withFileTypes: true }).some((d) => !d.isDirectory() || anyFile(join(dir, d.name)));
    } catch {
      return false;
    }
  };
  if (anyFile(join(common, 'refs', 'replace'))) return true;
  try {
    return readFileSync(join(common, 'packed-refs'), 'latin1').includes(' refs/replace/');
  } catch {
    return false;
  }
}

export function gitArgs(gitDir: string | undefined, args: string[]): string[] {
  return [...SAFE_CONFIG, ...(gitDir ? ['--git-dir', gitDir] : []), ...args];
}

export function spawnGit(gitDir: string | undefined, args: string[], cwd?: string, extraEnv?: Record<string, string>): ChildProcess {
  const child = spawn('git', gitArgs(gitDir, args), {
    cwd: cwd ?? gitDir ?? process.cwd(),
    env: extraEnv ? { ...gitEnv(), ...extraEnv } : gitEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  return child;
}

export function gitNotFound(cause?: unknown): InsightsError {
  return new InsightsError(
    'GIT_NOT_FOUND',
    'git was not found on PATH. Install git (https://git-scm.com) or add it to PATH, then run again.',
    { cause },
  );
}

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

/** Runs git to completion. Never rejects for a non-zero exit (see `code`); rejects if git cannot start or on abort. */
export function runGitRaw(
  gitDir: string | undefined,
  args: string[],
  opts: { cwd?: string; input?: string; signal?: AbortSignal; env?: Record<string, string> } = {},
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new AbortedError());
    const child = spawnGit(gitDir, args, opts.cwd, opts.env);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(e.code === 'ENOENT' ? gitNotFound(e) : e);
    });
    child.on('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) return reject(new AbortedError());
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), code: code ?? 1 });
    });
    child.stdin!.on('error', () => { /* git may exit before reading all input */ });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** Runs git and returns stdout as text; a non-zero exit becomes an InsightsError with git's own words. */
export async function runGit(
  gitDir: string | undefined,
  args: string[],
  opts: { cwd?: string; input?: string; signal?: AbortSignal; what?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const r = await runGitRaw(gitDir, args, opts);
  if (r.code !== 0) {
    throw new InsightsError('GIT_FAILED', `${opts.what ?? `git ${args[0]}`} failed: ${firstLine(r.stderr) || `exit code ${r.code}`}`);
  }
  return r.stdout.toString('utf8');
}

/**
 * git's stderr when a partial clone (--filter=blob:none) lacks an object it would have to
 * download (never allowed here), as the error to show; undefined for any other failure.
 */
export function partialCloneError(stderr: string): InsightsError | undefined {
  const line = stderr.split('\n').find((l) => /promisor remote/.test(l));
  if (line === undefined) return undefined;
  return new InsightsError(
    'GIT_FAILED',
    `this is a partial clone and some of the history's file contents are not downloaded; Code Insights never fetches them (a full clone, or git fetch --refetch without a filter, makes them local). git said: ${line.trim().replace(/^fatal: /, '')}`,
  );
}

export function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim().length > 0) ?? '';
  return line.replace(/^(fatal|error): /, '').trim();
}
