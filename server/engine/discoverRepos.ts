// Finds the repositories a PATH stands for: a working tree, a bare repository, or a folder
// searched for repositories (nested ones included; submodules only when asked).
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { runGitRaw, firstLine } from './git';
import { InsightsError } from './errors';

export interface RepoLocation {
  /** Absolute git directory (what `--git-dir` takes). */
  gitDir: string;
  /** The working tree, or the git dir for a bare repository; what the user sees as the repo's path. */
  path: string;
  bare: boolean;
}

const SKIP_DIRS = new Set(['node_modules', '.git', '.hg', '.svn', 'bower_components', '.cache', '.venv', '__pycache__']);
const MAX_DEPTH = 12;
const MAX_DIRS = 200_000;

function looksLikeGitDir(dir: string): boolean {
  try {
    return statSync(join(dir, 'objects')).isDirectory() && statSync(join(dir, 'refs')).isDirectory() && statSync(join(dir, 'HEAD')).isFile();
  } catch {
    return false;
  }
}

/** Submodule paths declared in a working tree's .gitmodules (relative, '/' separated). */
function submodulePaths(worktree: string): Set<string> {
  const out = new Set<string>();
  try {
    const text = readFileSync(join(worktree, '.gitmodules'), 'utf8');
    for (const m of text.matchAll(/^\s*path\s*=\s*(.+?)\s*$/gm)) out.add(m[1].replace(/\\/g, '/').replace(/\/+$/, ''));
  } catch {
    /* no submodules */
  }
  return out;
}

async function gitDirOf(path: string, signal?: AbortSignal): Promise<{ gitDir: string; bare: boolean; top?: string } | undefined> {
  const r = await runGitRaw(undefined, ['rev-parse', '--absolute-git-dir', '--is-bare-repository', '--show-toplevel'], { cwd: path, signal });
  const lines = r.stdout.toString().split('\n');
  if (r.code !== 0) {
    const msg = firstLine(r.stderr);
    if (/dubious ownership/.test(r.stderr)) {
      throw new InsightsError('UNSAFE_REPO', `${path}: git refuses this repository because another user owns it (${msg}). Add it with: git config --global --add safe.directory ${path}`);
    }
    // A bare repo prints the git dir and "true" but fails --show-toplevel.
    if (lines[1] === 'true') return { gitDir: lines[0], bare: true };
    return undefined;
  }
  return { gitDir: lines[0], bare: lines[1] === 'true', top: lines[2] || undefined };
}

export async function discoverRepos(paths: string[], opts: { submodules?: boolean; signal?: AbortSignal } = {}): Promise<RepoLocation[]> {
  const found = new Map<string, RepoLocation>();
  let hits = 0;
  const add = (loc: RepoLocation) => {
    hits++;
    let key = loc.gitDir;
    try { key = realpathSync(loc.gitDir); } catch { /* keep */ }
    if (!found.has(key)) found.set(key, loc);
  };

  for (const p of paths.length ? paths : ['.']) {
    const abs = resolve(p);
    if (!existsSync(abs)) throw new InsightsError('PATH_NOT_FOUND', `${p}: no such file or folder`);
    if (!statSync(abs).isDirectory()) throw new InsightsError('NOT_A_FOLDER', `${p}: is a file; give a repository or a folder of repositories`);

    // Counted per PATH: a repository reached again through another PATH is still a hit.
    const before = hits;
    let visited = 0;
    // Depth-first walk; a working tree's own folder is walked too, for nested repositories.
    const walk = (dir: string, depth: number, submods: Set<string>, treeTop: string | undefined) => {
      if (++visited > MAX_DIRS) return;
      let entries: import('node:fs').Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      let top = treeTop;
      let subs = submods;
      const dotGit = entries.find((e) => e.name === '.git');
      if (dotGit && (dotGit.isDirectory() || dotGit.isFile())) {
        const rel = treeTop ? relative(treeTop, dir).split('\\').join('/') : '';
        const isSubmodule = treeTop !== undefined && submods.has(rel);
        if (!isSubmodule || opts.submodules) {
          pendingWorktrees.push(dir);
        }
        if (isSubmodule && !opts.submodules) return;
        top = dir;
        subs = submodulePaths(dir);
      } else if (looksLikeGitDir(dir)) {
        pendingBare.push(dir);
        return;
      }
      if (depth >= MAX_DEPTH) return;
      for (const e of entries) {
        if (!e.isDirectory() || SKIP_DIRS.has(e.name)) continue;
        walk(join(dir, e.name), depth + 1, subs, top);
      }
    };
    const pendingWorktrees: string[] = [];
    const pendingBare: string[] = [];
    walk(abs, 0, new Set(), undefined);

    for (const dir of pendingWorktrees) {
      const g = await gitDirOf(dir, opts.signal);
      if (g) add({ gitDir: g.gitDir, path: g.top ?? dir, bare: false });
    }
    for (const dir of pendingBare) {
      const g = await gitDirOf(dir, opts.signal);
      if (g) add({ gitDir: g.gitDir, path: dir, bare: true });
    }
    if (hits === before) {
      // A folder inside a working tree (or a linked worktree): the repository that contains it.
      const g = await gitDirOf(abs, opts.signal);
      if (g) add({ gitDir: g.gitDir, path: g.top ?? abs, bare: g.bare });
    }
    if (hits === before) {
      throw new InsightsError('NO_REPOS', `${p}: no git repository here or in the folders below it`);
    }
  }
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path));
}
