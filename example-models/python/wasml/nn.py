"""Neural inference on the host through the standard ``wasi:nn`` interfaces (ONNX Runtime).

The model's manifest names its graphs (``[nn.graphs] det = "weights/det.onnx"``); the host
loads them with the model, and :meth:`Graph.named` opens one::

    from array import array
    from wasml import nn

    graph = nn.Graph.named("orientation")
    outputs = graph.compute({"x": nn.Tensor.f32([1, 3, 224, 224], pixels)})
    scores = outputs.first().to_array()          # array('f')
    scores = outputs["fetch_name_0"].to_list()   # or by name, as Python floats

Tensors hold little-endian bytes, as ``wasi:nn`` carries them; :class:`Tensor` builds them
from ``array.array``, ``bytes``/``memoryview`` or any sequence of numbers and reads them back
as arrays. A failure raises :class:`NnError` (an internal model error, HTTP 500) carrying the
``wasi:nn`` error code.
"""

import sys
from array import array
from typing import Iterable, Iterator, List, Mapping, Sequence, Tuple, Union

from componentize_py_types import Err
from wit_world.imports import graph as host_graph
from wit_world.imports import tensor as host_tensor

from .errors import ModelError

# Element types: wasi:nn's name -> (array typecode, bytes per element). F16 and BF16 have no
# Python array type: they travel and come back as their 16-bit patterns ('H').
_TYPES = {
    "f16": ("FP16", "H", 2),
    "f32": ("FP32", "f", 4),
    "f64": ("FP64", "d", 8),
    "bf16": ("BF16", "H", 2),
    "u8": ("U8", "B", 1),
    "i32": ("I32", "i", 4),
    "i64": ("I64", "q", 8),
}
_BY_WIT = {wit: name for name, (wit, _, _) in _TYPES.items()}
_BIG_ENDIAN = sys.byteorder == "big"

Values = Union[array, bytes, bytearray, memoryview, Sequence[float], Sequence[int]]


class NnError(ModelError):
    """A ``wasi:nn`` failure: ``code`` is the WIT ``error-code`` (``not-found``,
    ``invalid-argument``, ``timeout``, ``runtime-error``...) and the message is the host's,
    which says what to fix. Reported as an internal model error (HTTP 500)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"wasi:nn {code}: {message}")
        self.code = code


def _from_host(err: Err) -> NnError:
    error = err.value
    try:
        code = error.code().name.lower().replace("_", "-")
        message = error.data()
    except Exception:  # noqa: BLE001 - a value that is not a wasi:nn error resource
        code, message = "unknown", str(error)
    return NnError(code, message)


def _count(dims: Sequence[int]) -> int:
    count = 1
    for d in dims:
        count *= d
    return count


class Tensor:
    """A dense, row-major tensor: ``dims`` (outermost first), ``type`` (``"f32"``, ``"i64"``,
    ``"u8"``...) and ``data``, its elements as little-endian bytes."""

    __slots__ = ("dims", "type", "data")

    def __init__(self, dims: Sequence[int], type: str, data: bytes):  # noqa: A002
        if type not in _TYPES:
            raise ValueError(f"unknown element type {type!r}; one of {', '.join(_TYPES)}")
        dims = [int(d) for d in dims]
        if any(d < 0 for d in dims):
            raise ValueError(f"negative dimension in {dims}")
        size = _TYPES[type][2]
        if len(data) != _count(dims) * size:
            raise ValueError(
                f"a {type} tensor of shape {dims} needs {_count(dims) * size} bytes, "
                f"not {len(data)}"
            )
        self.dims, self.type, self.data = dims, type, bytes(data)

    @classmethod
    def of(cls, type: str, dims: Sequence[int], values: Values) -> "Tensor":  # noqa: A002
        """A tensor of ``type`` from ``values``: an ``array.array`` of that type, raw
        little-endian ``bytes``/``memoryview``, or a sequence of numbers."""
        if type not in _TYPES:
            raise ValueError(f"unknown element type {type!r}; one of {', '.join(_TYPES)}")
        code = _TYPES[type][1]
        if isinstance(values, (bytes, bytearray)):
            return cls(dims, type, bytes(values))
        if isinstance(values, memoryview):
            if values.format in ("B", "b", "c"):  # Raw bytes.
                return cls(dims, type, values.tobytes())
            # Typed memory (a memoryview of an array, say): its elements, converted as needed.
            values = array(values.format, values.tobytes()) if values.format == code else values.tolist()
        if not (isinstance(values, array) and values.typecode == code):
            values = array(code, values)
        if _BIG_ENDIAN:
            values = array(code, values)
            values.byteswap()
        return cls(dims, type, values.tobytes())

    @classmethod
    def f32(cls, dims: Sequence[int], values: Values) -> "Tensor":
        """A float32 tensor (``array('f')``, bytes, or numbers)."""
        return cls.of("f32", dims, values)

    @classmethod
    def f64(cls, dims: Sequence[int], values: Values) -> "Tensor":
        """A float64 tensor."""
        return cls.of("f64", dims, values)

    @classmethod
    def i32(cls, dims: Sequence[int], values: Values) -> "Tensor":
        """An int32 tensor."""
        return cls.of("i32", dims, values)

    @classmethod
    def i64(cls, dims: Sequence[int], values: Values) -> "Tensor":
        """An int64 tensor (``array('q')``, bytes, or ints)."""
        return cls.of("i64", dims, values)

    @classmethod
    def u8(cls, dims: Sequence[int], values: Values) -> "Tensor":
        """A uint8 tensor (also what an ONNX ``bool`` input takes, as 0 and 1)."""
        return cls.of("u8", dims, values)

    def __len__(self) -> int:
        """The number of elements (the product of the dimensions)."""
        return _count(self.dims)

    def to_array(self, type: str = None) -> array:  # noqa: A002
        """The elements as an ``array.array`` (``'f'`` for f32, ``'q'`` for i64, ``'B'`` for
        u8...; f16 and bf16 as their 16-bit patterns). ``type``, when given, must be the
        tensor's own: reading an i64 output as f32 is an :class:`NnError`."""
        if type is not None and type != self.type:
            raise NnError("invalid-argument", f"the tensor holds {self.type}, not {type}")
        values = array(_TYPES[self.type][1])
        values.frombytes(self.data)
        if _BIG_ENDIAN:
            values.byteswap()
        return values

    def to_list(self, type: str = None) -> list:  # noqa: A002
        """The elements as a list of Python numbers (see :meth:`to_array`)."""
        return self.to_array(type).tolist()

    def __repr__(self) -> str:
        return f"Tensor({self.type}, {self.dims})"


class Outputs(Mapping):
    """A graph's outputs by name, in the graph's order: ``outputs["name"]``,
    :meth:`first`, iteration over the names."""

    def __init__(self, named: List[Tuple[str, Tensor]]):
        self._named = list(named)

    def __getitem__(self, name: str) -> Tensor:
        for key, tensor in self._named:
            if key == name:
                return tensor
        names = ", ".join(key for key, _ in self._named) or "none"
        raise NnError("not-found", f"no output {name!r} (the graph returned: {names})")

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._named)

    def __len__(self) -> int:
        return len(self._named)

    def first(self) -> Tensor:
        """The first output (for graphs with one)."""
        if not self._named:
            raise NnError("not-found", "the graph returned no outputs")
        return self._named[0][1]


def _to_host(tensor: Tensor):
    ty = getattr(host_tensor.TensorType, _TYPES[tensor.type][0])
    return host_tensor.Tensor(list(tensor.dims), ty, tensor.data)


def _from_host_tensor(tensor) -> Tensor:
    ty = tensor.ty()
    name = _BY_WIT.get(ty.name)
    if name is None:
        raise NnError("unsupported-operation", f"an output of unknown type {ty}")
    return Tensor(tensor.dimensions(), name, tensor.data())


class Graph:
    """A graph the host loaded for this model, ready to compute."""

    def __init__(self, name: str, context):
        self.name = name
        self._context = context

    @classmethod
    def named(cls, name: str) -> "Graph":
        """Opens the graph the manifest names ``name`` (``[nn.graphs] name = "file.onnx"``);
        an unknown name is an :class:`NnError` ``not-found``."""
        try:
            graph = host_graph.load_by_name(name)
            context = graph.init_execution_context()
        except Err as err:
            raise _from_host(err) from None
        return cls(name, context)

    def compute(
        self, inputs: Union[Mapping[str, Tensor], Iterable[Tuple[str, Tensor]]]
    ) -> Outputs:
        """Runs the graph on named inputs (a dict, or ``(name, tensor)`` pairs); the
        tensors' bytes are copied to the host. Returns the outputs by name."""
        pairs = inputs.items() if isinstance(inputs, Mapping) else inputs
        named = [(name, _to_host(tensor)) for name, tensor in pairs]
        try:
            outputs = self._context.compute(named)
        except Err as err:
            raise _from_host(err) from None
        return Outputs([(name, _from_host_tensor(t)) for name, t in outputs])


def graph(name: str) -> Graph:
    """Shorthand for :meth:`Graph.named`."""
    return Graph.named(name)

