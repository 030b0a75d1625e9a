// The sync client's public surface: the engine queues points, `push` sends them.
export { ensureOutbox, enqueuePoints, outboxCounts, outboxFailures, retryFailed, type EnqueueResult } from './outbox';
export { pushOutbox, type PushOptions, type PushResult } from './push';
export { runPush } from './cli';
export { orgBatchFromResults, seriesDefinition } from './fromResults';
