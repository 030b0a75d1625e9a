// A `git` first on PATH that appends its arguments to a log, then runs the real git: tests read
// which git commands a run started (the engine spawns git by name, found on PATH).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './gitRepo';

export function gitCallLog(): { record<T>(fn: () => Promise<T>): Promise<{ value: T; calls: string[] }> } {
  const shimDir = tempDir('ci-gitlog-');
  const log = join(shimDir, 'calls.log');
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(shimDir, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${realGit}' "$@"\n`);
  chmodSync(join(shimDir, 'git'), 0o755);
  return {
    /** Runs `fn` with the logging git first on PATH; its value and the git command lines, in order. */
    async record(fn) {
      rmSync(log, { force: true });
      const savedPath = process.env.PATH;
      process.env.PATH = `${shimDir}:${savedPath}`;
      try {
        const value = await fn();
        return { value, calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
      } finally {
        process.env.PATH = savedPath;
      }
    },
  };
}
