// Inflate (RFC 1951) and the zlib wrapper (RFC 1950) in plain JavaScript: componentize-js's
// engine has no zlib, and PNG image data is zlib-compressed.
//
// Written for an interpreter (StarlingMonkey runs SpiderMonkey without a JIT): Huffman codes
// of up to 10 bits are decoded with one table lookup, longer ones (rare) bit by bit from the
// canonical code; matches that do not overlap are copied with `copyWithin`.

/** Malformed compressed data. */
export class InflateError extends Error {
  constructor(message) {
    super(message);
    this.name = 'InflateError';
  }
}

const MAX_BITS = 15;
const FAST_BITS = 10;
const FAST_MASK = (1 << FAST_BITS) - 1;

// Length symbols 257..285 and distance symbols 0..29: base values and extra bits.
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
// The order in which code length code lengths are sent.
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A canonical Huffman code from code lengths: `fast[bits]` is `symbol << 4 | length` for
 * codes of up to FAST_BITS bits (0 where a longer code starts), and `count`/`symbols` decode
 * the rest as puff.c does.
 */
function huffman(lengths) {
  const count = new Uint16Array(MAX_BITS + 1);
  for (const len of lengths) {
    count[len]++;
  }
  count[0] = 0;
  let left = 1;
  for (let len = 1; len <= MAX_BITS; len++) {
    left = (left << 1) - count[len];
    if (left < 0) {
      throw new InflateError('invalid compressed data: over-subscribed Huffman code');
    }
  }
  const offsets = new Uint16Array(MAX_BITS + 2);
  for (let len = 1; len <= MAX_BITS; len++) {
    offsets[len + 1] = offsets[len] + count[len];
  }
  const symbols = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) {
    if (lengths[s]) {
      symbols[offsets[lengths[s]]++] = s;
    }
  }
  // Fill the fast table: codes are sent most significant bit first, but read from a buffer
  // filled least significant bit first, so each code is bit-reversed.
  const fast = new Int32Array(1 << FAST_BITS);
  let code = 0;
  let index = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    for (let n = 0; n < count[len]; n++, index++, code++) {
      if (len <= FAST_BITS) {
        let reversed = 0;
        for (let b = 0; b < len; b++) {
          reversed |= ((code >> b) & 1) << (len - 1 - b);
        }
        const entry = (symbols[index] << 4) | len;
        for (let at = reversed; at < 1 << FAST_BITS; at += 1 << len) {
          fast[at] = entry;
        }
      }
    }
    code <<= 1;
  }
  return { fast, count, symbols };
}

const FIXED_LITERALS = huffman(
  Array.from({ length: 288 }, (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8)),
);
const FIXED_DISTANCES = huffman(new Array(30).fill(5));

/** Decompression state: input, bit buffer, output (grown as needed). */
class Inflater {
  constructor(input, sizeHint) {
    this.input = input;
    this.pos = 0;
    this.bits = 0;
    this.count = 0;
    this.out = new Uint8Array(Math.max(1024, sizeHint | 0));
    this.op = 0;
  }

  /**
   * Makes sure at least 25 bits are buffered. Past the end of the input it buffers zeros (a
   * stream may end anywhere in its last byte), but consuming any of them means the stream
   * was cut short.
   */
  refill() {
    if (this.pos - (this.count >> 3) > this.input.length) {
      throw new InflateError('invalid compressed data: the stream is truncated');
    }
    while (this.count <= 24) {
      const byte = this.pos < this.input.length ? this.input[this.pos] : 0;
      this.pos++;
      this.bits |= byte << this.count;
      this.count += 8;
    }
  }

  take(n) {
    if (this.count < n) {
      this.refill();
    }
    const value = this.bits & ((1 << n) - 1);
    this.bits >>>= n;
    this.count -= n;
    return value;
  }

  /** The next symbol of `code`. */
  decode(code) {
    if (this.count < MAX_BITS) {
      this.refill();
    }
    const entry = code.fast[this.bits & FAST_MASK];
    if (entry) {
      const len = entry & 15;
      this.bits >>>= len;
      this.count -= len;
      return entry >> 4;
    }
    // A code longer than FAST_BITS: walk the canonical code one bit at a time.
    let first = 0;
    let index = 0;
    let value = 0;
    for (let len = 1; len <= MAX_BITS; len++) {
      value |= this.bits & 1;
      this.bits >>>= 1;
      this.count--;
      const n = code.count[len];
      if (value - n < first) {
        return code.symbols[index + (value - first)];
      }
      index += n;
      first = (first + n) << 1;
      value <<= 1;
    }
    throw new InflateError('invalid compressed data: no Huffman code matches');
  }

  reserve(n) {
    if (this.op + n > this.out.length) {
      const grown = new Uint8Array(Math.max(this.out.length * 2, this.op + n));
      grown.set(this.out.subarray(0, this.op));
      this.out = grown;
    }
  }

  stored() {
    // Skip to a byte boundary; the buffer holds whole bytes past it.
    this.bits >>>= this.count & 7;
    this.count -= this.count & 7;
    const len = this.take(16);
    const nlen = this.take(16);
    if ((len ^ 0xffff) !== nlen) {
      throw new InflateError('invalid compressed data: stored block length check fails');
    }
    // Whole bytes still in the bit buffer come first, then the rest straight from the input.
    this.reserve(len);
    let n = 0;
    while (n < len && this.count >= 8) {
      this.out[this.op++] = this.take(8);
      n++;
    }
    if (n < len) {
      // The buffer is empty here (it held whole bytes only).
      const rest = len - n;
      if (this.pos + rest > this.input.length) {
        throw new InflateError('invalid compressed data: the stream is truncated');
      }
      this.out.set(this.input.subarray(this.pos, this.pos + rest), this.op);
      this.op += rest;
      this.pos += rest;
    }
  }

  dynamicCodes() {
    const nlen = this.take(5) + 257;
    const ndist = this.take(5) + 1;
    const ncode = this.take(4) + 4;
    if (nlen > 286 || ndist > 30) {
      throw new InflateError('invalid compressed data: too many length or distance codes');
    }
    const clLengths = new Array(19).fill(0);
    for (let i = 0; i < ncode; i++) {
      clLengths[CL_ORDER[i]] = this.take(3);
    }
    const clCode = huffman(clLengths);
    const lengths = new Array(nlen + ndist).fill(0);
    for (let i = 0; i < nlen + ndist; ) {
      const sym = this.decode(clCode);
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let repeat;
      let value = 0;
      if (sym === 16) {
        if (i === 0) {
          throw new InflateError('invalid compressed data: repeat with no first length');
        }
        value = lengths[i - 1];
        repeat = 3 + this.take(2);
      } else if (sym === 17) {
        repeat = 3 + this.take(3);
      } else {
        repeat = 11 + this.take(7);
      }
      if (i + repeat > nlen + ndist) {
        throw new InflateError('invalid compressed data: code lengths overflow');
      }
      while (repeat--) {
        lengths[i++] = value;
      }
    }
    if (lengths[256] === 0) {
      throw new InflateError('invalid compressed data: no end-of-block code');
    }
    return [huffman(lengths.slice(0, nlen)), huffman(lengths.slice(nlen))];
  }

  /**
   * Decodes one block's literals and matches. The hot loop of the whole decoder: the bit
   * buffer and the output live in local variables (an interpreter reads those much faster
   * than properties) and are written back around the rare slow paths.
   */
  codes(literals, distances) {
    const input = this.input;
    const litFast = literals.fast;
    const distFast = distances.fast;
    let { bits, count, pos, op, out } = this;
    const save = () => {
      Object.assign(this, { bits, count, pos, op });
    };
    const load = () => {
      ({ bits, count, pos, op, out } = this);
    };
    for (;;) {
      if (count < 25) {
        if (pos + 4 > input.length) {
          // Near the end: the careful refill, which checks for a truncated stream.
          save();
          this.refill();
          load();
        } else {
          while (count <= 24) {
            bits |= input[pos++] << count;
            count += 8;
          }
        }
      }
      let sym;
      let entry = litFast[bits & FAST_MASK];
      if (entry) {
        const len = entry & 15;
        bits >>>= len;
        count -= len;
        sym = entry >> 4;
      } else {
        save();
        sym = this.decode(literals);
        load();
      }
      if (sym < 256) {
        if (op >= out.length) {
          save();
          this.reserve(1);
          load();
        }
        out[op++] = sym;
        continue;
      }
      if (sym === 256) {
        save();
        return;
      }
      const l = sym - 257;
      if (l >= 29) {
        throw new InflateError('invalid compressed data: bad length symbol');
      }
      // Up to 5 length bits, then 15 for the distance code and 13 for its extra bits: refill
      // in between so the buffer never runs dry.
      let length = LENGTH_BASE[l];
      const lengthExtra = LENGTH_EXTRA[l];
      if (lengthExtra) {
        length += bits & ((1 << lengthExtra) - 1);
        bits >>>= lengthExtra;
        count -= lengthExtra;
      }
      save();
      if (count < MAX_BITS) {
        this.refill();
      }
      entry = distFast[this.bits & FAST_MASK];
      let d;
      if (entry) {
        const len = entry & 15;
        this.bits >>>= len;
        this.count -= len;
        d = entry >> 4;
      } else {
        d = this.decode(distances);
      }
      if (d >= 30) {
        throw new InflateError('invalid compressed data: bad distance symbol');
      }
      const distance = DIST_BASE[d] + (DIST_EXTRA[d] ? this.take(DIST_EXTRA[d]) : 0);
      if (distance > op) {
        throw new InflateError('invalid compressed data: distance too far back');
      }
      this.reserve(length);
      load();
      const from = op - distance;
      if (length < 16) {
        // Short matches are cheaper byte by byte than through a native call.
        for (let i = 0; i < length; i++, op++) {
          out[op] = out[op - distance];
        }
      } else if (distance === 1) {
        // A run of one byte (most of a PNG's blank rows).
        out.fill(out[from], op, op + length);
        op += length;
      } else {
        // An overlapping match repeats the last `distance` bytes: what is already copied
        // continues the pattern, so each chunk can be as long as everything copied so far.
        let remaining = length;
        while (remaining > 0) {
          const chunk = Math.min(op - from, remaining);
          out.copyWithin(op, from, from + chunk);
          op += chunk;
          remaining -= chunk;
        }
      }
    }
  }

  run() {
    let last = 0;
    while (!last) {
      last = this.take(1);
      const type = this.take(2);
      if (type === 0) {
        this.stored();
      } else if (type === 1) {
        this.codes(FIXED_LITERALS, FIXED_DISTANCES);
      } else if (type === 2) {
        const [literals, distances] = this.dynamicCodes();
        this.codes(literals, distances);
      } else {
        throw new InflateError('invalid compressed data: block type 3');
      }
      // Bits still buffered were read ahead; the bytes they came from are not consumed.
      if (this.pos - (this.count >> 3) > this.input.length) {
        throw new InflateError('invalid compressed data: the stream is truncated');
      }
    }
    // Give back whole bytes read ahead, so `pos` is where the stream ends.
    this.pos -= this.count >> 3;
    this.bits = 0;
    this.count = 0;
    return this.out.subarray(0, this.op);
  }
}

/**
 * Decompresses a raw deflate stream (RFC 1951). `sizeHint`, the expected output size when
 * known, saves regrowing the output. Returns `{ data, end }`: the bytes and where the stream
 * ended in `input`. Malformed input throws `InflateError`.
 */
export function inflateRaw(input, sizeHint = 0) {
  const inflater = new Inflater(input, sizeHint);
  const data = inflater.run();
  return { data, end: inflater.pos };
}

/** The Adler-32 checksum of `data` (RFC 1950). */
export function adler32(data) {
  let a = 1;
  let b = 0;
  // 5552 bytes is the most that can be summed before b must be reduced (zlib's NMAX).
  for (let i = 0; i < data.length; ) {
    const end = Math.min(i + 5552, data.length);
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * Decompresses a zlib stream (RFC 1950: header, deflate data, Adler-32), checking the header
 * and, unless `checksum` is false, the Adler-32 of the output: summing every output byte
 * costs as much as inflating in an interpreter, so callers whose input is already checked
 * (PNG's CRC-32 covers every compressed byte) may skip it. Throws `InflateError` for
 * malformed input.
 */
export function inflate(input, sizeHint = 0, { checksum = true } = {}) {
  if (input.length < 6) {
    throw new InflateError('invalid compressed data: too short for a zlib stream');
  }
  const cmf = input[0];
  const flg = input[1];
  if ((cmf & 15) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) {
    throw new InflateError('invalid compressed data: not a zlib stream');
  }
  if (flg & 0x20) {
    throw new InflateError('invalid compressed data: a preset dictionary is not supported');
  }
  const { data, end } = inflateRaw(input.subarray(2), sizeHint);
  const at = 2 + end;
  if (at + 4 > input.length) {
    throw new InflateError('invalid compressed data: truncated zlib checksum');
  }
  const expected = ((input[at] << 24) | (input[at + 1] << 16) | (input[at + 2] << 8) | input[at + 3]) >>> 0;
  if (checksum && adler32(data) !== expected) {
    throw new InflateError('invalid compressed data: zlib checksum mismatch');
  }
  return data;
}
