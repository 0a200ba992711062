// Neural inference on the host through the standard `wasi:nn` interfaces (ONNX Runtime).
//
// The model's manifest names its graphs (`[nn.graphs] det = "weights/det.onnx"`); the host
// loads them with the model, and `Graph.named` opens one:
//
//     const graph = Graph.named('orientation');
//     const outputs = graph.compute({ x: Tensor.f32([1, 3, 224, 224], pixels) });
//     const scores = outputs.first().toArray();        // Float32Array
//     const same = outputs.get('fetch_name_0').toArray('f32');
//
// Tensors hold little-endian bytes, as `wasi:nn` carries them; `Tensor` builds them from
// typed arrays (Float32Array, BigInt64Array, Uint8Array...) or plain arrays of numbers and
// reads them back as typed arrays. A failure throws `NnError`, an `internal` model error
// (HTTP 500) carrying the `wasi:nn` error code.

import { loadByName } from 'wasi:nn/graph@0.2.0-rc-2024-10-28';
import { Tensor as HostTensor } from 'wasi:nn/tensor@0.2.0-rc-2024-10-28';

import { ModelError } from './errors.js';

// Element types: name -> [wasi:nn tensor-type, typed array]. F16 and BF16 have no typed
// array: they travel and come back as their 16-bit patterns (Uint16Array).
const TYPES = {
  f16: ['FP16', Uint16Array],
  f32: ['FP32', Float32Array],
  f64: ['FP64', Float64Array],
  bf16: ['BF16', Uint16Array],
  u8: ['U8', Uint8Array],
  i32: ['I32', Int32Array],
  i64: ['I64', BigInt64Array],
};
const BY_WIT = Object.fromEntries(Object.entries(TYPES).map(([name, [wit]]) => [wit, name]));
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A `wasi:nn` failure: `code` is the WIT `error-code` (`not-found`, `invalid-argument`,
 * `timeout`, `runtime-error`...), the message the host's, which says what to fix. An
 * `internal` model error (HTTP 500).
 */
export class NnError extends ModelError {
  constructor(code, message) {
    super('internal', `wasi:nn ${code}: ${message}`);
    this.name = 'NnError';
    /** The `wasi:nn` error code. */
    this.code = code;
  }
}

/** Runs a host call, turning a thrown `wasi:nn` error resource into an `NnError`. */
function host(call) {
  try {
    return call();
  } catch (error) {
    const resource = error?.payload;
    if (typeof resource?.code === 'function') {
      throw new NnError(resource.code(), resource.data());
    }
    throw error;
  }
}

const count = (dims) => dims.reduce((n, d) => n * d, 1);

/** A dense, row-major tensor: `dims` (outermost first), `type` (`'f32'`...) and `data` bytes. */
export class Tensor {
  /** A tensor of `type` whose elements are the little-endian bytes `data` (a `Uint8Array`). */
  constructor(dims, type, data) {
    if (!(type in TYPES)) {
      throw new RangeError(`unknown element type ${type}; one of ${Object.keys(TYPES).join(', ')}`);
    }
    const size = TYPES[type][1].BYTES_PER_ELEMENT;
    if (data.length !== count(dims) * size) {
      throw new RangeError(`a ${type} tensor of shape [${dims}] needs ${count(dims) * size} bytes, not ${data.length}`);
    }
    /** Dimensions, outermost first. */
    this.dims = [...dims];
    /** Element type: `f32`, `f64`, `i32`, `i64`, `u8`, `f16` or `bf16`. */
    this.type = type;
    /** The elements, little-endian. */
    this.data = data;
  }

  /**
   * A tensor of `type` from `values`: a typed array of that type (copied), raw bytes as a
   * `Uint8Array` when `type` is not `u8` and the length is in bytes, or an array of numbers
   * (BigInts or numbers for `i64`).
   */
  static of(type, dims, values) {
    if (!(type in TYPES)) {
      throw new RangeError(`unknown element type ${type}; one of ${Object.keys(TYPES).join(', ')}`);
    }
    const Typed = TYPES[type][1];
    if (!LITTLE_ENDIAN) {
      throw new NnError('unsupported-operation', 'tensors need a little-endian machine');
    }
    if (values instanceof Uint8Array && Typed !== Uint8Array) {
      return new Tensor(dims, type, values.slice());
    }
    let typed;
    if (values instanceof Typed) {
      typed = values;
    } else if (Typed === BigInt64Array) {
      typed = BigInt64Array.from(values, (v) => BigInt(v));
    } else {
      typed = Typed.from(values);
    }
    return new Tensor(dims, type, new Uint8Array(typed.buffer.slice(typed.byteOffset, typed.byteOffset + typed.byteLength)));
  }

  /** A float32 tensor (a `Float32Array`, bytes, or numbers). */
  static f32(dims, values) {
    return Tensor.of('f32', dims, values);
  }

  /** A float64 tensor. */
  static f64(dims, values) {
    return Tensor.of('f64', dims, values);
  }

  /** An int32 tensor. */
  static i32(dims, values) {
    return Tensor.of('i32', dims, values);
  }

  /** An int64 tensor (a `BigInt64Array`, bytes, or integers). */
  static i64(dims, values) {
    return Tensor.of('i64', dims, values);
  }

  /** A uint8 tensor (also what an ONNX `bool` input takes, as 0 and 1). */
  static u8(dims, values) {
    return Tensor.of('u8', dims, values);
  }

  /** The number of elements (the product of the dimensions). */
  get length() {
    return count(this.dims);
  }

  /**
   * The elements as a new typed array of the tensor's type (`Float32Array` for f32,
   * `BigInt64Array` for i64...). `type`, when given, must be the tensor's own: reading an
   * i64 output as f32 throws an `NnError`.
   */
  toArray(type) {
    if (type !== undefined && type !== this.type) {
      throw new NnError('invalid-argument', `the tensor holds ${this.type}, not ${type}`);
    }
    // A copy starts at offset 0 of its own buffer, so it is aligned for any element type.
    const bytes = this.data.slice();
    return new TYPES[this.type][1](bytes.buffer);
  }
}

/** A graph's outputs by name, in the graph's order. */
export class Outputs {
  constructor(named) {
    /** `[name, Tensor]` pairs. */
    this.named = named;
  }

  /** The output called `name`; an `NnError` naming the outputs when there is none. */
  get(name) {
    const found = this.named.find(([key]) => key === name);
    if (found === undefined) {
      const names = this.named.map(([key]) => key).join(', ') || 'none';
      throw new NnError('not-found', `no output ${name} (the graph returned: ${names})`);
    }
    return found[1];
  }

  /** The first output (for graphs with one). */
  first() {
    if (this.named.length === 0) {
      throw new NnError('not-found', 'the graph returned no outputs');
    }
    return this.named[0][1];
  }

  /** The output names, in order. */
  names() {
    return this.named.map(([key]) => key);
  }
}

/** A graph the host loaded for this model, ready to compute. */
export class Graph {
  constructor(name, context) {
    /** The name it was opened by. */
    this.name = name;
    this.context = context;
  }

  /**
   * Opens the graph the manifest names `name` (`[nn.graphs] name = "file.onnx"`); an unknown
   * name throws an `NnError` with code `not-found`.
   */
  static named(name) {
    const context = host(() => loadByName(name).initExecutionContext());
    return new Graph(name, context);
  }

  /**
   * Runs the graph on named inputs (an object `{ x: tensor }`, a `Map`, or `[name, tensor]`
   * pairs); the tensors' bytes are copied to the host. Returns the `Outputs`.
   */
  compute(inputs) {
    const pairs = Array.isArray(inputs) ? inputs : inputs instanceof Map ? [...inputs] : Object.entries(inputs);
    const named = pairs.map(([name, t]) => [name, new HostTensor(new Uint32Array(t.dims), TYPES[t.type][0], t.data)]);
    const outputs = host(() => this.context.compute(named));
    return new Outputs(
      outputs.map(([name, t]) => {
        const ty = t.ty();
        if (!(ty in BY_WIT)) {
          throw new NnError('unsupported-operation', `an output of unknown type ${ty}`);
        }
        return [name, new Tensor([...t.dimensions()], BY_WIT[ty], t.data())];
      }),
    );
  }
}
