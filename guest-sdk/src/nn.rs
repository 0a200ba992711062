//! Neural inference on the host, through the standard `wasi:nn` interfaces: the model's
//! manifest names its ONNX graphs (`[nn.graphs]`), the host loads them once with the model,
//! and [`Graph::named`] opens one. Tensors go in and come out as typed arrays:
//!
//! ```ignore
//! let det = Graph::named("det")?;
//! let input = Tensor::f32(&[1, 3, 640, 640], &pixels);
//! let outputs = det.compute(&[("x", input)])?;
//! let map = outputs.first()?.to_f32()?;
//! ```
//!
//! Off wasm (native unit tests), graphs are the functions a test registered with
//! [`crate::testing::graph`]; any other name is `NotFound`.

#[cfg(target_arch = "wasm32")]
use crate::bindings::wasi::nn as host;

/// An element type, as `wasi:nn` names it. ONNX `bool` tensors travel as `U8` (0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// 16-bit float (IEEE half), as its bits.
    F16,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// bfloat16, as its bits.
    Bf16,
    /// Unsigned byte (also ONNX `bool`).
    U8,
    /// 32-bit signed integer.
    I32,
    /// 64-bit signed integer.
    I64,
}

impl ElementType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
            Self::F64 | Self::I64 => 8,
        }
    }
}

/// A dense, row-major tensor: dimensions, element type and little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first (`[]` for a scalar).
    pub dims: Vec<u32>,
    /// Element type.
    pub ty: ElementType,
    /// The elements, little-endian.
    pub data: Vec<u8>,
}

macro_rules! typed {
    ($make:ident, $read:ident, $t:ty, $ty:ident, $doc:literal) => {
        #[doc = concat!("A tensor of ", $doc, " elements.")]
        pub fn $make(dims: &[u32], values: &[$t]) -> Self {
            const N: usize = std::mem::size_of::<$t>();
            // Sized first, then filled in place: the copy compiles to plain stores (a
            // multi-megabyte image input is converted in about a millisecond).
            let mut data = vec![0u8; values.len() * N];
            for (chunk, value) in data.chunks_exact_mut(N).zip(values) {
                chunk.copy_from_slice(&value.to_le_bytes());
            }
            Self {
                dims: dims.to_vec(),
                ty: ElementType::$ty,
                data,
            }
        }

        #[doc = concat!("The elements as ", $doc, "; an error for another element type.")]
        pub fn $read(&self) -> Result<Vec<$t>, NnError> {
            self.expect(ElementType::$ty)?;
            const N: usize = std::mem::size_of::<$t>();
            Ok(self
                .data
                .chunks_exact(N)
                .map(|chunk| {
                    let mut bytes = [0u8; N];
                    bytes.copy_from_slice(chunk);
                    <$t>::from_le_bytes(bytes)
                })
                .collect())
        }
    };
}

impl Tensor {
    typed!(f32, to_f32, f32, F32, "`f32`");
    typed!(f64, to_f64, f64, F64, "`f64`");
    typed!(i32, to_i32, i32, I32, "`i32`");
    typed!(i64, to_i64, i64, I64, "`i64`");

    /// A tensor of bytes (`U8`; also what an ONNX `bool` input takes).
    pub fn u8(dims: &[u32], values: &[u8]) -> Self {
        Self {
            dims: dims.to_vec(),
            ty: ElementType::U8,
            data: values.to_vec(),
        }
    }

    /// The elements as bytes; an error for another element type.
    pub fn to_u8(&self) -> Result<Vec<u8>, NnError> {
        self.expect(ElementType::U8)?;
        Ok(self.data.clone())
    }

    /// Number of elements (the product of the dimensions).
    pub fn len(&self) -> usize {
        self.dims.iter().map(|&d| d as usize).product()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expect(&self, ty: ElementType) -> Result<(), NnError> {
        if self.ty == ty {
            Ok(())
        } else {
            Err(NnError::new(
                ErrorCode::InvalidArgument,
                format!("the tensor holds {:?}, not {ty:?}", self.ty),
            ))
        }
    }
}

/// What kind of failure (the `wasi:nn` `error-code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The inputs do not fit the graph (names, types, shapes).
    InvalidArgument,
    /// Not an encoding the host runs.
    InvalidEncoding,
    /// Out of time.
    Timeout,
    /// The inference failed in the runtime.
    RuntimeError,
    /// Not supported (e.g. an element type `wasi:nn` cannot carry).
    UnsupportedOperation,
    /// Over a size limit (the call's tensor memory).
    TooLarge,
    /// No graph by that name.
    NotFound,
    /// Not permitted (e.g. loading graph bytes without the manifest's consent).
    Security,
    /// Anything else.
    Unknown,
}

/// A `wasi:nn` failure: its code and the host's message, which says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NnError {
    /// The kind of failure.
    pub code: ErrorCode,
    /// What happened.
    pub message: String,
}

impl NnError {
    /// An error of `code` saying `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for NnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wasi:nn {:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for NnError {}

/// A model that cannot run its graph has an internal error (500), with the host's message.
impl From<NnError> for crate::Error {
    fn from(err: NnError) -> Self {
        crate::Error::internal(err.to_string())
    }
}

/// A graph's outputs, by name, in the graph's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs(pub Vec<(String, Tensor)>);

impl Outputs {
    /// The output called `name`.
    pub fn get(&self, name: &str) -> Result<&Tensor, NnError> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .ok_or_else(|| NnError::new(ErrorCode::NotFound, format!("no output `{name}`")))
    }

    /// The first output (for graphs with one).
    pub fn first(&self) -> Result<&Tensor, NnError> {
        self.0
            .first()
            .map(|(_, t)| t)
            .ok_or_else(|| NnError::new(ErrorCode::NotFound, "the graph returned no outputs"))
    }
}

/// A graph the host loaded for this model, ready to compute.
pub struct Graph {
    name: String,
    #[cfg(target_arch = "wasm32")]
    context: host::inference::GraphExecutionContext,
}

impl Graph {
    /// Opens the graph the manifest names `name` (`[nn.graphs] name = "file.onnx"`).
    pub fn named(name: &str) -> Result<Self, NnError> {
        #[cfg(target_arch = "wasm32")]
        {
            let graph = host::graph::load_by_name(name).map_err(from_host)?;
            let context = graph.init_execution_context().map_err(from_host)?;
            Ok(Self {
                name: name.to_owned(),
                context,
            })
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            if crate::testing::has_graph(name) {
                Ok(Self {
                    name: name.to_owned(),
                })
            } else {
                Err(NnError::new(
                    ErrorCode::NotFound,
                    format!("no graph named `{name}` registered by this test"),
                ))
            }
        }
    }

    /// The name it was opened by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the graph on named inputs; the tensors' bytes are copied to the host.
    pub fn compute(&self, inputs: &[(&str, Tensor)]) -> Result<Outputs, NnError> {
        #[cfg(target_arch = "wasm32")]
        {
            let inputs: Vec<(String, host::tensor::Tensor)> = inputs
                .iter()
                .map(|(name, t)| {
                    let ty = match t.ty {
                        ElementType::F16 => host::tensor::TensorType::Fp16,
                        ElementType::F32 => host::tensor::TensorType::Fp32,
                        ElementType::F64 => host::tensor::TensorType::Fp64,
                        ElementType::Bf16 => host::tensor::TensorType::Bf16,
                        ElementType::U8 => host::tensor::TensorType::U8,
                        ElementType::I32 => host::tensor::TensorType::I32,
                        ElementType::I64 => host::tensor::TensorType::I64,
                    };
                    (
                        (*name).to_owned(),
                        host::tensor::Tensor::new(&t.dims, ty, &t.data),
                    )
                })
                .collect();
            let outputs = self.context.compute(inputs).map_err(from_host)?;
            Ok(Outputs(
                outputs
                    .into_iter()
                    .map(|(name, t)| {
                        let ty = match t.ty() {
                            host::tensor::TensorType::Fp16 => ElementType::F16,
                            host::tensor::TensorType::Fp32 => ElementType::F32,
                            host::tensor::TensorType::Fp64 => ElementType::F64,
                            host::tensor::TensorType::Bf16 => ElementType::Bf16,
                            host::tensor::TensorType::U8 => ElementType::U8,
                            host::tensor::TensorType::I32 => ElementType::I32,
                            host::tensor::TensorType::I64 => ElementType::I64,
                        };
                        let tensor = Tensor {
                            dims: t.dimensions(),
                            ty,
                            data: t.data(),
                        };
                        (name, tensor)
                    })
                    .collect(),
            ))
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::run_graph(&self.name, inputs)
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn from_host(error: host::errors::Error) -> NnError {
    use host::errors::ErrorCode as Code;
    let code = match error.code() {
        Code::InvalidArgument => ErrorCode::InvalidArgument,
        Code::InvalidEncoding => ErrorCode::InvalidEncoding,
        Code::Timeout => ErrorCode::Timeout,
        Code::RuntimeError => ErrorCode::RuntimeError,
        Code::UnsupportedOperation => ErrorCode::UnsupportedOperation,
        Code::TooLarge => ErrorCode::TooLarge,
        Code::NotFound => ErrorCode::NotFound,
        Code::Security => ErrorCode::Security,
        Code::Unknown => ErrorCode::Unknown,
    };
    NnError::new(code, error.data())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn typed_tensors_round_trip_and_refuse_other_types() {
        let t = Tensor::f32(&[2], &[1.5, -2.0]);
        assert_eq!(t.data.len(), 8);
        assert_eq!(t.to_f32(), Ok(vec![1.5, -2.0]));
        assert_eq!(t.len(), 2);
        assert!(t.to_i64().is_err());
        assert_eq!(Tensor::i64(&[], &[7]).to_i64(), Ok(vec![7]));
    }

    #[test]
    fn registered_graphs_answer_and_others_are_not_found() {
        crate::testing::graph("double", |inputs| {
            let x = inputs[0].1.to_f32().map_err(|e| e.message)?;
            let doubled: Vec<f32> = x.iter().map(|v| v * 2.0).collect();
            Ok(vec![("y".into(), Tensor::f32(&inputs[0].1.dims, &doubled))])
        });
        let graph = Graph::named("double").expect("registered");
        let out = graph
            .compute(&[("x", Tensor::f32(&[2], &[1.0, 3.0]))])
            .expect("computes");
        assert_eq!(out.get("y").and_then(Tensor::to_f32), Ok(vec![2.0, 6.0]));
        assert_eq!(
            Graph::named("other").err().map(|e| e.code),
            Some(ErrorCode::NotFound)
        );
    }
}
