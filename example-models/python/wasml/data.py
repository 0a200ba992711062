"""Task data: the bytes a task's data points to (an uploaded image, an object in cloud
storage, a Label Studio local file, a granted URL), fetched by the host through the WIT
``task-data`` import. The host resolves each form as Label Studio's SDK does, authenticates
to Label Studio, enforces the model's egress policy and budgets, and caches.

:func:`fetch` takes a reference as it appears in a task; :func:`fetch_task` takes the task
and the data key a control's input names (``<Image value="$image">`` gives ``image``). A
failure raises :class:`FetchError`, an :class:`InvalidInput` (HTTP 422) whose ``kind`` is the
WIT case (``not-allowed``, ``not-found``, ``unauthorized``, ``too-large``, ``timeout``,
``unavailable``, ``invalid-url``).
"""

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from componentize_py_types import Err
from wit_world.imports import task_data as host

from .errors import InvalidInput

_KINDS = {
    host.FetchError_NotAllowed: "not-allowed",
    host.FetchError_NotFound: "not-found",
    host.FetchError_Unauthorized: "unauthorized",
    host.FetchError_TooLarge: "too-large",
    host.FetchError_Timeout: "timeout",
    host.FetchError_Unavailable: "unavailable",
    host.FetchError_InvalidUrl: "invalid-url",
}


class FetchError(InvalidInput):
    """A task's data could not be fetched; ``kind`` is the WIT case."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass
class Fetched:
    """What a fetch received."""

    data: bytes
    content_type: Optional[str]


def fetch(reference: str, task_id: Optional[int] = None) -> Fetched:
    """The bytes ``reference`` points to; ``task_id`` is needed for cloud storage URIs."""
    try:
        got = host.fetch(reference, task_id)
    except Err as err:
        kind = _KINDS.get(type(err.value), "unavailable")
        raise FetchError(kind, err.value.value) from None
    return Fetched(bytes(got.bytes), got.content_type)


def fetch_task(task: Any, key: str) -> Fetched:
    """What ``task``'s ``data[key]`` references, fetched with the task's id. ``task`` is a
    :class:`wasml.Task` or the task dict."""
    raw: Mapping = getattr(task, "raw", task)
    reference = (raw.get("data") or {}).get(key)
    if not isinstance(reference, str):
        raise FetchError("invalid-url", f"the task has no text at data.{key} to fetch")
    task_id = raw.get("id")
    return fetch(reference, task_id if isinstance(task_id, int) and task_id >= 0 else None)
