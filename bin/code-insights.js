#!/usr/bin/env node
'use strict';
// V8 falls back to its linear-time regexp engine when a pattern backtracks excessively, so a
// catastrophic query such as (a+)+$ finishes with the exact count instead of hanging.
require('v8').setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
require('../dist/cli.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`code-insights: internal error: ${err && err.message ? err.message : err}\n`); process.exitCode = 70; },
);
