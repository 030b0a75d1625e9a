// The run layer's public surface: what the CLI, the insights server and the org workers call.
export { runInsights, type RunOptions, type ComputeRequest, type ComputeResult } from './runInsights';
export { tuningFromEnv } from './tuningFromEnv';
export { runForIngest, type IngestBatch } from './runForIngest';
