// Text offsets the way Label Studio counts them.
//
// Label Studio's front end measures span `start`/`end` in JavaScript string indices (UTF-16
// code units), which is exactly what `String.prototype.indexOf` and `slice` use here: no
// conversion is needed, only care not to cut a surrogate pair in half.

/** True when UTF-16 offset `offset` of `text` falls between the two halves of a surrogate pair. */
function splitsSurrogatePair(text, offset) {
  if (offset <= 0 || offset >= text.length) {
    return false;
  }
  const before = text.charCodeAt(offset - 1);
  const after = text.charCodeAt(offset);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

/**
 * The part of `text` between UTF-16 offsets `start` and `end`, or `null` when the offsets are
 * out of order, past the end, or split a surrogate pair (an emoji, say).
 */
export function sliceUtf16(text, start, end) {
  if (!(start <= end && end <= text.length)) {
    return null;
  }
  if (splitsSurrogatePair(text, start) || splitsSurrogatePair(text, end)) {
    return null;
  }
  return text.slice(start, end);
}

/**
 * Every non-overlapping occurrence of `needle` in `haystack`, left to right, as UTF-16
 * `[start, end]` pairs. An empty needle matches nothing.
 */
export function findAllUtf16(haystack, needle) {
  const spans = [];
  if (needle === '') {
    return spans;
  }
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) {
    spans.push([at, at + needle.length]);
  }
  return spans;
}

/**
 * Orders strings by Unicode code point, as Rust and Python do. JavaScript's `<` compares UTF-16
 * code units, which puts emoji (surrogates, U+D800...) before characters such as U+FF01.
 */
export function compareCodePoints(a, b) {
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  for (;;) {
    const x = left.next();
    const y = right.next();
    if (x.done || y.done) {
      return (x.done ? 0 : 1) - (y.done ? 0 : 1);
    }
    const diff = x.value.codePointAt(0) - y.value.codePointAt(0);
    if (diff !== 0) {
      return diff;
    }
  }
}
