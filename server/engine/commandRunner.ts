// Runs one command of a command series: `/bin/sh -c COMMAND` in its own process group, in a
// given folder, with the environment scrubbed of credentials and HOME a folder of its own, a
// timeout that kills the whole group, and its output read as a number or named numbers.
import { spawn } from 'node:child_process';

/** What one run gave: a number, named numbers, or why there is no value. */
export type CommandOutput = { value: number } | { named: Record<string, number> } | { error: string };

/** Output beyond this is not a number any more: the run fails instead of filling memory. */
const MAX_OUTPUT = 1 << 20;
/** Named values a JSON object may hold (each becomes a series). */
export const MAX_NAMED_VALUES = 100;
const MAX_NAME_LENGTH = 200;

/** Names of variables that hold credentials by convention (tokens, keys, passwords, auth). */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|(^|_)(API_?)?KEYS?($|_)|ACCESS_?KEY/i;
/** A URL with a user and password in it (`postgres://u:p@host`), whatever the variable is called. */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]*@/i;

/**
 * The environment a command sees: ours minus credentials, our own knobs (CODE_INSIGHTS_*),
 * variables that point git elsewhere (GIT_*), and the per-user config folders; HOME is `home`,
 * so ~/.npmrc, ~/.netrc or ~/.config tokens are not read either.
 */
export function commandEnv(home: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined) continue;
    if (SECRET_NAME.test(k) || URL_WITH_PASSWORD.test(v)) continue;
    if (/^(CODE_INSIGHTS_|GIT_)/i.test(k) || /^XDG_(CONFIG|DATA|CACHE|STATE|RUNTIME)_/.test(k)) continue;
    env[k] = v;
  }
  env.HOME = home;
  env.USERPROFILE = home;
  return env;
}

export interface CommandRun {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Runs the command to its end, its timeout or the signal; never rejects for the command's own failure. */
export function runCommand(run: CommandRun): Promise<CommandOutput> {
  return new Promise((resolve) => {
    // detached: the shell leads a new process group, so a timeout kills what it started too.
    const child = spawn('/bin/sh', ['-c', run.command], { cwd: run.cwd, env: run.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true });
    const out: Buffer[] = [];
    let outBytes = 0;
    let errTail = '';
    let why: string | undefined;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* the group is gone already */
      }
    };
    const stop = (reason: string) => {
      why ??= reason;
      killGroup();
    };
    const timer = setTimeout(() => stop(`timed out after ${formatSeconds(run.timeoutMs)}; its processes were killed`), run.timeoutMs);
    const onAbort = () => stop('cancelled');
    run.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > MAX_OUTPUT) stop(`printed more than ${MAX_OUTPUT} bytes; a command series prints one number or a JSON object of numbers`);
      else out.push(b);
    });
    child.stderr!.on('data', (b: Buffer) => {
      errTail = (errTail + b.toString('utf8')).slice(-2000);
    });
    const finish = (result: CommandOutput) => {
      clearTimeout(timer);
      run.signal?.removeEventListener('abort', onAbort);
      killGroup(); // anything it left running in the background
      resolve(result);
    };
    child.on('error', (e) => finish({ error: `could not start /bin/sh: ${e.message}` }));
    child.on('close', (code, sig) => {
      if (why) return finish({ error: why });
      if (code !== 0) {
        const said = lastLine(errTail);
        return finish({ error: `exited with ${code === null ? `signal ${sig}` : `code ${code}`}${said ? `: ${said}` : ''}` });
      }
      finish(parseCommandOutput(Buffer.concat(out).toString('utf8')));
    });
  });
}

/** A number, or a JSON object whose every value is a finite number; anything else says what it got. */
export function parseCommandOutput(text: string): CommandOutput {
  const t = text.trim();
  if (t === '') return { error: 'printed nothing; it must print a number or a JSON object of numbers' };
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) {
    const n = Number(t);
    if (Number.isFinite(n)) return { value: n };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(t);
  } catch {
    return { error: `printed ${quote(t)}, which is neither a number nor a JSON object of numbers` };
  }
  if (typeof parsed === 'number' && Number.isFinite(parsed)) return { value: parsed };
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { error: `printed ${quote(t)}, which is neither a number nor a JSON object of numbers` };
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length === 0) return { error: 'printed an empty JSON object; name at least one number, e.g. {"deps": 12}' };
  if (entries.length > MAX_NAMED_VALUES) return { error: `printed ${entries.length} named values; at most ${MAX_NAMED_VALUES} become series` };
  const named: Record<string, number> = {};
  for (const [k, v] of entries) {
    if (k === '' || k.length > MAX_NAME_LENGTH) return { error: `printed a name of ${k.length} characters; names take 1 to ${MAX_NAME_LENGTH}` };
    if (typeof v !== 'number' || !Number.isFinite(v)) return { error: `printed ${quote(JSON.stringify(v) ?? String(v))} for "${k}"; every value of the JSON object must be a finite number` };
    named[k] = v;
  }
  return { named };
}

function quote(s: string): string {
  const one = s.replace(/\s+/g, ' ');
  return JSON.stringify(one.length > 80 ? `${one.slice(0, 80)}…` : one);
}

function lastLine(s: string): string {
  const lines = s.split('\n').map((l) => l.trim()).filter(Boolean);
  const l = lines[lines.length - 1] ?? '';
  return l.length > 300 ? `${l.slice(0, 300)}…` : l;
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
