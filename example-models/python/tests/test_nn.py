"""wasml.nn: typed tensors, graphs through the (fake) host, and wasi:nn errors."""

import unittest
from array import array

from componentize_py_types import Err
from wit_world.imports import errors, tensor, types

from wasml import ModelError, nn

from .fake_host import FakeHost, FakeTensor, nn_error


class Tensors(unittest.TestCase):
    def test_built_from_arrays_bytes_memoryviews_and_numbers(self):
        values = array("f", [1.5, -2.0, 0.25, 8.0])
        expected = values.tobytes()
        for given in (values, expected, memoryview(expected), memoryview(values), [1.5, -2, 0.25, 8]):
            with self.subTest(type(given).__name__):
                t = nn.Tensor.f32([2, 2], given)
                self.assertEqual((t.dims, t.type, t.data, len(t)), ([2, 2], "f32", expected, 4))
        self.assertEqual(nn.Tensor.f32([2, 2], values).to_list(), [1.5, -2.0, 0.25, 8.0])

    def test_every_type_round_trips(self):
        for kind, values in (("i64", [-(2**40), 7]), ("i32", [-5, 2**31 - 1]), ("u8", [0, 255]), ("f64", [0.1, 1e300])):
            with self.subTest(kind):
                t = nn.Tensor.of(kind, [2], values)
                self.assertEqual(t.to_list(), values)
        self.assertEqual(nn.Tensor.i64([1], [3]).data, (3).to_bytes(8, "little"))
        self.assertEqual(nn.Tensor.u8([3], b"\x01\x02\x03").to_list(), [1, 2, 3])

    def test_shapes_and_types_are_checked(self):
        with self.assertRaisesRegex(ValueError, "needs 12 bytes, not 8"):
            nn.Tensor.f32([3], array("f", [1, 2]))
        with self.assertRaisesRegex(ValueError, "unknown element type"):
            nn.Tensor.of("int8", [1], [1])
        with self.assertRaises(nn.NnError) as caught:
            nn.Tensor.i64([1], [1]).to_array("f32")
        self.assertEqual(caught.exception.code, "invalid-argument")


class Graphs(unittest.TestCase):
    def test_compute_sends_named_tensors_and_returns_outputs_by_name(self):
        def double(inputs):
            (name, x), = inputs
            values = array("f")
            values.frombytes(x.data())
            doubled = array("f", [2 * v for v in values]).tobytes()
            return [("y", FakeTensor(x.dimensions(), tensor.TensorType.FP32, doubled)),
                    ("n", FakeTensor([1], tensor.TensorType.I64, (len(values)).to_bytes(8, "little")))]

        with FakeHost() as host:
            host.graph("double", double)
            graph = nn.Graph.named("double")
            out = graph.compute({"x": nn.Tensor.f32([3], [1, 2, 3.5])})
        self.assertEqual(host.computed[0][1][0][1].ty(), tensor.TensorType.FP32)
        self.assertEqual(list(out), ["y", "n"])
        self.assertEqual(out["y"].to_list(), [2, 4, 7])
        self.assertEqual(out.first().dims, [3])
        self.assertEqual(out["n"].type, "i64")
        self.assertEqual(out["n"].to_list(), [3])
        with self.assertRaisesRegex(nn.NnError, "no output 'z' .*y, n"):
            out["z"]

    def test_host_errors_keep_their_code_and_become_internal_model_errors(self):
        def refuse(inputs):
            raise nn_error(errors.ErrorCode.INVALID_ARGUMENT, "input x: expected [1, 3], got [2]")

        with FakeHost() as host:
            host.graph("strict", refuse)
            with self.assertRaises(nn.NnError) as missing:
                nn.Graph.named("absent")
            with self.assertRaises(nn.NnError) as refused:
                nn.Graph.named("strict").compute([("x", nn.Tensor.f32([2], [0, 0]))])
        self.assertEqual(missing.exception.code, "not-found")
        self.assertEqual(refused.exception.code, "invalid-argument")
        self.assertIn("expected [1, 3]", str(refused.exception))
        self.assertIsInstance(refused.exception, ModelError)
        self.assertIsInstance(refused.exception.to_wit(), types.ModelError_Internal)
        self.assertTrue(str(refused.exception).startswith("wasi:nn invalid-argument: "))
        self.assertIsInstance(nn_error(errors.ErrorCode.TIMEOUT, "x"), Err)


if __name__ == "__main__":
    unittest.main()
