// The plan of a run: one unit per value computed at each commit (a query's series, or the
// lines per language), each with its insight kind, path filter and size limit.
import { DEFAULT_MAX_FILE_SIZE } from '../../protocol/insights';
import type { ComputeRequest, SeriesSpec } from './api';
import { commandKind } from './commandSeries';
import type { CommandOutput } from './commandRunner';
import type { BlobCounts, BlobMatcher, CaptureCounts } from './countMatches';
import { Matcher } from './countMatches';
import { captureKind, countKind, languagesKind, type InsightKind, type LangValue } from './insightKinds';
import { languages } from './languageTables';
import { pathFilter } from './pathFilter';
import { languagesUnitId, seriesId } from './seriesId';
import { languagePathOk, StructuralMatcher } from './structuralMatcher';


export type UnitValue = number | CaptureCounts | LangValue | CommandOutput;

export interface Unit {
  /** Store key of per-commit values: the series id, or the languages unit id. */
  key: string;
  kind: InsightKind<UnitValue>;
  spec?: SeriesSpec;
  /** Index of the unit's matcher (query units; a command unit has none and reads no blob). */
  matcher?: number;
  pathOk: (path: string) => boolean;
  /** Bytes; Infinity = no limit. */
  limit: number;
}

/** What a run knows of one blob: facts, and per matcher the counts in it. */
export interface BlobState {
  size: number;
  binary: boolean;
  lines?: number;
  counts?: (BlobCounts | CaptureCounts)[];
  missing?: boolean;
  /** Not read: larger than every unit's limit. */
  skipped?: boolean;
}

function limitOf(bytes: number): number {
  return bytes === 0 ? Infinity : bytes;
}

/** One matcher per query, one unit per query or command plus one for languages when asked. */
export function planUnits(req: ComputeRequest): { matchers: BlobMatcher[]; units: Unit[] } {
  const matchers: BlobMatcher[] = [];
  const keys = unitKeys(req);
  const units: Unit[] = req.series.map((s, i) =>
    s.command
      ? { key: keys[i], kind: commandKind, spec: s, pathOk: () => false, limit: 0 }
      : {
        key: keys[i],
        kind: s.capture ? captureKind : countKind,
        spec: s,
        matcher: matchers.push(newMatcher(s)) - 1,
        pathOk: seriesPathFilter(s),
        limit: limitOf(s.maxFileSize),
      },
  );
  if (req.languages) {
    const max = req.languagesMaxFileSize ?? DEFAULT_MAX_FILE_SIZE;
    units.push({ key: keys[req.series.length], kind: languagesKind, pathOk: (p) => !languages().isVendored(p) && languages().detectLanguage(p) !== undefined, limit: limitOf(max) });
  }
  return { matchers, units };
}

/** The units' store keys, without compiling the queries (what a caller's memo is keyed by). */
export function unitKeys(req: ComputeRequest): string[] {
  const keys = req.series.map((s) => seriesId(s));
  if (req.languages) keys.push(languagesUnitId(req.languagesMaxFileSize ?? DEFAULT_MAX_FILE_SIZE));
  return keys;
}

/** The matcher of a series: its regex or literal, or its ast-grep pattern. */
export function newMatcher(s: SeriesSpec): BlobMatcher {
  if (s.structural) return new StructuralMatcher(s.query, s.structural.language, !!s.structural.rule);
  return new Matcher({ query: s.query, literal: s.literal, ignoreCase: s.ignoreCase, capture: !!s.capture });
}

/** The files a series counts: its include/exclude globs and, for a structural series, its language's extensions. */
export function seriesPathFilter(s: SeriesSpec): (path: string) => boolean {
  const globs = pathFilter(s.include, s.exclude);
  if (!s.structural) return globs;
  const lang = languagePathOk(s.structural.language);
  return (p) => lang(p) && globs(p);
}
