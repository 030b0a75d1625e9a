// Reads `.vscode/insights.json` (JSON with comments) into insight definitions, and locates every
// problem at its exact place in the text so the insights server can publish it as a diagnostic
// and the CLI can print it with a line and column.
import { readFile } from 'node:fs/promises';
// The ESM build: esbuild cannot follow the UMD build's dynamic requires ("Cannot find module './impl/format'").
import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser/lib/esm/main.js';
import { load as loadYaml } from 'js-yaml';
import {
  COUNT_MODES,
  DEFAULT_CAPTURE_LIMIT,
  DEFAULT_COMMAND_TIMEOUT,
  MAX_COMMAND_TIMEOUT,
  DEFAULT_MAX_FILE_SIZE,
  DEFAULT_POINTS,
  DEFAULT_STEP,
  EXTERNAL_LIMITS,
  INSIGHT_KINDS,
  UNIT_PATTERN,
  STEPS,
  STRUCTURAL_LANGUAGES,
  type StructuralLanguage,
  type CountMode,
  type DashboardDefinition,
  type InsightDefinition,
  type InsightKind,
  type QueryDefinition,
} from '../../protocol/insights';
import { ORG_LIMITS, storableTextProblem } from '../../protocol/org';
import type { ComputeRequest, SeriesSpec } from './api';
import { captureGroupCount, compileRegExp } from './countMatches';
import { InsightsError } from './errors';
import { readGoal, readInsightGoals } from './goals';
import { canonicalRule, patternProblem, structuralLanguage, unknownLanguageMessage } from './structuralMatcher';

export type JsonPath = (string | number)[];

export interface DefinitionProblem {
  message: string;
  /** Stable code, e.g. `DEF_BAD_REGEX`. */
  code: string;
  /** Where in the document, as a JSON path (`["insights", 0, "queries", 1, "query"]`). */
  path: JsonPath;
  /** Character offset and length in the text (the value, or the property name for unknown keys). */
  offset: number;
  length: number;
  severity: 'error' | 'warning';
}

export interface ParsedDefinitions {
  /** The insights without errors, in file order; an insight with an error is left out. */
  insights: InsightDefinition[];
  dashboards: DashboardDefinition[];
  problems: DefinitionProblem[];
  /** Where each insight object (valid or not) sits in the text, by id, for "Edit Definition". */
  locations: Record<string, { offset: number; length: number; index: number }>;
}

export const DEFAULTS = {
  kind: 'series' as InsightKind,
  count: 'matches' as CountMode,
  step: DEFAULT_STEP,
  points: DEFAULT_POINTS,
  maxFileSize: DEFAULT_MAX_FILE_SIZE,
  captureLimit: DEFAULT_CAPTURE_LIMIT,
  literal: false,
  ignoreCase: false,
};
export const MAX_POINTS = 10000;
const STRUCTURAL_LANGUAGE_LIST = STRUCTURAL_LANGUAGES.join(', ');
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const INSIGHT_KEYS = new Set([
  'id', 'title', 'kind', 'queries', 'literal', 'ignoreCase', 'count', 'include', 'exclude',
  'maxFileSize', 'step', 'points', 'end', 'rev', 'limit', 'repos', 'goal', 'captureGoals', 'language', 'unit', 'decimals',
  'command', 'inputs', 'timeout', 'checkout',
]);
/** What an external insight (values recorded by CI) takes beyond id, title and kind. */
const EXTERNAL_KEYS = new Set(['id', 'title', 'kind', 'unit', 'decimals', 'step', 'points', 'end', 'goal']);
const COMMAND_KEYS = ['command', 'inputs', 'timeout', 'checkout'] as const;

const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'a property name in double quotes is expected',
  ValueExpected: 'a value is expected',
  ColonExpected: 'a colon is expected',
  CommaExpected: 'a comma is expected',
  CloseBraceExpected: 'a closing brace } is expected',
  CloseBracketExpected: 'a closing bracket ] is expected',
  EndOfFileExpected: 'nothing may follow the top-level value',
  InvalidCommentToken: 'invalid comment',
  UnexpectedEndOfComment: 'the comment is not closed',
  UnexpectedEndOfString: 'the string is not closed',
  UnexpectedEndOfNumber: 'the number is not complete',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string',
};

/** Parses the text of a definitions file. Never throws: every problem is returned with its place. */
export function parseDefinitions(text: string): ParsedDefinitions {
  const out: ParsedDefinitions = { insights: [], dashboards: [], problems: [], locations: {} };
  const syntax: ParseError[] = [];
  const root = parseTree(text, syntax, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  for (const e of syntax) {
    const name = printParseErrorCode(e.error);
    out.problems.push({
      message: `JSON syntax error: ${SYNTAX_MESSAGES[name] ?? name}`,
      code: 'DEF_SYNTAX',
      path: [],
      offset: e.offset,
      length: Math.max(1, e.length),
      severity: 'error',
    });
  }
  // After a syntax error the tree is only a guess; validating it would pile up misleading errors.
  if (syntax.length > 0) return out;
  const p = new Problems(out.problems, text);
  if (!root) {
    p.add({ offset: 0, length: 0 } as Node, [], 'DEF_SCHEMA', 'the file is empty: write {"insights": [...]}');
    return out;
  }
  if (root.type !== 'object') {
    p.add(root, [], 'DEF_SCHEMA', 'the file must hold an object: {"insights": [...]}');
    return out;
  }
  for (const prop of root.children ?? []) {
    const key = prop.children?.[0]?.value as string;
    if (key !== '$schema' && key !== 'insights' && key !== 'dashboards') {
      p.add(prop.children![0]!, [key], 'DEF_UNKNOWN_PROPERTY', `unknown property "${key}" (expected "insights", "dashboards" or "$schema")`, 'warning');
    }
  }
  const list = findNodeAtLocation(root, ['insights']);
  if (!list) {
    p.add(root, [], 'DEF_SCHEMA', 'the property "insights" (an array of insights) is missing');
  } else if (list.type !== 'array') {
    p.add(list, ['insights'], 'DEF_SCHEMA', '"insights" must be an array');
  } else {
    const seen = new Map<string, number>();
    (list.children ?? []).forEach((node, i) => {
      const def = readInsight(node, ['insights', i], p);
      if (typeof def.id === 'string' && def.id) {
        const idNode = findNodeAtLocation(node, ['id'])!;
        if (seen.has(def.id)) {
          p.add(idNode, ['insights', i, 'id'], 'DEF_DUPLICATE_ID', `duplicate id "${def.id}": insight ${seen.get(def.id)! + 1} already uses it; ids must be unique in the file`);
          def.ok = false;
        } else {
          seen.set(def.id, i);
          out.locations[def.id] = { offset: node.offset, length: node.length, index: i };
        }
      }
      if (def.ok) out.insights.push(def.value as InsightDefinition);
    });
  }
  const dashboards = findNodeAtLocation(root, ['dashboards']);
  if (dashboards) out.dashboards = readDashboards(dashboards, p);
  return out;
}

/** Validates insights that come from settings (already parsed values): problems carry paths, not useful offsets. */
export function parseDefinitionValues(insights: unknown): ParsedDefinitions {
  return parseDefinitions(JSON.stringify({ insights: insights ?? [] }));
}

export async function loadDefinitionsFile(path: string): Promise<ParsedDefinitions & { path: string; text: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InsightsError(
      code === 'ENOENT' ? 'DEF_NOT_FOUND' : 'DEF_UNREADABLE',
      code === 'ENOENT' ? `no definitions file at ${path}` : `cannot read ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { ...parseDefinitions(text), path, text };
}

/** 1-based line and column of an offset, for messages printed on a terminal. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** The engine's series specs for one insight, with every default filled in. Languages insights have none. */
export function toSeriesSpecs(def: InsightDefinition): SeriesSpec[] {
  // Languages are counted per language; external values are recorded, not computed.
  if (def.kind === 'languages' || def.kind === 'external') return [];
  if (def.kind === 'command') {
    const inputs = def.inputs ?? [];
    return [{
      label: def.title,
      query: def.command ?? '',
      literal: false,
      ignoreCase: false,
      count: DEFAULTS.count,
      include: [],
      exclude: [],
      maxFileSize: 0,
      command: { inputs, checkout: inputs.length === 0 || def.checkout === true, timeoutMs: Math.round((def.timeout ?? DEFAULT_COMMAND_TIMEOUT) * 1000) },
    }];
  }
  const structural = def.kind === 'structural' ? structuralLanguage(def.language ?? '') : undefined;
  return (def.queries ?? []).map((q) => ({
    label: q.label ?? q.query,
    query: q.query,
    literal: structural ? false : (def.literal ?? DEFAULTS.literal),
    ignoreCase: structural ? false : (def.ignoreCase ?? DEFAULTS.ignoreCase),
    count: def.count ?? DEFAULTS.count,
    include: def.include ?? [],
    exclude: def.exclude ?? [],
    maxFileSize: def.maxFileSize ?? DEFAULTS.maxFileSize,
    ...(def.kind === 'capture' ? { capture: { limit: def.limit ?? DEFAULTS.captureLimit } } : {}),
    ...(structural ? { structural: { language: structural, ...(q.rule ? { rule: true } : {}) } } : {}),
  }));
}

/** The engine request for one insight over these repository paths. */
export function toComputeRequest(def: InsightDefinition, paths: string[]): ComputeRequest {
  return {
    paths,
    series: toSeriesSpecs(def),
    languages: def.kind === 'languages',
    step: def.step ?? DEFAULTS.step,
    points: def.points ?? DEFAULTS.points,
    ...(def.end ? { end: new Date(def.end) } : {}),
    ...(def.rev ? { rev: def.rev } : {}),
    ...(def.repos?.length ? { repoFilters: def.repos } : {}),
  };
}

// ---------------------------------------------------------------------------------------------

class Problems {
  constructor(
    readonly list: DefinitionProblem[],
    readonly text: string,
  ) {}
  add(node: Node, path: JsonPath, code: string, message: string, severity: 'error' | 'warning' = 'error'): void {
    this.list.push({ message, code, path, offset: node.offset, length: node.length, severity });
  }
}

function where(path: JsonPath, id: unknown): string {
  return typeof id === 'string' && id ? `insight "${id}"` : `insight ${Number(path[1]) + 1}`;
}

function readInsight(node: Node, path: JsonPath, p: Problems): { ok: boolean; id?: string; value: Partial<InsightDefinition> } {
  const before = p.list.filter((x) => x.severity === 'error').length;
  const value: Record<string, unknown> = {};
  if (node.type !== 'object') {
    p.add(node, path, 'DEF_SCHEMA', `insight ${Number(path[1]) + 1} must be an object with "id", "title" and "queries"`);
    return { ok: false, value };
  }
  const get = (key: string) => findNodeAtLocation(node, [key]);
  const idNode = get('id');
  const id = idNode?.type === 'string' ? (idNode.value as string) : undefined;
  const name = where(path, id);
  for (const prop of node.children ?? []) {
    const key = prop.children?.[0]?.value as string;
    if (!INSIGHT_KEYS.has(key)) {
      p.add(prop.children![0]!, [...path, key], 'DEF_UNKNOWN_PROPERTY', `${name}: unknown property "${key}"`, 'warning');
    }
  }

  if (!idNode) p.add(node, path, 'DEF_SCHEMA', `${name}: "id" is missing (a short unique key such as "todo-count")`);
  else if (idNode.type !== 'string' || !ID_PATTERN.test(idNode.value as string)) {
    p.add(idNode, [...path, 'id'], 'DEF_SCHEMA', `${name}: "id" must be a string of letters, digits, ".", "_" or "-", starting with a letter or digit`);
  } else value.id = id;

  const titleNode = get('title');
  if (!titleNode) p.add(node, path, 'DEF_SCHEMA', `${name}: "title" is missing`);
  else if (titleNode.type !== 'string' || !(titleNode.value as string).trim()) {
    p.add(titleNode, [...path, 'title'], 'DEF_SCHEMA', `${name}: "title" must be a non-empty string`);
  } else value.title = titleNode.value;

  let kind: InsightKind = DEFAULTS.kind;
  const kindNode = get('kind');
  if (kindNode) {
    if (kindNode.type !== 'string' || !INSIGHT_KINDS.includes(kindNode.value)) {
      p.add(kindNode, [...path, 'kind'], 'DEF_BAD_KIND', `${name}: "kind" must be one of ${INSIGHT_KINDS.join(', ')}`);
    } else kind = kindNode.value as InsightKind;
  }
  value.kind = kind;

  // Structural insights: ast-grep patterns in one language.
  let language: StructuralLanguage | undefined;
  const languageNode = get('language');
  if (kind === 'structural') {
    if (!languageNode) {
      p.add(node, path, 'DEF_BAD_LANGUAGE', `${name}: a structural insight needs "language" (one of ${STRUCTURAL_LANGUAGE_LIST})`);
    } else if (languageNode.type !== 'string' || !structuralLanguage(languageNode.value as string)) {
      p.add(languageNode, [...path, 'language'], 'DEF_BAD_LANGUAGE', `${name}: ${unknownLanguageMessage(String(languageNode.value))}`);
    } else {
      language = structuralLanguage(languageNode.value as string)!;
      value.language = language;
    }
    for (const key of ['literal', 'ignoreCase', 'limit', 'captureGoals'] as const) {
      const n = get(key);
      if (n) p.add(n, [...path, key], 'DEF_UNUSED_PROPERTY', `${name}: a structural insight matches ast-grep patterns and ignores "${key}"`, 'warning');
    }
  } else if (languageNode) {
    p.add(languageNode, [...path, 'language'], 'DEF_UNUSED_PROPERTY', `${name}: "language" applies to structural insights only ("kind": "structural")`, 'warning');
  }

  if (kind === 'external') readExternal(node, path, name, p, value);
  else {
    for (const key of ['unit', 'decimals'] as const) {
      const n = get(key);
      if (n) p.add(n, [...path, key], 'DEF_UNUSED_PROPERTY', `${name}: "${key}" applies to external insights only ("kind": "external"): computed counts have no unit`, 'warning');
    }
  }
  if (kind === 'command') readCommand(node, path, name, p, value);
  else if (kind !== 'external') {
    for (const key of COMMAND_KEYS) {
      const n = get(key);
      if (n) p.add(n, [...path, key], 'DEF_UNUSED_PROPERTY', `${name}: "${key}" applies to command insights only ("kind": "command")`, 'warning');
    }
  }

  const bool = (key: 'literal' | 'ignoreCase') => {
    const n = get(key);
    if (!n) return;
    if (n.type !== 'boolean') p.add(n, [...path, key], 'DEF_SCHEMA', `${name}: "${key}" must be true or false`);
    else value[key] = n.value;
  };
  bool('literal');
  bool('ignoreCase');

  const countNode = get('count');
  if (countNode) {
    if (countNode.type !== 'string' || !COUNT_MODES.includes(countNode.value)) {
      p.add(countNode, [...path, 'count'], 'DEF_BAD_COUNT', `${name}: "count" must be one of ${COUNT_MODES.join(', ')}`);
    } else value.count = countNode.value;
  }

  const stepNode = get('step');
  if (stepNode) {
    if (stepNode.type !== 'string' || !STEPS.includes(stepNode.value)) {
      p.add(stepNode, [...path, 'step'], 'DEF_BAD_STEP', `${name}: "step" must be one of ${STEPS.join(', ')}`);
    } else value.step = stepNode.value;
  }

  const int = (key: 'points' | 'maxFileSize' | 'limit', min: number, max: number, code: string, what: string) => {
    const n = get(key);
    if (!n) return;
    if (n.type !== 'number' || !Number.isInteger(n.value) || n.value < min || n.value > max) {
      p.add(n, [...path, key], code, `${name}: "${key}" must be ${what}`);
    } else value[key] = n.value;
  };
  int('points', 1, MAX_POINTS, 'DEF_BAD_POINTS', `a whole number from 1 to ${MAX_POINTS}`);
  int('maxFileSize', 0, Number.MAX_SAFE_INTEGER, 'DEF_BAD_SIZE', 'a whole number of bytes (0 means no limit)');
  int('limit', 1, 1000, 'DEF_BAD_LIMIT', 'a whole number from 1 to 1000');

  const endNode = get('end');
  if (endNode) {
    if (endNode.type !== 'string' || Number.isNaN(new Date(endNode.value as string).getTime())) {
      p.add(endNode, [...path, 'end'], 'DEF_BAD_DATE', `${name}: "end" must be an ISO date such as "2026-01-01" or "2026-01-01T12:00:00Z"`);
    } else value.end = endNode.value;
  }

  const revNode = get('rev');
  if (revNode) {
    // A revision starting with "-" would be read by git as an option.
    if (revNode.type !== 'string' || !(revNode.value as string).trim() || (revNode.value as string).startsWith('-')) {
      p.add(revNode, [...path, 'rev'], 'DEF_BAD_REV', `${name}: "rev" must be a branch, tag or commit name (not starting with "-")`);
    } else value.rev = revNode.value;
  }

  for (const key of ['include', 'exclude', 'repos'] as const) {
    const n = get(key);
    if (!n) continue;
    if (n.type !== 'array' || (n.children ?? []).some((c) => c.type !== 'string')) {
      p.add(n, [...path, key], 'DEF_SCHEMA', `${name}: "${key}" must be an array of strings`);
      continue;
    }
    const items = (n.children ?? []).map((c) => c.value as string);
    const unstorable = (n.children ?? []).findIndex((c) => storableTextProblem(c.value as string));
    if (unstorable >= 0) {
      const c = n.children![unstorable]!;
      p.add(c, [...path, key, unstorable], 'DEF_SCHEMA', `${name}: "${key}" entry ${unstorable + 1} ${storableTextProblem(c.value as string)}`);
      continue;
    }
    if (key !== 'repos' && (items.length > ORG_LIMITS.maxGlobs || items.some((g) => g.length === 0 || g.length > ORG_LIMITS.maxGlobLength))) {
      p.add(n, [...path, key], 'DEF_SCHEMA', `${name}: "${key}" takes at most ${ORG_LIMITS.maxGlobs} non-empty globs of at most ${ORG_LIMITS.maxGlobLength} characters`);
      continue;
    }
    if (key === 'repos') {
      (n.children ?? []).forEach((c, j) => {
        try {
          new RegExp(c.value as string);
        } catch (err) {
          p.add(c, [...path, key, j], 'DEF_BAD_REGEX', `${name}: repository filter ${j + 1} (${JSON.stringify(c.value)}) is not a valid regular expression: ${regexReason(err)}`);
        }
      });
    }
    value[key] = items;
  }

  readInsightGoals(node, path, name, kind, p.add.bind(p), value);

  const queriesNode = get('queries');
  if (kind === 'external') {
    // Its values come from `code-insights record`; unused keys were reported by readExternal.
  } else if (kind === 'command') {
    if (queriesNode) p.add(queriesNode, [...path, 'queries'], 'DEF_UNUSED_PROPERTY', `${name}: a command insight's values come from its "command" and it takes no "queries"`, 'warning');
  } else if (kind === 'languages') {
    if (queriesNode) p.add(queriesNode, [...path, 'queries'], 'DEF_SCHEMA', `${name}: a languages insight counts lines per language and takes no "queries"`, 'warning');
  } else if (!queriesNode) {
    p.add(node, path, 'DEF_SCHEMA', `${name}: "queries" is missing (for example [{"query": "TODO"}])`);
  } else if (queriesNode.type !== 'array' || (queriesNode.children ?? []).length === 0) {
    p.add(queriesNode, [...path, 'queries'], 'DEF_SCHEMA', `${name}: "queries" must be a non-empty array`);
  } else {
    const literal = value.literal === true;
    const queries: QueryDefinition[] = [];
    (queriesNode.children ?? []).forEach((qn, j) => {
      const qpath = [...path, 'queries', j];
      let qNode: Node | undefined = qn;
      let label: string | undefined;
      let goal: QueryDefinition['goal'];
      if (qn.type === 'object') {
        const goalNode = findNodeAtLocation(qn, ['goal']);
        if (goalNode) goal = readGoal(goalNode, [...qpath, 'goal'], `${name}: query ${j + 1}`, p.add.bind(p));
        const labelNode = findNodeAtLocation(qn, ['label']);
        if (labelNode && labelNode.type !== 'string') p.add(labelNode, [...qpath, 'label'], 'DEF_SCHEMA', `${name}: query ${j + 1}: "label" must be a string`);
        else if (labelNode) label = labelNode.value as string;
        const patternNode = kind === 'structural' ? findNodeAtLocation(qn, ['pattern']) : undefined;
        const ruleNode = kind === 'structural' ? findNodeAtLocation(qn, ['rule']) : undefined;
        if (ruleNode) {
          // An ast-grep rule, as YAML text (a rule file's content) or as an object.
          const rule = readRule(ruleNode, [...qpath, 'rule'], `${name}: query ${j + 1}`, language, p);
          if (rule) queries.push({ query: rule.text, label: label ?? rule.label ?? rule.text, rule: true, ...(goal ? { goal } : {}) });
          for (const prop of qn.children ?? []) {
            const key = prop.children?.[0]?.value as string;
            if (key !== 'rule' && key !== 'label' && key !== 'goal') p.add(prop.children![0]!, [...qpath, key], 'DEF_UNKNOWN_PROPERTY', `${name}: query ${j + 1}: "${key}" does not go with "rule"`, 'warning');
          }
          return;
        }
        qNode = findNodeAtLocation(qn, ['query']) ?? patternNode;
        for (const prop of qn.children ?? []) {
          const key = prop.children?.[0]?.value as string;
          if (key !== 'query' && key !== 'label' && key !== 'goal' && !((key === 'pattern' || key === 'rule') && kind === 'structural')) p.add(prop.children![0]!, [...qpath, key], 'DEF_UNKNOWN_PROPERTY', `${name}: query ${j + 1}: unknown property "${key}"`, 'warning');
        }
        if (!qNode) {
          p.add(qn, qpath, 'DEF_SCHEMA', `${name}: query ${j + 1}: "${kind === 'structural' ? 'pattern' : 'query'}" is missing`);
          return;
        }
        qpath.push(qNode === patternNode ? 'pattern' : 'query');
      }
      if (qNode.type !== 'string' || (qNode.value as string) === '') {
        p.add(qNode, qpath, 'DEF_SCHEMA', `${name}: query ${j + 1} must be a non-empty string (or {"query": "...", "label": "..."})`);
        return;
      }
      const query = qNode.value as string;
      const shown = JSON.stringify(query);
      // The org service stores the query as text: refuse here what it would refuse at push.
      const unstorable = storableTextProblem(query) ?? (query.length > ORG_LIMITS.maxQueryLength ? `is ${query.length} characters; the limit is ${ORG_LIMITS.maxQueryLength}` : undefined);
      if (unstorable) {
        p.add(qNode, qpath, 'DEF_SCHEMA', `${name}: query ${j + 1} ${unstorable}`);
        return;
      }
      if (label !== undefined && storableTextProblem(label)) {
        p.add(qn, [...qpath.slice(0, -1), 'label'], 'DEF_SCHEMA', `${name}: query ${j + 1}: "label" ${storableTextProblem(label)}`);
        return;
      }
      if (kind === 'structural') {
        // Checked only once the language is known; an unknown language is reported on its own.
        const problem = language && patternProblem(language, query);
        if (problem) {
          p.add(qNode, qpath, 'DEF_BAD_PATTERN', `${name}: query ${j + 1}: ${problem}`);
          return;
        }
      } else if (!literal) {
        let re: RegExp;
        try {
          re = compileRegExp({ query, literal: false, ignoreCase: value.ignoreCase === true });
        } catch (err) {
          // The engine's message names the query and the position of the mistake; point there.
          const first = (err as Error).message.split('\n')[0]!;
          const pos = /at position (\d+)/.exec(first);
          const start = pos ? stringOffset(p.text, qNode, Number(pos[1])) : undefined;
          p.add(start !== undefined ? { offset: start, length: 1 } as Node : qNode, qpath, 'DEF_BAD_REGEX', `${name}: query ${j + 1}: ${first}`);
          return;
        }
        if (kind === 'capture' && captureGroupCount(re) === 0) {
          p.add(qNode, qpath, 'DEF_NO_CAPTURE_GROUP', `${name}: query ${j + 1} (${shown}) has no capture group; a capture insight needs one, e.g. "TODO\\\\((\\\\w+)\\\\)"`);
          return;
        }
      } else if (kind === 'capture') {
        p.add(qNode, qpath, 'DEF_NO_CAPTURE_GROUP', `${name}: a capture insight needs a regular expression with a group; it cannot be "literal"`);
        return;
      }
      queries.push({ query, ...(label !== undefined ? { label } : {}), ...(goal ? { goal } : {}) });
    });
    value.queries = queries;
  }

  const ok = p.list.filter((x) => x.severity === 'error').length === before;
  return { ok, id, value: value as Partial<InsightDefinition> };
}

/**
 * An external insight: one series whose values CI records (`code-insights record --series ID`).
 * It takes a unit, a number of decimals, the buckets and a goal; nothing about counting.
 */
function readExternal(node: Node, path: JsonPath, name: string, p: Problems, value: Record<string, unknown>): void {
  for (const prop of node.children ?? []) {
    const key = prop.children?.[0]?.value as string;
    if (INSIGHT_KEYS.has(key) && !EXTERNAL_KEYS.has(key)) {
      p.add(prop.children![0]!, [...path, key], 'DEF_UNUSED_PROPERTY', `${name}: an external insight holds values recorded by \`code-insights record\` and ignores "${key}"`, 'warning');
    }
  }
  const unit = findNodeAtLocation(node, ['unit']);
  if (unit) {
    if (unit.type !== 'string' || !UNIT_PATTERN.test(unit.value as string)) {
      p.add(unit, [...path, 'unit'], 'DEF_BAD_UNIT', `${name}: "unit" must be short text (1–${EXTERNAL_LIMITS.maxUnitLength} characters: letters, digits, %, /, °, µ, ".", "_", "-", inner spaces), e.g. "%", "s", "ms", "tests"`);
    } else value.unit = unit.value;
  }
  const decimals = findNodeAtLocation(node, ['decimals']);
  if (decimals) {
    if (decimals.type !== 'number' || !Number.isInteger(decimals.value) || decimals.value < 0 || decimals.value > EXTERNAL_LIMITS.maxDecimals) {
      p.add(decimals, [...path, 'decimals'], 'DEF_BAD_DECIMALS', `${name}: "decimals" must be a whole number from 0 to ${EXTERNAL_LIMITS.maxDecimals} (the fractional digits a value may have)`);
    } else value.decimals = decimals.value;
  }
}

/** A command insight's `command`, `inputs`, `timeout` and `checkout`, into `value`; the fields that do not apply are warned about. */
function readCommand(node: Node, path: JsonPath, name: string, p: Problems, value: Record<string, unknown>): void {
  const get = (key: string) => findNodeAtLocation(node, [key]);
  const cmd = get('command');
  if (!cmd) {
    p.add(node, path, 'DEF_BAD_COMMAND', `${name}: a command insight needs "command", a shell command that prints a number or a JSON object of numbers (e.g. "wc -l < package-lock.json")`);
  } else if (cmd.type !== 'string' || !(cmd.value as string).trim()) {
    p.add(cmd, [...path, 'command'], 'DEF_BAD_COMMAND', `${name}: "command" must be a non-empty string (run by /bin/sh -c)`);
  } else {
    const unstorable = storableTextProblem(cmd.value as string) ?? ((cmd.value as string).length > ORG_LIMITS.maxQueryLength ? `is ${(cmd.value as string).length} characters; the limit is ${ORG_LIMITS.maxQueryLength}` : undefined);
    if (unstorable) p.add(cmd, [...path, 'command'], 'DEF_BAD_COMMAND', `${name}: "command" ${unstorable}`);
    else value.command = cmd.value;
  }
  const inputs = get('inputs');
  if (inputs) {
    const items = inputs.type === 'array' ? (inputs.children ?? []) : [];
    if (inputs.type !== 'array' || items.some((c) => c.type !== 'string' || !(c.value as string) || (c.value as string).length > ORG_LIMITS.maxGlobLength) || items.length > ORG_LIMITS.maxGlobs) {
      p.add(inputs, [...path, 'inputs'], 'DEF_SCHEMA', `${name}: "inputs" must be an array of at most ${ORG_LIMITS.maxGlobs} non-empty path globs of at most ${ORG_LIMITS.maxGlobLength} characters (e.g. ["package-lock.json"])`);
    } else value.inputs = items.map((c) => c.value as string);
  }
  const timeout = get('timeout');
  if (timeout) {
    if (timeout.type !== 'number' || !(timeout.value > 0) || timeout.value > MAX_COMMAND_TIMEOUT) {
      p.add(timeout, [...path, 'timeout'], 'DEF_BAD_TIMEOUT', `${name}: "timeout" must be a number of seconds above 0 and at most ${MAX_COMMAND_TIMEOUT}`);
    } else value.timeout = timeout.value;
  }
  const checkout = get('checkout');
  if (checkout) {
    if (checkout.type !== 'boolean') p.add(checkout, [...path, 'checkout'], 'DEF_SCHEMA', `${name}: "checkout" must be true or false`);
    else if (!inputs) p.add(checkout, [...path, 'checkout'], 'DEF_UNUSED_PROPERTY', `${name}: "checkout" applies with "inputs"; without them the whole tree is copied anyway`, 'warning');
    else value.checkout = checkout.value;
  }
  for (const key of ['literal', 'ignoreCase', 'count', 'include', 'exclude', 'maxFileSize', 'limit'] as const) {
    const n = get(key);
    if (n) p.add(n, [...path, key], 'DEF_UNUSED_PROPERTY', `${name}: a command insight's value is what its command prints; "${key}" does not apply`, 'warning');
  }
}

/** An ast-grep rule of a structural query: its canonical text, or undefined with the problem reported at it. */
function readRule(node: Node, path: JsonPath, name: string, language: StructuralLanguage | undefined, p: Problems): { text: string; label?: string } | undefined {
  let config: unknown;
  if (node.type === 'string') {
    try {
      config = loadYaml(node.value as string);
    } catch (e) {
      const m = e as { reason?: string; mark?: { line: number; column: number }; message: string };
      const where = m.mark ? ` at line ${m.mark.line + 1}, column ${m.mark.column + 1} of the rule` : '';
      p.add(node, path, 'DEF_BAD_RULE', `${name}: the rule is not valid YAML${where}: ${m.reason ?? m.message.split('\n')[0]}`);
      return undefined;
    }
  } else if (node.type === 'object') {
    config = getNodeValue(node);
  } else {
    p.add(node, path, 'DEF_BAD_RULE', `${name}: "rule" must be an ast-grep rule, as YAML text or an object such as {"rule": {"pattern": "foo($A)"}}`);
    return undefined;
  }
  if (!language) return undefined; // the missing or unknown language is reported on its own
  const r = canonicalRule(config, language);
  if ('problem' in r) {
    p.add(node, path, 'DEF_BAD_RULE', `${name}: ${r.problem}`);
    return undefined;
  }
  const unstorable = storableTextProblem(r.text) ?? (r.text.length > ORG_LIMITS.maxQueryLength ? `is ${r.text.length} characters as JSON; the limit is ${ORG_LIMITS.maxQueryLength}` : undefined);
  if (unstorable) {
    p.add(node, path, 'DEF_BAD_RULE', `${name}: the rule ${unstorable}`);
    return undefined;
  }
  return r;
}

function readDashboards(node: Node, p: Problems): DashboardDefinition[] {
  if (node.type !== 'array') {
    p.add(node, ['dashboards'], 'DEF_SCHEMA', '"dashboards" must be an array of {"id", "title", "insights": [ids]}');
    return [];
  }
  const out: DashboardDefinition[] = [];
  (node.children ?? []).forEach((d, i) => {
    const path = ['dashboards', i];
    const id = d.type === 'object' ? findNodeAtLocation(d, ['id']) : undefined;
    const title = d.type === 'object' ? findNodeAtLocation(d, ['title']) : undefined;
    const ids = d.type === 'object' ? findNodeAtLocation(d, ['insights']) : undefined;
    if (!id || id.type !== 'string' || !title || title.type !== 'string' || !ids || ids.type !== 'array' || (ids.children ?? []).some((c) => c.type !== 'string')) {
      p.add(d, path, 'DEF_SCHEMA', `dashboard ${i + 1} must be {"id": string, "title": string, "insights": [insight ids]}`);
      return;
    }
    out.push({ id: id.value, title: title.value, insights: (ids.children ?? []).map((c) => c.value as string) });
  });
  return out;
}

/**
 * The offset in the file of character `index` of a JSON string's decoded value: escapes such as
 * \\ or \u00e9 take more than one character in the file.
 */
function stringOffset(text: string, node: Node, index: number): number | undefined {
  const raw = text.slice(node.offset, node.offset + node.length);
  let i = 1;
  for (let decoded = 0; decoded < index; decoded++) {
    if (i >= raw.length - 1) return undefined;
    i += raw[i] === '\\' ? (raw[i + 1] === 'u' ? 6 : 2) : 1;
  }
  return node.offset + i;
}

function regexReason(err: unknown): string {
  // V8 says "Invalid regular expression: /(a/: Unterminated group"; keep the part after the pattern.
  const msg = err instanceof Error ? err.message : String(err);
  const m = /^Invalid regular expression: \/.*\/[a-z]*: (.*)$/s.exec(msg);
  return m ? m[1]! : msg;
}
