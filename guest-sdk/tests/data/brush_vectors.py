#!/usr/bin/env python3
"""Writes brush_vectors.json: masks described by a formula (the Rust test rebuilds each mask
from the same description) with the RLE that Label Studio's own encoder gives them,
`label_studio_sdk.converter.brush.mask2rle` (label-studio-sdk as installed with Label Studio
1.23.2, e.g. target/e2e/venv/bin/python guest-sdk/tests/data/brush_vectors.py)."""
import json

import numpy as np
from label_studio_sdk.converter.brush import mask2rle


def lcg_mask(width, height, seed, every):
    """255 where the generator's value is divisible by `every`, else 0: runs of every length."""
    x, out = seed, []
    for _ in range(width * height):
        x = (x * 1103515245 + 12345) % 2**31
        out.append(255 if (x >> 16) % every == 0 else 0)
    return out


def build(spec):
    w, h, kind = spec["width"], spec["height"], spec["kind"]
    if kind == "circle":
        cx, cy, r = spec["cx"], spec["cy"], spec["r"]
        return [255 if (x - cx) ** 2 + (y - cy) ** 2 < r * r else 0 for y in range(h) for x in range(w)]
    if kind == "rectangle":
        x0, y0, x1, y1 = spec["box"]
        return [255 if x0 <= x < x1 and y0 <= y < y1 else 0 for y in range(h) for x in range(w)]
    if kind == "ramp":
        return [(y * w + x) % 256 for y in range(h) for x in range(w)]
    if kind == "noise":
        return lcg_mask(w, h, spec["seed"], spec["every"])
    raise ValueError(kind)


SPECS = [
    {"width": 1, "height": 1, "kind": "rectangle", "box": [0, 0, 1, 1]},
    {"width": 2, "height": 1, "kind": "rectangle", "box": [0, 0, 1, 1]},
    {"width": 17, "height": 5, "kind": "ramp"},
    {"width": 64, "height": 48, "kind": "circle", "cx": 30, "cy": 20, "r": 15},
    {"width": 300, "height": 300, "kind": "rectangle", "box": [0, 0, 0, 0]},
    {"width": 129, "height": 130, "kind": "rectangle", "box": [10, 20, 100, 90]},
    {"width": 97, "height": 61, "kind": "noise", "seed": 7, "every": 3},
    {"width": 33, "height": 31, "kind": "noise", "seed": 11, "every": 40},
]

vectors = []
for spec in SPECS:
    mask = np.array(build(spec), dtype=np.uint8).reshape(spec["height"], spec["width"])
    vectors.append({**spec, "rle": [int(v) for v in mask2rle(mask)]})
with open("brush_vectors.json", "w") as f:
    json.dump(vectors, f, separators=(",", ":"))
