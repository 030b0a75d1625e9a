// Help text for `code-insights --help` and `code-insights COMMAND --help`.
import { CHECK_HELP } from './check';
import { RECORD_HELP } from './record';
import { ALLOW_COMMANDS_HELP } from './commandTrust';
import { COUNT_MODES, DEFAULT_CAPTURE_LIMIT, DEFAULT_COMMAND_TIMEOUT, DEFAULT_MAX_FILE_SIZE, MAX_COMMAND_TIMEOUT, OUTPUT_FORMATS, STEPS, STRUCTURAL_LANGUAGES } from '../../protocol/insights';

const SHARED = `
Repositories and history:
  PATH...                  working trees, bare repositories, or folders searched for them (default: .)
  --step ${STEPS.join('|')}   bucket size (calendar-aligned, UTC)
  --points N               number of points: N-1 boundaries before --end, plus --end itself
  --end ISO-DATE           the last point (default: now)
  --rev REV                sample REV instead of the default branch (origin/HEAD, else HEAD)
  --repo REGEX             only repositories whose identity or path matches (repeatable)
  --submodules             also look inside submodules

Output and cache:
  --format ${OUTPUT_FORMATS.join('|')}  default table (with a sparkline per series)
  --cache FILE             cache file (default: ~/.cache/code-insights/cache.sqlite)
  --no-cache               neither read nor write a cache
  --stats                  print repos, commits, blobs read and time to stderr
`;

const SERIES = `Usage: code-insights series [PATH...] -q REGEX [-q REGEX ...] [options]
       code-insights series [PATH...] -q PATTERN [-q PATTERN ...] --structural LANG [options]
       code-insights series [PATH...] --command CMD [--command CMD ...] [--inputs GLOB ...] [options]

Counts a query at the commit of every point of the default branch's history.

Queries:
  -q, --query REGEX        a JavaScript regular expression, applied to each line (repeatable)
  --label TEXT             a label for the query in the same position (repeatable)
  --literal                queries are plain text, not regular expressions
  -i, --ignore-case        match regardless of case
  --count ${COUNT_MODES.join('|')}   what to count (default matches)
  --include GLOB           only files matching (repeatable; a glob without "/" matches the file name)
  --exclude GLOB           skip files matching (repeatable)
  --max-file-size BYTES    skip larger files (default ${DEFAULT_MAX_FILE_SIZE}; 0 = no limit)

Structural queries (ast-grep patterns, matched on the syntax tree: comments and strings never match):
  --structural LANG        every -q is an ast-grep pattern in LANG, counted in LANG's files only
                           (by extension, as ast-grep decides); LANG: ${STRUCTURAL_LANGUAGES.join(', ')}
                           $A matches one node, $$$ any number; --count lines counts lines where a match starts

Command series (a shell command run at each sampled commit; it prints a number, or a JSON object
of named numbers that each become a series):
  --command CMD            run by /bin/sh -c in a temporary copy of the commit's tree (no .git;
                           HOME is a temporary folder; tokens, keys and passwords are removed
                           from the environment); repeatable, --label names each
  --inputs GLOB            the files the command reads (repeatable): only they are copied, and the
                           command reruns only when one of them changes
  --checkout               with --inputs: copy the whole tree anyway (the value still depends on the inputs only)
  --timeout SECONDS        per run (default ${DEFAULT_COMMAND_TIMEOUT}, at most ${MAX_COMMAND_TIMEOUT}); then its processes are killed
                           and the point is missing, with the reason on stderr
${SHARED}
Examples:
  code-insights series . -q 'TODO' -q 'FIXME' --step month --points 12
  code-insights series . -q 'console.log($$$)' --structural typescript --step week --points 52
  code-insights series . --command 'wc -c < dist/app.js' --inputs dist/app.js --step month --points 12
`;

const CAPTURE = `Usage: code-insights capture [PATH...] -q REGEX-WITH-GROUP [--limit N] [options]

One series per distinct value of the query's first capture group, sorted by the latest value.

  --limit N                how many values become series (default ${DEFAULT_CAPTURE_LIMIT})
  (every option of "series")
${SHARED}
Example:
  code-insights capture . -q '"react": "\\^?(\\d+)' --step month --points 12
`;

const LANGUAGES = `Usage: code-insights languages [PATH...] [--at ISO-DATE | --step STEP --points N] [options]

Lines per language (physical lines; binary, vendored and oversized files skipped).

  --at ISO-DATE            at the commit of that time (default: now)
  --max-file-size BYTES    skip larger files (default ${DEFAULT_MAX_FILE_SIZE}; 0 = no limit)
${SHARED}`;

const RUN = `Usage: code-insights run [PATH...] [--config .vscode/insights.json] [options]

Computes every insight of a definitions file. Without one, shows the default insights:
TODO/FIXME/HACK counts and lines per language, monthly over a year.

  --config FILE            the definitions file (default: .vscode/insights.json if present)
${ALLOW_COMMANDS_HELP}
${SHARED}`;

export const HELP = `code-insights: time series of code metrics from git history

Usage: code-insights COMMAND [options]

Commands:
  series      count queries over history          code-insights series . -q TODO
              or ast-grep patterns                code-insights series . -q 'foo($A)' --structural ts
              or a command's output               code-insights series . --command 'wc -l < go.sum' --inputs go.sum
  capture     one series per captured value       code-insights capture . -q 'lodash@(\\d+)'
  languages   lines per language, now or over time
  run         every insight of .vscode/insights.json (or the defaults)
  check       goals of .vscode/insights.json at HEAD against the base; exit 1 when one is broken
  record      a value from CI for an external insight   code-insights record --series coverage --value 84.7
  push        send computed points to an org server
  org         run or administer the org service

Run "code-insights COMMAND --help" for a command's options.
`;

export const COMMAND_HELP: Record<string, string> = { series: SERIES, capture: CAPTURE, languages: LANGUAGES, run: RUN, check: CHECK_HELP, record: RECORD_HELP };
