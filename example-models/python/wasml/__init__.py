"""Helpers for writing wasml models in Python.

A model is a class with ``predict`` (and optionally ``fit``); :func:`export` turns it into
the ``WitWorld`` class componentize-py exports::

    import wasml

    class Echo(wasml.Model):
        name = "Echo"
        version = "1.0.0"

        def predict(self, call, tasks, context):
            return [wasml.Prediction() for _ in tasks]

    WitWorld = wasml.export(Echo)

Tasks, the interactive context and webhook payloads arrive decoded (plain dicts wrapped in
small classes); predictions are returned as :class:`Prediction` objects or dicts. Errors are
raised as :class:`InvalidInput`, :class:`UnsupportedConfig` or any other exception (which the
host reports as an internal model error). :mod:`wasml.data` fetches what tasks point to,
:mod:`wasml.image` decodes PNG files to RGB, :mod:`wasml.resize` resizes as OpenCV does, and
:mod:`wasml.nn` runs the model's graphs on the host (``wasi:nn``).
"""

from .errors import InvalidInput, ModelError, UnsupportedConfig
from .labelconfig import Control, Label, LabelConfig, LabelMap
from .model import Call, Context, Event, Fit, Model, Task, export
from .regions import Prediction, Region
from . import data, image, log, nn, resize, store, text

__all__ = [
    "Call",
    "Context",
    "Control",
    "Event",
    "Fit",
    "InvalidInput",
    "Label",
    "LabelConfig",
    "LabelMap",
    "Model",
    "ModelError",
    "Prediction",
    "Region",
    "Task",
    "UnsupportedConfig",
    "data",
    "export",
    "image",
    "log",
    "nn",
    "resize",
    "store",
    "text",
]
