// Keeps secrets out of the log: the org token is remembered here when it is read from
// SecretStorage, and every line written through a redacting channel has it blanked out (as a
// second guard, so has any JSON "token" field), whatever wrote it (our code or the language
// client's message tracing).
import type * as vscode from 'vscode';

const secrets = new Set<string>();

export function rememberSecret(secret: string | undefined): void {
  if (secret && secret.length >= 4) secrets.add(secret);
}

export function redact(text: string): string {
  let out = text.replace(/("token"\s*:\s*)"(?:[^"\\]|\\.)*"/g, '$1"<redacted>"');
  for (const s of secrets) out = out.split(s).join('<redacted>');
  return out;
}

/** The same channel, with every string argument of its methods redacted. */
export function redactingChannel(channel: vscode.LogOutputChannel): vscode.LogOutputChannel {
  return new Proxy(channel, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string' || !/^(trace|debug|info|warn|error|append|appendLine|replace)$/.test(prop)) {
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args.map((a) => (typeof a === 'string' ? redact(a) : a)));
    },
  });
}
