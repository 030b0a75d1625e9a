import { test } from 'node:test';
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { countLines, isBinary } from '../../server/engine/countLines';
import { TestRepo } from '../helpers/gitRepo';

const b = (s: string) => Buffer.from(s, 'latin1');

test('countLines: empty file has no lines', () => {
  assert.equal(countLines(Buffer.alloc(0)), 0);
});

test('countLines: a last line without newline still counts', () => {
  assert.equal(countLines(b('a')), 1);
  assert.equal(countLines(b('a\nb')), 2);
  assert.equal(countLines(b('a\nb\n')), 2);
});

test('countLines: only newlines are that many empty lines', () => {
  assert.equal(countLines(b('\n')), 1);
  assert.equal(countLines(b('\n\n\n')), 3);
  assert.equal(countLines(b('\n\nx')), 3);
});

test('countLines: CRLF counts once per line, a lone CR is not a line end', () => {
  assert.equal(countLines(b('a\r\nb\r\n')), 2);
  assert.equal(countLines(b('a\r\nb')), 2);
  assert.equal(countLines(b('a\rb\r')), 1);
});

test('countLines: raw bytes, whatever the encoding', () => {
  assert.equal(countLines(Buffer.from('é\n日本\n', 'utf8')), 2);
  assert.equal(countLines(Buffer.from([0xff, 0xfe, 0x0a, 0x80])), 2);
});

test('countLines: large buffers', () => {
  assert.equal(countLines(Buffer.from('x\n'.repeat(100_000))), 100_000);
  assert.equal(countLines(Buffer.from('x\n'.repeat(100_000) + 'tail')), 100_001);
});

test('isBinary: NUL in the first 8000 bytes, as git decides', () => {
  const at = (i: number) => {
    const buf = Buffer.alloc(9000, 0x61);
    buf[i] = 0;
    return buf;
  };
  assert.equal(isBinary(at(0)), true);
  assert.equal(isBinary(at(7999)), true);
  assert.equal(isBinary(at(8000)), false);
  assert.equal(isBinary(Buffer.alloc(0)), false);
  assert.equal(isBinary(b('plain text\n')), false);
  assert.equal(isBinary(Buffer.from('é\n', 'utf8')), false);
});

test('countLines and isBinary agree with git diff --numstat on a real repository', () => {
  const repo = TestRepo.init();
  const files: Record<string, Buffer> = {
    'empty.txt': Buffer.alloc(0),
    'one.txt': b('one'),
    'two.txt': b('one\ntwo\n'),
    'crlf.txt': b('a\r\nb\r\nc'),
    'blank.txt': b('\n\n\n'),
    'nul7999.bin': Buffer.concat([Buffer.alloc(7999, 0x61), Buffer.from([0]), b('\nmore\n')]),
    'nul8000.txt': Buffer.concat([Buffer.alloc(8000, 0x61), Buffer.from([0]), b('\nmore\n')]),
  };
  repo.commit('2026-01-01T00:00:00Z', files);
  // numstat against the empty tree: added lines per file, "-" for files git thinks are binary.
  const emptyTree = repo.git(['hash-object', '-t', 'tree', '/dev/null']).trim();
  const out = repo.git(['-c', 'core.autocrlf=false', 'diff', '--numstat', emptyTree, 'HEAD']);
  const seen = new Set<string>();
  for (const line of out.trim().split('\n')) {
    const [added, , path] = line.split('\t') as [string, string, string];
    const buf = files[path]!;
    seen.add(path);
    assert.equal(isBinary(buf), added === '-', `binary decision for ${path}`);
    if (added !== '-') assert.equal(countLines(buf), Number(added), `lines of ${path}`);
  }
  assert.deepEqual([...seen].sort(), Object.keys(files).sort());
  rmSync(repo.dir, { recursive: true, force: true });
});
