// The engine's knobs as environment variables, read here at the edge, once per run, so that
// the engine itself reads none (server/engine/tuning.ts says what each does).
import { DEFAULT_TUNING, type Tuning } from '../engine/tuning';

/** When this module loaded: trace lines count from it, as the process's first phases do. */
const T0 = performance.now();

export function tuningFromEnv(env: NodeJS.ProcessEnv = process.env): Tuning {
  const budget = Number(env.CODE_INSIGHTS_REGEX_BUDGET_MS);
  return {
    grepMinBlobs: Number(env.CODE_INSIGHTS_GREP_MIN_BLOBS) || DEFAULT_TUNING.grepMinBlobs,
    gitCounts: env.CODE_INSIGHTS_GIT_COUNTS !== '0',
    // CODE_INSIGHTS_TRACE=1 prints phase times to stderr (for profiling, not for users).
    trace: env.CODE_INSIGHTS_TRACE ? traceToStderr : undefined,
    regexBudgetMs: Number.isFinite(budget) && budget > 0 ? budget : undefined,
  };
}

export function traceToStderr(what: string): void {
  process.stderr.write(`[trace ${(performance.now() - T0).toFixed(0).padStart(6)} ms] ${what}\n`);
}
