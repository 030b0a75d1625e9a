// The strict validator of protocol/org.ts: what the service accepts is exactly the contract.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ORG_LIMITS, validatePushPointsRequest, validateRepoFilter } from '../../protocol/org';
import { compileRepoFilter } from '../../org/repoFilter';
import { definition, point } from './helpers';

const ok = (body: unknown) => {
  const v = validatePushPointsRequest(body);
  assert.ok(v.ok, v.ok ? '' : v.message);
  return v.value;
};
const bad = (body: unknown, re: RegExp, status = 400) => {
  const v = validatePushPointsRequest(body);
  assert.equal(v.ok, false, 'expected a rejection');
  if (!v.ok) {
    assert.equal(v.status, status);
    assert.match(v.message, re);
  }
};

describe('protocol/org validator', () => {
  it('accepts a well-formed batch and keeps it as sent', () => {
    const body = { definitions: [definition()], points: [point(), point({ repo: 'root:' + 'f'.repeat(40), value: 0 })] };
    assert.deepEqual(ok(body), body);
  });

  it('rejects unknown fields anywhere, naming them', () => {
    bad({ definitions: [definition()], points: [point()], extra: 1 }, /body: unknown field "extra"/);
    bad({ definitions: [{ ...definition(), path: 'src/secret.ts' }], points: [] }, /definitions\[0\]: unknown field "path"/);
    bad({ definitions: [definition()], points: [{ ...point(), text: 'const x = 1' }] }, /points\[0\]: unknown field "text"/);
    bad({ definitions: [definition()], points: [{ ...point(), file: 'a.ts' }] }, /unknown field "file"/);
  });

  it('never coerces types', () => {
    bad({ definitions: [definition()], points: [{ ...point(), value: '5' }] }, /points\[0\]\.value must be a non-negative integer, got a string/);
    bad({ definitions: [definition()], points: [{ ...point(), value: 1.5 }] }, /value must be a non-negative integer, got 1.5/);
    bad({ definitions: [definition()], points: [{ ...point(), value: -1 }] }, /non-negative/);
    bad({ definitions: [definition()], points: [{ ...point(), value: 2 ** 60 }] }, /non-negative integer/);
    bad({ definitions: [{ ...definition(), literal: 'true' }], points: [] }, /literal must be true or false/);
    bad({ definitions: [{ ...definition(), maxFileSize: '1' }], points: [] }, /maxFileSize/);
    bad({ definitions: [definition()], points: [{ ...point(), time: 1762041600000 }] }, /time must be a string/);
    bad({ definitions: [definition()], points: [{ ...point(), commit: null }] }, /commit must be a string, got null/);
  });

  it('checks shapes: ids, commits, ISO times, enums', () => {
    bad({ definitions: [{ ...definition(), id: 'ABCDEF0123456789' }], points: [] }, /lowercase hex/);
    bad({ definitions: [{ ...definition(), id: 'abc' }], points: [] }, /16–64/);
    bad({ definitions: [definition()], points: [point({ commit: 'abc123' })] }, /full commit id/);
    bad({ definitions: [definition()], points: [point({ time: '2026-11-02' })] }, /ISO UTC time/);
    bad({ definitions: [definition()], points: [point({ time: '2026-02-30T00:00:00.000Z' })] }, /ISO UTC time/);
    bad({ definitions: [definition()], points: [point({ commitTime: '2026-11-02T00:00:00.000+01:00' })] }, /ISO UTC time/);
    bad({ definitions: [{ ...definition(), kind: 'other' }], points: [] }, /kind must be one of/);
    bad({ definitions: [{ ...definition(), count: 'bytes' }], points: [] }, /count must be one of/);
    bad({ definitions: [{ ...definition(), semanticsVersion: 0 }], points: [] }, /from 1 to 2147483647, got 0/);
    bad({ definitions: [definition()], points: [point({ repo: 'a\nb' })] }, /control characters/);
  });

  it('requires each point to come with its series definition, defined once', () => {
    bad({ definitions: [], points: [point()] }, /has no definition in this batch/);
    bad({ definitions: [definition(), definition({ query: 'FIXME' })], points: [] }, /defined twice with different contents/);
    assert.equal(ok({ definitions: [definition(), definition()], points: [] }).definitions.length, 1);
  });

  it('rejects non-objects and missing fields with a message a person can act on', () => {
    for (const body of [null, [], 'x', 3, true]) bad(body, /body must be a JSON object/);
    bad({ points: [] }, /missing field "definitions"/);
    bad({ definitions: {}, points: [] }, /definitions must be an array, got an object/);
    const { value: _v, ...noValue } = point();
    bad({ definitions: [definition()], points: [noValue] }, /missing field "value"/);
  });

  it('answers 413 over the batch limits and 400 over field limits', () => {
    const many = Array.from({ length: ORG_LIMITS.maxPointsPerBatch + 1 }, () => 0);
    bad({ definitions: [], points: many }, /limit is 50000: send smaller batches/, 413);
    bad({ definitions: [definition({ label: 'x'.repeat(ORG_LIMITS.maxLabelLength + 1) })], points: [] }, /label is 301 characters/);
    bad({ definitions: [definition()], points: [point({ repo: 'r'.repeat(ORG_LIMITS.maxRepoLength + 1) })] }, /repo is 513 characters/);
  });

  it('validates repo filters as regular expressions', () => {
    assert.equal(validateRepoFilter('^github\\.com/acme/').ok, true);
    assert.equal(compileRepoFilter('^github\\.com/acme/').ok, true);
    const v = compileRepoFilter('(unclosed');
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(v.message, /not a valid regular expression/);
    assert.equal(validateRepoFilter('').ok, false);
    assert.equal(validateRepoFilter(['a']).ok, false);
    assert.equal(validateRepoFilter('x'.repeat(600)).ok, false);
  });

  it('refuses text PostgreSQL cannot store, times it cannot hold and integers out of its range, naming the field', () => {
    const lone = ['\ud800', 'a\udc00b', 'x\ud83d'];
    for (const s of lone) {
      bad({ definitions: [definition()], points: [point({ repo: `github.com/${s}` })] }, /points\[0\]\.repo must not contain a lone UTF-16 surrogate/);
      bad({ definitions: [definition({ label: s })], points: [] }, /definitions\[0\]\.label must not contain a lone UTF-16 surrogate/);
      bad({ definitions: [definition({ query: s })], points: [] }, /definitions\[0\]\.query must not contain a lone UTF-16 surrogate/);
      bad({ definitions: [definition({ include: ['ok', s] })], points: [] }, /definitions\[0\]\.include\[1\] must not contain a lone/);
      bad({ definitions: [definition({ exclude: [s] })], points: [] }, /definitions\[0\]\.exclude\[0\] must not contain a lone/);
    }
    ok({ definitions: [definition({ label: 'emoji \ud83d\ude00', query: '\ud83d\ude00' })], points: [] }); // a whole pair is fine
    bad({ definitions: [definition({ query: 'TODO\u0000?' })], points: [] }, /definitions\[0\]\.query must not contain the NUL character/);
    bad({ definitions: [definition({ include: ['a\u0000'] })], points: [] }, /definitions\[0\]\.include\[0\] must not contain the NUL/);
    bad({ definitions: [definition({ exclude: ['\u0000'] })], points: [] }, /definitions\[0\]\.exclude\[0\] must not contain the NUL/);
    bad({ definitions: [definition()], points: [point({ time: '0000-01-01T00:00:00.000Z' })] }, /points\[0\]\.time must be in the years 0001–9999/);
    bad({ definitions: [definition()], points: [point({ commitTime: '0000-12-31T00:00:00.000Z' })] }, /points\[0\]\.commitTime must be in the years/);
    ok({ definitions: [definition()], points: [point({ time: '0001-01-01T00:00:00.000Z', commitTime: '9999-12-31T23:59:59.999Z' })] });
    for (const v of [2147483648, 2 ** 53 - 1]) bad({ definitions: [definition({ semanticsVersion: v })], points: [] }, /definitions\[0\]\.semanticsVersion must be an integer from 1 to 2147483647/);
    ok({ definitions: [definition({ semanticsVersion: 2147483647 })], points: [] });
    assert.equal(validateRepoFilter('\ud800').ok, false);
  });
});
