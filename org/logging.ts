// The service's log lines (pino JSON): no secret and no request content in them. A token given
// in the query string (?token=, ?access_token=) is redacted from the logged URL, and an error is
// logged by its type, code and stack, never by a message that may quote request text
// (PostgreSQL quotes the value it could not take: `invalid input syntax …: "<body text>"`).
import pino from 'pino';

const SECRET_PARAMS = /([?&](?:token|access_token|api_key|apikey|key|auth|authorization|password|secret)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[REDACTED]');
}

function reqSerializer(req: { method?: string; url?: string; headers?: Record<string, unknown>; socket?: { remoteAddress?: string; remotePort?: number } }) {
  return {
    method: req.method,
    url: redactUrl(String(req.url ?? '')).slice(0, 300),
    host: req.headers?.host,
    remoteAddress: req.socket?.remoteAddress,
    remotePort: req.socket?.remotePort,
  };
}

function errSerializer(err: unknown) {
  const e = err as { name?: string; code?: unknown; severity?: unknown; routine?: unknown; stack?: unknown; statusCode?: unknown };
  if (!e || typeof e !== 'object') return { type: typeof err };
  // Keep the stack's frames, not its first line (that line is the message).
  const frames = typeof e.stack === 'string' ? e.stack.split('\n').slice(1, 12).join('\n') : undefined;
  return { type: e.name ?? 'Error', code: e.code, severity: e.severity, routine: e.routine, statusCode: e.statusCode, stack: frames };
}

export const serializers = { req: reqSerializer, err: errSerializer };

/** CODE_INSIGHTS_ORG_LOG_LEVEL: a pino level (default info; debug adds a line as each request arrives). */
export function createLogger(destination?: pino.DestinationStream): pino.Logger {
  return pino({ name: 'code-insights-org', serializers, level: process.env.CODE_INSIGHTS_ORG_LOG_LEVEL || 'info' }, destination);
}
