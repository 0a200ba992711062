"""Images for vision models: decoding a task's PNG or JPEG file to 8-bit RGB, in pure Python.

    fetched = wasml.data.fetch_task(task, "image")
    image = wasml.image.decode(fetched.data)        # Image: width, height, pixels (RGB)

The file's type comes from its signature, not its name or content type. Grey becomes
R = G = B; transparency (grey+alpha, RGBA, a palette with ``tRNS``) is composited over white,
per channel ``(c * a + 255 * (255 - a) + 127) // 255``, the same integers in every language's
helper. What cannot be read raises :class:`wasml.InvalidInput` (HTTP 422) saying why.
Resizing: :mod:`wasml.resize`.
"""

from .errors import InvalidInput
from .jpeg import SIGNATURE as JPEG_SIGNATURE
from .jpeg import decode_jpeg
from .png import SIGNATURE as PNG_SIGNATURE
from .png import Decoded, decode_png

# _OVER[a][c]: sample c of alpha a composited over white. Built once at import, which
# componentize-py runs at build time, so no call pays for it.
_OVER = [bytes((c * a + 255 * (255 - a) + 127) // 255 for c in range(256)) for a in range(256)]


class Image:
    """An 8-bit RGB image: ``width``, ``height`` and ``pixels`` (``bytes``, row-major,
    R, G, B interleaved, ``width * height * 3`` long)."""

    __slots__ = ("width", "height", "pixels")

    def __init__(self, width: int, height: int, pixels: bytes):
        if len(pixels) != width * height * 3:
            raise ValueError(f"{width}x{height} RGB needs {width * height * 3} bytes, not {len(pixels)}")
        self.width, self.height, self.pixels = width, height, pixels

    def pixel(self, x: int, y: int):
        """The ``(r, g, b)`` at column ``x``, row ``y``."""
        at = 3 * (y * self.width + x)
        return tuple(self.pixels[at : at + 3])

    def __repr__(self) -> str:
        return f"Image({self.width}x{self.height})"


def decode(data: bytes) -> Image:
    """Decodes a PNG or JPEG file to RGB (see the module's description)."""
    return to_rgb(decode_samples(data))


def decode_samples(data: bytes) -> Decoded:
    """Decodes a PNG or JPEG file keeping its channels (1 grey, 2 grey+alpha, 3 RGB,
    4 RGBA), 8 bits each: for models that treat alpha or grey their own way."""
    data = bytes(data)
    if data.startswith(PNG_SIGNATURE):
        return decode_png(data)
    if data.startswith(JPEG_SIGNATURE):
        return decode_jpeg(data)
    raise InvalidInput("unsupported image format: only PNG and JPEG can be read")


def to_rgb(decoded: Decoded) -> Image:
    """Flattens decoded samples to RGB: grey replicated, alpha composited over white."""
    n = decoded.width * decoded.height
    samples, channels = decoded.samples, decoded.channels
    out = bytearray(3 * n)
    if channels == 3:
        return Image(decoded.width, decoded.height, bytes(samples))
    if channels in (1, 2):
        grey = samples if channels == 1 else _over_white(samples[0::2], samples[1::2])
        for c in range(3):
            out[c::3] = grey
    elif channels == 4:
        alpha = samples[3::4]
        for c in range(3):
            out[c::3] = _over_white(samples[c::4], alpha)
    else:
        raise ValueError(f"{channels} channels")
    return Image(decoded.width, decoded.height, bytes(out))


def _over_white(plane: bytes, alpha: bytes) -> bytes:
    if alpha.count(255) == len(alpha):  # Opaque: nothing to composite.
        return plane
    over = _OVER
    return bytes([over[a][c] for c, a in zip(plane, alpha)])
