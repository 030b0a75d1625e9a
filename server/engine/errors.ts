// User-facing errors carry a code and a message a person can act on; internal errors keep
// their cause. Callers print `message`, never a stack trace.
export class InsightsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InsightsError';
  }
}

export class AbortedError extends InsightsError {
  constructor() {
    super('ABORTED', 'cancelled');
    this.name = 'AbortedError';
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError();
}
