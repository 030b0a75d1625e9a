// `code-insights check`: the goals of the definitions file, judged at HEAD against the base, for
// CI and pre-push hooks. Exit 0 when every goal holds, 1 when one is broken, 2 when the check
// could not run (bad options, no repository, definitions with errors); output as a table, JSON,
// JUnit XML or GitHub Actions annotations.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GoalCheckResult, GoalSeriesCheck } from '../../protocol/goals';
import { InsightsError } from '../engine/errors';
import { lineColumn, loadDefinitionsFile } from '../engine/definitions';
import { describeGoal, hasGoals } from '../engine/goals';
import { runGitRaw } from '../engine/git';
import { checkGoals } from '../runs/checkGoals';
import { oneOf, parseArgs, type OptionSpec } from './args';
import { renderTable } from './format';
import { ProgressLine } from './progress';
import { ALLOW_COMMANDS_HELP, untrustedCommands } from './commandTrust';

export const CHECK_FORMATS = ['text', 'json', 'junit', 'github'] as const;

const OPTS: Record<string, OptionSpec> = {
  base: { type: 'string' },
  config: { type: 'string' },
  format: { type: 'string' },
  cache: { type: 'string' },
  'no-cache': { type: 'boolean' },
  'allow-commands': { type: 'boolean' },
};

export const CHECK_HELP = `Usage: code-insights check [PATH] [--base REV] [--config FILE] [--format ${CHECK_FORMATS.join('|')}]

Judges every series with a goal ("max", "min", "target", "ratchet" in the definitions file) at
HEAD of the repository that holds PATH (default .) against the base, and names the lines that
added matches to a broken series.

  --base REV               the base (default: the merge-base of HEAD with origin/HEAD, else main, else master)
  --config FILE            the definitions file (default: .vscode/insights.json of the repository)
  --format ${CHECK_FORMATS.join('|')}  text (default), JSON, JUnit XML, or GitHub Actions annotations
  --cache FILE             cache file (default: ~/.cache/code-insights/cache.sqlite)
  --no-cache               neither read nor write a cache
${ALLOW_COMMANDS_HELP}

Exit status: 0 every goal holds, 1 a goal is broken, 2 the check could not run.

Example (CI):
  code-insights check --base origin/main --format github
`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function checkCommand(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  try {
    return await check(argv, io, signal);
  } catch (e) {
    // Any refusal is "could not check" (2), never mistaken for a broken goal (1).
    if (e instanceof InsightsError && e.code !== 'ABORTED') {
      io.err(`code-insights: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

async function check(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  const p = parseArgs(argv, OPTS);
  const o = p.options;
  const format = oneOf(o.format, CHECK_FORMATS, 'format', 'text');
  if (p.positional.length > 1) throw new InsightsError('USAGE', `check takes one PATH (got ${p.positional.length}); run it once per repository`);
  const path = resolve(p.positional[0] ?? '.');
  if (!existsSync(path)) throw new InsightsError('PATH_NOT_FOUND', `${p.positional[0]}: no such file or folder`);
  const top = (await runGitRaw(undefined, ['rev-parse', '--show-toplevel'], { cwd: path, signal })).stdout.toString().trim();
  if (!top) throw new InsightsError('NOT_A_REPO', `${path}: is not inside a git working tree; run check in the repository to check`);
  const configPath = o.config !== undefined ? resolve(String(o.config)) : join(top, '.vscode', 'insights.json');
  const parsed = await loadDefinitionsFile(configPath);
  for (const x of parsed.problems) {
    const { line, column } = lineColumn(parsed.text, x.offset);
    io.err(`${configPath}:${line}:${column}: ${x.severity}: ${x.message}\n`);
  }
  const errors = parsed.problems.filter((x) => x.severity === 'error').length;
  // A goal left out for an error would pass unseen: refuse the whole file instead.
  if (errors) throw new InsightsError('BAD_DEFINITIONS', `${configPath} has ${errors} error(s); fix them and check again`);
  // A goal of a command insight left unchecked would pass unseen too.
  const refused = untrustedCommands(parsed.insights.filter((d) => hasGoals(d)), { configNamed: o.config !== undefined, allowCommands: !!o['allow-commands'] }, configPath);
  if (refused) throw new InsightsError('COMMANDS_NOT_ALLOWED', refused.message);

  const progress = format === 'text' ? new ProgressLine() : undefined;
  let r: GoalCheckResult;
  try {
    r = await checkGoals(path, parsed.insights, {
      base: o.base as string | undefined,
      cacheFile: o['no-cache'] ? null : o.cache !== undefined ? resolve(String(o.cache)) : undefined,
      signal,
      onProgress: progress && ((x) => progress.update(x)),
    });
  } finally {
    progress?.clear();
  }
  if (r.series.length === 0 && format === 'text') io.err(`code-insights: ${configPath} sets no goal ("max", "min", "target" or "ratchet"); nothing to check\n`);
  io.out(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : format === 'junit' ? junit(r) : format === 'github' ? github(r) : checkText(r));
  return r.failed ? 1 : 0;
}

const short = (sha: string) => sha.slice(0, 12);
const mark = { ok: 'ok', warn: 'WARN', broken: 'BROKEN' } as const;

/** The check as a table, then the reasons and lines of each series that is not ok (also the editor's report). */
export function checkText(r: GoalCheckResult): string {
  const rows = [['series', 'base', 'head', 'goal', 'verdict']];
  for (const s of r.series) rows.push([`${s.insightTitle} / ${s.label}`, s.base === undefined ? '-' : String(s.base), String(s.head), describeGoal(s.goal), mark[s.verdict]]);
  let out = `base ${short(r.base.commit)} (${r.base.rev}), head ${short(r.head.commit)}\n` + renderTable(rows, [false, true, true, false, false]);
  for (const s of r.series.filter((x) => x.verdict !== 'ok')) {
    out += `\n${mark[s.verdict]}: ${s.insightTitle} / ${s.label}: ${s.reasons.join('; ')}\n`;
    for (const c of s.culprits ?? []) out += `  ${c.path}${c.line ? `:${c.line}` : ''}  ${c.delta > 0 ? '+' : ''}${c.delta}${c.text ? `  ${c.text}` : ''}\n`;
    if (s.truncated) out += '  (more not listed)\n';
  }
  for (const x of r.skipped) out += `\nskipped: ${x.insightId}: ${x.reason}\n`;
  const broken = r.series.filter((s) => s.verdict === 'broken').length;
  return out + `\n${broken ? `${broken} of ${r.series.length} goals broken` : `${r.series.length} goals hold`}\n`;
}

/** XML 1.0 text: the five entities escaped, characters XML forbids dropped. */
function xml(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '').replace(/[<>&"']/g, (c) => `&${({ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' } as Record<string, string>)[c]};`);
}

function details(s: GoalSeriesCheck): string {
  return [...s.reasons, ...(s.culprits ?? []).map((c) => `${c.path}${c.line ? `:${c.line}` : ''} ${c.delta > 0 ? '+' : ''}${c.delta}${c.text ? ` ${c.text}` : ''}`)].join('\n');
}

function junit(r: GoalCheckResult): string {
  const failures = r.series.filter((s) => s.verdict === 'broken').length;
  const cases = r.series.map((s) => {
    const attrs = `classname="${xml(`code-insights.${s.insightId}`)}" name="${xml(s.label)}" time="0"`;
    if (s.verdict === 'ok') return `    <testcase ${attrs}/>`;
    if (s.verdict === 'warn') return `    <testcase ${attrs}>\n      <system-out>${xml(details(s))}</system-out>\n    </testcase>`;
    return `    <testcase ${attrs}>\n      <failure message="${xml(s.reasons.join('; '))}" type="goal">${xml(details(s))}</failure>\n    </testcase>`;
  });
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="code-insights check" tests="${r.series.length}" failures="${failures}" errors="0" time="${(r.elapsedMs / 1000).toFixed(3)}">\n` +
    `  <testsuite name="goals" tests="${r.series.length}" failures="${failures}" errors="0" skipped="0" time="${(r.elapsedMs / 1000).toFixed(3)}">\n` +
    (cases.length ? cases.join('\n') + '\n' : '') +
    '  </testsuite>\n</testsuites>\n'
  );
}

/** GitHub's workflow-command escaping: data (%, CR, LF) and properties (also : and ,). */
const ghData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const ghProp = (s: string) => ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

function github(r: GoalCheckResult): string {
  let out = '';
  for (const s of r.series) {
    if (s.verdict === 'ok') continue;
    const level = s.verdict === 'broken' ? 'error' : 'warning';
    const title = ghProp(`${s.insightTitle} / ${s.label}`);
    const why = s.reasons.join('; ');
    const located = (s.culprits ?? []).filter((c) => c.path);
    if (located.length === 0) out += `::${level} title=${title}::${ghData(why)}\n`;
    for (const c of located) {
      out += `::${level} file=${ghProp(c.path)}${c.line ? `,line=${c.line}` : ''},title=${title}::${ghData(`${c.line ? `this line adds ${c.delta}` : `this file changed by ${c.delta}`}: ${why}`)}\n`;
    }
  }
  return out + checkText(r);
}
