"""The reference side of `cargo run --example compare`: rapidocr_onnxruntime 1.4.4's own
ONNX Runtime sessions, serving the Rust port's `Infer` calls over stdin/stdout, and rapidocr
itself, run on the same image for comparison.

Requests: one byte, then
  b"D", b"C", b"R"  u32 rank, u64 dims, f32 data (little-endian): run that graph;
  b"K"                                  the rec model's `character` metadata;
  b"O"  u32 length, UTF-8 path          rapidocr's result for that image, one line per box:
                                        "x0 y0 x1 y1 x2 y2 x3 y3<TAB>score<TAB>text".
Replies: the same framing (tensor, or u32 length + UTF-8 text).
"""
import struct
import sys
from pathlib import Path

import numpy as np
import rapidocr_onnxruntime
from rapidocr_onnxruntime import RapidOCR
from rapidocr_onnxruntime.utils import OrtInferSession, read_yaml

root = Path(rapidocr_onnxruntime.__file__).parent
config = read_yaml(str(root / "config.yaml"))
sessions = {}
for op, name in ((b"D", "Det"), (b"C", "Cls"), (b"R", "Rec")):
    config[name]["model_path"] = str(root / config[name]["model_path"])
    sessions[op] = OrtInferSession(config[name])
engine = RapidOCR()
stdin, stdout = sys.stdin.buffer, sys.stdout.buffer


def read(n):
    data = stdin.read(n)
    if len(data) < n:
        sys.exit(0)
    return data


def reply_text(text):
    data = text.encode()
    stdout.write(struct.pack("<I", len(data)) + data)


while True:
    op = read(1)
    if op == b"K":
        reply_text("\n".join(sessions[b"R"].get_character_list()))
    elif op == b"O":
        path = read(struct.unpack("<I", read(4))[0]).decode()
        result, _ = engine(path)
        rows = []
        for box, text, score in result or []:
            points = " ".join(repr(float(v)) for point in box for v in point)
            rows.append(f"{points}\t{float(score)!r}\t{text}")
        reply_text("\n".join(rows))
    else:
        rank = struct.unpack("<I", read(4))[0]
        dims = struct.unpack(f"<{rank}Q", read(8 * rank))
        tensor = np.frombuffer(read(4 * int(np.prod(dims))), "<f4").reshape(dims)
        out = np.ascontiguousarray(sessions[op](tensor)[0], dtype="<f4")
        stdout.write(struct.pack("<I", out.ndim) + struct.pack(f"<{out.ndim}Q", *out.shape))
        stdout.write(out.tobytes())
    stdout.flush()
