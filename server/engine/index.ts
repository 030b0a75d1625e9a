// The engine's public surface: what the run layer, the CLI, the insights server and the tests import.
export * from './api';
export { computeInsights } from './computeInsights';
export { DEFAULT_MAX_FILE_SIZE } from '../../protocol/insights';
export { bucketTimes, floorToStep, parseDate } from './buckets';
export { Matcher, compileRegExp } from './countMatches';
export { InsightsError, AbortedError } from './errors';
export { seriesId, canonicalDefinition, SEMANTICS_VERSION } from './seriesId';
export { discoverRepos } from './discoverRepos';
export { unitKeys } from './units';
export type { InsightsStore, BlobFacts, OpenedStore } from './store';
export type { Recall, RepoRecord, RepoRevision } from './recall';
export { DEFAULT_TUNING, type Tuning } from './tuning';
