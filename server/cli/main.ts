// The `code-insights` command line: a thin adapter over the engine. Errors go to stderr with a
// message a person can act on and a non-zero exit; never a stack trace.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { InsightDefinition, LanguagesPoint, SeriesResult, StructuralLanguage } from '../../protocol/insights';
import { COUNT_MODES, DEFAULT_CAPTURE_LIMIT, DEFAULT_COMMAND_TIMEOUT, DEFAULT_MAX_FILE_SIZE, MAX_COMMAND_TIMEOUT, DEFAULT_POINTS, DEFAULT_STEP, OUTPUT_FORMATS, STEPS, type OutputFormat } from '../../protocol/insights';
import type { ComputeRequest, ComputeResult, SeriesSpec } from '../engine/api';
import { runInsights } from '../runs/runInsights';
import { readExternalSeries } from '../runs/externalSeries';
import { defaultCacheFile } from '../store/cache';
import { parseDate } from '../engine/buckets';
import { seriesId } from '../engine/seriesId';
import { AbortedError, InsightsError } from '../engine/errors';
import { loadDefinitionsFile, lineColumn, toComputeRequest } from '../engine/definitions';
import { oneOf, parseArgs, type OptionSpec, type Parsed } from './args';
import { languagesCsv, languagesTable, pointsTable, seriesCsv, seriesTable } from './format';
import { ProgressLine } from './progress';
import { HELP, COMMAND_HELP } from './help';
import { checkCommand } from './check';
import { recordCommand } from './record';
import { untrustedCommands } from './commandTrust';
import { patternProblem, structuralLanguage, unknownLanguageMessage } from '../engine/structuralMatcher';

const COMMON: Record<string, OptionSpec> = {
  format: { type: 'string' },
  cache: { type: 'string' },
  'no-cache': { type: 'boolean' },
  stats: { type: 'boolean' },
  rev: { type: 'string' },
  repo: { type: 'string', multiple: true },
  submodules: { type: 'boolean' },
  'max-file-size': { type: 'number' },
  step: { type: 'string' },
  points: { type: 'number' },
  end: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const SERIES_OPTS: Record<string, OptionSpec> = {
  ...COMMON,
  query: { type: 'string', multiple: true, short: 'q' },
  label: { type: 'string', multiple: true },
  literal: { type: 'boolean' },
  'ignore-case': { type: 'boolean', short: 'i' },
  count: { type: 'string' },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  limit: { type: 'number' },
  structural: { type: 'string' },
  command: { type: 'string', multiple: true },
  inputs: { type: 'string', multiple: true },
  timeout: { type: 'number' },
  checkout: { type: 'boolean' },
};

const LANG_OPTS: Record<string, OptionSpec> = { ...COMMON, at: { type: 'string' } };
const RUN_OPTS: Record<string, OptionSpec> = { ...COMMON, config: { type: 'string' }, 'allow-commands': { type: 'boolean' } };


/** The insights `npm start` shows when no definitions file exists. */
export const DEFAULT_INSIGHTS: InsightDefinition[] = [
  {
    id: 'todo-fixme-hack',
    title: 'TODO / FIXME / HACK',
    kind: 'series',
    queries: [{ query: 'TODO' }, { query: 'FIXME' }, { query: 'HACK' }],
    step: 'month',
    points: 12,
  },
  { id: 'languages', title: 'Lines per language', kind: 'languages', step: 'month', points: 12 },
];

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export async function main(argv: string[], io: Io = stdio, earlySigint?: () => void): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    io.err('\ncode-insights: stopping (press Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  if (earlySigint) process.off('SIGINT', earlySigint);
  // `code-insights ... | head`: the reader has what it wanted and closed the pipe. The results
  // were computed and the cache saved before anything is printed, so stop quietly, as a shell
  // tool does, instead of Node's unhandled EPIPE stack trace.
  if (io === stdio) process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  if ((globalThis as { __codeInsightsInterrupted?: boolean }).__codeInsightsInterrupted) onSigint();
  try {
    return await dispatch(argv, io, controller.signal);
  } catch (e) {
    if (e instanceof AbortedError) {
      io.err('code-insights: cancelled; the cache keeps what was finished\n');
      return 130;
    }
    if (e instanceof InsightsError) {
      io.err(`code-insights: ${e.message}\n`);
      return e.code === 'BAD_OPTION' || e.code === 'USAGE' ? 2 : 1;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function dispatch(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-v') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- read only when asked
    io.out(`${require('../../package.json').version}\n`);
    return 0;
  }
  if (command === 'push' || command === 'org') return externalCommand(command, rest);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(COMMAND_HELP[command] ?? HELP);
    return 0;
  }
  switch (command) {
    case 'series':
    case 'capture':
      return seriesCommand(command, parseArgs(rest, SERIES_OPTS), io, signal);
    case 'languages':
      return languagesCommand(parseArgs(rest, LANG_OPTS), io, signal);
    case 'run':
      return runCommand(parseArgs(rest, RUN_OPTS), io, signal);
    case 'check':
      return checkCommand(rest, io, signal);
    case 'record':
      return recordCommand(rest, io);
    case 'push':
    case 'org':
      return externalCommand(command, rest);
    default:
      throw new InsightsError('USAGE', `unknown command "${command}"; commands: series, capture, languages, run, check, record, push, org (see --help)`);
  }
}

async function externalCommand(command: 'push' | 'org', rest: string[]): Promise<number> {
  const mod = command === 'push' ? await loadPush() : await loadOrg();
  if (!mod) throw new InsightsError('USAGE', `"${command}" is not available in this build`);
  return mod(rest);
}

// The org service ships as its own bundle (dist/org.js), loaded only by `org`, so its
// dependencies add nothing to the start-up of the other commands.
async function loadPush(): Promise<((argv: string[]) => Promise<number>) | undefined> {
  return (await import('../sync/cli')).runPush;
}
async function loadOrg(): Promise<((argv: string[]) => Promise<number>) | undefined> {
  const bundled = join(__dirname, 'org.js');
  const source = ['..', '..', 'org', 'cli'].join('/');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(existsSync(bundled) ? bundled : source) as { runOrgCommand: (argv: string[]) => Promise<number> };
  return mod.runOrgCommand;
}

function commonRequest(p: Parsed, defaults: { step: ComputeRequest['step']; points: number }): Omit<ComputeRequest, 'series'> {
  const o = p.options;
  const points = (o.points as number | undefined) ?? defaults.points;
  if (!Number.isInteger(points) || points < 1 || points > 10000) throw new InsightsError('BAD_OPTION', `--points must be a whole number from 1 to 10000 (got ${points})`);
  return {
    paths: p.positional.length ? p.positional : ['.'],
    step: oneOf(o.step, STEPS, 'step', defaults.step),
    points,
    end: o.end !== undefined ? parseDate(String(o.end), '--end') : undefined,
    rev: o.rev as string | undefined,
    submodules: !!o.submodules,
    repoFilters: o.repo as string[] | undefined,
  };
}

function maxFileSize(p: Parsed): number {
  const v = p.options['max-file-size'];
  if (v === undefined) return DEFAULT_MAX_FILE_SIZE;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new InsightsError('BAD_OPTION', `--max-file-size takes a whole number of bytes, 0 for no limit (got ${String(v)})`);
  return v;
}

function cacheOption(p: Parsed): string | null | undefined {
  if (p.options['no-cache']) return null;
  return p.options.cache !== undefined ? resolve(String(p.options.cache)) : undefined;
}

async function compute(req: ComputeRequest, p: Parsed, io: Io, signal: AbortSignal): Promise<ComputeResult> {
  const progress = new ProgressLine();
  try {
    return await runInsights(req, { signal, cacheFile: cacheOption(p), onProgress: (x) => progress.update(x) });
  } finally {
    progress.clear();
  }
}

function statsLine(st: ComputeResult['stats']): string {
  return `stats: ${st.repos} repos, ${st.commitsSampled} commits sampled, ${st.blobsRead} blobs read (${(st.bytesRead / 1048576).toFixed(1)} MiB), ${st.blobsRuledOut} ruled out and ${st.blobsCountedByGit} counted by git grep, ${st.blobsFromCache} from cache, ${st.elapsedMs} ms${st.fromRunMemo ? ' (answered by the run memo beside the cache)' : ''}\n`;
}

/** Repo warnings and errors to stderr; the exit code says whether anything could be computed. */
function reportRepos(r: ComputeResult, p: Parsed, io: Io): number {
  for (const s of r.repos) {
    if (s.error) io.err(`code-insights: ${s.path || s.repo}: ${s.error}\n`);
    else if (s.warning && s.warning !== 'excluded by the repository filter') io.err(`code-insights: warning: ${s.path ? `${s.path}: ` : ''}${s.warning}\n`);
  }
  if (p.options.stats) {
    const st = r.stats;
    io.err(statsLine(st));
  }
  const real = r.repos.filter((s) => s.repo !== '(cache)');
  return real.length > 0 && real.every((s) => s.error) ? 1 : 0;
}

async function seriesCommand(command: 'series' | 'capture', p: Parsed, io: Io, signal: AbortSignal): Promise<number> {
  const o = p.options;
  if (o.command !== undefined) return commandSeriesCommand(command, p, io, signal);
  for (const flag of ['inputs', 'timeout', 'checkout'] as const) {
    if (o[flag] !== undefined) throw new InsightsError('BAD_OPTION', `--${flag} goes with --command`);
  }
  const queries = (o.query as string[] | undefined) ?? [];
  if (queries.length === 0) throw new InsightsError('USAGE', `${command} needs at least one query: -q REGEX (see code-insights ${command} --help)`);
  const labels = (o.label as string[] | undefined) ?? [];
  if (labels.length > queries.length) throw new InsightsError('BAD_OPTION', `${labels.length} --label for ${queries.length} queries; give at most one label per -q`);
  const limit = (o.limit as number | undefined) ?? DEFAULT_CAPTURE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new InsightsError('BAD_OPTION', `--limit must be a whole number of at least 1 (got ${limit})`);
  const format = oneOf(o.format, OUTPUT_FORMATS, 'format', 'table');
  const language = structuralOption(command, p);
  const specs: SeriesSpec[] = queries.map((q, i) => ({
    label: labels[i] ?? q,
    query: q,
    literal: !language && !!o.literal,
    ignoreCase: !language && !!o['ignore-case'],
    count: oneOf(o.count, COUNT_MODES, 'count', 'matches'),
    include: (o.include as string[] | undefined) ?? [],
    exclude: (o.exclude as string[] | undefined) ?? [],
    maxFileSize: maxFileSize(p),
    ...(command === 'capture' ? { capture: { limit } } : {}),
    ...(language ? { structural: { language } } : {}),
  }));
  // Every pattern is checked before anything runs: a mistake writes nothing.
  if (language) {
    for (const q of queries) {
      const problem = patternProblem(language, q);
      if (problem) throw new InsightsError('BAD_PATTERN', problem);
    }
  }
  return computeAndPrint(specs, format, p, io, signal);
}

/** Computes the series, reports repositories and series that failed, prints the rest; the exit code. */
async function computeAndPrint(specs: SeriesSpec[], format: (typeof OUTPUT_FORMATS)[number], p: Parsed, io: Io, signal: AbortSignal): Promise<number> {
  const r = await compute({ ...commonRequest(p, { step: DEFAULT_STEP, points: DEFAULT_POINTS }), series: specs }, p, io, signal);
  let code = reportRepos(r, p, io);
  for (const s of r.series) {
    if (s.error) {
      io.err(`code-insights: ${s.label}: ${s.error}\n`);
      code = 1;
    }
  }
  printSeries(r.series, r, format, io);
  return code;
}

/** `series --command CMD`: one series per command (or per name in its JSON output), run at each sampled commit. */
async function commandSeriesCommand(command: 'series' | 'capture', p: Parsed, io: Io, signal: AbortSignal): Promise<number> {
  const o = p.options;
  if (command !== 'series') throw new InsightsError('BAD_OPTION', '--command applies to "series" only (a JSON object of named numbers gives one series per name)');
  for (const flag of ['query', 'literal', 'ignore-case', 'count', 'include', 'exclude', 'max-file-size', 'limit', 'structural'] as const) {
    if (o[flag] !== undefined) throw new InsightsError('BAD_OPTION', `--${flag === 'query' ? 'query (-q)' : flag} does not go with --command: a command series' value is what the command prints`);
  }
  const commands = o.command as string[];
  const empty = commands.findIndex((c) => !c.trim());
  if (empty >= 0) throw new InsightsError('BAD_OPTION', `--command ${commands.length > 1 ? `${empty + 1} ` : ''}is empty: give a shell command that prints a number or a JSON object of numbers, e.g. --command 'wc -l < package-lock.json'`);
  const labels = (o.label as string[] | undefined) ?? [];
  if (labels.length > commands.length) throw new InsightsError('BAD_OPTION', `${labels.length} --label for ${commands.length} commands; give at most one label per --command`);
  const timeout = (o.timeout as number | undefined) ?? DEFAULT_COMMAND_TIMEOUT;
  if (!(timeout > 0) || timeout > MAX_COMMAND_TIMEOUT) throw new InsightsError('BAD_OPTION', `--timeout takes seconds above 0 and at most ${MAX_COMMAND_TIMEOUT} (got ${timeout})`);
  const inputs = (o.inputs as string[] | undefined) ?? [];
  if (inputs.some((g) => !g)) throw new InsightsError('BAD_OPTION', '--inputs takes a non-empty path glob');
  if (o.checkout && inputs.length === 0) throw new InsightsError('BAD_OPTION', '--checkout goes with --inputs (without inputs the whole tree is copied anyway)');
  const format = oneOf(o.format, OUTPUT_FORMATS, 'format', 'table');
  const specs: SeriesSpec[] = commands.map((c, i) => ({
    label: labels[i] ?? c,
    query: c,
    literal: false,
    ignoreCase: false,
    count: 'matches',
    include: [],
    exclude: [],
    maxFileSize: 0,
    command: { inputs, checkout: inputs.length === 0 || !!o.checkout, timeoutMs: Math.round(timeout * 1000) },
  }));
  return computeAndPrint(specs, format, p, io, signal);
}

/** `--structural LANG`: the queries are ast-grep patterns in LANG; undefined without the option. */
function structuralOption(command: 'series' | 'capture', p: Parsed): StructuralLanguage | undefined {
  const v = p.options.structural;
  if (v === undefined) return undefined;
  if (command !== 'series') throw new InsightsError('BAD_OPTION', '--structural applies to "series" only: an ast-grep pattern has no capture group');
  for (const flag of ['literal', 'ignore-case'] as const) {
    if (p.options[flag]) throw new InsightsError('BAD_OPTION', `--${flag} does not apply to --structural (the queries are ast-grep patterns)`);
  }
  const language = structuralLanguage(String(v));
  if (!language) throw new InsightsError('BAD_OPTION', `--structural: ${unknownLanguageMessage(String(v))}`);
  return language;
}

function printSeries(series: SeriesResult[], r: ComputeResult, format: OutputFormat, io: Io, title?: string): void {
  if (format === 'json') io.out(JSON.stringify({ series, repos: r.repos, stats: r.stats }, null, 2) + '\n');
  else if (format === 'csv') io.out(seriesCsv(series));
  else io.out(seriesTable(series, title) + '\n' + pointsTable(series));
}

function printLanguages(points: LanguagesPoint[], r: ComputeResult, format: OutputFormat, io: Io): void {
  if (format === 'json') io.out(JSON.stringify({ languages: points, repos: r.repos, stats: r.stats }, null, 2) + '\n');
  else if (format === 'csv') io.out(languagesCsv(points));
  else io.out(languagesTable(points));
}

async function languagesCommand(p: Parsed, io: Io, signal: AbortSignal): Promise<number> {
  const o = p.options;
  const format = oneOf(o.format, OUTPUT_FORMATS, 'format', 'table');
  if (o.at !== undefined && (o.step !== undefined || o.points !== undefined)) {
    throw new InsightsError('BAD_OPTION', '--at gives one point; use either --at DATE or --step/--points');
  }
  const overTime = o.step !== undefined || o.points !== undefined;
  const base = commonRequest(p, { step: 'month', points: overTime ? 12 : 1 });
  const req: ComputeRequest = {
    ...base,
    ...(o.at !== undefined ? { end: parseDate(String(o.at), '--at'), points: 1 } : overTime ? {} : { points: 1 }),
    series: [],
    languages: true,
    languagesMaxFileSize: maxFileSize(p),
  };
  const r = await compute(req, p, io, signal);
  const code = reportRepos(r, p, io);
  printLanguages(r.languages ?? [], r, format, io);
  return code;
}

async function runCommand(p: Parsed, io: Io, signal: AbortSignal): Promise<number> {
  const o = p.options;
  let code = 0;
  const format = oneOf(o.format, OUTPUT_FORMATS, 'format', 'table');
  let insights: InsightDefinition[];
  const configPath = o.config !== undefined ? resolve(String(o.config)) : resolve('.vscode/insights.json');
  if (o.config !== undefined || existsSync(configPath)) {
    const parsed = await loadDefinitionsFile(configPath);
    const errors = parsed.problems.filter((x) => x.severity === 'error');
    for (const x of parsed.problems) {
      const { line, column } = lineColumn(parsed.text, x.offset);
      io.err(`${configPath}:${line}:${column}: ${x.severity}: ${x.message}\n`);
    }
    if (errors.length && parsed.insights.length === 0) {
      throw new InsightsError('BAD_DEFINITIONS', `${configPath} has ${errors.length} error(s) and no valid insight; fix them and run again`);
    }
    insights = parsed.insights;
    const refused = untrustedCommands(insights, { configNamed: o.config !== undefined, allowCommands: !!o['allow-commands'] }, configPath);
    if (refused) {
      io.err(`code-insights: not run: ${refused.message}\n`);
      insights = insights.filter((d) => !refused.ids.includes(d.id));
      code = 1;
    }
    if (insights.length === 0 && refused) return code;
    if (insights.length === 0) {
      io.err(`code-insights: ${configPath} defines no insights\n`);
      return 0;
    }
  } else {
    insights = DEFAULT_INSIGHTS;
    if (format === 'table') io.err('code-insights: no .vscode/insights.json here; showing the default insights (TODO/FIXME/HACK and lines per language, monthly over a year)\n');
  }
  const paths = p.positional.length ? p.positional : ['.'];
  // Insights that share buckets and scope share one pass over the blobs. Also lines per
  // language with queries, although apart git would count the lines: the default insights over
  // git/git, cold, took 2.07-2.25 s in one pass and 2.31-2.89 s apart (4 interleaved runs each).
  const groups = new Map<string, { req: ComputeRequest; members: { def: InsightDefinition; first: number; count: number }[] }>();
  // External insights hold values CI recorded (`record`): read from the cache, not computed.
  const external = insights.filter((d) => d.kind === 'external');
  for (const def of insights) {
    if (def.kind === 'external') continue;
    const req = toComputeRequest(def, paths);
    if (o.end !== undefined) req.end = parseDate(String(o.end), '--end');
    if (o.rev !== undefined) req.rev = String(o.rev);
    const key = JSON.stringify([req.step, req.points, req.end?.toISOString(), req.rev, req.repoFilters]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { req: { ...req, series: [], languages: false }, members: [] }));
    g.members.push({ def, first: g.req.series.length, count: req.series.length });
    g.req.series.push(...req.series);
    if (req.languages) {
      g.req.languages = true;
      g.req.languagesMaxFileSize = def.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
    }
  }
  const results: { def: InsightDefinition; series: SeriesResult[]; languages?: LanguagesPoint[] }[] = [];
  let last: ComputeResult | undefined;
  const stats = { repos: 0, commitsSampled: 0, blobsRead: 0, blobsFromCache: 0, blobsRuledOut: 0, blobsCountedByGit: 0, bytesRead: 0, elapsedMs: 0 };
  for (const g of groups.values()) {
    const r = await compute(g.req, p, io, signal);
    last = r;
    code = Math.max(code, reportRepos(r, { ...p, options: { ...p.options, stats: false } }, io));
    for (const s of r.series) {
      if (!s.error) continue;
      io.err(`code-insights: ${s.label}: ${s.error}\n`);
      code = 1;
    }
    for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] = k === 'repos' ? Math.max(stats.repos, r.stats.repos) : stats[k] + r.stats[k];
    // Series ids are hashes of their definitions (capture series: plus the captured value).
    for (const m of g.members) {
      if (m.def.kind === 'languages') results.push({ def: m.def, series: [], languages: r.languages });
      else {
        const specs = g.req.series.slice(m.first, m.first + m.count);
        // A capture series, or a name a command printed, is its spec's id with that value.
        const series = r.series.filter((s) => specs.some((sp) => s.id === (s.capture !== undefined ? seriesId(sp, s.capture) : seriesId(sp))));
        results.push({ def: m.def, series });
      }
    }
  }
  if (external.length > 0) {
    const cache = cacheOption(p);
    const series = await readExternalSeries(external, cache === null ? undefined : (cache ?? defaultCacheFile()), o.end !== undefined ? parseDate(String(o.end), '--end') : undefined);
    external.forEach((def, i) => results.push({ def, series: [series[i]] }));
  }
  if (p.options.stats) io.err(statsLine(stats));
  if (format === 'json') {
    io.out(JSON.stringify({ insights: results.map((x) => ({ id: x.def.id, title: x.def.title, kind: x.def.kind, series: x.series, ...(x.languages ? { languages: x.languages } : {}) })), repos: last?.repos ?? [], stats }, null, 2) + '\n');
  } else if (format === 'csv') {
    io.out(seriesCsv(results.flatMap((x) => x.series)));
  } else {
    for (const x of results) {
      if (x.languages) io.out(languagesTable(x.languages, x.def.title) + '\n');
      else io.out(seriesTable(x.series, x.def.unit ? `${x.def.title} (${x.def.unit})` : x.def.title) + '\n');
    }
  }
  return code;
}
