// Resizing RGB images exactly as OpenCV's `cv2.resize` does, in plain JavaScript.
//
// `resizeLanczos4` is `INTER_LANCZOS4` for 8-bit images, bit for bit: 8 taps per axis,
// OpenCV's `interpolateLanczos4` weights (float32, normalised) rounded to 11-bit fixed point,
// source indices clamped at the edges, a horizontal then a vertical pass in integers. The
// Python helper (`wasml/resize.py`) and the Rust SDK compute the same pixels.
//
// A `window` asks for only part of the output (a centre crop, say): its pixels are those of
// the whole resized image, and only the source rows the window needs are filtered.

import { RgbImage } from './image.js';

const S45 = 0.70710678118654752440084436210485;
const CS = [[1, 0], [-S45, -S45], [0, 1], [S45, -S45], [-1, 0], [S45, S45], [0, -1], [-S45, S45]];
const f32 = Math.fround;
const TINY = f32(1e-6); // OpenCV compares with the float 1e-6f.

/** `Math.round` rounds halves up; OpenCV's `cvRound` (and Rust's, Python's) to even. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  // `+ 0` turns the -0 that Math.round gives small negatives into 0.
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

/**
 * OpenCV's `interpolateLanczos4`: the 8 float32 weights of taps -3 .. +4 for a fractional
 * offset `fx` (a float32 in [0, 1)).
 */
export function lanczos4Weights(fx) {
  const shifted = f32(fx + 3); // float + int stays float in C++
  const y0 = -shifted * Math.PI * 0.25;
  const s0 = Math.sin(y0);
  const c0 = Math.cos(y0);
  const coeffs = new Array(8);
  let total = 0;
  for (let i = 0; i < 8; i++) {
    const t = f32(shifted - i);
    if (Math.abs(t) >= TINY) {
      const y = -t * Math.PI * 0.25;
      coeffs[i] = f32((CS[i][0] * s0 + CS[i][1] * c0) / (y * y));
    } else {
      coeffs[i] = 1e30; // OpenCV's own stand-in for the tap at the sample itself.
    }
    total = f32(total + coeffs[i]);
  }
  const inverse = f32(1 / total);
  return coeffs.map((c) => f32(c * inverse));
}

/**
 * For output indices `start .. start + count` along one axis: `{ first, weights }`, the
 * source index of tap 3 and the 8 weights in fixed point (`roundHalfEven(w * 2048)`,
 * OpenCV's `saturate_cast<short>`).
 */
export function lanczos4Taps(src, dst, start = 0, count = dst - start) {
  // cv::resize takes the inverse of the inverse scale; the same division keeps the same bits.
  const scale = 1 / (dst / src);
  const taps = [];
  for (let d = start; d < start + count; d++) {
    const fx = f32((d + 0.5) * scale - 0.5);
    const sx = Math.floor(fx);
    const weights = lanczos4Weights(f32(fx - sx)).map((w) => roundHalfEven(w * 2048));
    taps.push({ first: sx, weights });
  }
  return taps;
}

const clamp = (i, size) => (i < 0 ? 0 : i >= size ? size - 1 : i);

/**
 * `cv2.resize(image, (width, height), interpolation=cv2.INTER_LANCZOS4)` of an `RgbImage`;
 * with `window = [x0, y0, w, h]` only that part of the result (it must lie inside it).
 */
export function resizeLanczos4(image, width, height, window = [0, 0, width, height]) {
  const [x0, y0, outW, outH] = window;
  if (!(width > 0 && height > 0)) {
    throw new RangeError(`cannot resize to ${width}x${height}`);
  }
  if (x0 < 0 || y0 < 0 || outW <= 0 || outH <= 0 || x0 + outW > width || y0 + outH > height) {
    throw new RangeError(`window ${window} is not inside ${width}x${height}`);
  }
  const { width: srcW, height: srcH, pixels } = image;
  const columns = lanczos4Taps(srcW, width, x0, outW);
  const rows = lanczos4Taps(srcH, height, y0, outH);

  // Horizontal pass over the source rows the window needs, 8 taps per output sample: the
  // byte offsets (per column, channel 0) and weights flattened for the inner loop.
  const offsets = new Int32Array(outW * 8);
  const weights = new Int32Array(outW * 8);
  columns.forEach(({ first, weights: w }, x) => {
    for (let k = 0; k < 8; k++) {
      offsets[x * 8 + k] = 3 * clamp(first + k - 3, srcW);
      weights[x * 8 + k] = w[k];
    }
  });
  const stride = outW * 3;
  const filtered = new Map();
  const horizontal = (y) => {
    let out = filtered.get(y);
    if (out === undefined) {
      out = new Float64Array(stride);
      const base = y * srcW * 3;
      // Unrolled over the 8 taps, each tap's offset and weight read once for 3 channels:
      // an interpreter pays for every operation.
      for (let x = 0, o = 0, t = 0; x < outW; x++, t += 8) {
        const a0 = base + offsets[t], a1 = base + offsets[t + 1], a2 = base + offsets[t + 2], a3 = base + offsets[t + 3];
        const a4 = base + offsets[t + 4], a5 = base + offsets[t + 5], a6 = base + offsets[t + 6], a7 = base + offsets[t + 7];
        const k0 = weights[t], k1 = weights[t + 1], k2 = weights[t + 2], k3 = weights[t + 3];
        const k4 = weights[t + 4], k5 = weights[t + 5], k6 = weights[t + 6], k7 = weights[t + 7];
        for (let c = 0; c < 3; c++) {
          out[o++] =
            pixels[a0 + c] * k0 + pixels[a1 + c] * k1 + pixels[a2 + c] * k2 + pixels[a3 + c] * k3 +
            pixels[a4 + c] * k4 + pixels[a5 + c] * k5 + pixels[a6 + c] * k6 + pixels[a7 + c] * k7;
        }
      }
      filtered.set(y, out);
    }
    return out;
  };

  // Vertical pass, then FixedPtCast<int, uchar, 22>: round, shift out both weights' 11
  // bits (a division by 2**22, exact in doubles, floors like the arithmetic shift), saturate.
  const result = new Uint8Array(outW * outH * 3);
  let o = 0;
  for (const { first, weights: w } of rows) {
    const taps = w.map((_, k) => horizontal(clamp(first + k - 3, srcH)));
    const [h0, h1, h2, h3, h4, h5, h6, h7] = taps;
    const [k0, k1, k2, k3, k4, k5, k6, k7] = w;
    for (let i = 0; i < stride; i++) {
      const v = h0[i] * k0 + h1[i] * k1 + h2[i] * k2 + h3[i] * k3 + h4[i] * k4 + h5[i] * k5 + h6[i] * k6 + h7[i] * k7;
      const value = Math.floor((v + 2097152) / 4194304);
      result[o++] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }
  return new RgbImage(outW, outH, result);
}
