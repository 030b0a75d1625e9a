// `code-insights record --series ID --value N [--commit SHA] [--time T]`: a value from CI
// (coverage, build time, flaky tests) for an external insight of the definitions file, stored in
// the local cache and queued for the org service (`code-insights push` sends it). Everything is
// checked before anything is written: on a mistake the exit is non-zero and nothing is queued.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXTERNAL_LIMITS } from '../../protocol/insights';
import { parseDate } from '../engine/buckets';
import { lineColumn, loadDefinitionsFile } from '../engine/definitions';
import { InsightsError } from '../engine/errors';
import { runGitRaw } from '../engine/git';
import { originIdentity, rootIdentity } from '../engine/repoIdentity';
import { recordValue } from '../runs/recordValue';
import { parseArgs, type OptionSpec } from './args';

const OPTS: Record<string, OptionSpec> = {
  series: { type: 'string' },
  value: { type: 'string' },
  commit: { type: 'string' },
  time: { type: 'string' },
  config: { type: 'string' },
  cache: { type: 'string' },
  repo: { type: 'string' },
};

export const RECORD_HELP = `Usage: code-insights record --series ID --value N [--commit SHA] [--time T] [--config FILE] [--cache FILE]

Records a value from CI (coverage, build time, flaky tests) for an external insight of the
definitions file, e.g. {"id": "coverage", "title": "Line coverage", "kind": "external",
"unit": "%", "decimals": 1, "goal": {"min": 80}}. The value is kept in the local cache (charts,
check) and queued for the org service: \`code-insights push\` sends it.

  --series ID      the "id" of an insight with "kind": "external"
  --value N        a non-negative decimal number with at most the insight's "decimals" (default 0)
  --commit SHA     the commit the value belongs to (default: HEAD of the repository here)
  --time T         ISO date-time whose bucket the value counts in (default: the commit's time)
  --config FILE    the definitions file (default: .vscode/insights.json of the repository)
  --cache FILE     cache file (default: ~/.cache/code-insights/cache.sqlite)
  --repo PATH      the repository (default: the one holding the current folder)

Example (CI): code-insights record --series coverage --value 84.7 && code-insights push
`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const STEP_WORDS = { day: 'daily', week: 'weekly', month: 'monthly', quarter: 'quarterly', year: 'yearly' } as const;

/** A plain decimal as people and CI tools write it: digits, an optional fraction. */
const DECIMAL = /^\d{1,16}(?:\.\d{1,16})?$/;

function parseValue(raw: string, decimals: number): number {
  const s = raw.trim();
  if (s.startsWith('-') && DECIMAL.test(s.slice(1))) throw new InsightsError('BAD_VALUE', `--value must not be negative (got "${raw}"); external values are counts, durations and percentages`);
  if (!DECIMAL.test(s)) throw new InsightsError('BAD_VALUE', `--value must be a finite decimal number such as 84.7 or 1200 (got "${raw.slice(0, 40)}")`);
  const fraction = s.split('.')[1]?.replace(/0+$/, '') ?? '';
  if (fraction.length > decimals) {
    throw new InsightsError('BAD_VALUE', `--value ${s} has ${fraction.length} decimal${fraction.length === 1 ? '' : 's'}; the insight allows ${decimals} ("decimals" in the definitions file, up to ${EXTERNAL_LIMITS.maxDecimals}): round the value or raise "decimals"`);
  }
  return Number(s);
}

async function git(cwd: string, args: string[]): Promise<string | undefined> {
  const r = await runGitRaw(undefined, args, { cwd });
  return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
}

export async function recordCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, OPTS);
  const o = p.options;
  if (p.positional.length > 0) throw new InsightsError('USAGE', `record takes no paths (got "${p.positional[0]}"); use --repo PATH for another repository`);
  if (o.series === undefined) throw new InsightsError('USAGE', 'record needs --series ID (the id of an external insight in .vscode/insights.json)');
  if (o.value === undefined) throw new InsightsError('USAGE', 'record needs --value N');

  const where = resolve(String(o.repo ?? '.'));
  if (!existsSync(where)) throw new InsightsError('PATH_NOT_FOUND', `${where}: no such folder`);
  const top = await git(where, ['rev-parse', '--show-toplevel']);
  if (!top) throw new InsightsError('NOT_A_REPO', `${where}: is not inside a git working tree; run record in the repository the value belongs to (or give --repo PATH)`);

  const configPath = o.config !== undefined ? resolve(String(o.config)) : join(top, '.vscode', 'insights.json');
  const parsed = await loadDefinitionsFile(configPath);
  const id = String(o.series);
  const def = parsed.insights.find((d) => d.id === id);
  if (!def) {
    const problem = parsed.problems.find((x) => x.severity === 'error' && x.path[0] === 'insights' && parsed.locations[id]?.index === x.path[1]);
    if (problem) {
      const { line, column } = lineColumn(parsed.text, problem.offset);
      throw new InsightsError('BAD_DEFINITIONS', `${configPath}:${line}:${column}: ${problem.message}`);
    }
    const external = parsed.insights.filter((d) => d.kind === 'external').map((d) => d.id);
    throw new InsightsError(
      'UNKNOWN_SERIES',
      `${configPath} has no insight "${id.slice(0, 100)}"; ${external.length ? `its external insights are: ${external.join(', ')}` : 'declare it there first, e.g. {"id": "coverage", "title": "Line coverage", "kind": "external", "unit": "%", "decimals": 1}'}`,
    );
  }
  if (def.kind !== 'external') {
    throw new InsightsError('NOT_EXTERNAL', `insight "${id}" is a ${def.kind} insight, computed from the history; record takes one with "kind": "external"`);
  }
  const value = parseValue(String(o.value), def.decimals ?? 0);

  const rev = String(o.commit ?? 'HEAD');
  const commit = rev.startsWith('-') ? undefined : await git(top, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
  if (!commit) {
    throw new InsightsError('BAD_COMMIT', o.commit === undefined ? `${top}: HEAD names no commit yet; commit first` : `--commit "${rev.slice(0, 100)}" names no commit of ${top} (a shallow clone may lack it: fetch it first)`);
  }
  const commitTime = new Date(Number(await git(top, ['show', '-s', '--format=%ct', commit])) * 1000);
  const time = o.time !== undefined ? parseDate(String(o.time), '--time') : undefined;
  const gitDir = (await git(top, ['rev-parse', '--path-format=absolute', '--git-dir']))!;
  const repo = (await originIdentity(gitDir)) ?? (await rootIdentity(gitDir, commit));

  const cacheFile = o.cache !== undefined ? resolve(String(o.cache)) : undefined;
  const r = await recordValue({ def, repo, commit, commitTime, time, value }, cacheFile);
  if (r.warning) io.err(`code-insights: ${r.warning}\n`);
  const unit = def.unit ? ` ${def.unit}` : '';
  io.out(
    `recorded ${def.id} = ${value}${unit} for ${repo} at ${commit.slice(0, 12)}, point of ${r.bucket.slice(0, 10)} (${STEP_WORDS[r.step]} buckets)` +
      (r.queued ? '; queued for the org service (code-insights push sends it)\n' : r.stored ? '; not queued: a newer commit already holds that bucket\n' : '; this commit already had this value or a larger one (kept)\n'),
  );
  return 0;
}
