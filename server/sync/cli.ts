// `code-insights push --server URL --token TOKEN [--cache FILE] [--retry-failed]`: sends the
// outbox of the local cache to the org service. The CLI entry calls runPush(argv).
import { existsSync } from 'node:fs';
import type { Database } from 'sql.js';
import { defaultCacheFile, InsightsCache } from '../store/cache';
import { dropFailed, outboxCounts, outboxFailures, retryFailed } from './outbox';
import { pointsUrl, pushOutbox, PushAbortedError } from './push';

const USAGE = `usage: code-insights push --server URL --token TOKEN [--cache FILE] [--retry-failed | --drop-refused]
  --token may be left out when CODE_INSIGHTS_ORG_TOKEN is set (keeps it out of the process list).
  --drop-refused removes the points the service refused (shown by push) from the outbox.`;

/**
 * Saves the cache `db` was opened from (InsightsCache.save: atomic, under the file's lock, merged
 * with what other processes saved meanwhile). `file` must be the file it was opened from.
 */
export function saveAtomically(db: Database, file: string): void {
  const cache = InsightsCache.of(db);
  if (!cache || cache.file !== file) throw new Error(`saveAtomically: this database was not opened from ${file} by InsightsCache.open`);
  cache.save();
}

export async function runPush(argv: string[], io: { out: (s: string) => void; err: (s: string) => void } = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
}): Promise<number> {
  const flags = new Map<string, string>();
  let retry = false;
  let drop = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--retry-failed' || a === '--drop-refused') {
      if (a === '--retry-failed') retry = true;
      else drop = true;
      continue;
    }
    const m = /^--(server|token|cache)(?:=(.*))?$/.exec(a);
    if (!m) {
      io.err(`code-insights push: unknown argument "${a}"\n${USAGE}\n`);
      return 2;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined) {
      io.err(`code-insights push: --${m[1]} needs a value\n${USAGE}\n`);
      return 2;
    }
    flags.set(m[1], v);
  }
  const server = flags.get('server');
  const token = flags.get('token') ?? process.env.CODE_INSIGHTS_ORG_TOKEN;
  if (!server || !token) {
    io.err(`code-insights push: ${!server ? '--server' : '--token'} is required\n${USAGE}\n`);
    return 2;
  }
  try {
    pointsUrl(server);
  } catch (e) {
    io.err(`code-insights push: BAD_OPTION: ${(e as Error).message}\n`);
    return 2;
  }
  const file = flags.get('cache') ?? defaultCacheFile();
  if (!existsSync(file)) {
    io.out(`nothing to push: no cache at ${file} (run \`code-insights run\` or \`series\` first)\n`);
    return 0;
  }
  const { cache, warning } = await InsightsCache.open(file);
  if (warning) io.err(`code-insights push: ${warning}\n`);
  const db = cache.db;
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  try {
    if (retry) io.out(`retrying ${retryFailed(db)} failed points\n`);
    const before = outboxCounts(db);
    if (before.pending === 0) {
      io.out(before.failed ? `nothing pending; ${before.failed} points failed earlier (see below; --retry-failed sends them again)\n` : 'nothing to push: the outbox is empty\n');
    } else {
      const res = await pushOutbox(db, {
        server,
        token,
        signal: ac.signal,
        // A wrong, revoked or read-only token fails every batch alike: stop and keep them
        // pending, so fixing the token is all it takes (no --retry-failed).
        stopOnAuthError: true,
        onBatch: () => cache.save(),
        onRetry: (r) => io.err(`push: ${r.reason}; retrying in ${(r.delayMs / 1000).toFixed(1)} s (attempt ${r.attempt + 1})\n`),
      });
      io.out(`pushed ${res.sent} points in ${res.batches} batches${res.failed ? `; ${res.failed} points rejected` : ''}${res.pending ? `; ${res.pending} still pending` : ''}\n`);
      if (res.authError) {
        const hint = res.authError.status === 403 ? 'a write token is needed (code-insights org create-token --org NAME --scope write)' : 'the token is unknown or revoked; check --token or CODE_INSIGHTS_ORG_TOKEN';
        io.err(`code-insights push: ${res.authError.message}; ${hint}. Nothing more was sent; the points stay queued\n`);
      }
      if (res.gaveUp) io.err(`code-insights push: NETWORK: ${res.gaveUp}; the points stay in the outbox, run push again later\n`);
    }
    cache.save();
    const after = outboxCounts(db);
    for (const f of outboxFailures(db)) io.err(`code-insights push: ${f.points} points not accepted: ${f.error}\n`);
    if (after.failed && drop) {
      io.out(`dropped ${dropFailed(db)} refused points from the outbox\n`);
      saveAtomically(db, file);
      return after.pending === 0 ? 0 : 1;
    }
    if (after.failed) io.err('code-insights push: the refused points stay in the outbox: fix their definition and run the insight again, or drop them with `code-insights push --drop-refused`\n');
    return after.pending === 0 && after.failed === 0 ? 0 : 1;
  } catch (e) {
    try {
      cache.save();
    } catch (saveError) {
      io.err(`code-insights push: ${(saveError as Error).message}\n`);
    }
    if (e instanceof PushAbortedError) {
      io.err('code-insights push: cancelled; unsent points stay in the outbox\n');
      return 130;
    }
    io.err(`code-insights push: ${(e as Error).message}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    cache.close();
  }
}
