// Running totals along the sampled commits: the first commit's values from its whole tree (or
// its predecessor's stored values), each later one from the one before plus its changes. Each
// unit's insight kind adds and takes away a blob; the store keeps every commit's values.
import type { BlobState, Unit, UnitValue } from './units';
import type { ChainCommit } from './sampleCommits';
import type { InsightsStore } from './store';
import type { FileChange, TreeEntry } from './treeChanges';

/** Per distinct commit, every unit's stored values, or undefined where one is not stored. */
export function storedValues(store: InsightsStore | undefined, units: Unit[], commits: ChainCommit[]): (UnitValue[] | undefined)[] {
  return commits.map((c) => {
    if (!store) return undefined;
    const row: UnitValue[] = [];
    for (const u of units) {
      const s = store.getCommitValue(u.key, c.sha);
      if (s === undefined) return undefined;
      row.push(u.kind.deserialise(s));
    }
    return row;
  });
}

export interface TotalsInput {
  units: Unit[];
  blobs: ReadonlyMap<string, BlobState>;
  commits: ChainCommit[];
  /** Per commit: values known already (from the store), filled in here. */
  values: (UnitValue[] | undefined)[];
  /** The whole tree of the first commit, when it is computed. */
  fullEntries: TreeEntry[];
  /** Per commit: its changes from the one before. */
  changes: FileChange[][];
  /** Where each computed commit's values are kept; `keep(u)` says which units' may be. */
  store?: { put: InsightsStore['putCommitValue']; keep: (u: Unit) => boolean };
  /** Called once per commit, computed or not. */
  onCommit: () => void;
}

export function runningTotals(t: TotalsInput): Map<string, UnitValue[]> {
  const { units, blobs, values } = t;
  const contribution = (u: Unit, ui: number, row: UnitValue[], path: string, oid: string, sign: 1 | -1) => {
    if (!u.pathOk(path)) return;
    const b = blobs.get(oid);
    if (!b || b.missing || b.binary || b.size > u.limit || b.skipped) return;
    row[ui] = u.kind.add(row[ui], u, b, path, sign);
  };
  const out = new Map<string, UnitValue[]>();
  for (let i = 0; i < t.commits.length; i++) {
    let row = values[i];
    if (!row) {
      const r: UnitValue[] = i === 0 ? units.map((u) => u.kind.zero()) : values[i - 1]!.map((v, ui) => units[ui].kind.clone(v));
      if (i === 0) {
        for (const e of t.fullEntries) units.forEach((u, ui) => contribution(u, ui, r, e.path, e.oid, 1));
      } else {
        for (const c of t.changes[i]) {
          units.forEach((u, ui) => {
            if (c.old) contribution(u, ui, r, c.path, c.old, -1);
            if (c.new) contribution(u, ui, r, c.path, c.new, 1);
          });
        }
      }
      values[i] = row = r;
      const store = t.store;
      if (store) units.forEach((u, ui) => {
        if (store.keep(u)) store.put(u.key, t.commits[i].sha, u.kind.serialise(r[ui]));
      });
    }
    t.onCommit();
    out.set(t.commits[i].sha, row);
  }
  return out;
}
