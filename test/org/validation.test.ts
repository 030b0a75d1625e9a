// The strict validator of protocol/org.ts: what the service accepts is exactly the contract.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ORG_LIMITS, validatePushPointsRequest, validateRepoFilter } from '../../protocol/org';
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
    bad({ definitions: [{ ...definition(), semanticsVersion: 0 }], points: [] }, /at least 1/);
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
    const v = validateRepoFilter('(unclosed');
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(v.message, /not a valid regular expression/);
    assert.equal(validateRepoFilter('').ok, false);
    assert.equal(validateRepoFilter(['a']).ok, false);
    assert.equal(validateRepoFilter('x'.repeat(600)).ok, false);
  });
});
