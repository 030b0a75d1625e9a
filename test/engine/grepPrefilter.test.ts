// The throwaway tree the git grep paths search is written by the engine itself (SHA-1 and
// SHA-256 repositories): it must be byte-for-byte the tree git would write, or git grep would search
// the wrong blobs. And the streamed literal counts must equal git grep -c / -o on the blobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TestRepo, tempDir } from '../helpers/gitRepo';
import { countLiterals, objectsDir, throwawayTree, type LiteralCounts } from '../../server/engine/grepPrefilter';

function git(dir: string, args: string[], input?: string): string {
  return execFileSync('git', ['--git-dir', dir, ...args], { input, encoding: 'utf8' });
}

for (const format of ['sha1', 'sha256'] as const) {
  test(`the tree written in-process equals the one git mktree writes, in git's entry order (${format} repository)`, async () => {
    const repo = TestRepo.init(join(tempDir(), 'repo'), 'main', format);
    // 25 blobs: names 0..24 sort as 0, 1, 10, 11, ..., 19, 2, 20, ... in git's bytewise order.
    const files: Record<string, string> = {};
    for (let i = 0; i < 25; i++) files[`f${i}.txt`] = `content ${i}\n`.repeat(i + 1);
    repo.commit('2026-01-05T10:00:00Z', files);
    const gitDir = join(repo.dir, '.git');
    const oids = git(gitDir, ['ls-tree', '-r', '--format=%(objectname)', 'HEAD']).trim().split('\n').reverse();
    const objects = join(tempDir(), 'objects');
    mkdirSync(objects, { recursive: true });
    const fromGit = git(gitDir, ['mktree', '--missing'], oids.map((o, i) => `100644 blob ${o}\t${i}\n`).join('')).trim();
    const ours = await throwawayTree(objects, oids, async () => assert.fail('trees of both formats are written in-process'));
    assert.equal(ours, fromGit);
    // git reads the loose object written to the borrowed directory and finds every blob at its index.
    assert.equal(ours.length, format === 'sha1' ? 40 : 64);
    const env = { ...process.env, GIT_OBJECT_DIRECTORY: objects, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(gitDir, 'objects') };
    const listed = execFileSync('git', ['--git-dir', gitDir, 'ls-tree', ours], { env, encoding: 'utf8' }).trim().split('\n');
    assert.equal(listed.length, oids.length);
    for (const line of listed) {
      const [meta, name] = line.split('\t');
      assert.equal(meta.split(' ')[2], oids[Number(name)]);
    }
  });
}

test('streamed literal counts equal git grep -o and -c on each blob', async () => {
  const repo = TestRepo.init(join(tempDir(), 'repo'));
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`d${i % 3}/f${i}.c`] = i % 4 === 0 ? 'nothing here\n' : `TODO one\n${'x TODO y TODO\n'.repeat(i)}FIXME\n`;
  repo.commit('2026-01-05T10:00:00Z', files);
  const gitDir = join(repo.dir, '.git');
  const entries = git(gitDir, ['ls-tree', '-r', '--format=%(objectname) %(path)', 'HEAD']).trim().split('\n').map((l) => l.split(' '));
  const oids = [...new Set(entries.map((e) => e[0]))];
  const got = new Map<string, LiteralCounts[]>();
  await countLiterals(gitDir, oids, ['TODO', 'FIXME'], (oid, c) => {
    assert.equal(got.has(oid), false, 'each blob is reported once');
    got.set(oid, c);
  }, undefined, 1);
  for (const oid of oids) {
    const text = git(gitDir, ['cat-file', 'blob', oid]);
    const expect = ['TODO', 'FIXME'].map((n) => ({ matches: text.split(n).length - 1, lines: text.split('\n').filter((l) => l.includes(n)).length }));
    if (expect.every((e) => e.matches === 0)) assert.equal(got.has(oid), false);
    else assert.deepEqual(got.get(oid), expect);
  }
});

test('the object directory is found without git where it is plain, and equals git\'s answer', async () => {
  const dir = tempDir();
  const repo = TestRepo.init(join(dir, 'main'));
  repo.commit('2026-01-05T10:00:00Z', { 'a.txt': 'a\n' });
  repo.git(['worktree', 'add', '-q', join(dir, 'linked')]);
  execFileSync('git', ['clone', '-q', '--bare', repo.dir, join(dir, 'bare.git')]);
  const linkedGitDir = execFileSync('git', ['-C', join(dir, 'linked'), 'rev-parse', '--absolute-git-dir'], { encoding: 'utf8' }).trim();
  for (const gitDir of [join(repo.dir, '.git'), join(dir, 'bare.git'), linkedGitDir]) {
    const fromGit = git(gitDir, ['rev-parse', '--path-format=absolute', '--git-path', 'objects']).trim();
    assert.equal(await objectsDir(gitDir), fromGit, gitDir);
  }
});
