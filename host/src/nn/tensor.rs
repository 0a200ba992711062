//! Tensors as the guest sees them (dimensions, a `wasi:nn` element type, little-endian bytes),
//! what a graph expects of each input and output, and the conversions to and from ONNX
//! Runtime values. Every check here runs before ONNX Runtime sees a byte: a wrong tensor is an
//! error for the guest, never a crash of the host.

use ort::tensor::TensorElementType;
use ort::value::{DynValue, Tensor as OrtTensor, ValueType};

use super::bindings::TensorType;

/// A tensor held for the guest (the `wasi:nn` `tensor` resource).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub dims: Vec<u32>,
    /// Element type.
    pub ty: TensorType,
    /// Row-major elements, little-endian.
    pub data: Vec<u8>,
}

/// What a graph declares for one of its inputs or outputs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TensorSpec {
    /// The name tensors are bound by.
    pub name: String,
    /// The ONNX element type, as ONNX spells it (`float32`, `int64`, `bool`...).
    #[serde(rename = "type")]
    pub element: ElementName,
    /// Dimensions; -1 where the graph leaves one free.
    pub shape: Vec<i64>,
    /// The `wasi:nn` type that carries it; `None`: not representable (e.g. strings).
    #[serde(skip)]
    pub wit: Option<TensorType>,
    #[serde(skip)]
    element_type: Option<TensorElementType>,
}

/// An ONNX element type's name, for messages and `GET /models`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ElementName(pub String);

impl TensorSpec {
    /// The spec of a graph input or output from ONNX Runtime's description of it; an error
    /// for values that are not tensors (sequences, maps), which `wasi:nn` cannot carry.
    pub fn from_ort(name: &str, ty: &ValueType) -> Result<Self, String> {
        let ValueType::Tensor { ty, shape, .. } = ty else {
            return Err(format!(
                "`{name}` is a {ty}, not a tensor: wasi:nn passes tensors only"
            ));
        };
        Ok(Self {
            name: name.to_owned(),
            element: ElementName(element_name(*ty)),
            shape: shape.iter().copied().collect(),
            wit: wit_type(*ty),
            element_type: Some(*ty),
        })
    }

    /// Checks a guest tensor against this input: a type that carries the element type (`U8`
    /// for ONNX `bool`), the rank, every fixed dimension, and the byte length.
    pub fn check(&self, tensor: &Tensor) -> Result<(), String> {
        let name = &self.name;
        if self.wit != Some(tensor.ty) {
            return Err(match self.wit {
                Some(wit) => format!(
                    "input `{name}` is {} and takes {}, not {}",
                    self.element.0,
                    type_name(wit),
                    type_name(tensor.ty)
                ),
                None => format!(
                    "input `{name}` is {}, which wasi:nn cannot pass",
                    self.element.0
                ),
            });
        }
        let fits = tensor.dims.len() == self.shape.len()
            && tensor
                .dims
                .iter()
                .zip(&self.shape)
                .all(|(&given, &wanted)| wanted < 0 || i64::from(given) == wanted);
        if !fits {
            return Err(format!(
                "input `{name}` has shape {}, the graph takes {}",
                shape_text(tensor.dims.iter().map(|&d| i64::from(d))),
                shape_text(self.shape.iter().copied())
            ));
        }
        let expected = byte_len(&tensor.dims, tensor.ty)
            .ok_or_else(|| format!("input `{name}`: its dimensions overflow"))?;
        if tensor.data.len() != expected {
            return Err(format!(
                "input `{name}` has {} bytes of data; {} of {} take {expected}",
                tensor.data.len(),
                shape_text(tensor.dims.iter().map(|&d| i64::from(d))),
                type_name(tensor.ty)
            ));
        }
        Ok(())
    }

    /// The guest tensor as an ONNX Runtime value of this input's element type (checked by
    /// [`TensorSpec::check`] first).
    pub fn to_value(&self, tensor: &Tensor) -> Result<DynValue, String> {
        let shape: Vec<i64> = tensor.dims.iter().map(|&d| i64::from(d)).collect();
        let bytes = &tensor.data;
        let value = match self.element_type {
            Some(TensorElementType::Float32) => dyn_value(shape, decode(bytes, f32::from_le_bytes)),
            Some(TensorElementType::Float64) => dyn_value(shape, decode(bytes, f64::from_le_bytes)),
            Some(TensorElementType::Float16) => dyn_value(
                shape,
                decode(bytes, |b| half::f16::from_bits(u16::from_le_bytes(b))),
            ),
            Some(TensorElementType::Bfloat16) => dyn_value(
                shape,
                decode(bytes, |b| half::bf16::from_bits(u16::from_le_bytes(b))),
            ),
            Some(TensorElementType::Uint8) => dyn_value(shape, bytes.clone()),
            Some(TensorElementType::Bool) => {
                dyn_value(shape, bytes.iter().map(|&b| b != 0).collect())
            }
            Some(TensorElementType::Int32) => dyn_value(shape, decode(bytes, i32::from_le_bytes)),
            Some(TensorElementType::Int64) => dyn_value(shape, decode(bytes, i64::from_le_bytes)),
            _ => return Err(format!("input `{}` cannot be passed", self.name)),
        };
        value.map_err(|e| format!("input `{}`: {e}", self.name))
    }
}

/// A graph output as a guest tensor; an error for element types `wasi:nn` cannot carry.
pub fn from_value(name: &str, value: &DynValue) -> Result<Tensor, String> {
    let element = match value.dtype() {
        ValueType::Tensor { ty, .. } => *ty,
        other => return Err(format!("output `{name}` is a {other}, not a tensor")),
    };
    let wit = wit_type(element).ok_or_else(|| {
        format!(
            "output `{name}` is {}, which wasi:nn cannot pass",
            element_name(element)
        )
    })?;
    let failed = |e: ort::Error| format!("output `{name}`: {e}");
    let (shape, data) = match element {
        TensorElementType::Float32 => {
            encode(value.try_extract_tensor::<f32>(), |v| v.to_le_bytes())
        }
        TensorElementType::Float64 => {
            encode(value.try_extract_tensor::<f64>(), |v| v.to_le_bytes())
        }
        TensorElementType::Float16 => encode(value.try_extract_tensor::<half::f16>(), |v| {
            v.to_bits().to_le_bytes()
        }),
        TensorElementType::Bfloat16 => encode(value.try_extract_tensor::<half::bf16>(), |v| {
            v.to_bits().to_le_bytes()
        }),
        TensorElementType::Uint8 => encode(value.try_extract_tensor::<u8>(), |v| [v]),
        TensorElementType::Bool => encode(value.try_extract_tensor::<bool>(), |v| [u8::from(v)]),
        TensorElementType::Int32 => encode(value.try_extract_tensor::<i32>(), |v| v.to_le_bytes()),
        TensorElementType::Int64 => encode(value.try_extract_tensor::<i64>(), |v| v.to_le_bytes()),
        // `wit_type` has no type for the rest, so they never get here.
        _ => return Err(format!("output `{name}` cannot be passed")),
    }
    .map_err(failed)?;
    let dims = shape
        .into_iter()
        .map(|d| u32::try_from(d).map_err(|_| format!("output `{name}` has dimension {d}")))
        .collect::<Result<_, _>>()?;
    Ok(Tensor {
        dims,
        ty: wit,
        data,
    })
}

/// Bytes a tensor of `dims` and `ty` takes; `None` on overflow.
pub fn byte_len(dims: &[u32], ty: TensorType) -> Option<usize> {
    dims.iter()
        .try_fold(element_size(ty), |n, &d| n.checked_mul(d as usize))
}

/// Bytes per element.
pub fn element_size(ty: TensorType) -> usize {
    match ty {
        TensorType::U8 => 1,
        TensorType::Fp16 | TensorType::Bf16 => 2,
        TensorType::Fp32 | TensorType::I32 => 4,
        TensorType::Fp64 | TensorType::I64 => 8,
    }
}

/// The `wasi:nn` type that carries an ONNX element type: the same type, or `U8` (0 or 1) for
/// `bool`, which the WIT lacks; `None` for the types it cannot carry (int8, uint16, strings...).
fn wit_type(ty: TensorElementType) -> Option<TensorType> {
    Some(match ty {
        TensorElementType::Float32 => TensorType::Fp32,
        TensorElementType::Float16 => TensorType::Fp16,
        TensorElementType::Float64 => TensorType::Fp64,
        TensorElementType::Bfloat16 => TensorType::Bf16,
        TensorElementType::Uint8 | TensorElementType::Bool => TensorType::U8,
        TensorElementType::Int32 => TensorType::I32,
        TensorElementType::Int64 => TensorType::I64,
        _ => return None,
    })
}

/// The guest-facing name of a `wasi:nn` type, as the WIT spells it.
pub fn type_name(ty: TensorType) -> &'static str {
    match ty {
        TensorType::Fp16 => "FP16",
        TensorType::Fp32 => "FP32",
        TensorType::Fp64 => "FP64",
        TensorType::Bf16 => "BF16",
        TensorType::U8 => "U8",
        TensorType::I32 => "I32",
        TensorType::I64 => "I64",
    }
}

fn element_name(ty: TensorElementType) -> String {
    match ty {
        TensorElementType::Float32 => "float32".into(),
        TensorElementType::Float16 => "float16".into(),
        TensorElementType::Float64 => "float64".into(),
        TensorElementType::Bfloat16 => "bfloat16".into(),
        TensorElementType::Uint8 => "uint8".into(),
        TensorElementType::Int8 => "int8".into(),
        TensorElementType::Uint16 => "uint16".into(),
        TensorElementType::Int16 => "int16".into(),
        TensorElementType::Int32 => "int32".into(),
        TensorElementType::Int64 => "int64".into(),
        TensorElementType::Uint32 => "uint32".into(),
        TensorElementType::Uint64 => "uint64".into(),
        TensorElementType::Bool => "bool".into(),
        TensorElementType::String => "string".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn shape_text(dims: impl Iterator<Item = i64>) -> String {
    let dims: Vec<String> = dims
        .map(|d| if d < 0 { "?".into() } else { d.to_string() })
        .collect();
    format!("[{}]", dims.join(", "))
}

/// Little-endian elements of `N` bytes each (the length was checked to be a multiple).
fn decode<T, const N: usize>(bytes: &[u8], from: impl Fn([u8; N]) -> T) -> Vec<T> {
    bytes
        .chunks_exact(N)
        .map(|chunk| {
            let mut element = [0u8; N];
            element.copy_from_slice(chunk);
            from(element)
        })
        .collect()
}

fn encode<T: Copy, const N: usize>(
    extracted: ort::Result<(&ort::tensor::Shape, &[T])>,
    to: impl Fn(T) -> [u8; N],
) -> ort::Result<(Vec<i64>, Vec<u8>)> {
    let (shape, data) = extracted?;
    let mut bytes = Vec::with_capacity(data.len() * N);
    for &element in data {
        bytes.extend_from_slice(&to(element));
    }
    Ok((shape.iter().copied().collect(), bytes))
}

fn dyn_value<T>(shape: Vec<i64>, data: Vec<T>) -> ort::Result<DynValue>
where
    T: ort::tensor::PrimitiveTensorElementType + Clone + std::fmt::Debug + 'static,
{
    Ok(OrtTensor::from_array((shape, data))?.into_dyn())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(shape: &[i64], element: TensorElementType) -> TensorSpec {
        TensorSpec {
            name: "x".into(),
            element: ElementName(element_name(element)),
            shape: shape.to_vec(),
            wit: wit_type(element),
            element_type: Some(element),
        }
    }

    fn tensor(dims: &[u32], ty: TensorType, len: usize) -> Tensor {
        Tensor {
            dims: dims.to_vec(),
            ty,
            data: vec![0; len],
        }
    }

    #[test]
    fn inputs_are_checked_for_type_rank_dimensions_and_length() {
        let image = spec(&[1, 3, -1, -1], TensorElementType::Float32);
        assert_eq!(
            image.check(&tensor(&[1, 3, 4, 5], TensorType::Fp32, 240)),
            Ok(())
        );
        let wrong_type = image
            .check(&tensor(&[1, 3, 4, 5], TensorType::I64, 480))
            .expect_err("type");
        assert!(wrong_type.contains("FP32, not I64"), "{wrong_type}");
        let wrong_rank = image
            .check(&tensor(&[3, 4, 5], TensorType::Fp32, 240))
            .expect_err("rank");
        assert!(wrong_rank.contains("[1, 3, ?, ?]"), "{wrong_rank}");
        assert!(
            image
                .check(&tensor(&[1, 4, 4, 5], TensorType::Fp32, 320))
                .is_err(),
            "a fixed dimension differs"
        );
        let short = image
            .check(&tensor(&[1, 3, 4, 5], TensorType::Fp32, 239))
            .expect_err("length");
        assert!(short.contains("239 bytes"), "{short}");
        let huge = image
            .check(&tensor(&[1, 3, u32::MAX, u32::MAX], TensorType::Fp32, 0))
            .expect_err("overflow or length");
        assert!(!huge.is_empty());
    }

    #[test]
    fn bool_is_carried_as_u8_and_unrepresentable_types_are_named() {
        let mask = spec(&[2], TensorElementType::Bool);
        assert_eq!(mask.check(&tensor(&[2], TensorType::U8, 2)), Ok(()));
        let int8 = spec(&[2], TensorElementType::Int8);
        let err = int8
            .check(&tensor(&[2], TensorType::U8, 2))
            .expect_err("int8");
        assert!(err.contains("int8"), "{err}");
    }

    #[test]
    fn byte_lengths_follow_the_element_size() {
        assert_eq!(byte_len(&[2, 3], TensorType::Fp16), Some(12));
        assert_eq!(byte_len(&[], TensorType::I64), Some(8), "a scalar");
        assert_eq!(byte_len(&[0, 7], TensorType::Fp32), Some(0));
        assert_eq!(byte_len(&[u32::MAX; 4], TensorType::Fp64), None);
    }

    #[test]
    fn elements_decode_little_endian() {
        let bytes: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(decode(&bytes, f32::from_le_bytes), vec![1.5, -2.0]);
    }
}
