// Generates the benchmark repository: deterministic (seeded PRNG, fixed dates), written as one
// `git fast-import` stream instead of thousands of `git commit` calls. About 14 months of
// history, a few thousand files in a dozen languages, TODO/FIXME/HACK sprinkled in comments,
// additions, edits, renames, deletions, wide refactors, topic branches merged with --no-ff
// (so first-parent matters), a few binary files and one file above the 1 MiB default limit.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Bump when the generator's output changes: the cached repository is keyed by it. */
export const GEN_VERSION = 6;
const SEED = 20261128;
const START = Date.UTC(2025, 8, 1, 9, 0, 0) / 1000; // 2025-09-01
const COMMITS = 1500; // main-line commits (plus topic commits)
const INITIAL_FILES = 1500;
const SPAN = 330 * 86400; // ~14 months once weekend gaps are added

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LANGS = [
  // ext, weight, line comment (or [open, close]), dir
  { ext: 'ts', w: 18, c: '//', dir: 'src' },
  { ext: 'js', w: 10, c: '//', dir: 'web' },
  { ext: 'py', w: 12, c: '#', dir: 'tools' },
  { ext: 'go', w: 8, c: '//', dir: 'svc' },
  { ext: 'rs', w: 6, c: '//', dir: 'core' },
  { ext: 'c', w: 7, c: '//', dir: 'native' },
  { ext: 'h', w: 4, c: '//', dir: 'native/include' },
  { ext: 'java', w: 6, c: '//', dir: 'android' },
  { ext: 'rb', w: 3, c: '#', dir: 'scripts' },
  { ext: 'sh', w: 3, c: '#', dir: 'ci' },
  { ext: 'md', w: 6, c: null, dir: 'docs' },
  { ext: 'json', w: 4, c: null, dir: 'config' },
  { ext: 'yaml', w: 3, c: '#', dir: 'deploy' },
  { ext: 'css', w: 4, c: ['/*', '*/'], dir: 'web/styles' },
  { ext: 'html', w: 3, c: ['<!--', '-->'], dir: 'web/pages' },
  { ext: 'sql', w: 2, c: '--', dir: 'db' },
];
const WORDS = (
  'alpha beta gamma delta value count index item node tree blob commit buffer reader writer ' +
  'parse format render update insert remove build cache store query match result error state ' +
  'config option handler request response client server stream chunk token scope module'
).split(' ');
const MARKERS = [
  // Per line; about one file in three holds a TODO, as in a busy application repository.
  ['TODO', 0.004],
  ['FIXME', 0.0015],
  ['HACK', 0.0006],
];

export function generate(rand) {
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const totalW = LANGS.reduce((s, l) => s + l.w, 0);
  const pickLang = () => {
    let r = rand() * totalW;
    for (const l of LANGS) if ((r -= l.w) < 0) return l;
    return LANGS[0];
  };
  const ident = () => pick(WORDS) + pick(WORDS).replace(/^./, (x) => x.toUpperCase()) + Math.floor(rand() * 100);
  const comment = (lang, text) => {
    if (lang.c === null) return lang.ext === 'md' ? `> ${text}` : `  "_note": "${text}",`;
    if (Array.isArray(lang.c)) return `${lang.c[0]} ${text} ${lang.c[1]}`;
    return `  ${lang.c} ${text}`;
  };
  const codeLine = (lang) => {
    const r = rand();
    if (r < 0.08) return '';
    switch (lang.ext) {
      case 'md':
        return Array.from({ length: 4 + Math.floor(rand() * 10) }, () => pick(WORDS)).join(' ');
      case 'json':
        return `  "${ident()}": ${Math.floor(rand() * 1000)},`;
      case 'yaml':
        return `${'  '.repeat(Math.floor(rand() * 3))}${ident()}: ${pick(WORDS)}`;
      case 'css':
        return `.${pick(WORDS)}-${pick(WORDS)} { margin: ${Math.floor(rand() * 20)}px; }`;
      case 'html':
        return `<div class="${pick(WORDS)}">${pick(WORDS)} ${pick(WORDS)}</div>`;
      case 'py':
      case 'rb':
      case 'sh':
        return `${'    '.repeat(Math.floor(rand() * 3))}${ident()} = ${ident()}(${pick(WORDS)}, ${Math.floor(rand() * 100)})`;
      case 'sql':
        return `SELECT ${pick(WORDS)}, ${pick(WORDS)} FROM ${pick(WORDS)} WHERE id = ${Math.floor(rand() * 1000)};`;
      default:
        return `${'  '.repeat(1 + Math.floor(rand() * 3))}const ${ident()} = ${ident()}(${pick(WORDS)}, ${Math.floor(rand() * 100)});`;
    }
  };
  const line = (lang) => {
    const r = rand();
    let acc = 0;
    for (const [m, p] of MARKERS) {
      acc += p;
      if (r < acc) {
        // Sometimes two markers on a line: `matches` and `lines` then differ.
        const twice = rand() < 0.1 ? ` (see ${m} above)` : '';
        return comment(lang, `${m}: ${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)}${twice}`);
      }
    }
    if (r < acc + 0.05) return comment(lang, `${pick(WORDS)} ${pick(WORDS)} todo-list ${pick(WORDS)}`);
    return codeLine(lang);
  };
  const newLines = (lang) => {
    // Skewed sizes: most files small, a few long.
    const n = Math.floor(8 + 250 * Math.pow(rand(), 2.2));
    return Array.from({ length: n }, () => line(lang));
  };
  const binaryContent = (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
    b[10] = 0; // a NUL in the first 8000 bytes: binary, as git decides
    b.write('TODO', 100, 'latin1');
    return b;
  };

  /** path -> { lang, lines } or { binary: Buffer } */
  const files = new Map();
  let serial = 0;
  const newPath = (lang) => {
    const sub = pick(WORDS);
    return `${lang.dir}/${sub}/${pick(WORDS)}_${(serial++).toString(36)}.${lang.ext}`;
  };
  const addFile = (ops) => {
    const lang = pickLang();
    const p = newPath(lang);
    files.set(p, { lang, lines: newLines(lang) });
    ops.push(['M', p]);
  };
  const editFile = (ops, p) => {
    const f = files.get(p);
    if (!f.lines) return;
    const edits = 1 + Math.floor(rand() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * (f.lines.length + 1));
      const r = rand();
      if (r < 0.45) f.lines.splice(at, 0, ...Array.from({ length: 1 + Math.floor(rand() * 12) }, () => line(f.lang)));
      else if (r < 0.75 && f.lines.length > 4) f.lines.splice(at, 1 + Math.floor(rand() * 6));
      else for (let k = at; k < Math.min(f.lines.length, at + 1 + Math.floor(rand() * 5)); k++) f.lines[k] = line(f.lang);
    }
    ops.push(['M', p]);
  };
  const textPaths = () => [...files.keys()].filter((p) => files.get(p).lines);

  const commits = [];
  // Initial import.
  {
    const ops = [];
    for (let i = 0; i < INITIAL_FILES; i++) addFile(ops);
    for (let i = 0; i < 6; i++) {
      const p = `assets/img/${pick(WORDS)}_${i}.png`;
      files.set(p, { binary: binaryContent(2000 + Math.floor(rand() * 30000)) });
      ops.push(['M', p]);
    }
    // Vendored code (skipped by languages) and one file above the 1 MiB default size limit.
    for (let i = 0; i < 40; i++) {
      const lang = LANGS[1];
      const p = `vendor/lib${i}/index.js`;
      files.set(p, { lang, lines: newLines(lang) });
      ops.push(['M', p]);
    }
    const big = { lang: LANGS[10], lines: Array.from({ length: 24000 }, () => line(LANGS[10])) };
    files.set('data/corpus.md', big);
    ops.push(['M', 'data/corpus.md']);
    for (const o of ops) o.push(content(files.get(o[1])));
    commits.push({ ops, msg: 'Initial import' });
  }
  let paths = textPaths();
  for (let i = 1; i < COMMITS; i++) {
    const ops = [];
    const r = rand();
    if (i % 220 === 0) {
      // A wide refactor: a header line changed in a tenth of the files.
      for (const p of paths) if (rand() < 0.1) {
        const f = files.get(p);
        f.lines[0] = comment(f.lang, `Copyright ${2025 + Math.floor(i / 900)} the authors; ${pick(WORDS)}`);
        ops.push(['M', p]);
      }
    } else {
      const n = 1 + Math.floor(Math.pow(rand(), 2) * 8);
      for (let k = 0; k < n; k++) editFile(ops, pick(paths));
      if (r < 0.12) for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) addFile(ops);
      if (r > 0.96) {
        // Deletions.
        for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
          const p = pick(paths);
          if (!files.has(p) || ops.some((o) => o[1] === p)) continue;
          files.delete(p);
          ops.push(['D', p]);
        }
      } else if (r > 0.93) {
        // A rename, sometimes with an edit in the same commit.
        const p = pick(paths);
        if (files.has(p) && !ops.some((o) => o[1] === p)) {
          const f = files.get(p);
          const q = newPath(f.lang);
          files.delete(p);
          files.set(q, f);
          ops.push(['R', p, q]);
          if (rand() < 0.5) editFile(ops, q);
        }
      }
      if (i % 400 === 17) editFile(ops, 'data/corpus.md');
    }
    commits.push({ ops, msg: `Change ${i}: ${pick(WORDS)} ${pick(WORDS)}`, topic: i > 5 && rand() < 0.12 });
    if (ops.some((o) => o[0] !== 'M') || ops.length > 20) paths = textPaths();
    // Snapshot contents now: later commits mutate the same line arrays.
    for (const o of ops) if (o[0] === 'M') o.push(content(files.get(o[1])));
  }
  return commits;
}

function content(f) {
  if (f.binary) return f.binary;
  return Buffer.from(f.lines.join('\n') + '\n');
}

const NAMES = ['Ada Lovelace <ada@example.com>', 'Grace Hopper <grace@example.com>', 'Linus Pauling <linus@example.com>', 'Barbara Liskov <barbara@example.com>'];
const ZONES = ['+0000', '+0100', '-0500', '+0530'];

/** Writes the fast-import stream for `commits` to `out` (a writable with backpressure). */
async function writeStream(out, commits, rand) {
  const write = (s) => (out.write(s) ? undefined : new Promise((r) => out.once('drain', r)));
  const step = SPAN / commits.length;
  let t = START;
  let mark = 0;
  let mainTip = 0;
  const fileCmds = async (ops) => {
    for (const o of ops) {
      if (o[0] === 'D') await write(`D ${o[1]}\n`);
      else if (o[0] === 'R') await write(`R ${o[1]} ${o[2]}\n`);
      else {
        const data = o[2];
        await write(`M 100644 inline ${o[1]}\ndata ${data.length}\n`);
        await write(data);
        await write('\n');
      }
    }
  };
  for (let i = 0; i < commits.length; i++) {
    const c = commits[i];
    // Irregular gaps, fewer commits at weekends.
    t += Math.floor(step * (0.2 + 1.6 * rand()));
    const day = new Date(t * 1000).getUTCDay();
    if (day === 6 || day === 0) t += Math.floor(step * 2 * rand());
    const who = NAMES[Math.floor(rand() * NAMES.length)];
    const tz = ZONES[Math.floor(rand() * ZONES.length)];
    const header = (ref, when, msg) =>
      `commit ${ref}\nmark :${++mark}\nauthor ${who} ${when} ${tz}\ncommitter ${who} ${when} ${tz}\ndata ${Buffer.byteLength(msg)}\n${msg}\n`;
    if (c.topic) {
      // The work happens on a topic branch, then main merges it (--no-ff): the merge commit
      // carries the same tree change, the topic commit is off the first-parent chain.
      await write(header('refs/heads/topic', t - 3600, `${c.msg} (topic)`));
      await write(`from :${mainTip}\n`);
      await fileCmds(c.ops);
      const topic = mark;
      await write(header('refs/heads/main', t, `Merge branch 'topic-${i}'`));
      await write(`from :${mainTip}\nmerge :${topic}\n`);
      await fileCmds(c.ops);
    } else {
      await write(header('refs/heads/main', t, c.msg));
      if (mainTip) await write(`from :${mainTip}\n`);
      await fileCmds(c.ops);
    }
    mainTip = mark;
    await write('\n');
  }
  await write('reset refs/heads/topic\nfrom 0000000000000000000000000000000000000000\n\n');
  out.end();
}

function git(dir, args) {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The cached generated repository (bare), created on first use. Returns its path. */
export async function benchRepo(cacheDir, log = () => {}) {
  const dest = resolve(cacheDir, `generated-v${GEN_VERSION}.git`);
  if (existsSync(join(dest, 'HEAD'))) return dest;
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const t0 = performance.now();
  git(cacheDir, ['init', '--quiet', '--bare', '--initial-branch=main', tmp]);
  const rand = mulberry32(SEED);
  const commits = generate(rand);
  const child = spawn('git', ['fast-import', '--quiet', '--done'], { cwd: tmp, stdio: ['pipe', 'inherit', 'inherit'] });
  const exited = new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res() : rej(new Error(`git fast-import exited ${code}`))));
  });
  child.stdin.on('error', () => {});
  const w = { write: (s) => child.stdin.write(s), once: (e, f) => child.stdin.once(e, f), end: () => child.stdin.end('done\n') };
  await writeStream(w, commits, rand);
  await exited;
  git(tmp, ['symbolic-ref', 'HEAD', 'refs/heads/main']);
  // Packed and indexed like a maintained repository: deltas, commit-graph, bitmaps.
  git(tmp, ['-c', 'gc.auto=0', 'gc', '--quiet']);
  renameSync(tmp, dest);
  log(`generated ${dest} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return dest;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? '.bench';
  benchRepo(dir, console.log).then((p) => console.log(p));
}
