// Builds real git repositories for tests: commits with fixed author and committer dates,
// so every test sees the same history on every machine.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, unlinkSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_TERMINAL_PROMPT: '0',
};

export function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, { cwd, env: { ...GIT_ENV, ...env }, encoding: 'utf8', maxBuffer: 256 << 20 });
}

/** A temporary folder removed by `cleanup()`. */
export function tempDir(prefix = 'ci-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A shallow clone of `srcDir` with only its last `depth` commits, in a new folder; its path. */
export function shallowClone(srcDir: string, depth = 2): string {
  const clone = join(tempDir('ci-shallow-'), 'shallow');
  git(tmpdir(), ['clone', '-q', '--depth', String(depth), `file://${srcDir}`, clone]);
  return clone;
}

export type FileContent = string | Buffer | null | { symlink: string };

export class TestRepo {
  constructor(readonly dir: string) {}

  static init(dir = tempDir('ci-repo-'), branch = 'main', objectFormat: 'sha1' | 'sha256' = 'sha1'): TestRepo {
    mkdirSync(dir, { recursive: true });
    git(dir, ['init', '-q', '-b', branch, `--object-format=${objectFormat}`]);
    git(dir, ['config', 'user.name', 'Test Author']);
    git(dir, ['config', 'user.email', 'author@example.com']);
    git(dir, ['config', 'commit.gpgsign', 'false']);
    return new TestRepo(dir);
  }

  git(args: string[], env: Record<string, string> = {}): string {
    return git(this.dir, args, env);
  }

  /** Writes (string/Buffer), deletes (null) or symlinks files, then commits them all at `date`. */
  commit(date: string | Date, files: Record<string, FileContent>, message = `commit at ${String(date)}`): string {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.dir, path);
      if (content === null) {
        try { unlinkSync(full); } catch { /* already gone */ }
        continue;
      }
      mkdirSync(dirname(full), { recursive: true });
      try { rmSync(full, { force: true }); } catch { /* ok */ }
      if (typeof content === 'object' && !Buffer.isBuffer(content)) symlinkSync(content.symlink, full);
      else writeFileSync(full, content);
    }
    const iso = typeof date === 'string' ? date : date.toISOString();
    this.git(['add', '-A']);
    this.git(['commit', '-q', '--allow-empty', '-m', message], { GIT_AUTHOR_DATE: iso, GIT_COMMITTER_DATE: iso });
    return this.head();
  }

  head(): string {
    return this.git(['rev-parse', 'HEAD']).trim();
  }

  /** What the spec defines as the commit of time T. */
  revListBefore(t: Date, rev = 'HEAD'): string | undefined {
    const out = this.git(['rev-list', '-1', '--first-parent', `--before=${t.toISOString()}`, rev]).trim();
    return out || undefined;
  }
}
