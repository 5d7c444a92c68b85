// SMS segments, counted as the SMS adapter counts them (crates/omni-core/
// src/segments.rs): GSM-7 when every character is in the GSM 03.38
// alphabet (an extension character takes two septets), 160 septets alone
// or 153 per concatenated segment; otherwise UCS-2, 70 UTF-16 units alone
// or 67 per segment. Segments are cut between characters.

const GSM7_BASIC = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?'
  + '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENSION = '\f^{}\\[~]|€';

function septets(c) {
  if (GSM7_BASIC.includes(c)) return 1;
  if (GSM7_EXTENSION.includes(c)) return 2;
  return null;
}

/** The segments `chars` (an array of characters) is sent in. */
function segmentsOf(chars) {
  const gsm = chars.every((c) => septets(c) !== null);
  const units = gsm ? septets : (c) => c.length; // a JS string's length is UTF-16 units
  const [single, each] = gsm ? [160, 153] : [70, 67];
  let total = 0;
  for (const c of chars) total += units(c);
  if (total <= single) return 1;
  let count = 1;
  let used = 0;
  for (const c of chars) {
    const cost = units(c);
    if (used + cost > each) { count++; used = 0; }
    used += cost;
  }
  return count;
}

/** The segments `text` is sent in. */
export function segments(text) { return segmentsOf(Array.from(text)); }

/**
 * How many characters must go from the end of `text` for it to fit in
 * `max` segments (0 when it fits).
 */
export function charsOverSegments(text, max) {
  const chars = Array.from(text);
  if (segmentsOf(chars) <= max) return 0;
  // The longest prefix that fits: fewer characters never take more segments.
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (segmentsOf(chars.slice(0, mid)) <= max) lo = mid; else hi = mid - 1;
  }
  return chars.length - lo;
}
