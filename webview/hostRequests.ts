// Requests the app makes of its host (protocol/webview.ts `ViewRequests`), each paired with its
// one response by id: a caller awaits a typed result instead of matching answers by hand.
import type { CodeMessage, RequestMessage, RequestParams, RequestResult, ResponseMessage, ViewRequestMethod } from '../protocol/webview';

/** The host answered a request with an error. */
export class HostRequestError extends Error {
  readonly code: string;
  constructor(error: CodeMessage) {
    super(error.message);
    this.name = 'HostRequestError';
    this.code = error.code;
  }
}

export class HostRequests {
  private nextId = 1;
  private readonly pending = new Map<number, { method: ViewRequestMethod; resolve: (result: unknown) => void; reject: (e: HostRequestError) => void }>();

  constructor(private readonly post: (m: RequestMessage) => void) {}

  send<K extends ViewRequestMethod>(method: K, params: RequestParams<K>): Promise<RequestResult<K>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (result: unknown) => void, reject });
      try {
        this.post({ type: 'request', id, method, params } as RequestMessage);
      } catch (e) {
        this.pending.delete(id);
        throw e;
      }
    });
  }

  /**
   * Settles the request a (validated) response answers. False when it answers none: an id never
   * sent or already answered, or a method other than the request's.
   */
  settle(m: ResponseMessage): boolean {
    const p = this.pending.get(m.id);
    if (!p || p.method !== m.method) return false;
    this.pending.delete(m.id);
    if ('error' in m) p.reject(new HostRequestError(m.error));
    else p.resolve(m.result);
    return true;
  }
}
