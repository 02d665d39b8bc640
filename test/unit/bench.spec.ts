// The benchmark's verdicts: computed from what was measured, so that a broken run fails `npm run bench`.
import * as assert from 'node:assert/strict';
import { selectBenchmarks } from '../../bench/lib/config';
import { failures, type BenchResult } from '../../bench/lib/report';
import { matchReplies } from '../../bench/lib/traffic';
import { rateLimitFigures } from '../../bench/benchmarks/rate-limit-figures';

const bench = (over: Partial<BenchResult>): BenchResult => ({ title: 't', columns: [], rows: [], targets: [], checks: [], data: {}, ...over });

describe('bench verdicts', () => {
  it('names every failed check and missed target, and nothing when all pass', () => {
    const result = bench({
      checks: [
        { name: 'acknowledged but not in the log', value: 3, ok: false },
        { name: 'non-2xx', value: 0, ok: true },
      ],
      targets: [
        { name: 'req/s ours ≥ 0.9 × bare', target: '≥ 0.9', actual: 0.7, pass: false },
        { name: 'p99 ours ≤ bare', target: '≤ 1.0', actual: 0.8, pass: true },
      ],
    });
    assert.deepEqual(failures('inbound-ack', result), [
      'inbound-ack: check failed: acknowledged but not in the log (3)',
      'inbound-ack: target missed: req/s ours ≥ 0.9 × bare (wanted ≥ 0.9, got 0.7)',
    ]);
    assert.deepEqual(failures('x', bench({ checks: [{ name: 'a', value: 0, ok: true }] })), []);
  });

  it('counts a number replied to twice and a callback answered without a reply', () => {
    const m = matchReplies(['+919800000001', '09800000001', '+919800000002'], ['9800000001', '9800000002', '9800000003'], ['9800000001', '9800000002', '9800000003']);
    assert.equal(m.numbersRepliedTwice, 1);
    assert.equal(m.ackedWithoutReply, 1);
    assert.equal(m.repliedNeverSent, 0);
  });

  it('finds 201 requests in a 60 s window that no calendar minute shows', () => {
    const t0 = 1_000_000;
    // 100 at the end of minute 1 and 101 at the start of minute 2: each minute ≤ 200, one window 201
    const arrivals = [...Array.from({ length: 100 }, (_, i) => t0 + 50_000 + i), ...Array.from({ length: 101 }, (_, i) => t0 + 61_000 + i)];
    const f = rateLimitFigures([t0, ...arrivals], t0, t0 + 125_000, 200);
    assert.ok(f.perMinute.every((n) => n <= 200));
    assert.equal(f.maxWindow, 201);
    assert.ok(f.minGap !== null && f.minGap < 60_000);
  });

  it('selects benchmarks by a word of their name, and refuses an unknown one', () => {
    const known = ['inbound-ack', 'reply-pipeline', 'opt-out-check', 'conversations-memory', 'send-overhead', 'sms-log', 'rate-limit'];
    assert.deepEqual(selectBenchmarks(['memory', 'inbound'], known), ['inbound-ack', 'conversations-memory']);
    assert.deepEqual(selectBenchmarks([], known), known);
    assert.throws(() => selectBenchmarks(['nope'], known), /unknown benchmark "nope"/);
  });
});
