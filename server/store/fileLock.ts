// A lock file beside the cache, held by one process while it reads, merges and writes the file:
// every process of ours loads the whole file, so two saves at once must not interleave.
//
// The lock is created with O_EXCL and names its holder (pid, host, the process's start time), so
// a holder that died (kill -9, a crash, a power cut) is recognised and its lock taken over: no
// leftover file blocks anyone. It is held only for one save (milliseconds to a second), so the
// wait is synchronous: InsightsCache.save() keeps its signature and nothing else runs meanwhile.
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isatty } from 'node:tty';
import { InsightsError } from '../engine/errors';

interface Holder {
  pid: number;
  host: string;
  /** The holder's start in clock ticks since boot (Linux /proc), which tells a reused pid apart. */
  procStart?: string;
  /** When the holder process started, for people reading the file. */
  started: string;
  /** Unique per acquisition: proves a lock file is still the one this process created. */
  token: string;
}

export interface LockOptions {
  /** Give up after this long with an error that says what to do (default 60 s). */
  timeoutMs?: number;
  /** Say once that we wait, after this long (default 500 ms). */
  noticeAfterMs?: number;
  /** Where the notice goes (default: stderr, written at once, since the wait blocks the process). */
  onWait?: (message: string) => void;
}

let waitReporter: (message: string) => void = (m) => {
  try {
    // On a terminal, over the progress line (which the next update draws again).
    writeSync(2, `${isatty(2) ? '\r\x1b[2K' : ''}${m}\n`);
  } catch {
    /* no stderr: nothing to tell */
  }
};

/** Where every process-wide wait notice goes (the insights server adds its log). */
export function onCacheLockWait(report: (message: string) => void): void {
  waitReporter = report;
}

const HOST = hostname();
const STARTED = new Date(Date.now() - process.uptime() * 1000).toISOString();
/** An unfinished lock (created, holder not yet written) older than this was left by a crash. */
const UNWRITTEN_STALE_MS = 5_000;

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // field 3, starttime field 22.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return 'dead';
    return rest[19];
  } catch {
    return undefined;
  }
}

const OWN_PROC_START = procStart(process.pid);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the holder is certainly gone: on this host, its pid dead, a zombie, or reused by another process. */
function holderGone(h: Holder, heldHere: boolean): boolean {
  if (h.host !== HOST) return false;
  if (h.pid === process.pid) return !heldHere;
  if (!alive(h.pid)) return true;
  const now = procStart(h.pid);
  if (now === 'dead') return true;
  return h.procStart !== undefined && now !== undefined && now !== h.procStart;
}

function readHolder(lock: string): { holder?: Holder; ageMs: number } | undefined {
  try {
    const ageMs = Date.now() - statSync(lock).mtimeMs;
    const text = readFileSync(lock, 'utf8');
    try {
      const h = JSON.parse(text) as Holder;
      if (typeof h.pid === 'number' && typeof h.token === 'string') return { holder: h, ageMs };
    } catch {
      /* being written */
    }
    return { ageMs };
  } catch {
    return undefined; // released meanwhile
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);

/**
 * Moves a lock judged stale out of the way. Renaming is atomic: of several processes that judged
 * it stale, one moves it; if what it moved is not the lock it judged (its holder released it and
 * another process took a fresh one meanwhile), it is put back.
 */
function takeOver(lock: string, judged: Holder | undefined): void {
  const grave = `${lock}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(lock, grave);
  } catch {
    return; // another process moved or released it
  }
  let moved: Holder | undefined;
  try {
    moved = JSON.parse(readFileSync(grave, 'utf8')) as Holder;
  } catch {
    moved = undefined;
  }
  if (moved && judged && moved.token !== judged.token) {
    try {
      linkSync(grave, lock);
    } catch {
      /* a third process holds it now: the moved holder finds its lock gone before writing and retries */
    }
  }
  try {
    unlinkSync(grave);
  } catch {
    /* already gone */
  }
}

function describeHolder(h: Holder | undefined): string {
  if (!h) return 'another code-insights process';
  return `another code-insights process (pid ${h.pid}${h.host !== HOST ? ` on ${h.host}` : ''})`;
}

export interface HeldLock {
  /** Throws unless the lock file is still this process's: call right before replacing the file. */
  check(): void;
}

/**
 * Runs `fn` holding `target`.lock. Waits (synchronously) while a live process holds it, taking
 * over a lock whose holder is gone; says so after a short wait; gives up with an error naming
 * the holder and the lock file after `timeoutMs`.
 */
export function withFileLock<T>(target: string, what: string, fn: (held: HeldLock) => T, opts: LockOptions = {}): T {
  const lock = `${target}.lock`;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const noticeAfterMs = opts.noticeAfterMs ?? 500;
  const report = opts.onWait ?? waitReporter;
  const start = Date.now();
  let told = false;
  let pause = 2;
  for (;;) {
    const me: Holder = { pid: process.pid, host: HOST, procStart: OWN_PROC_START, started: STARTED, token: randomBytes(8).toString('hex') };
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new InsightsError('BAD_CACHE', `cannot create the lock file ${lock} to write ${what}: ${(e as Error).message}`);
      }
    }
    if (fd !== undefined) {
      let held = false;
      try {
        writeSync(fd, JSON.stringify(me));
        closeSync(fd);
        held = true;
        const check = () => {
          const now = readHolder(lock)?.holder;
          if (now?.token !== me.token) throw new LockLost();
        };
        return fn({ check });
      } catch (e) {
        if (e instanceof LockLost) continue; // taken over in a race: start again
        throw e;
      } finally {
        if (held) {
          if (readHolder(lock)?.holder?.token === me.token) {
            try {
              unlinkSync(lock);
            } catch {
              /* gone already */
            }
          }
        } else {
          // The holder could not be written (a full disk): leave no empty lock behind.
          try {
            closeSync(fd);
            unlinkSync(lock);
          } catch {
            /* closed, or gone */
          }
        }
      }
    }
    const seen = readHolder(lock);
    if (!seen) continue; // released between our attempt and the read
    if (seen.holder ? holderGone(seen.holder, false) : seen.ageMs > UNWRITTEN_STALE_MS) {
      takeOver(lock, seen.holder);
      continue;
    }
    const waited = Date.now() - start;
    if (!told && waited >= noticeAfterMs) {
      told = true;
      report(`code-insights: waiting for ${describeHolder(seen.holder)} writing ${what}…`);
    }
    if (waited >= timeoutMs) {
      const h = seen.holder;
      throw new InsightsError(
        'CACHE_LOCKED',
        `${describeHolder(h)} has held ${lock} for ${Math.round(waited / 1000)} s${h ? ` (started ${h.started})` : ''}, so ${what} was not written. ` +
          `If no code-insights process is running${h && h.host !== HOST ? ` on ${h.host}` : ''}, delete ${lock} and run again.`,
      );
    }
    sleep(pause);
    pause = Math.min(pause * 2, 50);
  }
}

class LockLost extends Error {}
