#!/usr/bin/env node
'use strict';
// Ctrl-C while the bundle is still loading must not kill the process without a word: the
// signal is caught from the first line and handed to the command once it runs.
const early = () => { global.__codeInsightsInterrupted = true; };
process.on('SIGINT', early);
// A run is short and mostly waits on git: V8's optimising compiler, on its default budget,
// spent ~0.1 s of CPU on background threads recompiling start-up and tree-walk code that never
// runs again, while two git processes needed both cores. A 16x budget still optimises loops
// that run long (counting a regex over every blob); measured in bench/README.md.
// The bundle sets three more flags as it loads (the regex engines in countMatches, baseline-only
// wasm in the cache); they are set here first as well, so that V8's flags are the same when the
// compile cache below is read and when it is written: V8 rejects a cache made under other flags.
try {
  const v8 = require('v8');
  for (const f of ['--interrupt-budget=1048576', '--enable-experimental-regexp-engine-on-excessive-backtracks', '--enable-experimental-regexp-engine', '--liftoff-only']) v8.setFlagsFromString(f);
} catch { /* the defaults */ }
const { main } = loadBundle(require('path').join(__dirname, '..', 'dist', 'cli.js'));
main(process.argv.slice(2), undefined, early).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`code-insights: internal error: ${err && err.message ? err.message : err}\n`); process.exitCode = 70; },
);

/**
 * Loads the bundle as require() would, with V8's code cache for it kept in the user's cache
 * folder (what Node 22's module.enableCompileCache does; Node 20 has none): compiling the 0.4 MB
 * bundle and the functions a run calls is a tenth of a warm rerun. One cache per computing
 * command (they call different functions), per bundle and Node version, written after that
 * command's first successful run with every function the run compiled. V8 checks it against the
 * source and its own version and flags; a rejected or unreadable one costs only the compile it
 * would have saved and is written again. CODE_INSIGHTS_COMPILE_CACHE=0 turns it off.
 */
function loadBundle(file) {
  const fs = require('fs');
  const path = require('path');
  const command = process.argv[2];
  const computes = ['series', 'capture', 'languages', 'run'].includes(command) && !process.argv.includes('--help') && !process.argv.includes('-h');
  if (!computes || process.env.CODE_INSIGHTS_COMPILE_CACHE === '0') return require(file);
  let source;
  let stat;
  try {
    source = fs.readFileSync(file, 'utf8');
    stat = fs.statSync(file);
  } catch {
    return require(file); // let require say what is wrong
  }
  const vm = require('vm');
  const Module = require('module');
  const home = require('os').homedir();
  const base = process.env.XDG_CACHE_HOME
    || (process.platform === 'darwin' ? path.join(home, 'Library', 'Caches')
      : process.platform === 'win32' ? (process.env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'))
        : path.join(home, '.cache'));
  // One file per bundle (path, size, time) and Node version: installs side by side do not take
  // turns overwriting one cache.
  let h = 2166136261;
  for (const c of `${file}\0${stat.size}\0${stat.mtimeMs}\0${process.version}\0${process.arch}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  const cacheFile = path.join(base, 'code-insights', 'compile-cache', `${command}-${h.toString(16)}.bin`);
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch { /* first run of this bundle */ }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (process.env.CODE_INSIGHTS_TRACE) process.stderr.write(`[trace] compile cache ${cacheFile}: ${!cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}\n`);
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', (code) => {
      if (code !== 0) return; // a run that stopped early compiled little of what the next needs
      try {
        const data = script.createCachedData();
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
        const tmp = `${cacheFile}.tmp-${process.pid}`;
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, cacheFile);
        // The caches of earlier builds of this command are of no more use.
        for (const f of fs.readdirSync(path.dirname(cacheFile))) {
          if (f.startsWith(`${command}-`) && f.endsWith('.bin') && f !== path.basename(cacheFile)) fs.rmSync(path.join(path.dirname(cacheFile), f), { force: true });
        }
      } catch { /* a read-only or full disk: run without it */ }
    });
  }
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  require.cache[file] = mod;
  script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return mod.exports;
}
