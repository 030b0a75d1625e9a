// Counting under a time budget, for patterns V8 cannot run in linear time (backreferences,
// lookarounds). A synchronous regex cannot be interrupted, so such a query counts in a worker
// thread, one blob at a time; a blob that runs over the budget ends the worker and the series
// fails with a message instead of hanging the run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BlobCounts, CaptureCounts, QuerySpec } from './countMatches';

export const DEFAULT_REGEX_BUDGET_MS = 10_000;

function budgetMs(): number {
  const v = Number(process.env.CODE_INSIGHTS_REGEX_BUDGET_MS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_REGEX_BUDGET_MS;
}

function newWorker(spec: QuerySpec): Worker {
  // Bundled: dist/countWorker.js beside dist/cli.js and dist/server.js. From source (tests),
  // the TypeScript file through tsx's CommonJS hook.
  const bundled = join(__dirname, 'countWorker.js');
  if (existsSync(bundled)) return new Worker(bundled, { workerData: { spec } });
  const source = JSON.stringify(join(__dirname, 'countWorker.ts'));
  return new Worker(`require('tsx/cjs'); require(${source});`, { eval: true, workerData: { spec } });
}

type Result = BlobCounts | CaptureCounts;

export class GuardedCounter {
  /** Set when a blob ran over the budget: the series cannot be counted. */
  failed: string | undefined;
  private worker: Worker | undefined;
  private readonly queue: { text: string; resolve: (r: Result | undefined) => void }[] = [];
  private busy: { id: number; resolve: (r: Result | undefined) => void; timer: NodeJS.Timeout } | undefined;
  private nextId = 0;
  private readonly budget: number;

  /** `budget` in ms; by default CODE_INSIGHTS_REGEX_BUDGET_MS, else 10 s (drill-down passes none). */
  constructor(
    private readonly spec: QuerySpec,
    budget?: number,
  ) {
    this.budget = budget !== undefined && Number.isFinite(budget) && budget > 0 ? budget : budgetMs();
  }

  /** The counts of one blob's text, or undefined once the query has failed. */
  count(text: string): Promise<Result | undefined> {
    if (this.failed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.queue.push({ text, resolve });
      this.pump();
    });
  }

  private start(): Worker {
    const w = newWorker(this.spec);
    w.unref();
    w.on('message', (m: { id: number; result: Result }) => {
      if (!this.busy || m.id !== this.busy.id) return;
      clearTimeout(this.busy.timer);
      const done = this.busy.resolve;
      this.busy = undefined;
      done(m.result);
      this.pump();
    });
    w.on('error', (e) => this.fail(`counting stopped: ${e.message}`));
    return w;
  }

  private pump(): void {
    if (this.busy || this.failed) return;
    const next = this.queue.shift();
    if (!next) return;
    this.worker ??= this.start();
    const id = this.nextId++;
    const timer = setTimeout(() => {
      this.fail(
        `the query "${this.spec.query}" ran longer than ${this.budget / 1000} s on one file and was stopped (catastrophic backtracking: a backreference or lookaround inside nested repetition); simplify the pattern`,
      );
    }, this.budget);
    this.busy = { id, resolve: next.resolve, timer };
    this.worker.postMessage({ id, text: next.text });
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = message;
    if (this.busy) {
      clearTimeout(this.busy.timer);
      this.busy.resolve(undefined);
      this.busy = undefined;
    }
    for (const q of this.queue.splice(0)) q.resolve(undefined);
    void this.worker?.terminate();
    this.worker = undefined;
  }

  close(): void {
    if (this.busy) clearTimeout(this.busy.timer);
    void this.worker?.terminate();
    this.worker = undefined;
  }
}
