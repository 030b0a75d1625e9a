// Each insight kind's object: values kept in the store read back equal, in the text existing
// caches already hold (a cache written before must still answer), and a clone is independent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureKind, countKind, languagesKind } from '../../server/engine/insightKinds';
import type { Unit } from '../../server/engine/units';

const unit = (kind: Unit['kind'], count: 'matches' | 'lines' | 'files' = 'matches'): Unit => ({
  key: 'k',
  kind,
  matcher: 0,
  spec: { label: 'x', query: 'x', literal: false, ignoreCase: false, count, include: [], exclude: [], maxFileSize: 0 },
  pathOk: () => true,
  limit: Infinity,
});

test('stored text of each kind is what the cache holds, and reads back equal', () => {
  assert.equal(countKind.serialise(42), '42');
  assert.equal(countKind.deserialise('42'), 42);
  const capture = new Map([['1.2', 3], ['2.0', 1]]);
  assert.equal(captureKind.serialise(capture), '[["1.2",3],["2.0",1]]');
  assert.deepEqual(captureKind.deserialise(captureKind.serialise(capture)), capture);
  const langs = new Map([['TypeScript', { lines: 10, files: 2 }]]);
  assert.equal(languagesKind.serialise(langs), '[["TypeScript",10,2]]');
  assert.deepEqual(languagesKind.deserialise('[["TypeScript",10,2]]'), langs);
});

test('adding and taking away a blob returns to where it started; a clone does not share it', () => {
  const blob = { size: 10, binary: false, lines: 4, counts: [{ matches: 3, lines: 2, files: 1 }] };
  const u = unit(countKind, 'lines');
  assert.equal(countKind.add(countKind.add(5, u, blob, 'a.ts', 1), u, blob, 'a.ts', -1), 5);
  assert.equal(countKind.add(0, u, blob, 'a.ts', 1), 2, 'the unit counts lines');

  const cu = unit(captureKind);
  const cblob = { size: 10, binary: false, counts: [new Map([['v1', 2]])] };
  const start = captureKind.add(captureKind.zero(), cu, cblob, 'a', 1);
  const copy = captureKind.clone(start);
  captureKind.add(copy, cu, cblob, 'a', -1);
  assert.deepEqual([...start], [['v1', 2]], 'the original is unchanged');
  assert.deepEqual([...copy], [], 'a value that reaches 0 is dropped');

  const lu = unit(languagesKind);
  const l0 = languagesKind.add(languagesKind.zero(), lu, blob, 'src/a.ts', 1);
  const l1 = languagesKind.clone(l0);
  languagesKind.add(l1, lu, blob, 'src/b.ts', 1);
  assert.deepEqual([...l0], [['TypeScript', { lines: 4, files: 1 }]]);
  assert.deepEqual([...l1], [['TypeScript', { lines: 8, files: 2 }]]);
  languagesKind.add(l1, lu, blob, 'src/b.ts', -1);
  languagesKind.add(l1, lu, blob, 'src/a.ts', -1);
  assert.deepEqual([...l1], [], 'a language with no file left is dropped');
});
