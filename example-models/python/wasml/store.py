"""The host's key/value store, scoped to this model and the current call's project.

Values persist across calls, reloads and restarts. A store failure raises
:class:`StoreFailure`, which the model wrapper reports as an internal error.
"""

import json
from typing import Any, List, Optional

from componentize_py_types import Err
from wit_world.imports import store as host
from wit_world.imports import types

from .errors import ModelError


class StoreFailure(ModelError):
    """The host refused or failed a store operation."""


def _describe(error) -> str:
    if isinstance(error, types.StoreError_TooLarge):
        return f"store: value larger than {error.value} bytes"
    if isinstance(error, types.StoreError_InvalidKey):
        return f"store: invalid key: {error.value}"
    return f"store unavailable: {error.value}"


def _call(operation, *args):
    try:
        return operation(*args)
    except Err as err:
        raise StoreFailure(_describe(err.value)) from None


def get(key: str) -> Optional[bytes]:
    """The value stored under ``key``, if any."""
    return _call(host.get, key)


def set(key: str, value: bytes) -> None:  # noqa: A001 - mirrors the WIT name
    """Stores ``value`` under ``key``, replacing any previous value."""
    _call(host.set, key, value)


def delete(key: str) -> bool:
    """Removes ``key``; True when it existed."""
    return _call(host.delete, key)


def list_keys(prefix: str) -> List[str]:
    """Every key that starts with ``prefix``, in byte order."""
    return _call(host.list_keys, prefix)


def get_json(key: str) -> Any:
    """The JSON value under ``key``, or None when absent."""
    raw = get(key)
    return None if raw is None else json.loads(raw)


def set_json(key: str, value: Any) -> None:
    """Stores ``value`` as compact UTF-8 JSON under ``key``."""
    set(key, json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
