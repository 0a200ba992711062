#!/usr/bin/env bash
# OCR against the Python reference, in one run: the `ocr` model through a release host
# (whole /predict requests over HTTP, the image fetched from a local server standing in for
# Label Studio) against rapidocr_onnxruntime 1.4.4 in-process, with the same PP-OCRv4 graphs
# and one intra-op thread each, on the same rendered document images.
#   tests/benches/ocr.sh     (after `cargo build --release -p wasml` and scripts/build-models)
# Prints per-image medians for one client, images per second with 4 concurrent clients,
# whether both read the same text, the host's resident memory idle and under load, and the
# host's overhead per wasi:nn call with a 1x3x640x640 f32 input.
# Environment: MODELS (a models folder from scripts/build-models, default target/bench/models),
# VENV (a virtualenv for the reference, made once, default target/bench/ocr-venv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
host_bin="$root/target/release/wasml"
models="${MODELS:-$root/target/bench/models}"
venv="${VENV:-$root/target/bench/ocr-venv}"
[ -x "$host_bin" ] || { echo "build the host first: cargo build --release -p wasml" >&2; exit 1; }
if [ ! -f "$models/ocr.wasm" ]; then
    WASML_LANGS=rust "$root/scripts/build-models" "$models" >/dev/null
fi
if ! "$venv/bin/python" -c 'import rapidocr_onnxruntime, PIL' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet rapidocr-onnxruntime==1.4.4 onnxruntime==1.22.1 pillow==13.0.0
fi
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/models"
cp "$models/ocr.wasm" "$models/ocr.toml" "$work/models/"
ln -s "$models/weights" "$work/models/weights"
# The probe, with the det graph, for the per-call overhead.
probe="$(ls -t "$root"/target/debug/build/wasml-tests-*/out/nn_probe.wasm 2>/dev/null | head -1 || true)"
if [ -n "$probe" ]; then
    cp "$probe" "$work/models/probe.wasm"
    printf '[nn.graphs]\ndet = "weights/ocr/det.onnx"\n' >"$work/models/probe.toml"
fi
exec "$venv/bin/python" "$root/tests/benches/ocr_bench.py" "$host_bin" "$work"
