//! Host bindings for the standard `wasi:nn` interfaces (`wit/deps/wasi-nn/wasi-nn.wit`),
//! generated once, here, with the resources mapped to this module's own types.

// Generated code: documented in the WIT file it comes from.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    world: "ml",
    path: "../wit/deps/wasi-nn",
    with: {
        "wasi:nn/graph.graph": super::view::GraphHandle,
        "wasi:nn/tensor.tensor": super::tensor::Tensor,
        "wasi:nn/inference.graph-execution-context": super::view::ExecutionContext,
        "wasi:nn/errors.error": super::view::NnError,
    },
    // Inference and loading graph bytes wait for ONNX Runtime on the blocking pool: async, so
    // no tokio worker waits with them. Everything else is a table lookup.
    imports: {
        "wasi:nn/inference.[method]graph-execution-context.compute": async | trappable,
        "wasi:nn/graph.load": async | trappable,
        default: trappable,
    },
});

pub use self::wasi::nn::errors::ErrorCode;
pub use self::wasi::nn::graph::{ExecutionTarget, GraphEncoding};
pub use self::wasi::nn::tensor::TensorType;
