// The validator kit of protocol/: small typed checks that compose into a validator for any
// payload that crosses a boundary (webview messages, LSP error data, results, org payloads).
// Strict by design: no coercion, unknown fields rejected, numbers finite, strings and lists
// bounded. A validator returns the value typed, or throws ProtocolError naming the path of the
// first problem (`card.series[0].points[1].value`), so a person can find it.

/** A payload that does not have the declared shape. `path` is where the first problem is. */
export class ProtocolError extends Error {
  readonly code = 'BAD_MESSAGE';
  constructor(
    readonly path: string,
    readonly problem: string,
    /** What was being checked, for the message: `dashboard message`, `error data`… */
    readonly subject = 'message',
  ) {
    super(`invalid ${subject} at ${path || '(root)'}: ${problem}`);
    this.name = 'ProtocolError';
  }
}

/** Checks `v` found at `path` and returns it typed, or throws ProtocolError. */
export type Validator<T> = (v: unknown, path: string) => T;

/** Strings longer than this are refused unless a check says otherwise. */
export const MAX_STRING = 4096;

/** How a value reads in a message: its kind, never its (possibly huge or secret) content. */
export const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/** Runs `check` on a whole payload; problems name `subject` (`invalid dashboard message at …`). */
export function validate<T>(check: Validator<T>, v: unknown, subject: string): T {
  try {
    return check(v, '');
  } catch (e) {
    if (e instanceof ProtocolError && e.subject !== subject) throw new ProtocolError(e.path, e.problem, subject);
    throw e;
  }
}

export const str = (max: number = MAX_STRING): Validator<string> => (v, p) => {
  if (typeof v !== 'string') throw new ProtocolError(p, `expected a string, got ${describe(v)}`);
  if (v.length > max) throw new ProtocolError(p, `string longer than ${max} characters`);
  return v;
};

export const num: Validator<number> = (v, p) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProtocolError(p, `expected a finite number, got ${describe(v)}`);
  return v;
};

/** A non-negative integer. */
export const count: Validator<number> = (v, p) => {
  const n = num(v, p);
  if (n < 0 || !Number.isInteger(n)) throw new ProtocolError(p, `expected a non-negative integer, got ${n}`);
  return n;
};

export const bool: Validator<boolean> = (v, p) => {
  if (typeof v !== 'boolean') throw new ProtocolError(p, `expected a boolean, got ${describe(v)}`);
  return v;
};

/** An ISO 8601 date-time with seconds and a zone (`2026-11-02T00:00:00.000Z`). */
export const isoTime: Validator<string> = (v, p) => {
  const s = str(40)(v, p);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/.test(s) || Number.isNaN(Date.parse(s))) {
    throw new ProtocolError(p, `expected an ISO date-time, got "${s.slice(0, 40)}"`);
  }
  return s;
};

/** A commit id: lowercase hex, abbreviated (4+) or full (SHA-1 or SHA-256). */
export const sha: Validator<string> = (v, p) => {
  const s = str(64)(v, p);
  if (!/^[0-9a-f]{4,64}$/.test(s)) throw new ProtocolError(p, `expected a commit id (hex), got "${s}"`);
  return s;
};

/** One of a declared list of strings (a kind, a step, a message type). */
export function oneOf<T extends string>(values: readonly T[]): Validator<T> {
  return (v, p) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new ProtocolError(p, `expected one of ${values.join(', ')}, got ${typeof v === 'string' ? `"${v.slice(0, 40)}"` : describe(v)}`);
    }
    return v as T;
  };
}

/** An array of at most `max` items, each checked by `item`. */
export function arr<T>(item: Validator<T>, max: number): Validator<T[]> {
  return (v, p) => {
    if (!Array.isArray(v)) throw new ProtocolError(p, `expected an array, got ${describe(v)}`);
    if (v.length > max) throw new ProtocolError(p, `more than ${max} items`);
    return v.map((x, i) => item(x, `${p}[${i}]`));
  };
}

/** A check for each field of T. */
export type Shape<T> = { [K in keyof T]-?: Validator<T[K]> };
/** The fields of T that may be absent. */
export type Optional<T> = { [K in keyof T]?: true };

/** An object with exactly these fields; those named in `optional` may be absent (not undefined-valued). */
export function obj<T>(shape: Shape<T>, optional: Optional<NoInfer<T>> = {}): Validator<T> {
  const keys = Object.keys(shape);
  return (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(p, `expected an object, got ${describe(v)}`);
    const rec = v as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      if (!keys.includes(k)) throw new ProtocolError(p, `unknown field "${k.slice(0, 40)}"`);
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const at = p ? `${p}.${k}` : k;
      if (!(k in rec) || rec[k] === undefined) {
        if ((optional as Record<string, true | undefined>)[k]) continue;
        throw new ProtocolError(at, 'missing');
      }
      out[k] = (shape as Record<string, Validator<unknown>>)[k](rec[k], at);
    }
    return out as T;
  };
}

/**
 * A message of a union tagged by `type`: the check of its type from `shapes`, after the tag
 * itself is checked (an unknown type is named in the error, not reported as a field problem).
 */
export function tagged<M extends { type: string }>(shapes: { [K in M['type']]: Validator<Extract<M, { type: K }>> }, side: string): Validator<M> {
  return (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(p, `expected a ${side} message object, got ${describe(v)}`);
    const type = (v as { type?: unknown }).type;
    if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(shapes, type)) {
      throw new ProtocolError(p ? `${p}.type` : 'type', `unknown ${side} message type ${typeof type === 'string' ? `"${type.slice(0, 40)}"` : describe(type)}`);
    }
    return (shapes as Record<string, Validator<M>>)[type](v, p);
  };
}
