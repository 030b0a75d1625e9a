// One object per insight kind: how a unit of that kind starts (zero), is copied, adds or takes
// away one blob of a path, is kept in the store (serialise/deserialise) and becomes results
// (assemble). The rest of the engine never asks which kind a unit is.
import type { LanguageCount, LanguagesPoint, RepoPoint, SeriesResult } from '../../protocol/insights';
import type { RepoOutcome } from './assemble';
import type { Bucket } from './buckets';
import type { BlobCounts, CaptureCounts } from './countMatches';
import { languages } from './languageTables';
import { seriesId } from './seriesId';
import type { BlobState, Unit } from './units';

export type LangValue = Map<string, { lines: number; files: number }>;

/** The repositories counted at each bucket (one checkout per repository identity). */
export interface BucketView {
  buckets: Bucket[];
  atBucket: RepoOutcome[][];
}

/** What assembling writes: series in unit order, and the languages points. */
export interface Assembled {
  series: SeriesResult[];
  languages?: LanguagesPoint[];
}

export interface InsightKind<V> {
  zero(): V;
  clone(v: V): V;
  /** `acc` with one blob at `path` added (sign 1) or taken away (-1); may change `acc` itself. */
  add(acc: V, u: Unit, blob: BlobState, path: string, sign: 1 | -1): V;
  serialise(v: V): string;
  deserialise(s: string): V;
  /** Unit `ui`'s results over the buckets, added to `out`. */
  assemble(u: Unit, ui: number, view: BucketView, out: Assembled): void;
}

const repoPoint = (o: RepoOutcome, bi: number, value: number): RepoPoint => {
  const p = o.points[bi]!;
  return { repo: o.status.repo, commit: p.commit.sha, commitTime: new Date(p.commit.time * 1000).toISOString(), value };
};

/** A number per commit: matches, lines or files, as the query's count mode says. */
export const countKind: InsightKind<number> = {
  zero: () => 0,
  clone: (v) => v,
  add(acc, u, b, _path, sign) {
    const n = (b.counts![u.matcher!] as BlobCounts)[u.spec!.count];
    return n ? acc + sign * n : acc;
  },
  serialise: (v) => String(v),
  deserialise: (s) => Number(s),
  assemble(u, ui, { buckets, atBucket }, out) {
    out.series.push({
      id: u.key,
      label: u.spec!.label,
      query: u.spec!.query,
      points: buckets.map((b, bi) => {
        const repos = atBucket[bi].map((o) => repoPoint(o, bi, o.points[bi]!.values[ui] as number));
        return { time: b.time.toISOString(), value: repos.reduce((s, r) => s + r.value, 0), repos };
      }),
    });
  },
};

/** Occurrences per captured value; one series per value, the top ones by the latest point. */
export const captureKind: InsightKind<CaptureCounts> = {
  zero: () => new Map(),
  clone: (v) => new Map(v),
  add(acc, u, b, _path, sign) {
    for (const [k, n] of b.counts![u.matcher!] as CaptureCounts) {
      const v = (acc.get(k) ?? 0) + sign * n;
      if (v === 0) acc.delete(k);
      else acc.set(k, v);
    }
    return acc;
  },
  serialise: (v) => JSON.stringify([...v]),
  deserialise: (s) => new Map((JSON.parse(s) as [string, number][]).map((r) => [r[0], r[1]])),
  assemble(u, ui, { buckets, atBucket }, out) {
    const totals = buckets.map((_, bi) => {
      const m = new Map<string, number>();
      for (const o of atBucket[bi]) for (const [k, n] of o.points[bi]!.values[ui] as CaptureCounts) m.set(k, (m.get(k) ?? 0) + n);
      return m;
    });
    const latest = totals[totals.length - 1];
    const everSeen = new Set<string>();
    for (const m of totals) for (const k of m.keys()) everSeen.add(k);
    const ranked = [...everSeen].sort((a, b) => (latest.get(b) ?? 0) - (latest.get(a) ?? 0) || a.localeCompare(b));
    for (const value of ranked.slice(0, u.spec!.capture!.limit)) {
      out.series.push({
        id: seriesId(u.spec!, value),
        label: value,
        query: u.spec!.query,
        capture: value,
        points: buckets.map((b, bi) => {
          const repos = atBucket[bi].map((o) => repoPoint(o, bi, (o.points[bi]!.values[ui] as CaptureCounts).get(value) ?? 0));
          return { time: b.time.toISOString(), value: totals[bi].get(value) ?? 0, repos };
        }),
      });
    }
  },
};

const toList = (m: LangValue): LanguageCount[] =>
  [...m].map(([language, v]) => ({ language, lines: v.lines, files: v.files })).sort((a, b) => b.lines - a.lines || a.language.localeCompare(b.language));

/** Lines and files per language. */
export const languagesKind: InsightKind<LangValue> = {
  zero: () => new Map(),
  clone(v) {
    const m: LangValue = new Map();
    for (const [k, x] of v) m.set(k, { ...x });
    return m;
  },
  add(acc, _u, b, path, sign) {
    const lang = languages().detectLanguage(path);
    if (!lang || b.lines === undefined) return acc;
    const cur = acc.get(lang) ?? { lines: 0, files: 0 };
    cur.lines += sign * b.lines;
    cur.files += sign;
    if (cur.files === 0) acc.delete(lang);
    else acc.set(lang, cur);
    return acc;
  },
  serialise: (v) => JSON.stringify([...v].map(([k, x]) => [k, x.lines, x.files])),
  deserialise: (s) => new Map((JSON.parse(s) as [string, number, number?][]).map((r) => [r[0], { lines: r[1], files: r[2] ?? 0 }])),
  assemble(_u, ui, { buckets, atBucket }, out) {
    out.languages = buckets.map((b, bi) => {
      const total: LangValue = new Map();
      const repos: LanguagesPoint['repos'] = [];
      for (const o of atBucket[bi]) {
        const p = o.points[bi]!;
        const m = p.values[ui] as LangValue;
        for (const [k, v] of m) {
          const t = total.get(k) ?? { lines: 0, files: 0 };
          t.lines += v.lines;
          t.files += v.files;
          total.set(k, t);
        }
        repos.push({ repo: o.status.repo, commit: p.commit.sha, commitTime: new Date(p.commit.time * 1000).toISOString(), languages: toList(m) });
      }
      return { time: b.time.toISOString(), languages: toList(total), repos };
    });
  },
};
