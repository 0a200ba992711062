"""Stand-ins for the host's imports, installed over the componentize-py bindings for one test:
``with FakeHost() as host: host.graph("name", fn); host.serve("ref", data)``.

The bindings' own types (enums, records, ``Err``) are used, so the helpers see exactly what
the real host hands them; only the functions and the tensor resource are replaced.
"""

import importlib.util
import json
from array import array
from pathlib import Path

from componentize_py_types import Err
from wit_world.imports import errors, graph, log, task_data, tensor, types

HERE = Path(__file__).resolve().parent
TESTDATA = HERE.parent.parent / "testdata"


def load_app(model: str):
    """The ``app`` module of model folder ``model`` (every model's module is called app)."""
    path = HERE.parent / model / "app.py"
    spec = importlib.util.spec_from_file_location(f"{model}_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixture_json(name: str):
    """A JSON file of ``example-models/testdata``."""
    return json.loads((TESTDATA / name).read_text())


def fixture_bytes(name: str) -> bytes:
    """A file of ``example-models/testdata``."""
    return (TESTDATA / name).read_bytes()


class FakeTensor:
    """The ``wasi:nn`` tensor resource."""

    def __init__(self, dimensions, ty, data):
        self._dims, self._ty, self._data = list(dimensions), ty, bytes(data)

    def dimensions(self):
        return self._dims

    def ty(self):
        return self._ty

    def data(self):
        return self._data


class FakeError:
    """The ``wasi:nn`` error resource."""

    def __init__(self, code, data):
        self._code, self._data = code, data

    def code(self):
        return self._code

    def data(self):
        return self._data


class FakeContext:
    def __init__(self, host, name):
        self.host, self.name = host, name

    def compute(self, inputs):
        self.host.computed.append((self.name, inputs))
        return self.host.graphs[self.name](inputs)


class FakeGraph:
    def __init__(self, host, name):
        self.host, self.name = host, name

    def init_execution_context(self):
        return FakeContext(self.host, self.name)


class FakeHost:
    """Replaces the nn, task-data and log imports while active (a context manager)."""

    def __init__(self):
        self.graphs = {}
        self.served = {}
        self.computed = []
        self.fetches = []
        self.logged = []
        self._saved = []

    def graph(self, name, compute):
        """Registers graph ``name``: ``compute(inputs)`` gets ``(name, FakeTensor)`` pairs
        and returns the output pairs (or raises ``nn_error(...)``)."""
        self.graphs[name] = compute

    def serve(self, reference, data, content_type="image/png"):
        """What a fetch of ``reference`` answers."""
        self.served[reference] = (data, content_type)

    def _load_by_name(self, name):
        if name not in self.graphs:
            raise nn_error(errors.ErrorCode.NOT_FOUND, f"no graph named {name}")
        return FakeGraph(self, name)

    def _fetch(self, reference, task_id):
        self.fetches.append((reference, task_id))
        if reference not in self.served:
            raise Err(task_data.FetchError_NotFound(f"{reference}: nothing there (404)"))
        data, content_type = self.served[reference]
        return task_data.Fetched(data, content_type, len(data))

    def _patch(self, module, name, value):
        self._saved.append((module, name, getattr(module, name)))
        setattr(module, name, value)

    def __enter__(self):
        self._patch(graph, "load_by_name", self._load_by_name)
        self._patch(tensor, "Tensor", FakeTensor)
        self._patch(task_data, "fetch", self._fetch)
        self._patch(log, "log", lambda level, message: self.logged.append((level, message)))
        return self

    def __exit__(self, *exc):
        for module, name, value in reversed(self._saved):
            setattr(module, name, value)
        self._saved.clear()
        return False


def nn_error(code, message):
    """What the bindings raise for a ``wasi:nn`` error."""
    return Err(FakeError(code, message))


def f32_output(name, values, dims=None):
    """An f32 output pair for a fake graph."""
    data = array("f", values).tobytes()
    return (name, FakeTensor(dims or [1, len(values)], tensor.TensorType.FP32, data))



def control(name, tag, inputs, labels=()):
    """A WIT control record: ``inputs`` as ``(name, tag, value)``, ``labels`` as
    ``(value, {attribute: value})``."""
    return types.Control(
        name=name,
        tag=tag,
        to_name=[i[0] for i in inputs],
        inputs=[types.Input(n, t, v, None, None) for n, t, v in inputs],
        labels=[types.Label(v, [types.Attribute(k, a) for k, a in attrs.items()]) for v, attrs in labels],
        conditional=None,
        dynamic_labels=False,
        regex=[],
    )


def request(*controls):
    """A WIT request record for project 1 with these controls."""
    return types.Request("1", types.LabelConfig("", list(controls)), "1.0.0+test", None)
