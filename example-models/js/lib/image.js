// Images for vision models: decoding a task's PNG or JPEG file to 8-bit RGB, in plain
// JavaScript.
//
//     const { bytes } = fetchTask(task, 'image');
//     const image = decodeImage(bytes);          // RgbImage: width, height, pixels (RGB)
//
// The file's type comes from its signature, not its name or content type. Grey becomes
// R = G = B; transparency (grey+alpha, RGBA, a palette with `tRNS`) is composited over white,
// per channel `(c * a + 255 * (255 - a) + 127) / 255` rounded down, the same integers in every
// language's helper. What cannot be read throws an `invalid-input` model error (HTTP 422)
// saying why. Resizing: `resize.js`.

import { invalidInput } from './errors.js';
import { JPEG_SIGNATURE, decodeJpeg } from './jpeg.js';
import { PNG_SIGNATURE, decodePng } from './png.js';

/** An 8-bit RGB image: `width`, `height` and `pixels` (row-major R, G, B, a `Uint8Array`). */
export class RgbImage {
  constructor(width, height, pixels) {
    if (pixels.length !== width * height * 3) {
      throw new RangeError(`${width}x${height} RGB needs ${width * height * 3} bytes, not ${pixels.length}`);
    }
    /** Pixels per row. */
    this.width = width;
    /** Rows. */
    this.height = height;
    /** `width * height * 3` samples. */
    this.pixels = pixels;
  }

  /** The `[r, g, b]` at column `x`, row `y`. */
  pixel(x, y) {
    const at = 3 * (y * this.width + x);
    return [this.pixels[at], this.pixels[at + 1], this.pixels[at + 2]];
  }
}

const startsWith = (bytes, signature) => signature.every((b, i) => bytes[i] === b);

/**
 * Decodes a PNG or JPEG file keeping its channels: `{ width, height, channels, samples }`
 * with 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA) 8-bit samples per pixel.
 */
export function decodeSamples(bytes) {
  if (startsWith(bytes, PNG_SIGNATURE)) {
    return decodePng(bytes);
  }
  if (startsWith(bytes, JPEG_SIGNATURE)) {
    return decodeJpeg(bytes);
  }
  throw invalidInput('unsupported image format: only PNG and JPEG can be read');
}

/** Decodes a PNG or JPEG file (`Uint8Array`) to an `RgbImage` (see the module's comment). */
export function decodeImage(bytes) {
  return toRgb(decodeSamples(bytes));
}

// OVER[a * 256 + c]: sample c of alpha a composited over white. Built once when the module
// loads, which componentize-js does at build time, so no call pays for it.
const OVER = new Uint8Array(65536);
for (let a = 0; a < 256; a++) {
  for (let c = 0; c < 256; c++) {
    OVER[a * 256 + c] = Math.floor((c * a + 255 * (255 - a) + 127) / 255);
  }
}

/**
 * Flattens decoded samples to RGB: grey replicated, alpha composited over white. One loop per
 * channel count, with a table instead of arithmetic: the engine interprets every operation.
 */
export function toRgb({ width, height, channels, samples }) {
  if (channels === 3) {
    return new RgbImage(width, height, samples);
  }
  const n = width * height;
  const pixels = new Uint8Array(3 * n);
  if (channels === 1) {
    for (let p = 0, o = 0; p < n; p++, o += 3) {
      const g = samples[p];
      pixels[o] = g;
      pixels[o + 1] = g;
      pixels[o + 2] = g;
    }
  } else if (channels === 2) {
    for (let p = 0, o = 0, i = 0; p < n; p++, o += 3, i += 2) {
      const g = OVER[(samples[i + 1] << 8) | samples[i]];
      pixels[o] = g;
      pixels[o + 1] = g;
      pixels[o + 2] = g;
    }
  } else if (channels === 4) {
    for (let p = 0, o = 0, i = 0; p < n; p++, o += 3, i += 4) {
      const a = samples[i + 3];
      if (a === 255) {
        pixels[o] = samples[i];
        pixels[o + 1] = samples[i + 1];
        pixels[o + 2] = samples[i + 2];
      } else {
        const row = a << 8;
        pixels[o] = OVER[row | samples[i]];
        pixels[o + 1] = OVER[row | samples[i + 1]];
        pixels[o + 2] = OVER[row | samples[i + 2]];
      }
    }
  } else {
    throw new RangeError(`${channels} channels`);
  }
  return new RgbImage(width, height, pixels);
}
