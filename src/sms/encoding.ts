// GSM 03.38 (GSM-7) detection and SMS segment counts: what an SMS costs and how Exotel must encode it.

const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
// The extension table: each of these takes two septets (escape + character).
const GSM7_EXTENDED = '^{}\\[~]|€\f';

const basic = new Set(Array.from(GSM7_BASIC));
const extended = new Set(Array.from(GSM7_EXTENDED));

export type Encoding = 'plain' | 'unicode';

export interface SegmentInfo {
  encoding: Encoding;
  /** septets for plain, UTF-16 code units for unicode */
  units: number;
  segments: number;
}

/** `plain` when every character is in GSM-7 (basic or extension table), else `unicode`. */
export function detectEncoding(text: string): Encoding {
  for (const ch of text) {
    if (!basic.has(ch) && !extended.has(ch)) return 'unicode';
  }
  return 'plain';
}

/** Segments as a handset counts them: 160/153 septets for GSM-7, 70/67 UTF-16 units for UCS-2. */
export function countSegments(text: string): SegmentInfo {
  const encoding = detectEncoding(text);
  if (encoding === 'plain') {
    let units = 0;
    for (const ch of text) units += extended.has(ch) ? 2 : 1;
    // Stryker disable next-line ConditionalExpression: equivalent; 0 units is also at most 160, one segment either way
    return { encoding, units, segments: units === 0 ? 1 : units <= 160 ? 1 : Math.ceil(units / 153) };
  }
  const units = text.length;
  return { encoding, units, segments: units <= 70 ? 1 : Math.ceil(units / 67) };
}
