"""PNG decoding in pure Python (with the interpreter's ``zlib``), to 8-bit samples.

Every colour type and bit depth of the PNG specification, interlaced (Adam7) or not. The
result keeps the image's own channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), 8 bits each:
16-bit samples keep their high byte, grey below 8 bits is scaled to 0..255 (``v * 255 /
(2**depth - 1)``, as PIL and libpng do), palettes are expanded to RGB, or RGBA when a
``tRNS`` chunk gives them transparency. A ``tRNS`` colour key on a grey or RGB image is
ignored, as PIL ignores it. :func:`wasml.image.decode` flattens the result to RGB.

Why the loops look as they do: the interpreter runs every Python-level operation, so the
filters that have a C-level equivalent use it (``itertools.accumulate`` for Sub, a
carry-free big-integer add for Up, Sub's running sum again for the stretches of a Paeth row
under flat colour) and what stays sequential per byte (Average, the rest of Paeth) runs lane
by lane with as few operations as possible.
"""

import re
import struct
import sys
import zlib
from array import array
from itertools import accumulate

from .errors import InvalidInput

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Images above this many pixels are refused before any pixel buffer is allocated.
MAX_PIXELS = 50_000_000

# Samples per pixel of each colour type; the bit depths each allows.
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
# Adam7 passes: (x start, y start, x step, y step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
# Where the least significant byte of a 32-bit word sits in its bytes.
_LOW_BYTE = 0 if sys.byteorder == "little" else 3
if array("I").itemsize != 4:
    raise ImportError("wasml.png needs a 4-byte array('I')")


class Decoded:
    """Decoded samples: ``width``, ``height``, ``channels`` (1 to 4) and ``samples``
    (``bytes``, row-major, ``width * height * channels`` long)."""

    __slots__ = ("width", "height", "channels", "samples")

    def __init__(self, width: int, height: int, channels: int, samples: bytes):
        self.width, self.height, self.channels, self.samples = width, height, channels, samples


def _fail(message: str):
    raise InvalidInput(f"invalid PNG: {message}")


def _chunks(data: bytes):
    """Yields ``(type, body)`` for each chunk, checking lengths and CRCs."""
    at = len(SIGNATURE)
    while at < len(data):
        if at + 12 > len(data):
            _fail("truncated chunk")
        length, kind = struct.unpack_from(">I4s", data, at)
        end = at + 8 + length
        if end + 4 > len(data):
            _fail(f"chunk {kind!r} runs past the end of the file")
        body = data[at + 8 : end]
        (crc,) = struct.unpack_from(">I", data, end)
        if zlib.crc32(body, zlib.crc32(kind)) != crc:
            _fail(f"chunk {kind.decode('latin-1')} has a bad CRC")
        yield kind, body
        at = end + 4


def decode_png(data: bytes) -> Decoded:
    """Decodes a PNG file; a malformed one raises :class:`InvalidInput`."""
    if not data.startswith(SIGNATURE):
        _fail("no PNG signature")
    header = palette = transparency = None
    idat = []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            if len(body) != 13:
                _fail("IHDR is not 13 bytes")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"tRNS":
            transparency = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        elif not kind[0] & 0x20:  # A critical chunk this decoder does not know.
            _fail(f"unknown critical chunk {kind.decode('latin-1')}")
    if header is None:
        _fail("no IHDR chunk")
    width, height, depth, colour, compression, filtering, interlace = header
    if colour not in _CHANNELS or depth not in _DEPTHS[colour]:
        _fail(f"colour type {colour} with bit depth {depth} is not valid")
    if compression or filtering or interlace > 1:
        _fail("unknown compression, filter or interlace method")
    if width == 0 or height == 0:
        raise InvalidInput("the image is empty")
    if width * height > MAX_PIXELS:
        raise InvalidInput(
            f"the image is {width}x{height} pixels; at most {MAX_PIXELS} pixels are accepted"
        )
    if colour == 3 and not palette:
        _fail("a palette image without a PLTE chunk")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as err:
        _fail(f"corrupt image data ({err})")
    channels = _CHANNELS[colour]
    bits = channels * depth
    if interlace:
        samples = _adam7(raw, width, height, bits, depth, colour, palette)
    else:
        rows, _ = _unfilter(raw, 0, width, height, bits)
        samples = b"".join(_to_8bit(row, width, depth, colour, palette) for row in rows)
    if colour == 3:
        return _expand_palette(samples, palette, transparency, width, height)
    return Decoded(width, height, channels, samples)


def _unfilter(raw: bytes, at: int, width: int, height: int, bits: int):
    """The unfiltered rows of one (sub-)image starting at ``raw[at]``, and where it ends."""
    stride = (width * bits + 7) // 8
    bpp = max(1, bits // 8)
    end = at + height * (stride + 1)
    if end > len(raw):
        _fail("the image data is incomplete")
    rows = []
    prev = bytes(stride)
    for _ in range(height):
        kind = raw[at]
        line = raw[at + 1 : at + 1 + stride]
        at += stride + 1
        if kind == 0:
            row = line
        elif kind == 1:
            row = _sub(line, bpp)
        elif kind == 2:
            row = _up(line, prev)
        elif kind == 3:
            row = _average(line, prev, bpp)
        elif kind == 4:
            row = _paeth(line, prev, bpp)
        else:
            _fail(f"unknown filter type {kind}")
        rows.append(row)
        prev = row
    return rows, end


def _running_sum(values: bytes, initial: int = 0) -> bytes:
    """The running sums of ``values`` from ``initial``, modulo 256: summed by
    ``accumulate`` into 32-bit words (C speed), whose low bytes are the sums modulo 256."""
    words = array("I", accumulate(values, initial=initial)).tobytes()
    return words[_LOW_BYTE + 4 :: 4]  # The first word is `initial` itself.


def _sub(line: bytes, bpp: int) -> bytes:
    # Each lane (byte position within a pixel) is a running sum modulo 256.
    out = bytearray(line)
    for lane in range(bpp):
        out[lane::bpp] = _running_sum(line[lane::bpp])
    return bytes(out)


def _up(line: bytes, prev: bytes) -> bytes:
    # Bytewise addition modulo 256 on two big integers: add the low 7 bits of every byte
    # (no carry leaves a byte), then put back the top bits with XOR.
    n = len(line)
    low = int.from_bytes(b"\x7f" * n, "little")
    a, b = int.from_bytes(line, "little"), int.from_bytes(prev, "little")
    return (((a & low) + (b & low)) ^ ((a ^ b) & ~low)).to_bytes(n, "little")


def _average(line: bytes, prev: bytes, bpp: int) -> bytes:
    out = bytearray(len(line))
    for lane in range(bpp):
        a = 0
        values = []
        append = values.append
        for x, b in zip(line[lane::bpp], prev[lane::bpp]):
            a = (x + ((a + b) >> 1)) & 255
            append(a)
        out[lane::bpp] = bytes(values)
    return bytes(out)


def _paeth(line: bytes, prev: bytes, bpp: int) -> bytes:
    out = bytearray(len(line))
    for lane in range(bpp):
        out[lane::bpp] = _paeth_lane(line[lane::bpp], prev[lane::bpp])
    return bytes(out)


# Runs of at least this many bytes whose byte above equals the one above-left are decoded
# as Sub (at C speed); shorter ones are not worth leaving the byte loop for.
_PAETH_RUN = re.compile(rb"\x00{8,}")


def _paeth_lane(line: bytes, prev: bytes) -> bytes:
    """One lane of a Paeth row: each byte's left neighbour is the previous byte of the lane."""
    n = len(line)
    values = bytearray(n)
    if n == 0:
        return bytes(values)
    # Where the byte above equals the one above-left (b == c: blank paper, flat colour),
    # Paeth predicts the left byte, so the run is a running sum, as with Sub. Those runs are
    # the zero bytes of prev XOR prev shifted by one.
    diff = (int.from_bytes(prev[1:], "little") ^ int.from_bytes(prev[:-1], "little")).to_bytes(n - 1, "little")
    # With no left neighbour Paeth predicts the byte above.
    a = values[0] = (line[0] + prev[0]) & 255
    j = 1
    for run in [*_PAETH_RUN.finditer(diff), None]:
        start, end = (run.start() + 1, run.end() + 1) if run else (n, n)
        if j < start:
            values[j:start], a = _paeth_bytes(line[j:start], prev[j:start], prev[j - 1 : start - 1], a)
        if start < end:
            values[start:end] = _running_sum(line[start:end], a)
            a = values[end - 1]
        j = end
    return bytes(values)


def _paeth_bytes(line: bytes, above: bytes, above_left: bytes, a: int):
    """Paeth byte by byte, from left neighbour ``a``; returns the bytes and the last one."""
    values = []
    append = values.append
    for x, b, c in zip(line, above, above_left):
        pa = b - c  # |p - a| with p = a + b - c
        pb = a - c  # |p - b|
        pc = pa + pb  # |p - c|
        if pa < 0:
            pa = -pa
        if pb < 0:
            pb = -pb
        if pc < 0:
            pc = -pc
        if pa <= pb and pa <= pc:
            a = (x + a) & 255
        elif pb <= pc:
            a = (x + b) & 255
        else:
            a = (x + c) & 255
        append(a)
    return bytes(values), a


def _bit_table(depth: int, scale: int):
    """For each byte, the ``8 // depth`` samples it packs, scaled, as bytes."""
    per = 8 // depth
    top = (1 << depth) - 1
    return [
        bytes(((byte >> (8 - depth * (i + 1))) & top) * scale for i in range(per))
        for byte in range(256)
    ]


_TABLES = {}


def _to_8bit(row: bytes, width: int, depth: int, colour: int, palette) -> bytes:
    """One unfiltered row as 8-bit samples (palette indices stay indices)."""
    if depth == 8:
        return row
    if depth == 16:
        return row[0::2]
    # Grey below 8 bits is scaled to 0..255; palette indices are not.
    scale = 1 if colour == 3 else 255 // ((1 << depth) - 1)
    table = _TABLES.get((depth, scale))
    if table is None:
        table = _TABLES[(depth, scale)] = _bit_table(depth, scale)
    return b"".join([table[byte] for byte in row])[:width]


def _adam7(raw, width, height, bits, depth, colour, palette) -> bytes:
    """Decodes the seven passes and places their pixels in one image."""
    channels = _CHANNELS[colour]
    image = bytearray(width * height * channels)
    at = 0
    for x0, y0, dx, dy in _ADAM7:
        pass_width = (width - x0 + dx - 1) // dx
        pass_height = (height - y0 + dy - 1) // dy
        if pass_width <= 0 or pass_height <= 0:
            continue
        rows, at = _unfilter(raw, at, pass_width, pass_height, bits)
        for j, row in enumerate(rows):
            samples = _to_8bit(row, pass_width, depth, colour, palette)
            y = y0 + j * dy
            base = (y * width + x0) * channels
            for c in range(channels):
                # Every dx-th pixel of the row, from x0, for channel c.
                start = base + c
                image[start : start + (pass_width - 1) * dx * channels + 1 : dx * channels] = samples[c::channels]
    return bytes(image)


def _expand_palette(indices: bytes, palette: bytes, transparency, width, height) -> Decoded:
    """Palette indices to RGB, or RGBA with a ``tRNS`` chunk. Indices past the palette are
    opaque black (as the Rust ``png`` crate expands them)."""
    entries = len(palette) // 3
    table = [palette[3 * i : 3 * i + 3] for i in range(entries)] + [b"\0\0\0"] * (256 - entries)
    planes = [bytes(t[c] for t in table) for c in range(3)]
    channels = 3
    if transparency is not None:
        alpha = bytes(transparency[:256]) + b"\xff" * (256 - min(256, len(transparency)))
        planes.append(alpha)
        channels = 4
    out = bytearray(width * height * channels)
    for c, plane in enumerate(planes):
        out[c::channels] = indices.translate(plane)
    return Decoded(width, height, channels, bytes(out))
