// The sync client's public surface: the run layer queues points, `push` sends them.
export { ensureOutbox, enqueuePoints, outboxCounts, outboxFailures, retryFailed, type EnqueueResult } from './outbox';
export { pushOutbox, type PushOptions, type PushResult } from './push';
export { runPush } from './cli';
export { externalSeriesDefinition, seriesDefinition, syncableSeries, type SyncableSeries } from './fromResults';
export { queueForSync } from './queueForSync';
