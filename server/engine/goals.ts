// Goals on series: reading them from the definitions (with a located problem for each mistake,
// as every other field), the goal of one series (insight ▸ query ▸ captured value, field by
// field), and the verdict of a head value against its goal and the base's value.
import { findNodeAtLocation, type Node } from 'jsonc-parser/lib/esm/main.js';
import { GOAL_KEYS, type GoalDefinition, type GoalVerdict, type InsightDefinition, type InsightKind } from '../../protocol/insights';

type Path = (string | number)[];
type Add = (node: Node, path: Path, code: string, message: string, severity?: 'error' | 'warning') => void;

const validDate = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '' && !Number.isNaN(new Date(v).getTime());

/** Reads one goal object; undefined (and a problem) when it is not one. */
export function readGoal(node: Node, path: Path, name: string, add: Add): GoalDefinition | undefined {
  if (node.type !== 'object' || !node.children?.length) {
    add(node, path, 'DEF_BAD_GOAL', `${name}: a goal is an object with any of "max", "min", "target" ({"value", "date"}) and "ratchet"`);
    return undefined;
  }
  let ok = true;
  const bad = (n: Node, key: string, what: string) => {
    add(n, [...path, key], 'DEF_BAD_GOAL', `${name}: goal "${key}" must be ${what}`);
    ok = false;
  };
  const goal: GoalDefinition = {};
  for (const prop of node.children) {
    const key = prop.children?.[0]?.value as string;
    const v = prop.children?.[1];
    if (!(GOAL_KEYS as readonly string[]).includes(key) || !v) {
      add(prop.children![0]!, [...path, key], 'DEF_UNKNOWN_PROPERTY', `${name}: unknown goal property "${key}" (expected ${GOAL_KEYS.join(', ')})`, 'warning');
    } else if (key === 'max' || key === 'min') {
      if (v.type !== 'number' || !Number.isFinite(v.value)) bad(v, key, 'a number');
      else goal[key] = v.value as number;
    } else if (key === 'ratchet') {
      if (v.type !== 'boolean') bad(v, key, 'true or false');
      else goal.ratchet = v.value as boolean;
    } else {
      const value = findNodeAtLocation(v, ['value']);
      const date = findNodeAtLocation(v, ['date']);
      const start = findNodeAtLocation(v, ['start']);
      const extra = v.type === 'object' ? (v.children ?? []).map((c) => c.children?.[0]?.value as string).find((k) => !['value', 'date', 'start'].includes(k)) : undefined;
      if (v.type !== 'object' || value?.type !== 'number' || !Number.isFinite(value.value) || !validDate(date?.value) || (start && !validDate(start.value)) || extra !== undefined) {
        bad(v, key, '{"value": number, "date": "2027-03-31"} with an optional "start" date (ISO dates)');
      } else if (start && new Date(start.value as string) >= new Date(date!.value as string)) {
        bad(start, key, 'a burn-down whose "start" comes before its "date"');
      } else goal.target = { value: value.value as number, date: date!.value as string, ...(start ? { start: start.value as string } : {}) };
    }
  }
  if (ok && goal.max !== undefined && goal.min !== undefined && goal.min > goal.max) {
    add(node, path, 'DEF_BAD_GOAL', `${name}: goal "min" (${goal.min}) is above "max" (${goal.max}); no value could meet it`);
    ok = false;
  }
  return ok ? goal : undefined;
}

/** Reads an insight's `goal` and `captureGoals` into `value`. */
export function readInsightGoals(node: Node, path: Path, name: string, kind: InsightKind, add: Add, value: Record<string, unknown>): void {
  const goalNode = findNodeAtLocation(node, ['goal']);
  const captureNode = findNodeAtLocation(node, ['captureGoals']);
  if (kind === 'languages' && (goalNode || captureNode)) {
    add((goalNode ?? captureNode)!, [...path, goalNode ? 'goal' : 'captureGoals'], 'DEF_BAD_GOAL', `${name}: a languages insight has no series a goal could apply to`);
    return;
  }
  if (goalNode) {
    const g = readGoal(goalNode, [...path, 'goal'], name, add);
    if (g) value.goal = g;
  }
  if (!captureNode) return;
  if (kind !== 'capture' && kind !== 'command') {
    add(captureNode, [...path, 'captureGoals'], 'DEF_BAD_GOAL', `${name}: "captureGoals" sets a goal per captured value (or per name a command prints); it needs "kind": "capture" or "command"`);
  } else if (captureNode.type !== 'object') {
    add(captureNode, [...path, 'captureGoals'], 'DEF_BAD_GOAL', `${name}: "captureGoals" must be an object: {"captured value": {"max": 0}}`);
  } else {
    const out: Record<string, GoalDefinition> = {};
    for (const prop of captureNode.children ?? []) {
      const key = prop.children?.[0]?.value as string;
      const g = prop.children?.[1] && readGoal(prop.children[1], [...path, 'captureGoals', key], `${name}: captured value ${JSON.stringify(key)}`, add);
      if (g) out[key] = g;
    }
    value.captureGoals = out;
  }
}

/** True when the insight sets a goal anywhere. */
export function hasGoals(def: InsightDefinition): boolean {
  return !!def.goal || !!def.captureGoals || (def.queries ?? []).some((q) => q.goal);
}

/** The goal of query `queryIndex`'s series (and captured value): the most specific field wins. */
export function goalOf(def: InsightDefinition, queryIndex: number, capture?: string): GoalDefinition | undefined {
  const parts = [def.goal, def.queries?.[queryIndex]?.goal, capture !== undefined ? def.captureGoals?.[capture] : undefined].filter((g) => g !== undefined);
  return parts.length ? Object.assign({}, ...parts) as GoalDefinition : undefined;
}

export interface GoalValues {
  head: number;
  /** The base revision's value; absent when base and head are one commit. */
  base?: number;
  /** The value at the target's `start` date, when there is one. */
  start?: number;
}

export interface GoalEvaluation {
  verdict: GoalVerdict;
  reasons: string[];
  /** The broken parts want the value lower (true) or higher (false): which matches to show. */
  tooHigh: boolean;
}

const day = (iso: string) => new Date(iso).toISOString().slice(0, 10);
const round = (n: number) => Math.round(n * 100) / 100;

/** The verdict of `v.head` against `goal`; a target off track before its date only warns. */
export function evaluateGoal(goal: GoalDefinition, v: GoalValues, now: Date): GoalEvaluation {
  const broken: string[] = [];
  const warn: string[] = [];
  let tooHigh = false;
  if (goal.max !== undefined && v.head > goal.max) {
    broken.push(`${v.head} is above the maximum ${goal.max}`);
    tooHigh = true;
  }
  if (goal.min !== undefined && v.head < goal.min) broken.push(`${v.head} is below the minimum ${goal.min}`);
  if (goal.ratchet && v.base !== undefined && v.head > v.base) {
    broken.push(`rose from ${v.base} to ${v.head} (ratchet: it may not rise above the base)`);
    tooHigh = true;
  }
  const t = goal.target;
  if (t) {
    const from = v.start ?? v.base ?? v.head;
    const down = t.value <= from;
    const reached = down ? v.head <= t.value : v.head >= t.value;
    const due = new Date(t.date).getTime();
    if (!reached && now.getTime() >= due) {
      broken.push(`missed the target ${t.value} by ${day(t.date)} (now ${v.head})`);
      tooHigh ||= down;
    } else if (!reached && t.start && v.start !== undefined) {
      const s = new Date(t.start).getTime();
      const elapsed = Math.min(1, Math.max(0, (now.getTime() - s) / (due - s)));
      const expected = v.start + (t.value - v.start) * elapsed;
      if (down ? v.head > expected : v.head < expected) warn.push(`behind the burn-down to ${t.value} by ${day(t.date)}: ${v.head} now, ${round(expected)} expected`);
    }
  }
  if (broken.length) return { verdict: 'broken', reasons: broken, tooHigh };
  return { verdict: warn.length ? 'warn' : 'ok', reasons: warn, tooHigh };
}

/** A goal in a few words, for tables: `≤ 10, ratchet, 0 by 2027-03-31`. */
export function describeGoal(goal: GoalDefinition): string {
  const parts: string[] = [];
  if (goal.max !== undefined) parts.push(`<= ${goal.max}`);
  if (goal.min !== undefined) parts.push(`>= ${goal.min}`);
  if (goal.ratchet) parts.push('ratchet');
  if (goal.target) parts.push(`${goal.target.value} by ${day(goal.target.date)}`);
  return parts.join(', ');
}
