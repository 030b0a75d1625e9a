// What the engine reads and writes outside itself, declared here and implemented elsewhere
// (server/store/'s sql.js cache): the engine knows no file, path or database, only this.
// Every fact kept is about content-addressed objects (a blob id, a commit id), so a store is
// valid for every repository and after an interrupted run.

/** What is known of one blob whatever the query. */
export interface BlobFacts {
  size: number;
  binary: boolean;
  /** Physical lines, when computed. */
  lines?: number;
}

export interface InsightsStore {
  getBlob(oid: string): BlobFacts | undefined;
  putBlob(oid: string, facts: BlobFacts): void;
  /** One matcher's counts in one blob, as `blobCountsCodec` writes them. */
  getCount(matcher: string, oid: string): string | undefined;
  putCount(matcher: string, oid: string, value: string): void;
  /** One unit's value at one commit, as its insight kind serialises it. */
  getCommitValue(unit: string, commit: string): string | undefined;
  putCommitValue(unit: string, commit: string, value: string): void;
  /** Small memos of a repository's walks: `sample:GITDIR` (sampled commits), `root:GITDIR` (its root commit). */
  getMeta(key: string): string | undefined;
  putMeta(key: string, value: string): void;
}

/** A store as opened for a run; `warning` says what the opening had to repair. */
export interface OpenedStore {
  store: InsightsStore;
  warning?: string;
}
