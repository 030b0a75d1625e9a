// Ratchets as you type: for one file's text in the editor (saved or not), the lines that add
// matches of a ratchet series compared with the same file at the base commit, when the file's
// count has risen above the base's. A line counts as added when the base version of the file
// has fewer identical matching lines (moving a line adds nothing). Counting is the engine's
// (Matcher.countBlob per line, the guarded worker for patterns V8 cannot run in linear time).
import { dirname, relative, sep } from 'node:path';
import type { InsightDefinition } from '../../protocol/insights';
import { LineCounter } from '../engine/addedMatches';
import type { SeriesSpec } from '../engine/api';
import { BlobText, Matcher } from '../engine/countMatches';
import { isBinary } from '../engine/countLines';
import { toSeriesSpecs } from '../engine/definitions';
import { runGitRaw } from '../engine/git';
import { goalOf, hasGoals } from '../engine/goals';
import { pathFilter } from '../engine/pathFilter';
import { resolveBase } from './checkGoals';

export interface WorkingTreeMark {
  /** 0-based line of the text. */
  line: number;
  message: string;
}

/** Texts above this are not checked as you type (`code-insights check` still counts them). */
export const WORKING_TREE_LIMITS = { bytes: 1 << 20, marks: 200 } as const;

/** The insights whose goals include a ratchet: only those mark lines as you type. */
export function ratchetInsights(insights: InsightDefinition[]): InsightDefinition[] {
  // Structural series are left out: their matches are found in a whole file, not per line.
  return insights.filter((d) => d.kind !== 'languages' && d.kind !== 'structural' && d.kind !== 'command' && hasGoals(d) && (d.goal?.ratchet || (d.queries ?? []).some((q) => q.goal?.ratchet) || Object.values(d.captureGoals ?? {}).some((g) => g.ratchet)));
}

async function git(cwd: string, args: string[], signal?: AbortSignal): Promise<Buffer | undefined> {
  const r = await runGitRaw(undefined, args, { cwd, signal });
  return r.code === 0 ? r.stdout : undefined;
}

/** Per line of `lines`, the value of each series (by captured value for a capture query). */
async function lineValues(spec: SeriesSpec, lines: string[]): Promise<Map<string | undefined, number[]>> {
  const out = new Map<string | undefined, number[]>();
  if (!spec.capture) {
    const counter = new LineCounter(spec);
    try {
      const v: number[] = [];
      for (const l of lines) v.push(l ? await counter.count(Buffer.from(l, 'utf8')) : 0);
      out.set(undefined, v);
    } finally {
      counter.close();
    }
    return out;
  }
  // Captured values: per line, from the same matcher; a line the matcher cannot count in linear time counts nothing here.
  const m = new Matcher({ query: spec.query, literal: spec.literal, ignoreCase: spec.ignoreCase, capture: true });
  lines.forEach((l, i) => {
    const r = l ? m.countBlob(new BlobText(Buffer.from(l, 'utf8'))) : undefined;
    if (!r || !('counts' in r) || !(r.counts instanceof Map)) return;
    for (const [value, n] of r.counts) {
      let v = out.get(value);
      if (!v) out.set(value, (v = new Array<number>(lines.length).fill(0)));
      v[i] = n;
    }
  });
  return out;
}

export async function workingTreeMarks(filePath: string, text: string, insights: InsightDefinition[], signal?: AbortSignal): Promise<WorkingTreeMark[]> {
  const defs = ratchetInsights(insights);
  if (defs.length === 0 || Buffer.byteLength(text) > WORKING_TREE_LIMITS.bytes) return [];
  const dir = dirname(filePath);
  const top = (await git(dir, ['rev-parse', '--show-toplevel'], signal))?.toString().trim();
  const head = top && (await git(top, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], signal))?.toString().trim();
  if (!top || !head) return [];
  const rel = relative(top, filePath).split(sep).join('/');
  if (rel.startsWith('..')) return [];
  let base: { commit: string };
  try {
    base = await resolveBase(top, head, undefined, signal);
  } catch {
    return []; // no default branch: nothing to ratchet against (`check --base` says why)
  }
  const baseBlob = (await git(top, ['cat-file', 'blob', `${base.commit}:${rel}`], signal)) ?? Buffer.alloc(0);
  if (isBinary(baseBlob) || isBinary(Buffer.from(text.slice(0, 8000), 'utf8'))) return [];
  const nowLines = text.split('\n');
  const baseLines = baseBlob.toString('utf8').split('\n');
  const marks: WorkingTreeMark[] = [];
  for (const def of defs) {
    const specs = toSeriesSpecs(def);
    for (const [q, spec] of specs.entries()) {
      if (!pathFilter(spec.include, spec.exclude)(rel)) continue;
      if (spec.maxFileSize !== 0 && Buffer.byteLength(text) > spec.maxFileSize) continue;
      const now = await lineValues(spec, nowLines);
      const before = await lineValues(spec, baseLines);
      for (const [capture, values] of now) {
        if (!goalOf(def, q, capture)?.ratchet) continue;
        const total = values.reduce((a, b) => a + b, 0);
        const baseValues = before.get(capture) ?? [];
        const baseTotal = baseValues.reduce((a, b) => a + b, 0);
        if (total <= baseTotal) continue;
        // The base's matching lines, as a multiset of their text: a line found there is not new.
        const seen = new Map<string, number>();
        baseValues.forEach((v, i) => v > 0 && seen.set(baseLines[i]!.trim(), (seen.get(baseLines[i]!.trim()) ?? 0) + 1));
        const label = spec.capture ? `${spec.label}: ${capture}` : spec.label;
        values.forEach((v, i) => {
          if (v === 0 || marks.length >= WORKING_TREE_LIMITS.marks) return;
          const key = nowLines[i]!.trim();
          const left = seen.get(key) ?? 0;
          if (left > 0) return void seen.set(key, left - 1);
          marks.push({ line: i, message: `${def.title} / ${label}: this line adds ${v}; ratchet: ${rel} has ${total} now, ${baseTotal} at the base ${base.commit.slice(0, 12)}` });
        });
      }
    }
  }
  return marks;
}
