"""wasml.resize: OpenCV's INTER_LANCZOS4, checked against cv2.resize's own output."""

import random
import unittest

from wasml.image import Image
from wasml.resize import lanczos4_taps, lanczos4_weights, resize_lanczos4

from .fake_host import fixture_json


class Lanczos4(unittest.TestCase):
    def test_equals_cv2_resize(self):
        cases = fixture_json("lanczos4.json")
        self.assertGreaterEqual(len(cases), 5)
        for case in cases:
            width, height, (to_w, to_h) = case["width"], case["height"], case["to"]
            with self.subTest(f"{width}x{height} -> {to_w}x{to_h}"):
                src = Image(width, height, bytes.fromhex(case["pixels"]))
                self.assertEqual(resize_lanczos4(src, to_w, to_h).pixels.hex(), case["expected"])

    def test_a_window_is_that_part_of_the_whole(self):
        rng = random.Random(5)
        src = Image(37, 23, bytes(rng.randrange(256) for _ in range(37 * 23 * 3)))
        whole = resize_lanczos4(src, 19, 30)
        part = resize_lanczos4(src, 19, 30, (4, 9, 11, 6))
        rows = [whole.pixels[(y * 19 + 4) * 3 : (y * 19 + 15) * 3] for y in range(9, 15)]
        self.assertEqual(part.pixels, b"".join(rows))
        with self.assertRaises(ValueError):
            resize_lanczos4(src, 19, 30, (10, 0, 10, 5))

    def test_weights_are_normalised_and_fixed_point(self):
        for fx in (0.0, 0.25, 0.5, 0.999):
            self.assertAlmostEqual(sum(lanczos4_weights(fx)), 1.0, places=6)
        # At an integer position the sample itself takes all the weight.
        self.assertEqual(lanczos4_taps(10, 10), [(x, [0, 0, 0, 2048, 0, 0, 0, 0]) for x in range(10)])

    def test_constant_images_stay_constant(self):
        src = Image(7, 5, bytes([77, 120, 3]) * 35)
        for size in ((13, 9), (3, 2), (7, 11), (50, 1)):
            out = resize_lanczos4(src, *size)
            self.assertEqual(out.pixels, bytes([77, 120, 3]) * (size[0] * size[1]), size)


if __name__ == "__main__":
    unittest.main()
