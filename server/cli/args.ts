// A small command-line parser: typed options, repeatable ones, positional paths, and errors
// that say which option was wrong.
import { InsightsError } from '../engine/errors';

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean';
  multiple?: boolean;
  short?: string;
}

export interface Parsed {
  positional: string[];
  options: Record<string, string | number | boolean | string[] | undefined>;
}

export function parseArgs(argv: string[], specs: Record<string, OptionSpec>): Parsed {
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(specs)) if (s.short) byShort.set(s.short, name);
  const positional: string[] = [];
  const options: Parsed['options'] = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else if (a.length === 2 && a[0] === '-' && a !== '-') {
      name = byShort.get(a[1]);
      if (!name) throw new InsightsError('BAD_OPTION', `unknown option ${a} (see --help)`);
    } else {
      positional.push(a);
      continue;
    }
    const spec = specs[name];
    if (!spec) throw new InsightsError('BAD_OPTION', `unknown option --${name} (see --help)`);
    let value: string | number | boolean;
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new InsightsError('BAD_OPTION', `--${name} takes no value`);
      value = true;
    } else {
      const raw = inline ?? argv[++i];
      if (raw === undefined) throw new InsightsError('BAD_OPTION', `--${name} needs a value`);
      if (spec.type === 'number') {
        const n = Number(raw);
        if (raw.trim() === '' || !Number.isFinite(n)) throw new InsightsError('BAD_OPTION', `--${name} takes a number (got "${raw}")`);
        value = n;
      } else value = raw;
    }
    if (spec.multiple) ((options[name] as string[] | undefined) ?? (options[name] = [] as string[]) as string[]).push(String(value));
    else options[name] = value;
  }
  return { positional, options };
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[], option: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InsightsError('BAD_OPTION', `--${option} must be one of ${allowed.join(', ')} (got "${String(value)}")`);
}
