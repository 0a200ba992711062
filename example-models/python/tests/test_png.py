"""PNG decoding (wasml.image, wasml.png) against files Pillow decodes, and its errors."""

import struct
import unittest
import zlib

from wasml import InvalidInput, image, png

from .fake_host import fixture_bytes, fixture_json


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def tiny_png(ihdr=None, idat=None, extra=b"", width=2, height=1) -> bytes:
    """A 2x1 RGB PNG, with parts replaced to break it."""
    header = ihdr if ihdr is not None else struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = idat if idat is not None else zlib.compress(b"\0" + bytes(range(3 * width)) * height)
    return png.SIGNATURE + chunk(b"IHDR", header) + extra + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


class DecodesLikePillow(unittest.TestCase):
    def test_every_colour_type_depth_filter_and_interlace(self):
        expected = fixture_json("png/expected.json")
        self.assertGreater(len(expected), 40)
        for name, want in sorted(expected.items()):
            with self.subTest(name):
                decoded = image.decode(fixture_bytes(f"png/{name}.png"))
                self.assertEqual((decoded.width, decoded.height), (want["width"], want["height"]))
                self.assertEqual(decoded.pixels.hex(), want["rgb"])

    def test_channels_are_kept_before_flattening(self):
        rgba = image.decode_samples(fixture_bytes("png/c6-d16.png"))
        self.assertEqual(rgba.channels, 4)
        palette = image.decode_samples(fixture_bytes("png/c3-d4-trns.png"))
        self.assertEqual(palette.channels, 4, "tRNS gives a palette alpha")
        keyed = image.decode_samples(fixture_bytes("png/c2-d8-colour-key.png"))
        self.assertEqual(keyed.channels, 3, "a colour key is ignored")

    def test_alpha_is_composited_over_white_in_integers(self):
        decoded = png.Decoded(3, 1, 2, bytes([10, 255, 10, 0, 10, 128]))
        reds = image.to_rgb(decoded).pixels[0::3]
        # (10 * 128 + 255 * 127 + 127) // 255 = 132
        self.assertEqual(list(reds), [10, 255, 132])


class RefusesWithClearErrors(unittest.TestCase):
    def refused(self, data: bytes, words: str):
        with self.assertRaises(InvalidInput) as caught:
            image.decode(data)
        self.assertIn(words, str(caught.exception))

    def test_valid_tiny_png_decodes(self):
        self.assertEqual(image.decode(tiny_png()).pixels, bytes(range(6)))

    def test_not_an_image(self):
        self.refused(b"just some text", "only PNG and JPEG")

    def test_jpeg_is_refused_by_name(self):
        self.refused(b"\xff\xd8\xff\xe0" + bytes(20), "JPEG images are not supported")

    def test_bad_crc(self):
        data = bytearray(tiny_png())
        data[20] ^= 1  # Inside IHDR's body.
        self.refused(bytes(data), "bad CRC")

    def test_truncated_file_and_data(self):
        self.refused(tiny_png()[:30], "invalid PNG")
        short = zlib.compress(b"\0\1\2")
        self.refused(tiny_png(idat=short), "incomplete")

    def test_corrupt_compressed_data(self):
        self.refused(tiny_png(idat=b"\x78\x9c\xff\xff\xff"), "corrupt image data")

    def test_bad_header_values(self):
        self.refused(tiny_png(ihdr=struct.pack(">IIBBBBB", 2, 1, 4, 2, 0, 0, 0)), "bit depth 4")
        self.refused(tiny_png(ihdr=struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 2)), "interlace method")
        self.refused(tiny_png(ihdr=struct.pack(">IIBBBBB", 0, 1, 8, 2, 0, 0, 0)), "empty")
        self.refused(tiny_png(ihdr=struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)), "at most")

    def test_unknown_filter_and_critical_chunk(self):
        self.refused(tiny_png(idat=zlib.compress(b"\x07" + bytes(6))), "filter type 7")
        self.refused(tiny_png(extra=chunk(b"ABCD", b"")), "unknown critical chunk ABCD")
        # Unknown ancillary chunks (lower-case first letter) are skipped.
        self.assertEqual(image.decode(tiny_png(extra=chunk(b"tEXt", b"a\0b"))).width, 2)

    def test_palette_image_without_palette(self):
        header = struct.pack(">IIBBBBB", 2, 1, 8, 3, 0, 0, 0)
        self.refused(tiny_png(ihdr=header, idat=zlib.compress(b"\0\0\0")), "without a PLTE")


if __name__ == "__main__":
    unittest.main()
