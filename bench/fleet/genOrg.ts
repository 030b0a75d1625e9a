// A generated org for the fleet benchmark: N bare repositories with a year of history, sizes drawn
// from a skewed distribution (most small, a few large: log-normal files and commits, as code hosts
// see), written with `git fast-import`. Deterministic for a seed, so a second run reuses the folder.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error: a JavaScript module of the benchmark, without types
import { mulberry32 } from '../genRepo.mjs';

const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };
const YEAR_END = Date.parse('2026-11-30T12:00:00Z');
const DAY = 86_400_000;

const rng = (seed: number): (() => number) => mulberry32(seed);

function logNormal(r: () => number, median: number, sigma: number, min: number, max: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return Math.max(min, Math.min(max, Math.round(median * Math.exp(sigma * z))));
}

// Lines a file is made of; the benchmark's queries find some of them (and regexes must read them).
const LINES = [
  "import { debounce } from 'lodash';",
  'console.log("state", state);',
  '// TODO: handle the empty case',
  '// FIXME remove after the migration',
  'export function handler(req: Request, res: Response): void {',
  '  const value: any = compute(req.body);',
  '  deprecatedApi(value, { retries: 3 });',
  '  return res.json({ ok: true, value });',
  '}',
  'const total = items.reduce((s, i) => s + i.price * i.count, 0);',
  'if (!user) throw new Error("no user");',
  'export default class Store { private readonly items = new Map<string, number>(); }',
];

function fileText(r: () => number, lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const p = r();
    // Mostly plain code; the query lines are rarer.
    out.push(p < 0.75 ? LINES[4 + Math.floor(r() * 8)] : LINES[Math.floor(r() * 4)]);
  }
  return `${out.join('\n')}\n`;
}

export interface RepoShape {
  name: string;
  files: number;
  commits: number;
}

/** Writes one repository: an initial commit with every file, then commits changing 1-3 files (now
 *  and then adding one) spread over the year before YEAR_END. */
function writeRepo(dir: string, seed: number, shape: RepoShape): void {
  const r = rng(seed);
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', dir], { env: GIT_ENV });
  const files = Array.from({ length: shape.files }, (_, i) => `src/${['api', 'ui', 'lib', 'core'][i % 4]}/m${i}.ts`);
  const times = Array.from({ length: shape.commits }, () => YEAR_END - Math.floor(r() * 360 * DAY)).sort((a, b) => a - b);
  const chunks: string[] = [];
  let mark = 0;
  const blob = (text: string): number => {
    mark++;
    chunks.push(`blob\nmark :${mark}\ndata ${Buffer.byteLength(text)}\n${text}\n`);
    return mark;
  };
  for (let c = 0; c < shape.commits; c++) {
    const changed: [string, number][] = [];
    if (c === 0) for (const f of files) changed.push([f, blob(fileText(r, logNormal(r, 60, 0.8, 5, 1500)))]);
    else {
      if (r() < 0.1) {
        files.push(`src/new/n${c}.ts`);
        changed.push([files[files.length - 1], blob(fileText(r, logNormal(r, 40, 0.8, 5, 800)))]);
      }
      const k = 1 + Math.floor(r() * 3);
      for (let j = 0; j < k; j++) changed.push([files[Math.floor(r() * files.length)], blob(fileText(r, logNormal(r, 60, 0.8, 5, 1500)))]);
    }
    const msg = `change ${c}`;
    const t = Math.floor(times[c] / 1000);
    chunks.push(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${t} +0000\ndata ${msg.length}\n${msg}\n`);
    for (const [path, m] of changed) chunks.push(`M 100644 :${m} ${path}\n`);
    chunks.push('\n');
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, env: GIT_ENV, input: chunks.join(''), maxBuffer: 1 << 30 });
}

/** The org under `base` (made once per (n, seed)); returns the repositories' shapes. */
export function generateOrg(base: string, n: number, seed = 1): RepoShape[] {
  const manifest = join(base, 'manifest.json');
  if (existsSync(manifest)) {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { n: number; seed: number; repos: RepoShape[] };
    if (m.n === n && m.seed === seed) return m.repos;
  }
  mkdirSync(base, { recursive: true });
  const r = rng(seed);
  const repos: RepoShape[] = [];
  for (let i = 0; i < n; i++) {
    // Most small, a few large: median 15 files and 40 commits; the largest thousands of each.
    const shape = { name: `r${String(i).padStart(5, '0')}.git`, files: logNormal(r, 15, 1.3, 1, 4000), commits: logNormal(r, 40, 1.2, 2, 3000) };
    const dir = join(base, shape.name);
    execFileSync('rm', ['-rf', dir]);
    writeRepo(dir, seed * 100_003 + i, shape);
    repos.push(shape);
    if ((i + 1) % 100 === 0) process.stderr.write(`generated ${i + 1}/${n} repositories\n`);
  }
  writeFileSync(manifest, JSON.stringify({ n, seed, repos }));
  return repos;
}

/** Adds one commit changing one file to a generated repository (a new head for the refresh). */
export function addCommit(dir: string, when: Date, seed: number): void {
  const r = rng(seed);
  const text = fileText(r, 30);
  const t = Math.floor(when.getTime() / 1000);
  const stream = `blob\nmark :1\ndata ${Buffer.byteLength(text)}\n${text}\ncommit refs/heads/main\ncommitter Bench <bench@example.com> ${t} +0000\ndata 4\nmore\nfrom refs/heads/main^0\nM 100644 :1 src/lib/m0.ts\n\n`;
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, env: GIT_ENV, input: stream });
}
