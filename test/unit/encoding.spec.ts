import assert from 'node:assert/strict';
import { detectEncoding, countSegments } from '../../src/sms/encoding';

describe('GSM-7 and UCS-2 segments', function () {
  const cases: [string, string, number][] = [
    ['Reply YES to receive order updates. Reply STOP to unsubscribe.', 'plain', 1],
    ['', 'plain', 1],
    ['a'.repeat(160), 'plain', 1],
    ['a'.repeat(161), 'plain', 2],
    ['a'.repeat(306), 'plain', 2],
    ['a'.repeat(307), 'plain', 3],
    ['€'.repeat(80), 'plain', 1], // 160 septets: the euro sign is an escape pair
    ['€'.repeat(81), 'plain', 2],
    ['Price: 100 {INR} [approx] ~ok^ |x| \\', 'plain', 1],
    ['Café à Zürich, Øre £5 ¥6 §7 ¿Qué? ¡Sì!', 'plain', 1],
    ['¡Sí! (í is not GSM-7)', 'unicode', 1],
    ['Price ₹499', 'unicode', 1], // the rupee sign is not GSM-7
    ['आपका कोड 456789 है', 'unicode', 1],
    ['न'.repeat(70), 'unicode', 1],
    ['न'.repeat(71), 'unicode', 2],
    ['न'.repeat(134), 'unicode', 2],
    ['न'.repeat(135), 'unicode', 3],
    ['Thanks 👍', 'unicode', 1],
    ['ç lower-case c-cedilla', 'unicode', 1], // only capital Ç is in GSM-7
    ['Smart “quotes”', 'unicode', 1],
  ];
  for (const [text, encoding, segments] of cases) {
    it(`${JSON.stringify(text.length > 30 ? text.slice(0, 27) + '…' : text)} (${text.length} chars) → ${encoding}, ${segments} segment(s)`, function () {
      assert.equal(detectEncoding(text), encoding);
      assert.equal(countSegments(text).segments, segments);
      assert.equal(countSegments(text).encoding, encoding);
    });
  }

  it('counts extension characters as two septets', function () {
    assert.equal(countSegments('{}').units, 4);
    assert.equal(countSegments('ab').units, 2);
  });
});
