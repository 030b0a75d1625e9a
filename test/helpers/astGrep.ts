// ast-grep's own command line (@ast-grep/cli, a devDependency) as the oracle of structural
// counts: a commit's tree written out with `git archive`, then `ast-grep run --json` over it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GIT_ENV } from './gitRepo';

export const AST_GREP = join(__dirname, '..', '..', 'node_modules', '.bin', 'ast-grep');

/** Every file counts: hidden ones and those an ignore file names too (a commit's tree is what counts). */
const NO_IGNORE = ['hidden', 'dot', 'exclude', 'global', 'parent', 'vcs'].flatMap((k) => ['--no-ignore', k]);

/** The matches ast-grep reports for `pattern` in `language` under `dir`: one per JSON entry. */
export function astGrepCount(dir: string, pattern: string, language: string): number {
  return astGrepMatches(dir, pattern, language).length;
}

/** The same per file (paths relative to `dir`, `/`-separated). */
export function astGrepPerFile(dir: string, pattern: string, language: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of astGrepMatches(dir, pattern, language)) {
    const f = m.file.replace(/^\.\//, '');
    out.set(f, (out.get(f) ?? 0) + 1);
  }
  return out;
}

function astGrepMatches(dir: string, pattern: string, language: string): { file: string }[] {
  const r = spawnSync(AST_GREP, ['run', '-p', pattern, '-l', language, '--json=compact', ...NO_IGNORE, '.'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30 });
  // Exit 1 means no match; anything else but 0 is a failure of the oracle itself.
  if (r.status !== 0 && r.status !== 1) throw new Error(`ast-grep failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout || '[]') as { file: string }[];
}

/** The matches `ast-grep scan --inline-rules RULE` reports under `dir` (RULE: a rule file's YAML, with id and language). */
export function astGrepScanCount(dir: string, ruleYaml: string): number {
  const r = spawnSync(AST_GREP, ['scan', '--inline-rules', ruleYaml, '--json=compact', ...NO_IGNORE, '.'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`ast-grep scan failed (${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout || '[]') as unknown[]).length;
}

/** The tree of `commit` written to a new temporary folder (regular files and symlinks, as git archive writes them). */
export function checkoutTree(gitDir: string, commit: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ci-sg-checkout-'));
  const tar = execFileSync('git', ['archive', '--format=tar', commit], { cwd: gitDir, env: GIT_ENV, maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
