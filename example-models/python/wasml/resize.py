"""Resizing RGB images exactly as OpenCV's ``cv2.resize`` does, in pure Python.

:func:`resize_lanczos4` is ``INTER_LANCZOS4`` for 8-bit images, bit for bit: 8 taps per
axis, OpenCV's ``interpolateLanczos4`` weights (float32, normalised) rounded to 11-bit fixed
point, source indices clamped at the edges, a horizontal then a vertical pass in integers.
Classifiers trained on Lanczos-resized inputs (PaddleClas's ``ResizeImage``) want it; the
Rust SDK's ``resize_lanczos4`` and the JavaScript helper compute the same pixels.

``window`` asks for only part of the output (a centre crop, say): the pixels are the same as
those of the whole resized image, and only the source rows the window needs are filtered, so
a crop costs what its own size costs.
"""

import math
import sys
from array import array

from .image import Image

_S45 = 0.70710678118654752440084436210485
_CS = ((1, 0), (-_S45, -_S45), (0, 1), (_S45, -_S45), (-1, 0), (_S45, _S45), (0, -1), (-_S45, _S45))
_PI = math.pi
# Added to every lane of the vertical pass (see resize_lanczos4).
_BIAS = 1 << 31
_BIG_ENDIAN = sys.byteorder == "big"


def _f32(value: float) -> float:
    """``value`` rounded to float32 (Python computes in float64)."""
    return array("f", (value,))[0]


_TINY = _f32(1e-6)  # OpenCV compares with the float 1e-6f


def lanczos4_weights(fx: float):
    """OpenCV's ``interpolateLanczos4``: the 8 float32 weights of taps ``-3 .. +4`` for a
    fractional offset ``fx`` (a float32 in ``[0, 1)``)."""
    shifted = _f32(fx + 3)  # float + int stays float in C++
    y0 = -shifted * _PI * 0.25
    s0, c0 = math.sin(y0), math.cos(y0)
    coeffs = []
    total = 0.0
    for i, (a, b) in enumerate(_CS):
        t = _f32(shifted - i)
        if abs(t) >= _TINY:
            y = -t * _PI * 0.25
            coeff = _f32((a * s0 + b * c0) / (y * y))
        else:
            coeff = 1e30  # OpenCV's own stand-in for the tap at the sample itself.
        coeffs.append(coeff)
        total = _f32(total + coeff)
    inverse = _f32(1 / total)
    return [_f32(c * inverse) for c in coeffs]


def lanczos4_taps(src: int, dst: int, start: int = 0, count: int = None):
    """For output indices ``start .. start + count`` (all ``dst`` by default) along one
    axis: the source index of tap 3 and the 8 weights in fixed point
    (``round_half_even(w * 2048)``, OpenCV's ``saturate_cast<short>``)."""
    # cv::resize takes the inverse of the inverse scale; the same division keeps the same bits.
    scale = 1.0 / (dst / src)
    taps = []
    for d in range(start, start + (dst - start if count is None else count)):
        fx = _f32((d + 0.5) * scale - 0.5)
        sx = math.floor(fx)
        weights = lanczos4_weights(_f32(fx - sx))
        taps.append((sx, [round(w * 2048) for w in weights]))
    return taps


def resize_lanczos4(image: Image, width: int, height: int, window=None) -> Image:
    """``cv2.resize(image, (width, height), interpolation=cv2.INTER_LANCZOS4)``; with
    ``window = (x0, y0, w, h)`` only that part of the result (it must lie inside it)."""
    if width <= 0 or height <= 0:
        raise ValueError(f"cannot resize to {width}x{height}")
    x0, y0, out_w, out_h = window or (0, 0, width, height)
    if x0 < 0 or y0 < 0 or out_w <= 0 or out_h <= 0 or x0 + out_w > width or y0 + out_h > height:
        raise ValueError(f"window {window} is not inside {width}x{height}")
    src_w, src_h, pixels = image.width, image.height, image.pixels
    columns = lanczos4_taps(src_w, width, x0, out_w)
    rows = lanczos4_taps(src_h, height, y0, out_h)

    def clamp(i, size):
        return 0 if i < 0 else size - 1 if i >= size else i

    # Both passes are exact integer sums, so their order does not change a single result;
    # the vertical one goes first because it can run on whole rows at C speed: a row becomes
    # one big integer with a 32-bit lane per sample, and a weighted sum of 8 such integers
    # sums every lane at once. _BIAS (2**31) in every lane keeps each lane's total
    # non-negative (totals are within +-2**20), so no lane borrows from the next; flipping
    # each lane's top bit then leaves the total in two's complement, read back as int32.
    n = 3 * src_w
    lanes = {}

    def lane_row(y):
        row = lanes.get(y)
        if row is None:
            samples = array("I", iter(pixels[y * n : (y + 1) * n]))
            if _BIG_ENDIAN:
                samples.byteswap()
            row = lanes[y] = int.from_bytes(samples.tobytes(), "little")
        return row

    bias_row = int.from_bytes(array("I", [_BIAS]).tobytes() * n, "little")  # also the top bits
    # Horizontal pass: one 9-tuple (8 sample offsets and the output's bias correction) per
    # output sample, with the weights of its column, so each row is a single comprehension.
    plan = []
    for sx, weights in columns:
        offsets = [3 * clamp(sx + k - 3, src_w) for k in range(8)]
        for c in range(3):
            plan.append((*[o + c for o in offsets], *weights))
    out = bytearray()
    half = 1 << 21
    for sy, weights in rows:
        total = bias_row
        for k, w in enumerate(weights):
            total += w * lane_row(clamp(sy + k - 3, src_h))
        signed = array("i")
        signed.frombytes((total ^ bias_row).to_bytes(4 * n, "little"))
        if _BIG_ENDIAN:
            signed.byteswap()
        v = signed.tolist()
        # FixedPtCast<int, uchar, 22>: round, shift out both weights' 11 bits, saturate.
        values = [
            (v[i0] * k0 + v[i1] * k1 + v[i2] * k2 + v[i3] * k3
             + v[i4] * k4 + v[i5] * k5 + v[i6] * k6 + v[i7] * k7 + half) >> 22
            for i0, i1, i2, i3, i4, i5, i6, i7, k0, k1, k2, k3, k4, k5, k6, k7 in plan
        ]
        out += bytes([0 if x < 0 else 255 if x > 255 else x for x in values])
    return Image(out_w, out_h, bytes(out))
