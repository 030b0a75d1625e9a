// Which repositories an org-defined insight covers: all, those whose identity matches a regular
// expression, or a list (given as URLs or identities, compared by identity).
import type { FleetScope } from '../../protocol/fleet';
import { repoRef } from './identity';

export function scopeMatcher(scope: FleetScope): (identity: string) => boolean {
  if (scope.kind === 'all') return () => true;
  if (scope.kind === 'regex') {
    const re = new RegExp(scope.regex);
    return (id) => re.test(id);
  }
  const ids = new Set<string>();
  for (const r of scope.repos) {
    ids.add(r);
    ids.add(repoRef(r).identity);
  }
  return (id) => ids.has(id);
}

export function scopeFromRow(row: { scope_kind: string; scope_regex: string | null; scope_repos: string[] }): FleetScope {
  if (row.scope_kind === 'regex') return { kind: 'regex', regex: row.scope_regex ?? '' };
  if (row.scope_kind === 'list') return { kind: 'list', repos: row.scope_repos };
  return { kind: 'all' };
}
