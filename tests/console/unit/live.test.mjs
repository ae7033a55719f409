import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveBuckets } from '../../../ui-static/js/live.js';

const zero = { total: 0, processed: 0, filtered: 0, rejected: 0, failed: 0 };
const at = (iso) => new Date(iso).getTime();

test("the counters' growth goes into the current minute", () => {
  const live = new LiveBuckets();
  live.reset([{ start: '2026-11-22T08:00:00.000Z', ...zero }, { start: '2026-11-22T08:01:00.000Z', ...zero, total: 2, processed: 2 }], {
    processed: 10,
    filtered: 0,
    rejected: 1,
    failed: 0,
  });
  assert.equal(live.add({ processed: 10, filtered: 0, rejected: 1, failed: 0 }, at('2026-11-22T08:01:30Z')), false);
  assert.equal(live.add({ processed: 13, filtered: 0, rejected: 2, failed: 0 }, at('2026-11-22T08:01:40Z')), true);
  assert.deepEqual(live.buckets[1], { start: '2026-11-22T08:01:00.000Z', total: 6, processed: 5, filtered: 0, rejected: 1, failed: 0 });
});

test('a new minute shifts the window; a restart never counts backwards', () => {
  const live = new LiveBuckets();
  live.reset([{ start: '2026-11-22T08:00:00.000Z', ...zero }, { start: '2026-11-22T08:01:00.000Z', ...zero }], { processed: 5 });
  assert.equal(live.add({ processed: 6 }, at('2026-11-22T08:03:10Z')), true);
  assert.deepEqual(live.buckets.map((b) => b.start), ['2026-11-22T08:02:00.000Z', '2026-11-22T08:03:00.000Z']);
  assert.equal(live.buckets[1].processed, 1);
  live.add({ processed: 0 }, at('2026-11-22T08:03:20Z'));
  assert.equal(live.buckets[1].processed, 1);
});

test('nothing is added before the first read of the journal', () => {
  const live = new LiveBuckets();
  assert.equal(live.add({ processed: 3 }), false);
  assert.equal(live.buckets, null);
});
