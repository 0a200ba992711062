"""JPEG decoding: not yet available in the Python helper (see the README)."""

from .errors import InvalidInput

SIGNATURE = b"\xff\xd8\xff"


def decode_jpeg(data: bytes):
    """Refuses JPEG files with a clear error: only PNG is decoded by this helper."""
    raise InvalidInput("JPEG images are not supported by the Python helper yet: use PNG")
