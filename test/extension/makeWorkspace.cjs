// The workspace the extension-host suite opens: one folder with one git repository of known
// content. Used by runElectron.mjs and by the e2e launcher through code-server.
'use strict';
const { execFileSync } = require('node:child_process');
const { mkdirSync, mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

function makeWorkspace() {
  const ws = mkdtempSync(join(tmpdir(), 'ci-exthost-ws-'));
  const repo = join(ws, 'repo');
  mkdirSync(repo);
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com', GIT_AUTHOR_DATE: '2026-01-05T10:00:00Z', GIT_COMMITTER_DATE: '2026-01-05T10:00:00Z' };
  const git = (...args) => execFileSync('git', args, { cwd: repo, env });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'main.ts'), 'const a = { b: 1 };\ncall(a.b) // TODO(x)\nuse(a.b, axb)\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'first');
  return ws;
}

module.exports = { makeWorkspace };
