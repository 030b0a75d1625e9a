#!/usr/bin/env node
'use strict';
// Ctrl-C while the bundle is still loading must not kill the process without a word: the
// signal is caught from the first line and handed to the command once it runs.
const early = () => { global.__codeInsightsInterrupted = true; };
process.on('SIGINT', early);
const { main } = require('../dist/cli.js');
main(process.argv.slice(2), undefined, early).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`code-insights: internal error: ${err && err.message ? err.message : err}\n`); process.exitCode = 70; },
);
