// One process at a time on a PGlite data folder. PGlite is PostgreSQL compiled to WebAssembly
// inside one process, with no postmaster to arbitrate: a second process opening the same folder
// works on its own copy of shared state, and what one writes the other never sees (or worse,
// both write the same files). A lock file in the folder, holding the owner's pid, refuses the
// second opener; a lock left by a process that died (kill -9) is taken over.
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'code-insights.lock';

export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';
  constructor(
    readonly dir: string,
    readonly pid: number,
    detail?: string,
  ) {
    super(
      `the PGlite folder ${dir} is in use by process ${pid} (probably \`code-insights org serve\`)${detail ? `, and ${detail}` : ''}; ` +
        'a PGlite folder is opened by one process at a time. Run create-org/create-token and the fleet commands while that service runs (they go through its admin socket), ' +
        'or stop it first; for several processes on one database use PostgreSQL (--database-url)',
    );
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** The pid holding the folder's lock, if that process is alive. */
export function lockHolder(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, LOCK_FILE), 'utf8').trim());
    return alive(pid) && pid !== process.pid ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the folder's lock or throws DataDirInUseError. Returns the release function. */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      let pid = NaN;
      try {
        pid = Number(readFileSync(file, 'utf8').trim());
      } catch {
        // vanished meanwhile: try again
      }
      if (alive(pid)) throw new DataDirInUseError(dir, pid);
      rmSync(file, { force: true }); // left by a process that is gone
    }
  }
}
