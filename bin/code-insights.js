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
try {
  require('v8').setFlagsFromString('--interrupt-budget=1048576');
} catch { /* the default budget */ }
const { main } = require('../dist/cli.js');
main(process.argv.slice(2), undefined, early).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`code-insights: internal error: ${err && err.message ? err.message : err}\n`); process.exitCode = 70; },
);
