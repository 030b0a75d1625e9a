// The files a command series' command sees: the entries of a commit's tree (or only those its
// inputs name), written from the object database into a temporary folder. Raw blob contents,
// as git stores them: no filters, attributes or hooks of the repository run, and no .git.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CatFile } from './blobReader';
import { InsightsError } from './errors';
import { firstLine, runGitRaw } from './git';

export interface TreeFile {
  /** 100644, 100755 (executable), 120000 (symlink). */
  mode: string;
  oid: string;
  path: string;
}

/** The tree id of each commit, in order. */
export async function treeIds(gitDir: string, commits: string[], signal?: AbortSignal): Promise<string[]> {
  if (commits.length === 0) return [];
  const r = await runGitRaw(gitDir, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], { input: commits.map((c) => `${c}^{tree}\n`).join(''), signal });
  const lines = r.stdout.toString('utf8').split('\n').filter(Boolean);
  if (r.code !== 0 || lines.length !== commits.length || lines.some((l) => !l.endsWith(' tree'))) {
    throw new InsightsError('GIT_FAILED', `git cat-file could not name the trees of the sampled commits: ${firstLine(r.stderr) || lines.find((l) => !l.endsWith(' tree')) || `exit ${r.code}`}`);
  }
  return lines.map((l) => l.slice(0, l.indexOf(' ')));
}

/** Every file of a commit's tree (blobs and symlinks; submodules have no content here). */
export async function treeFiles(gitDir: string, commit: string, signal?: AbortSignal): Promise<TreeFile[]> {
  const r = await runGitRaw(gitDir, ['ls-tree', '-r', '-z', '--full-tree', commit], { signal });
  if (r.code !== 0) throw new InsightsError('GIT_FAILED', `git ls-tree ${commit.slice(0, 12)} failed: ${firstLine(r.stderr) || `exit ${r.code}`}`);
  const out: TreeFile[] = [];
  for (const rec of r.stdout.toString('utf8').split('\0')) {
    if (!rec) continue;
    // "<mode> <type> <oid>\t<path>"
    const tab = rec.indexOf('\t');
    const [mode, type, oid] = rec.slice(0, tab).split(' ');
    if (type === 'blob') out.push({ mode, oid, path: rec.slice(tab + 1) });
  }
  return out;
}

/** A content key of the files a command reads: it changes exactly when one of them (its path, mode or content) does. */
export function inputsKey(files: TreeFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) h.update(`${f.mode} ${f.oid} ${f.path}\0`);
  return h.digest('hex');
}

/** Writes `files` under `dir` from the repository's objects; resolves once every file is written. */
export async function writeFiles(gitDir: string, files: TreeFile[], dir: string, signal?: AbortSignal): Promise<void> {
  const reader = new CatFile(gitDir, true, signal);
  let failure: Error | undefined;
  try {
    for (const f of files) {
      // git never stores such paths in a tree, but a crafted tree could: nothing leaves `dir`.
      if (f.path.split('/').some((s) => s === '' || s === '.' || s === '..')) continue;
      reader.request(f.oid, (a) => {
        if (failure) return;
        try {
          if (a.size < 0 || !a.content) throw new InsightsError('GIT_FAILED', `the object ${f.oid.slice(0, 12)} of ${f.path} is missing from the repository (a partial clone?)`);
          const to = join(dir, f.path);
          mkdirSync(dirname(to), { recursive: true });
          if (f.mode === '120000') symlinkSync(a.content.toString('utf8'), to);
          else {
            writeFileSync(to, a.content);
            if (f.mode === '100755') chmodSync(to, 0o755);
          }
        } catch (e) {
          failure = e as Error;
        }
      });
    }
    await reader.finish();
  } finally {
    reader.kill();
  }
  if (failure) throw failure;
}
