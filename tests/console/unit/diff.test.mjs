import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffValues, diffScope, er7Positions, hl7Positions, isHl7Tree, statesOfTrace } from '../../../ui-static/js/diff.js';

test('objects are compared path by path, in document order', () => {
  const before = { a: 1, b: { c: 'x', d: [1, 2] }, gone: true };
  const after = { a: 1, b: { c: 'y', d: [1, 2, 3] }, 'odd key': null };
  assert.deepEqual(diffValues(before, after, 'body'), [
    { path: 'body.b.c', kind: 'changed', before: 'x', after: 'y' },
    { path: 'body.b.d[2]', kind: 'added', after: 3 },
    { path: 'body.gone', kind: 'removed', before: true },
    { path: 'body["odd key"]', kind: 'added', after: null },
  ]);
  assert.deepEqual(diffValues({ a: [1] }, { a: [1] }), []);
});

test('text parsed into a tree reads as the text removed and each leaf added', () => {
  assert.deepEqual(diffValues('{"a":{"b":1}}', { a: { b: 1 } }, 'body'), [
    { path: 'body', kind: 'removed', before: '{"a":{"b":1}}' },
    { path: 'body.a.b', kind: 'added', after: 1 },
  ]);
});

const adt = {
  segments: [
    { segment: 'MSH', 1: '|', 2: '^~\\&', 3: 'HIS', 9: { 1: 'ADT', 2: 'A01' } },
    { segment: 'PID', 1: '1', 2: '', 3: [{ 1: 'P1', 4: 'H' }, { 1: 'BA1' }], 5: { 1: '张', 2: '三' } },
    { segment: 'OBX', 5: '6.5' },
    { segment: 'OBX', 5: '7.1' },
  ],
};

test('an HL7 tree is read by position', () => {
  assert.ok(isHl7Tree(adt));
  assert.ok(!isHl7Tree({ segments: [{ no: 1 }] }));
  const positions = hl7Positions(adt);
  assert.equal(positions['MSH-9.2'], 'A01');
  assert.equal(positions['PID-3[2].1'], 'BA1');
  assert.equal(positions['PID-5.1'], '张');
  assert.equal(positions['OBX-5'], '6.5');
  assert.equal(positions['OBX[2]-5'], '7.1');
  assert.ok(!('PID-2' in positions));
});

test('an HL7 parse and an HL7 edit show HL7 positions', () => {
  // Text that is no HL7 message goes whole; an HL7 one is compared position by position.
  const fromText = diffScope('body', 'not hl7', adt);
  assert.deepEqual(fromText[0], { path: 'body', kind: 'removed', before: 'not hl7' });
  assert.ok(fromText.some((c) => c.path === 'body PID-5.1' && c.kind === 'added' && c.after === '张'));
  const parsed = diffScope('body', 'MSH|^~\\&|HIS', adt);
  assert.ok(!parsed.some((c) => c.path === 'body' || c.path === 'body MSH-3'), JSON.stringify(parsed));
  assert.ok(parsed.some((c) => c.path === 'body PID-5.1' && c.kind === 'added' && c.after === '张'));
  const edited = structuredClone(adt);
  edited.segments[1][5][1] = '李';
  assert.deepEqual(diffScope('body', adt, edited), [{ path: 'body PID-5.1', kind: 'changed', before: '张', after: '李' }]);
});

test('each step sees the scopes the steps before it left', () => {
  const trace = [{ output: { body: { a: 1 } } }, { output: { vars: { x: 1 } } }, {}];
  const states = statesOfTrace(trace, { body: 'raw' });
  assert.deepEqual(states[0].before, { body: 'raw' });
  assert.deepEqual(states[1].before, { body: { a: 1 } });
  assert.deepEqual(states[2].after, { body: { a: 1 }, vars: { x: 1 } });
});

test('an MLLP body before the steps is its ER7 text, compared by position with the tree a step made', () => {
  const er7 = 'MSH|^~\\&|HIS\rPID|1||P1^^^H~BA1||张^三||19800101|M\rOBX|1||||6.5\rOBX|2||||7.1';
  const positions = er7Positions(er7);
  assert.equal(positions['MSH-1'], '|');
  assert.equal(positions['MSH-2'], '^~\\&');
  assert.equal(positions['PID-3[1].1'], 'P1');
  assert.equal(positions['PID-3[2]'], 'BA1');
  assert.equal(positions['PID-5.1'], '张');
  assert.equal(positions['PID-8'], 'M');
  assert.equal(positions['OBX[2]-5'], '7.1');
  const tree = {
    segments: [
      { segment: 'MSH', 1: '|', 2: '^~\\&', 3: 'HIS' },
      { segment: 'PID', 1: '1', 2: '', 3: [{ 1: 'P1', 2: '', 3: '', 4: 'H' }, 'BA1'], 4: '', 5: { 1: '李', 2: '三' }, 6: '', 7: '19800101', 8: 'M' },
      { segment: 'OBX', 1: '1', 5: '6.5' },
      { segment: 'OBX', 1: '2', 5: '7.1' },
    ],
  };
  assert.deepEqual(diffScope('body', er7, tree), [{ path: 'body PID-5.1', kind: 'changed', before: '张', after: '李' }]);
});
