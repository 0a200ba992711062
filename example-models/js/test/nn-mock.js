// An in-memory stand-in for the host's `wasi:nn` imports (graph, tensor, inference, errors),
// so the nn helper and vision models run under plain Node (`npm test`). Tests register graphs
// as functions; errors are thrown like the componentize-js bindings throw them: an error whose
// `payload` is the `wasi:nn` error resource.

/** Registered graphs: name to `(inputs) => outputs`, both `[name, Tensor]` pairs. */
export const graphs = new Map();

/** Every `compute` call, as `[graph name, inputs]`. */
export const computed = [];

/** The `wasi:nn` tensor resource. */
export class Tensor {
  constructor(dimensions, ty, data) {
    this.dims = Uint32Array.from(dimensions);
    this.type = ty;
    this.bytes = Uint8Array.from(data);
  }

  dimensions() {
    return this.dims;
  }

  ty() {
    return this.type;
  }

  data() {
    return this.bytes;
  }
}

/** What the bindings throw for a `wasi:nn` error with this `code` and message. */
export function nnError(code, message) {
  const error = new Error(message);
  error.payload = { code: () => code, data: () => message };
  return error;
}

/** Like the host's `load-by-name`: a registered graph, else `not-found`. */
export function loadByName(name) {
  if (!graphs.has(name)) {
    throw nnError('not-found', `no graph named ${name}`);
  }
  return {
    initExecutionContext: () => ({
      compute(inputs) {
        computed.push([name, inputs]);
        return graphs.get(name)(inputs);
      },
    }),
  };
}
