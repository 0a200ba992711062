// PNG decoding in plain JavaScript (with `inflate.js`), to 8-bit samples.
//
// Every colour type and bit depth of the PNG specification, interlaced (Adam7) or not. The
// result keeps the image's own channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), 8 bits each:
// 16-bit samples keep their high byte, grey below 8 bits is scaled to 0..255
// (`v * 255 / (2 ** depth - 1)`, as PIL and libpng do), palettes are expanded to RGB, or RGBA
// when a `tRNS` chunk gives them transparency. A `tRNS` colour key on a grey or RGB image is
// ignored, as PIL ignores it. `image.js` flattens the result to RGB. The Python helper
// (`wasml/png.py`) decodes to the same samples.

import { invalidInput } from './errors.js';
import { InflateError, inflate } from './inflate.js';

/** The 8 bytes every PNG file starts with. */
export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Images above this many pixels are refused before any pixel buffer is allocated. */
export const MAX_PIXELS = 50_000_000;

// Samples per pixel of each colour type; the bit depths each allows.
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
// Adam7 passes: x start, y start, x step, y step.
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c;
  }
  return table;
})();

/** The CRC-32 of `bytes` (PNG's chunk checksum). */
export function crc32(bytes, start = 0, end = bytes.length) {
  let c = -1;
  for (let i = start; i < end; i++) {
    c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ -1) >>> 0;
}

function fail(message) {
  return invalidInput(`invalid PNG: ${message}`);
}

const u32 = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/** The chunks of a PNG file as `[type, start, end]` of their bodies, lengths and CRCs checked. */
function chunks(data) {
  const found = [];
  let at = 8;
  while (at < data.length) {
    if (at + 12 > data.length) {
      throw fail('truncated chunk');
    }
    const length = u32(data, at);
    const type = String.fromCharCode(data[at + 4], data[at + 5], data[at + 6], data[at + 7]);
    const end = at + 8 + length;
    if (end + 4 > data.length) {
      throw fail(`chunk ${type} runs past the end of the file`);
    }
    if (crc32(data, at + 4, end) !== u32(data, end)) {
      throw fail(`chunk ${type} has a bad CRC`);
    }
    found.push([type, at + 8, end]);
    at = end + 4;
    if (type === 'IEND') {
      break;
    }
  }
  return found;
}

/**
 * Decodes a PNG file (`Uint8Array`) to `{ width, height, channels, samples }` (`samples` a
 * `Uint8Array`, row-major); a malformed file throws an `invalid-input` model error.
 */
export function decodePng(data) {
  if (!PNG_SIGNATURE.every((b, i) => data[i] === b)) {
    throw fail('no PNG signature');
  }
  let header;
  let palette;
  let transparency;
  const idat = [];
  for (const [type, start, end] of chunks(data)) {
    if (type === 'IHDR') {
      if (end - start !== 13) {
        throw fail('IHDR is not 13 bytes');
      }
      header = {
        width: u32(data, start),
        height: u32(data, start + 4),
        depth: data[start + 8],
        colour: data[start + 9],
        methods: [data[start + 10], data[start + 11], data[start + 12]],
      };
    } else if (type === 'PLTE') {
      palette = data.subarray(start, end);
    } else if (type === 'tRNS') {
      transparency = data.subarray(start, end);
    } else if (type === 'IDAT') {
      idat.push(data.subarray(start, end));
    } else if (type !== 'IEND' && !(type.charCodeAt(0) & 0x20)) {
      throw fail(`unknown critical chunk ${type}`);
    }
  }
  if (header === undefined) {
    throw fail('no IHDR chunk');
  }
  const { width, height, depth, colour, methods } = header;
  if (!(colour in CHANNELS) || !DEPTHS[colour].includes(depth)) {
    throw fail(`colour type ${colour} with bit depth ${depth} is not valid`);
  }
  const [compression, filtering, interlace] = methods;
  if (compression || filtering || interlace > 1) {
    throw fail('unknown compression, filter or interlace method');
  }
  if (width === 0 || height === 0) {
    throw invalidInput('the image is empty');
  }
  if (width * height > MAX_PIXELS) {
    throw invalidInput(`the image is ${width}x${height} pixels; at most ${MAX_PIXELS} pixels are accepted`);
  }
  if (colour === 3 && !palette?.length) {
    throw fail('a palette image without a PLTE chunk');
  }
  const channels = CHANNELS[colour];
  const bits = channels * depth;
  const compressed = concat(idat);
  let raw;
  try {
    // Every IDAT byte passed its CRC-32 check, so the Adler-32 of the output (as costly as
    // the inflate itself here) is not checked again.
    raw = inflate(compressed, expectedSize(width, height, bits, interlace), { checksum: false });
  } catch (error) {
    throw error instanceof InflateError ? fail(`corrupt image data (${error.message})`) : error;
  }
  const format = { depth, colour, channels, bits };
  let samples;
  if (interlace) {
    samples = adam7(raw, width, height, format);
  } else {
    samples = new Uint8Array(width * height * channels);
    const line = width * channels;
    unfilterImage(raw, 0, width, height, format, (y, row) => samples.set(row, y * line));
  }
  if (colour === 3) {
    return expandPalette(samples, palette, transparency, width, height);
  }
  return { width, height, channels, samples };
}

function concat(parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The size of the decompressed image data: every (sub-)image's rows with their filter byte. */
function expectedSize(width, height, bits, interlace) {
  const size = (w, h) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bits) / 8)) : 0);
  if (!interlace) {
    return size(width, height);
  }
  return ADAM7.reduce((n, [x0, y0, dx, dy]) => n + size(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)), 0);
}

/**
 * Unfilters the rows of one (sub-)image starting at `raw[at]`, handing each row's 8-bit
 * samples to `emit(y, samples)` (a view that the next row overwrites). Returns where the
 * (sub-)image's data ends.
 */
function unfilterImage(raw, at, width, height, format, emit) {
  const stride = Math.ceil((width * format.bits) / 8);
  const bpp = Math.max(1, format.bits >> 3);
  if (at + height * (stride + 1) > raw.length) {
    throw fail('the image data is incomplete');
  }
  // Rows live in buffers rounded up to whole 32-bit words, so the Up filter can add four
  // bytes at a time.
  const words = Math.ceil(stride / 4);
  let prev = new Uint8Array(words * 4);
  let row = new Uint8Array(words * 4);
  const samples = new Uint8Array(width * format.channels);
  for (let y = 0; y < height; y++) {
    const kind = raw[at];
    const line = raw.subarray(at + 1, at + 1 + stride);
    at += stride + 1;
    unfilter(kind, line, prev, row, bpp);
    emit(y, toEightBit(row, width, format, samples));
    [prev, row] = [row, prev];
  }
  return at;
}

/**
 * Undoes one row's filter into `row`, given the previous unfiltered row (both may be longer
 * than `line`, in whole 32-bit words; the bytes past it are scratch).
 */
function unfilter(kind, line, prev, row, bpp) {
  const n = line.length;
  switch (kind) {
    case 0:
      row.set(line);
      break;
    case 1:
      for (let i = 0; i < n; i++) {
        row[i] = line[i] + (i >= bpp ? row[i - bpp] : 0);
      }
      break;
    case 2: {
      // Four bytewise additions modulo 256 per 32-bit word: add the low 7 bits of each byte
      // (no carry leaves a byte), then put back the top bits with XOR.
      row.set(line);
      const r = new Uint32Array(row.buffer);
      const p = new Uint32Array(prev.buffer);
      for (let j = 0; j < r.length; j++) {
        const a = r[j];
        const b = p[j];
        r[j] = ((a & 0x7f7f7f7f) + (b & 0x7f7f7f7f)) ^ ((a ^ b) & 0x80808080);
      }
      break;
    }
    case 3:
      for (let i = 0; i < n; i++) {
        row[i] = line[i] + (((i >= bpp ? row[i - bpp] : 0) + prev[i]) >> 1);
      }
      break;
    case 4:
      for (let i = 0; i < bpp && i < n; i++) {
        row[i] = line[i] + prev[i]; // With no left neighbour, Paeth predicts the byte above.
      }
      for (let i = bpp; i < n; i++) {
        const a = row[i - bpp];
        const b = prev[i];
        const c = prev[i - bpp];
        let pa = b - c; // |p - a| with p = a + b - c
        let pb = a - c; // |p - b|
        let pc = pa + pb; // |p - c|
        if (pa < 0) pa = -pa;
        if (pb < 0) pb = -pb;
        if (pc < 0) pc = -pc;
        row[i] = line[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      break;
    default:
      throw fail(`unknown filter type ${kind}`);
  }
}

/** One unfiltered row as 8-bit samples into `samples` (palette indices stay indices). */
function toEightBit(row, width, { depth, colour, channels }, samples) {
  if (depth === 8) {
    return row.subarray(0, width * channels);
  }
  const count = width * channels;
  if (depth === 16) {
    for (let i = 0; i < count; i++) {
      samples[i] = row[2 * i];
    }
    return samples.subarray(0, count);
  }
  // Grey below 8 bits is scaled to 0..255; palette indices are not.
  const scale = colour === 3 ? 1 : 255 / ((1 << depth) - 1);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let i = 0; i < count; i++) {
    const shift = 8 - depth * ((i % perByte) + 1);
    samples[i] = ((row[(i / perByte) | 0] >> shift) & mask) * scale;
  }
  return samples.subarray(0, count);
}

/** Decodes the seven passes and places their pixels in one image. */
function adam7(raw, width, height, format) {
  const { channels } = format;
  const image = new Uint8Array(width * height * channels);
  let at = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth <= 0 || passHeight <= 0) {
      continue;
    }
    at = unfilterImage(raw, at, passWidth, passHeight, format, (j, samples) => {
      const y = y0 + j * dy;
      for (let i = 0; i < passWidth; i++) {
        const to = (y * width + x0 + i * dx) * channels;
        for (let c = 0; c < channels; c++) {
          image[to + c] = samples[i * channels + c];
        }
      }
    });
  }
  return image;
}

/**
 * Palette indices to RGB, or RGBA with a `tRNS` chunk. Indices past the palette are opaque
 * black (as the Rust `png` crate expands them).
 */
function expandPalette(indices, palette, transparency, width, height) {
  const channels = transparency ? 4 : 3;
  const table = new Uint8Array(256 * channels);
  for (let i = 0; i < 256; i++) {
    for (let c = 0; c < 3; c++) {
      table[i * channels + c] = 3 * i + c < palette.length - (palette.length % 3) ? palette[3 * i + c] : 0;
    }
    if (transparency) {
      table[i * channels + 3] = i < transparency.length ? transparency[i] : 255;
    }
  }
  const samples = new Uint8Array(width * height * channels);
  for (let p = 0, o = 0; p < indices.length; p++) {
    const from = indices[p] * channels;
    for (let c = 0; c < channels; c++) {
      samples[o++] = table[from + c];
    }
  }
  return { width, height, channels, samples };
}
